"""Sutton & Barto's figures: exact policy evaluation (`solve(..., policy=...)`), `rlsuite solve
--policy`, and the textbook bench suite in a tiny mode."""

import json

import numpy as np
import pytest

import rlsuite
from rlsuite.core.errors import RLSuiteError
from rlsuite.tools import textbook
from rlsuite.tools.cli import main

# the book's grids, as its figures print them
FIGURE_3_2 = [
    [3.3, 8.8, 4.4, 5.3, 1.5],
    [1.5, 3.0, 2.3, 1.9, 0.5],
    [0.1, 0.7, 0.7, 0.4, -0.4],
    [-1.0, -0.4, -0.4, -0.6, -1.2],
    [-1.9, -1.3, -1.2, -1.4, -2.0],
]
FIGURE_3_5 = [
    [22.0, 24.4, 22.0, 19.4, 17.5],
    [19.8, 22.0, 19.8, 17.8, 16.0],
    [17.8, 19.8, 17.8, 16.0, 14.4],
    [16.0, 17.8, 16.0, 14.4, 13.0],
    [14.4, 16.0, 14.4, 13.0, 11.7],
]
FIGURE_4_1 = [[0, -14, -20, -22], [-14, -18, -20, -20], [-20, -20, -18, -14], [-22, -20, -14, 0]]
LEFT, DOWN, RIGHT, UP = 0, 1, 2, 3


# ----- policy evaluation -------------------------------------------------------------------------
def test_random_policy_reproduces_figure_3_2_and_v_star_figure_3_5():
    q, v, pi = rlsuite.solve("rlsuite/GridWorld-v0", gamma=0.9, policy="random")
    assert (np.round(v, 1) + 0.0).reshape(5, 5).tolist() == FIGURE_3_2
    assert pi.shape == (25, 4) and np.allclose(pi, 0.25)
    np.testing.assert_allclose(v, (pi * q).sum(axis=1), atol=1e-10)  # v_pi(s) = sum_a pi(a|s) q_pi(s, a)
    assert q[1].tolist() == pytest.approx([10 + 0.9 * v[21]] * 4)  # A: every action jumps to A' with +10
    _, v_star, greedy = rlsuite.solve("rlsuite/GridWorld-v0", gamma=0.9)
    assert np.round(v_star, 1).reshape(5, 5).tolist() == FIGURE_3_5
    assert greedy.shape == (25,)  # without a policy, solve is value iteration as before


def test_random_policy_at_gamma_1_reproduces_figure_4_1():
    q, v, _ = rlsuite.solve("rlsuite/GridWorld4x4-v0", gamma=1.0, policy="random")
    assert (np.round(v) + 0.0).reshape(4, 4).tolist() == FIGURE_4_1
    assert v[0] == 0.0 and v[15] == 0.0 and (q[[0, 15]] == 0).all()  # terminal states
    assert q[1, LEFT] == pytest.approx(-1.0) and q[1, UP] == pytest.approx(
        -1 + v[1]
    )  # Figure 4.1's q_pi(11, down) = -1


def test_terminal_states_are_zero_however_p_marks_them():
    # FrozenLake: holes and goal absorb; CliffWalking: the goal is entered only by terminating steps
    _, v, _ = rlsuite.solve("FrozenLake-v1", gamma=1.0, policy="random")
    assert v[[5, 7, 11, 12, 15]].tolist() == [0.0] * 5 and 0 < v[14] < 1
    _, v, _ = rlsuite.solve("CliffWalking-v1", gamma=1.0, policy="random")
    assert v[47] == 0.0 and v[35] < -1 and v[36] < v[35]


def test_random_means_uniform_over_the_allowed_actions():
    q, v, pi = rlsuite.solve("rlsuite/MaximizationBias-v0", gamma=1.0, policy="random")
    assert pi[0].tolist() == [0.5, 0.5] + [0.0] * 8 and np.allclose(pi[1], 0.1)
    assert v.tolist() == pytest.approx([-0.05, -0.1, 0.0])


def iterative_policy_evaluation(env_id, pi, gamma, sweeps=5000):
    """The book's iterative policy evaluation, straight from ``P``: an independent check."""
    P = rlsuite.make_env(env_id).unwrapped.P
    v = np.zeros(len(P))
    for _ in range(sweeps):
        v = np.array(
            [
                sum(pi[s, a] * p * (r + (0 if t else gamma * v[s2])) for a in P[s] for p, s2, r, t in P[s][a])
                for s in range(len(P))
            ]
        )
    return v


