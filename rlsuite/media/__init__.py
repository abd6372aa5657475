"""Pictures and recordings: what an agent or an episode looks like.

``pictures`` draws a tabular agent's Q-values, state values and greedy policy as small images
(grids as grids, other envs as tables) and encodes PNGs for TensorBoard; ``recording`` plays
episodes on an ``rgb_array`` env and writes them as GIF or MP4.

Imports core only.
"""
