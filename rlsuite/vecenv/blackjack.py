"""Blackjack as Gymnasium's ``Blackjack-v1`` with ``sab=True`` plays it (Sutton & Barto's Example 5.1),
many whole episodes at once in numpy, for the Monte Carlo methods of chapter 5.

Half a million episodes through the env in a Python loop take minutes; here one call plays them as
arrays. The game is Gymnasium's: an infinite deck (1 = ace, 2–9, and 10 four times as likely), two
cards each, the dealer showing the first of hers; the observation is (player sum, dealer's showing
card, usable ace) with the sum counting a usable ace as 11; actions 0 = stick, 1 = hit; a hit past 21
loses (−1); on a stick the dealer draws until her sum is 17 or more (a usable ace counts 11) and the
greater sum wins (+1 / 0 / −1), a bust dealer losing; a natural (ace and ten dealt) wins +1 on a stick
unless the dealer has one too (then a draw). Since the deck is infinite, the dealer's hand is drawn
whole at the start of an episode: it does not depend on what the player does, and Gymnasium's order
of draws changes nothing in distribution. tests/test_book_ch5_ch8.py checks this against
Blackjack-v1 statistically.

States are flat indices into Gymnasium's observation space (32 sums × 11 dealer cards × 2), see
:func:`state_index`; a policy is a (32, 11, 2) table of the probability of hitting.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rlsuite.core.errors import RLSuiteError

STICK, HIT = 0, 1
SHAPE = (32, 11, 2)  # Gymnasium's Tuple(Discrete(32), Discrete(11), Discrete(2))
MAX_DECISIONS = 21  # the player's raw sum starts at 2 or more and a hit adds 1 or more: 20 hits at most, then a stick


def state_index(player_sum: np.ndarray, dealer: np.ndarray, usable: np.ndarray) -> np.ndarray:
    """Flat index of the observation (player sum, dealer's showing card, usable ace) in (32, 11, 2)."""
    return (np.asarray(player_sum) * SHAPE[1] + np.asarray(dealer)) * SHAPE[2] + np.asarray(usable)


def stick_on(threshold: int) -> np.ndarray:
    """The policy that sticks on a sum of ``threshold`` or more and hits otherwise (hit probabilities)."""
    policy = np.ones(SHAPE)
    policy[threshold:] = 0.0
    return policy


@dataclass
class Episodes:
    """``n`` played episodes: ``states`` and ``actions`` (n, T), -1 past an episode's end; ``reward`` (n,),
    the one reward of each episode (at its end; every earlier reward is 0); ``lengths`` (n,)."""

    states: np.ndarray
    actions: np.ndarray
    reward: np.ndarray
    lengths: np.ndarray


def _cards(rng: np.random.Generator, n: int) -> np.ndarray:
    return np.minimum(rng.integers(1, 14, n), 10)  # 13 equally likely cards, J/Q/K count 10


def _value(raw: np.ndarray, ace: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(hand value, usable ace) from the sum counting aces as 1 and whether there is an ace."""
    usable = ace & (raw + 10 <= 21)
    return raw + 10 * usable, usable


def dealer_scores(rng: np.random.Generator, shown: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The dealer's final score (0 when bust) and whether she holds a natural, her first card ``shown``."""
    hidden = _cards(rng, len(shown))
    raw, ace = shown + hidden, (shown == 1) | (hidden == 1)
    natural = ace & (raw == 11)
    drawing = np.flatnonzero(_value(raw, ace)[0] < 17)
    while drawing.size:
        card = _cards(rng, drawing.size)
        raw[drawing] += card
        ace[drawing] |= card == 1
        drawing = drawing[_value(raw[drawing], ace[drawing])[0] < 17]
    value = _value(raw, ace)[0]
    return np.where(value > 21, 0, value), natural


def _starts(rng: np.random.Generator, n: int, start: str | tuple[int, int, int]):
    """(player's raw sum, has an ace, natural, dealer's card) for ``n`` new episodes."""
    if start == "deal":  # Gymnasium's reset
        shown, first, second = _cards(rng, n), _cards(rng, n), _cards(rng, n)
        ace = (first == 1) | (second == 1)
        return first + second, ace, ace & (first + second == 11), shown
    if start == "uniform":  # exploring starts: the 200 states of sums 12–21, all equally likely
        player_sum, shown, usable = rng.integers(12, 22, n), rng.integers(1, 11, n), rng.random(n) < 0.5
    elif isinstance(start, tuple) and len(start) == 3 and 12 <= start[0] <= 21 and 1 <= start[1] <= 10:
        player_sum, shown, usable = np.full(n, start[0]), np.full(n, start[1]), np.full(n, bool(start[2]))
    else:
        raise RLSuiteError(
            f"start={start!r} is not a Blackjack start; pass 'deal', 'uniform' or "
            "(player sum 12–21, dealer 1–10, usable ace)."
        )
    # a usable ace is an ace counted 11 (raw sum 10 less); a sum of 21 with one is the ace and ten of a natural
    return player_sum - 10 * usable, usable, usable & (player_sum == 21), shown


def play(
    policy: np.ndarray,
    n: int,
    rng: np.random.Generator,
    start: str | tuple[int, int, int] = "deal",
    random_first: bool = False,
) -> Episodes:
    """Play ``n`` episodes of ``policy`` (hit probabilities, (32, 11, 2)).

    ``start``: "deal" (Gymnasium's), "uniform" (exploring starts over sums 12–21, dealer A–10, usable or
    not) or a fixed (player sum, dealer card, usable ace); ``random_first``: the first action uniform
    at random (exploring starts), the policy's after it."""
    raw, ace, natural, shown = _starts(rng, n, start)
    dealer, dealer_natural = dealer_scores(rng, shown)
    hit_prob = np.asarray(policy, dtype=np.float64).reshape(-1)
    states = np.full((n, MAX_DECISIONS), -1, dtype=np.int16)
    actions = np.full((n, MAX_DECISIONS), -1, dtype=np.int8)
    reward, lengths = np.zeros(n), np.zeros(n, dtype=np.int64)
    active = np.arange(n)
    for t in range(MAX_DECISIONS):
        value, usable = _value(raw[active], ace[active])
        s = state_index(value, shown[active], usable)
        u = rng.random(active.size)
        a = (u < 0.5) if (random_first and t == 0) else (u < hit_prob[s])
        states[active, t], actions[active, t] = s, a
        lengths[active] += 1
        hitting, sticking = active[a], active[~a]
        card = _cards(rng, hitting.size)
        raw[hitting] += card
        ace[hitting] |= card == 1
        natural[hitting] = False  # a natural is the two cards dealt, stuck on
        bust = hitting[_value(raw[hitting], ace[hitting])[0] > 21]
        reward[bust] = -1.0
        mine = _value(raw[sticking], ace[sticking])[0]
        theirs = dealer[sticking]
        won_natural = natural[sticking] & ~dealer_natural[sticking]
        reward[sticking] = np.where(won_natural, 1.0, np.sign(mine - theirs))
        active = np.setdiff1d(hitting, bust, assume_unique=True)
        if not active.size:
            break
    return Episodes(states, actions, reward, lengths)


# ----- the exact values (infinite deck: a recursion over the player's and the dealer's hands) --------------
CARD_PROB = np.array([0.0] + [1 / 13] * 9 + [4 / 13])  # by card value 1..10 (index 0 unused)


def dealer_distribution(shown: int) -> np.ndarray:
    """P(the dealer's final score), index 0 = bust and 17..21, for her showing card ``shown`` (1..10)."""
    memo: dict[tuple[int, bool], np.ndarray] = {}

    def final(raw: int, ace: bool) -> np.ndarray:
        if (raw, ace) not in memo:
            value = raw + 10 if ace and raw + 10 <= 21 else raw
            out = np.zeros(22)
            if value > 21:
                out[0] = 1.0
            elif value >= 17:
                out[value] = 1.0
            else:
                for card in range(1, 11):
                    out += CARD_PROB[card] * final(raw + card, ace or card == 1)
            memo[raw, ace] = out
        return memo[raw, ace]

    return sum(CARD_PROB[h] * final(shown + h, shown == 1 or h == 1) for h in range(1, 11))


def exact_values(policy: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(v, q) of ``policy`` (hit probabilities), or v* and q* for None, over the states of sums 12–21 as
    (32, 11, 2) and (32, 11, 2, 2) tables (q by action 0 stick, 1 hit; other sums 0). A state here is one
    reached in play: a sum of 21 with a usable ace counts as no natural."""
    v, q = np.zeros(SHAPE), np.zeros((*SHAPE, 2))
    for dealer in range(1, 11):
        _player_values(policy, dealer, v, q)
    return v, q


def _player_values(policy: np.ndarray | None, dealer: int, v: np.ndarray, q: np.ndarray) -> None:
    """Fill in v and q of the states with the dealer showing ``dealer``, by recursion over the player's hand."""
    final = dealer_distribution(dealer)
    # what sticking on a total earns: +1 against a lower dealer score or her bust (score 0), −1 against a higher
    scores = np.arange(22)
    memo: dict[tuple[int, bool], float] = {}

    def value_of(raw: int, ace: bool) -> float:
        usable = ace and raw + 10 <= 21
        total = raw + 10 * usable
        if total > 21:
            return -1.0
        if (raw, ace) not in memo:
            stick = float(np.dot(final, np.sign(total - scores)))
            hit = sum(CARD_PROB[c] * value_of(raw + c, ace or c == 1) for c in range(1, 11))
            p_hit = float(hit > stick) if policy is None else policy[total, dealer, int(usable)]
            memo[raw, ace] = p_hit * hit + (1 - p_hit) * stick
            if total >= 12:
                q[total, dealer, int(usable)] = stick, hit
                v[total, dealer, int(usable)] = memo[raw, ace]
        return memo[raw, ace]

    for total in range(12, 22):
        value_of(total, False)
        value_of(total - 10, True)
