"""Other libraries' algorithms trained through rlsuite's run handling.

``sb3``: Stable-Baselines3's algorithms as ``sb3:ALGO`` agents, with rlsuite's run directory,
schedule, evaluation, TensorBoard tags and checkpoints. Imports core, nets, driver and learning.
"""
