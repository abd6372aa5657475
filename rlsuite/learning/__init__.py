"""What agents are built from: the agent base, the tabular and off-policy bases, and their parts.

``agent`` is the base class every algorithm in ``rlsuite.agents`` derives from (hooks, members,
checkpoint state, the user's ``learn`` / ``predict`` / ``save``); ``tabular`` and ``offpolicy``
are the bases of the tabular and the replay-based agents, with ``replay`` and ``framereplay``
(stacked image frames stored once), ``noise`` (exploration noise) and ``memory`` (a buffer that
fits before it is allocated) as the named pieces an algorithm file calls.

Imports core, nets, media and driver (``learn`` runs the driver's loop, ``save`` writes its checkpoint).
"""
