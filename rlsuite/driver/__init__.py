"""The run machinery that drives agents from outside.

``loop`` steps the envs and hands each transition to the agent; ``members`` keeps the K
members' runs on one schedule and evaluates them together; ``run`` is one run's bookkeeping
(schedule, logging, evaluation, checkpoints, summary) in its run directory (``rundir``: the
lock, safe writes), with ``checkpoint`` (safetensors + JSON, hashes, no pickle), ``logger``
(TensorBoard and the progress bar), ``evaluation``, ``ctrlc`` (SIGINT / SIGTERM) and
``settings`` (the loop's settings and the schedule). ``memberstate`` cuts a stacked state into
members and back, and holds the members that are done.

The driver calls the agent's hooks only (``begin``, ``act``, ``observe``, ``logged_scalars``,
``state_parts``, ...): it names the agent classes of :mod:`rlsuite.learning` for type hints, never
imports them, and sets no attribute of an agent. Imports core, nets, vecenv and media.
"""
