"""What agents are built from: the agent base, the tabular and off-policy bases, and their parts.

``agent`` is the base class every algorithm in ``rlsuite.agents`` derives from (hooks, members,
checkpoint state, the user's ``learn`` / ``predict`` / ``save``); ``tabular`` and ``offpolicy``
are the bases of the tabular and the replay-based agents, with ``replay`` and ``framereplay``
(stacked image frames stored once), ``noise`` (exploration noise) and ``memory`` (a buffer that
fits before it is allocated) as the named pieces an algorithm file calls; ``bandit`` is the base
of the k-armed bandit agents. ``prediction``, ``lambda_prediction`` and ``montecarlo`` are the
textbook's prediction methods (TD(0), constant-α and batch MC, n-step TD, the λ-return, TD(λ),
true online TD(λ), first-visit MC, importance sampling) as plain numpy functions over many runs.

Imports core, nets, media and driver (``learn`` runs the driver's loop, ``save`` writes its checkpoint).
"""