def test_a_custom_policy_array_and_a_deterministic_policy():
    pi = np.zeros((16, 4))
    pi[:, UP], pi[:, LEFT] = 0.7, 0.3  # always ends, at the top-left corner
    q, v, returned = rlsuite.solve("rlsuite/GridWorld4x4-v0", gamma=1.0, policy=pi.tolist())
    np.testing.assert_allclose(v, iterative_policy_evaluation("rlsuite/GridWorld4x4-v0", pi, 1.0), atol=1e-8)
    assert returned.tolist() == pi.tolist() and v[1] == pytest.approx(-1 / 0.3)  # top row: leave with prob 0.3
    # one action per state: the greedy policy of v* is worth v*
    _, v_star, greedy = rlsuite.solve("rlsuite/GridWorld-v0", gamma=0.9)
    _, v_greedy, one_hot = rlsuite.solve("rlsuite/GridWorld-v0", gamma=0.9, policy=greedy)
    np.testing.assert_allclose(v_greedy, v_star, atol=1e-8)
    assert one_hot.shape == (25, 4) and (one_hot.argmax(axis=1) == greedy).all()


@pytest.mark.parametrize(
    "policy,match",
    [
        (
            np.full((16, 3), 1 / 3),
            r"policy has shape \(16, 3\), but rlsuite/GridWorld4x4-v0 has 16 states and 4 actions",
        ),
        (
            np.full((16, 4), 0.3),
            r"policy row 0 \(T\(0,0\)\) is \[0.3, 0.3, 0.3, 0.3\], not probabilities .*16 such rows",
        ),
        (np.tile([1.5, -0.5, 0.0, 0.0], (16, 1)), r"policy row 0 .* not probabilities \(each >= 0, summing to 1\)"),
        ("greedy", r"policy='greedy' is not a policy rlsuite/GridWorld4x4-v0 knows; give \"random\""),
        (np.full(16, 4), r"not all are actions 0 … 3"),
        ([[0.5, 0.5], [1.0]], r"not an array of numbers"),
    ],
)
def test_a_bad_policy_is_one_sentence(policy, match):
    with pytest.raises(RLSuiteError, match=match) as info:
        rlsuite.solve("rlsuite/GridWorld4x4-v0", gamma=1.0, policy=policy)
    message = str(info.value)
    assert "\n" not in message and message.endswith(".") and "(16, 4) array of action probabilities" in message


def test_a_policy_that_never_ends_at_gamma_1_is_a_clear_error():
    with pytest.raises(RLSuiteError, match=r"never ends an episode from state \(0,0\) or 24 other states.*gamma < 1"):
        rlsuite.solve("rlsuite/GridWorld-v0", gamma=1.0, policy="random")  # a continuing task
    always_left = np.zeros(16, dtype=int)  # column 0 pushes into the wall for ever
    with pytest.raises(RLSuiteError, match=r"from state \(1,0\) or 10 other states"):
        rlsuite.solve("rlsuite/GridWorld4x4-v0", gamma=1.0, policy=always_left)
    _, v, _ = rlsuite.solve("rlsuite/GridWorld4x4-v0", gamma=0.5, policy=always_left)  # fine below 1
    assert v[4] == pytest.approx(-2.0) and v[1] == pytest.approx(-1.0)


# ----- the command line ------------------------------------------------------------------------------
def grid_rows(out: str) -> list[list[str]]:
    lines = out.split(" grid (to one decimal):\n", 1)[1].strip().splitlines()
    return [line.split() for line in lines]


def test_cli_solve_policy_random_prints_q_pi_v_pi_and_the_grid(capsys):
    assert main(["solve", "--env", "rlsuite/GridWorld4x4-v0", "--gamma", "1", "--policy", "random"]) == 0
    out = capsys.readouterr().out
    assert "policy=random" in out and "v_pi  q_pi(left, down, right, up)" in out and "v_pi on the 4 × 4 grid" in out
    assert grid_rows(out)[1] == ["-14.0", "-18.0", "-20.0", "-20.0"]  # Figure 4.1's second row
    row = next(line for line in out.splitlines() if line.startswith("(0,1)"))
    assert row.split(maxsplit=2)[1:] == ["-14.0000", "(-1.0000, -19.0000, -21.0000, -15.0000)"]
    assert main(["solve", "--env", "rlsuite/GridWorld-v0", "--gamma", "0.9", "--policy", "random"]) == 0
    assert grid_rows(capsys.readouterr().out)[0] == ["3.3", "8.8", "4.4", "5.3", "1.5"]
    assert main(["solve", "--env", "rlsuite/GridWorld-v0", "--gamma", "0.9"]) == 0  # v*: Figure 3.5
    out = capsys.readouterr().out
    assert "v* on the 5 × 5 grid" in out and grid_rows(out)[0] == ["22.0", "24.4", "22.0", "19.4", "17.5"]


