"""Env vectorisation: many envs stepped as one.

``vector`` builds the Gymnasium vector env the loop steps (K members × n_envs envs, same-step
autoreset, episode statistics) and checks each env's answers against the Gymnasium API (one line
naming the env, the step and the rule). ``psim`` steps envs whose dynamics are known (``P``) for
all members at once from their tables (``ptables``), as fast arrays instead of Python envs.
``blackjack`` plays whole Blackjack episodes (Gymnasium's ``sab=True`` rules) for many runs at once.

Imports core only.
"""
