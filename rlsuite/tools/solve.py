"""``rlsuite solve``: the exact q*, v* and optimal policy of an env with ``P`` (with ``--policy``, q_pi
and v_pi of that policy), printed by state and action name, and on the grid for grid envs."""

from __future__ import annotations

import argparse
from typing import Any

from rlsuite.core.errors import RLSuiteError
from rlsuite.tools.runargs import parse_set, route_settings


def add_parser(sub) -> None:
    """Add the ``solve`` subcommand to ``rlsuite``'s subparsers."""
    solve = sub.add_parser("solve", help="exact q*, v* and policy of an env with P; with --policy, q_pi and v_pi")
    solve.add_argument("--env", required=True)
    solve.add_argument("--gamma", type=float, default=0.99)
    solve.add_argument(
        "--policy",
        metavar="random|FILE.npy",
        help="evaluate this policy instead of finding the best: random (uniform over A(s)) or a "
        ".npy array of action probabilities (states × actions) or of one action per state",
    )
    solve.add_argument(
        "--set",
        action="append",
        metavar="env.KWARG=VALUE",
        help="an env argument, e.g. env.is_slippery=False (repeatable)",
    )
    solve.set_defaults(handler=cmd_solve)


def cmd_solve(args: argparse.Namespace) -> int:
    from rlsuite.core.envspec import make_env
    from rlsuite.core.solver import policy_evaluation, policy_matrix, tabular_mdp, value_iteration

    if not 0 <= args.gamma <= 1:
        raise RLSuiteError(f"--gamma {args.gamma} is out of range; choose a discount in [0, 1].")
    hyper, loop, env_kwargs = route_settings(parse_set(args.set or []))
    if hyper or loop:
        raise RLSuiteError(
            f"solve takes env arguments only, not --set {next(iter({**hyper, **loop}))}; "
            "write them as --set env.NAME=VALUE, e.g. --set env.is_slippery=False."
        )
    env = make_env(args.env, **env_kwargs)
    mdp = tabular_mdp(env)
    if args.policy is not None:  # policy evaluation: q_pi, v_pi
        q, v = policy_evaluation(mdp, policy_matrix(mdp, _read_policy(args.policy), args.env), args.gamma)
        v_name, policy = "v_pi", None
    else:
        q, v = value_iteration(mdp, args.gamma)
        v_name, policy = "v*", mdp.greedy(q)
    width = max(len(n) for n in mdp.state_names)
    shown = f", policy={args.policy}" if args.policy is not None else ""
    print(f"{args.env}{''.join(f', {k}={v!r}' for k, v in env_kwargs.items())}, gamma={args.gamma}{shown}")
    q_name = "q_pi" if policy is None else "q*"
    print(
        f"{'state':<{width}}  {v_name:>10}  "
        + ("" if policy is None else "policy      ")
        + f"{q_name}("
        + ", ".join(mdp.action_names)
        + ")"
    )
    for s, name in enumerate(mdp.state_names):
        qs = ", ".join("—" if not mdp.allowed[s, a] else f"{q[s, a]:.4f}" for a in range(q.shape[1]))
        greedy = "" if policy is None else f"{mdp.action_names[policy[s]]:<10}  "
        print(f"{name:<{width}}  {v[s]:>10.4f}  {greedy}({qs})")
    shape = getattr(env.unwrapped, "grid_shape", None)
    env.close()
    if shape is not None and len(shape) == 2 and shape[0] * shape[1] == len(v):
        print(f"\n{v_name} on the {shape[0]} × {shape[1]} grid (to one decimal):")
        print(grid_text(v, shape))
    return 0


def grid_text(values, shape: tuple[int, int], decimals: int = 1) -> str:
    """State values laid out on a rows × cols grid (row-major states), right-aligned, no "-0.0"."""
    cells = [f"{0.0 if round(float(x), decimals) == 0 else float(x):.{decimals}f}" for x in values]
    width = max(len(c) for c in cells)
    return "\n".join(
        " ".join(c.rjust(width) for c in cells[r * shape[1] : (r + 1) * shape[1]]) for r in range(shape[0])
    )


def _read_policy(text: str) -> Any:
    """--policy's value: "random", or a .npy file of a states × actions (or one-action-per-state) array."""
    import numpy as np

    if text == "random":
        return text
    if not text.endswith(".npy"):
        raise RLSuiteError(
            f"--policy {text!r} is neither random nor a .npy file; give --policy random or "
            "a .npy file of action probabilities (states × actions) or of one action per state."
        )
    try:
        return np.load(text, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise RLSuiteError(
            f"--policy {text}: cannot read it as a .npy array ({exc}); save one with numpy.save."
        ) from None