def test_cli_solve_policy_from_a_file_and_its_errors(capsys, tmp_path):
    path = tmp_path / "up_left.npy"
    np.save(path, np.tile([0.5, 0.0, 0.0, 0.5], (16, 1)))
    assert main(["solve", "--env", "rlsuite/GridWorld4x4-v0", "--gamma", "1", "--policy", str(path)]) == 0
    assert grid_rows(capsys.readouterr().out)[0][:2] == ["0.0", "-2.0"]  # leaves (0,1) w.p. 1/2 per step
    for policy, words in (("greedy", "neither random nor a .npy file"), (str(tmp_path / "no.npy"), "cannot read it")):
        assert main(["solve", "--env", "rlsuite/GridWorld4x4-v0", "--gamma", "1", "--policy", policy]) == 2
        assert words in capsys.readouterr().err
    assert main(["solve", "--env", "rlsuite/GridWorld-v0", "--gamma", "1", "--policy", "random"]) == 2
    assert "never ends an episode" in capsys.readouterr().err


# ----- the textbook suite ----------------------------------------------------------------------------
def test_greedy_path_and_its_text_on_the_cliff():
    q = np.zeros((48, 4))
    q[36, 0] = q[24:35, 1] = q[35, 2] = 1.0  # up from the start, right along the edge, down into the goal
    P = rlsuite.make_env("CliffWalking-v1").unwrapped.P
    path, reached = textbook.greedy_path(q, P)
    assert reached and len(path) == 13 and path[0] == (36, 0) and path[-1] == (35, 2)
    assert textbook.path_text(path).splitlines()[2:] == ["→ → → → → → → → → → → ↓", "↑ C C C C C C C C C C G"]
    q[25, 1], q[25, 3] = 0.0, 1.0  # a left turn makes a loop
    assert textbook.greedy_path(q, P, limit=50)[1] is False


def test_textbook_suite_in_a_tiny_mode_writes_every_section(tmp_path):
    classic = ["fig3.2", "fig3.5", "fig4.1", "ex6.6", "fig6.5"]  # the chapters' figures: their own tests
    path = textbook.write(
        tmp_path,
        classic,
        cliff_runs=2,
        bias_runs=3,
        cliff_episodes=5,
        bias_episodes=6,
        workers=1,
        log=lambda line: None,
    )
    text = path.read_text()
    assert path == tmp_path / "textbook.md"
    for heading in ("## Figure 3.2", "## Figure 3.5", "## Figure 4.1", "## Example 6.6", "## Figure 6.5"):
        assert heading in text
    assert text.count("all cells equal the book's") == 3
    assert "-14 -18 -20 -20   -14 -18 -20 -20" in text and "22.0 24.4 22.0 19.4 17.5   22.0 24.4" in text
    assert "2 runs per method (6 in all)" in text and "3 runs per method (6 in all)" in text
    assert "| Sarsa |" in text and "| Expected Sarsa |" in text
    assert "| episode | Q-learning % left | Double Q-learning % left |" in text and "| 6 |" in text
    assert "G\n```" in text  # the paths drawn as text
    for png in ("value_grids", "cliff_walking", "cliff_paths", "maximization_bias"):
        assert (tmp_path / "textbook" / f"{png}.png").stat().st_size > 1000
        assert f"(textbook/{png}.png)" in text
    data = json.loads((tmp_path / "textbook" / "textbook.json").read_text())
    assert len(data["ex6.6"]["sarsa"]["mean_return"]) == 5 and len(data["fig6.5"]["double_qlearning"]["left_rate"]) == 6
    assert data["fig4.1"]["matches"] == 16


def test_runs_are_the_same_in_worker_processes_and_stacked_or_alone():
    jobs = [("qlearning", (0, 1, 2), 8), ("double_qlearning", (0, 1, 2), 8)]
    here = textbook.run_all(textbook.bias_run, jobs, workers=1)
    there = textbook.run_all(textbook.bias_run, jobs, workers=2)
    assert [[r[0].tolist() for r in m] for m in here] == [[r[0].tolist() for r in m] for m in there]
    alone = textbook.bias_run("qlearning", (1,), 8)
    assert alone[0][0].tolist() == here[0][1][0].tolist()  # seed 1 beside seeds 0 and 2, and alone


def test_bench_suite_textbook_dispatches_and_checks_only(tmp_path, capsys):
    assert main(["bench", "--suite", "textbook", "--only", "fig4.1", "fig3.2", "--out", str(tmp_path)]) == 0
    text = (tmp_path / "textbook.md").read_text()
    assert "## Figure 4.1" in text and "## Figure 3.2" in text and "Example 6.6" not in text
    assert "rlsuite bench --suite textbook --only fig4.1 fig3.2" in text
    assert main(["bench", "--suite", "textbook", "--only", "fig6.4"]) == 2
    assert "did you mean" in (err := capsys.readouterr().err) and "'fig6.5'" in err
    assert main(["bench", "--suite", "textbook", "--seeds", "0"]) == 2
