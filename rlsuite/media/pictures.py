"""Pictures of what a tabular agent learned, drawn with numpy and Pillow.

Pictures are HxWx3 uint8 arrays, cheap enough to draw at every logging interval (no matplotlib):
colours are numpy lookups, and text and arrows are patches that Pillow draws once per text and
colour and that are cached. The corridor's three pictures take about 0.3 ms, FrozenLake's about
1 ms, CliffWalking's (48 states) about 2.5 ms.

* :func:`q_picture`: Q as a heatmap, states × actions, with the env's state and action names;
  the greedy action of each state has a red frame, actions outside A(s) are grey.
* :func:`value_picture` and :func:`policy_picture`: V(s) and the greedy arrows drawn on the map
  of an env whose states lie on a grid (:func:`layout_of` says which: ``grid_shape = (rows, cols)``
  on the unwrapped env, FrozenLake's ``desc``, CliffWalking's ``shape`` and cliff, the corridor's
  ``n_cells``), with its holes, cliff and goal.

Recording episodes (``video_every``) is :mod:`rlsuite.media.recording`'s.
"""

from __future__ import annotations

import functools
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from rlsuite.core.solver import names

HOLE, CLIFF, GOAL = "hole", "cliff", "goal"
FILL = {HOLE: (30, 50, 100), CLIFF: (120, 55, 40), GOAL: (40, 165, 75)}
MOVES = {
    "left": (0, -1),
    "right": (0, 1),
    "up": (-1, 0),
    "down": (1, 0),
    "west": (0, -1),
    "east": (0, 1),
    "north": (-1, 0),
    "south": (1, 0),
}
FONT_SIZE, TITLE_H, ROW_H = 11, 18, 16
MAP_SIDE, MAX_CELL, TEXT_CELL = 480, 56, 30  # a map's longer side, its largest cell, the smallest cell with text
MAX_TEXT_ROWS, MAX_ROWS = 96, 768  # Q heatmaps: rows with names and numbers; rows drawn at all (more are sampled)
GREEDY, LINES, DISALLOWED = (220, 30, 30), (25, 25, 25), np.array((110, 110, 110), dtype=np.uint8)
WHITE, BLACK, FLOOR, ARROW = (255, 255, 255), (0, 0, 0), (235, 235, 235), (20, 20, 20)
_VIRIDIS = np.array([(68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37)], dtype=np.float64)
LUT = np.stack(
    [np.interp(np.linspace(0, 1, 256), np.linspace(0, 1, len(_VIRIDIS)), _VIRIDIS[:, c]) for c in range(3)], axis=1
).astype(np.uint8)
LUT_T = [tuple(int(c) for c in color) for color in LUT]
INK = [BLACK if color @ np.array((0.299, 0.587, 0.114)) > 140 else WHITE for color in LUT.astype(float)]  # text colour


@dataclass(frozen=True)
class Layout:
    """What the pictures need to know about an env: names, and the map where the states lie on a grid."""

    n_states: int
    n_actions: int
    state_names: tuple[str, ...] | None = None
    action_names: tuple[str, ...] | None = None
    grid: tuple[int, int] | None = None  # (rows, cols); state = row * cols + col
    kinds: dict[int, str] = field(default_factory=dict)  # state -> HOLE, CLIFF or GOAL
    labels: dict[int, str] = field(default_factory=dict)  # state -> a letter or two drawn in its cell
    moves: tuple[tuple[int, int] | None, ...] = ()  # per action, (d_row, d_col) where its name says one


def layout_of(env: gym.Env | None, n_states: int, n_actions: int) -> Layout:
    """The :class:`Layout` of ``env``'s Q-table (``n_states`` × ``n_actions``)."""
    if env is None:
        return Layout(n_states, n_actions)
    base = env.unwrapped
    states, actions = names(env)
    states = tuple(map(str, states)) if len(states) == n_states else None
    actions = tuple(map(str, actions)) if len(actions) == n_actions else None
    grid, kinds, labels = _grid_map(base, n_states, states)
    moves = tuple(MOVES.get(a.lower()) for a in actions) if actions else ()
    return Layout(n_states, n_actions, states, actions, grid, kinds, labels, moves)


def _grid_map(base: Any, n: int, states: tuple[str, ...] | None) -> tuple[tuple[int, int] | None, dict, dict]:
    """(rows, cols), the hole/cliff/goal cells and the cell labels of an env whose states lie on a grid."""
    kinds: dict[int, str] = {}
    labels: dict[int, str] = {}
    desc, cliff = getattr(base, "desc", None), getattr(base, "_cliff", None)
    if getattr(base, "grid_shape", None) is not None:
        shape = tuple(int(x) for x in base.grid_shape)
    elif isinstance(desc, np.ndarray) and desc.ndim == 2:  # FrozenLake: S(tart), F(rozen), H(ole), G(oal)
        shape = desc.shape
        for s, tile in enumerate(desc.reshape(-1).tolist()):
            tile = tile.decode() if isinstance(tile, bytes) else str(tile)
            kinds.update({s: HOLE} if tile == "H" else {s: GOAL} if tile == "G" else {})
            labels.update({s: tile} if tile in "SHG" else {})
    elif cliff is not None and getattr(base, "shape", None) is not None:  # CliffWalking
        shape = tuple(base.shape)
        kinds = {int(s): CLIFF for s in np.flatnonzero(np.asarray(cliff).reshape(-1))}
        kinds[n - 1] = GOAL
        labels = {int(getattr(base, "start_state_index", shape[0] * shape[1] - shape[1])): "S", n - 1: "G"}
    elif isinstance(getattr(base, "n_cells", None), int):  # the corridor
        shape = (1, base.n_cells)
    else:
        return None, {}, {}
    if len(shape) != 2 or shape[0] * shape[1] != n:
        return None, {}, {}
    if not labels and states:  # rlsuite's grids: "A(0,1)" -> A, "T(0,0)" -> T (a terminal: the goal)
        short = {s: re.sub(r"\(\s*\d+\s*,\s*\d+\s*\)", "", name).strip() for s, name in enumerate(states)}
        labels = {s: name for s, name in short.items() if 0 < len(name) <= 2}
        kinds = {s: GOAL for s, name in labels.items() if name in ("T", "G")}
    return (int(shape[0]), int(shape[1])), kinds, labels


# ----- drawing ------------------------------------------------------------------------------
# Everything is uint8 from the start. Text and arrows are drawn by Pillow once per (text, background,
# colour) and cached as small patches; a picture is then numpy fills and slice assignments.
@functools.lru_cache(maxsize=1)
def _font() -> Any:
    try:
        return ImageFont.load_default(size=FONT_SIZE)
    except TypeError:  # Pillow before 10.1: the bitmap font, which has no size
        return ImageFont.load_default()


@functools.lru_cache(maxsize=256)
def _char_alpha(char: str) -> np.ndarray:
    """One character as an (h, w) float32 alpha mask ``w`` its advance wide, drawn without anti-aliasing:
    crisp at this size, and about half the PNG bytes (which TensorBoard's event writer pays for, byte by byte)."""
    font = _font()
    ascent, descent = font.getmetrics() if hasattr(font, "getmetrics") else (FONT_SIZE, 2)
    mask = Image.new("L", (max(round(font.getlength(char)), 1), ascent + descent))
    draw = ImageDraw.Draw(mask)
    draw.fontmode = "1"
    draw.text((0, 0), char, fill=255, font=font)
    return np.asarray(mask, dtype=np.float32) / 255.0


@functools.lru_cache(maxsize=8192)
def _text_alpha(text: str) -> np.ndarray:
    """``text`` as an (h, w, 1) alpha mask, put together from its characters' (so a number never seen
    before costs a few array copies, not a font rendering)."""
    return np.concatenate([_char_alpha(c) for c in text or " "], axis=1)[:, :, None]


def _blend(alpha: np.ndarray, bg: tuple, fg: tuple) -> np.ndarray:
    bg_ = np.asarray(bg, dtype=np.float32)
    return np.rint(bg_ + alpha * (np.asarray(fg, dtype=np.float32) - bg_)).astype(np.uint8)


_text_patch = functools.lru_cache(maxsize=4096)(lambda text, bg, fg: _blend(_text_alpha(text), bg, fg))


@functools.lru_cache(maxsize=256)
def _arrow_patch(move: tuple[int, int] | None, side: int, bg: tuple, fg: tuple) -> np.ndarray:
    """The inside of a ``side``-pixel cell (its border lines left out) holding an arrow along ``move``
    from its centre, or a dot for None."""
    mask = Image.new("L", (side, side))
    draw, c, r = ImageDraw.Draw(mask), side / 2, side * 0.36
    if move is None:
        draw.ellipse([c - side * 0.06, c - side * 0.06, c + side * 0.06, c + side * 0.06], fill=255)
    else:
        dy, dx = move
        tip, head = (c + dx * r, c + dy * r), side * 0.16
        base = (tip[0] - dx * head, tip[1] - dy * head)
        draw.line([(c, c), base], fill=255, width=max(side // 14, 1))
        draw.polygon(
            [
                tip,
                (base[0] - dy * head * 0.7, base[1] - dx * head * 0.7),
                (base[0] + dy * head * 0.7, base[1] + dx * head * 0.7),
            ],
            fill=255,
        )
    alpha = (np.asarray(mask, dtype=np.float32) / 255.0)[1 : side - 1, 1 : side - 1, None]
    return _blend(alpha, bg, fg)


def _put(image: np.ndarray, patch: np.ndarray, x: int, y: int) -> None:
    """Copy ``patch`` into ``image`` with its top-left corner at (x, y), clipped to the image."""
    h, w = patch.shape[:2]
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, image.shape[1]), min(y + h, image.shape[0])
    if x0 < x1 and y0 < y1:
        image[y0:y1, x0:x1] = patch[y0 - y : y1 - y, x0 - x : x1 - x]


def draw_text(
    image: np.ndarray, text: str, x: float, y: float, bg: tuple = WHITE, fg: tuple = BLACK, center: bool = True
) -> None:
    """``text`` on the uniform background ``bg``, centred on (x, y) or starting at x."""
    patch = _text_patch(text, bg, fg)
    h, w = patch.shape[:2]
    _put(image, patch, int(x - w / 2) if center else int(x), int(y - h / 2))


def _scale(values: np.ndarray, where: np.ndarray) -> tuple[float, float, np.ndarray]:
    """(low, high, LUT index per value) over the finite ``values`` selected by ``where``."""
    chosen = values[where & np.isfinite(values)]
    low, high = (float(chosen.min()), float(chosen.max())) if chosen.size else (0.0, 0.0)
    if high <= low:
        return low, high, np.full(values.shape, 128, dtype=np.intp)
    t = (np.nan_to_num(values, nan=low, posinf=high, neginf=low) - low) / (high - low)
    return low, high, np.clip(t * 255, 0, 255).astype(np.intp)


def _number(value: float, low: float, high: float) -> str:
    big = max(abs(low), abs(high))
    return f"{value:.0f}" if big >= 100 else f"{value:.1f}" if big >= 10 else f"{value:.2f}"


def _titled(body: np.ndarray, title: str) -> np.ndarray:
    """``body`` under a white strip holding ``title``, widened if the title needs it."""
    width = max(body.shape[1], _text_alpha(title).shape[1] + 8)
    image = np.full((TITLE_H + body.shape[0], width, 3), 255, dtype=np.uint8)
    image[TITLE_H:, : body.shape[1]] = body
    draw_text(image, title, 4, TITLE_H / 2, center=False)
    return image


def state_values(q: np.ndarray, allowed: np.ndarray | None = None) -> np.ndarray:
    """V(s) = max over A(s) of Q(s, a)."""
    return (q if allowed is None else np.where(allowed, q, -np.inf)).max(axis=1)


def _greedy(q: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    """(S, A) bool: the actions of A(s) whose value ties the state's best."""
    best = np.where(allowed, q, -np.inf).max(axis=1, keepdims=True)
    return allowed & (q >= best - 1e-9 * np.maximum(np.abs(best), 1.0))


def q_picture(q: np.ndarray, layout: Layout, allowed: np.ndarray | None = None, title: str = "Q(s, a)") -> np.ndarray:
    """Q as a heatmap, states × actions; red frame: the greedy action (where a state prefers one)."""
    n_s, n_a = q.shape
    allowed = np.ones(q.shape, dtype=bool) if allowed is None else np.asarray(allowed, dtype=bool)
    rows = np.arange(n_s) if n_s <= MAX_ROWS else np.linspace(0, n_s - 1, MAX_ROWS).astype(np.intp)
    text = len(rows) <= MAX_TEXT_ROWS
    rh = ROW_H if text else max(1, MAX_ROWS // len(rows))
    names = layout.state_names or tuple(str(s) for s in range(n_s))
    actions = layout.action_names or tuple(str(a) for a in range(n_a))
    name_w = min(max(_text_alpha(names[s]).shape[1] for s in rows) + 8, 160) if text else 0
    cw = max(48, max(_text_alpha(a).shape[1] for a in actions) + 8)
    low, high, idx = _scale(q, allowed)
    body = np.where(allowed[rows, :, None], LUT[idx[rows]], DISALLOWED).astype(np.uint8)
    body = body.repeat(cw, axis=1).repeat(rh, axis=0)  # columns first: then rows are whole-row copies, ~10x faster
    if rh >= 8:
        body[::rh] = LINES
    body[:, ::cw] = LINES
    image = np.full((ROW_H + body.shape[0], name_w + body.shape[1], 3), 255, dtype=np.uint8)
    image[ROW_H:, name_w:] = body
    for a, name in enumerate(actions):
        draw_text(image, name, name_w + a * cw + cw / 2, ROW_H / 2)
    if text:
        greedy, counts = _greedy(q, allowed), allowed.sum(axis=1)
        for i, s in enumerate(rows.tolist()):
            y = ROW_H + i * rh
            draw_text(image, names[s], 4, y + rh / 2, center=False)
            prefers = greedy[s].sum() < counts[s]
            for a in np.flatnonzero(allowed[s]).tolist():
                k = idx[s, a]
                draw_text(image, _number(q[s, a], low, high), name_w + a * cw + cw / 2, y + rh / 2, LUT_T[k], INK[k])
                if prefers and greedy[s, a]:
                    x = name_w + a * cw
                    image[y + 1 : y + rh, [x + 1, x + 2, x + cw - 2, x + cw - 1]] = GREEDY
                    image[[y + 1, y + 2, y + rh - 2, y + rh - 1], x + 1 : x + cw] = GREEDY
    return _titled(image, f"{title}   min {low:.3g}  max {high:.3g}")


def _map(layout: Layout, fills: np.ndarray) -> tuple[np.ndarray, int]:
    """A grid map: each cell ``fills[s]`` (holes, cliff and goal in their colours), cell borders; and the cell side."""
    rows, cols = layout.grid
    side = int(np.clip(MAP_SIDE // max(rows, cols), 12, MAX_CELL))
    cells = np.array(fills, dtype=np.uint8).reshape(rows, cols, 3)
    for s, kind in layout.kinds.items():
        cells[divmod(s, cols)] = FILL[kind]
    image = cells.repeat(side, axis=1).repeat(side, axis=0)
    image[::side], image[:, ::side] = LINES, LINES
    image[-1], image[:, -1] = LINES, LINES
    return image, side


def _labels(image: np.ndarray, layout: Layout, side: int, colors: Any) -> None:
    """Each cell's label: white in the middle of a hole, cliff or goal cell, else in the top-left corner;
    ``colors(s)`` is (background, text colour) of cell ``s``."""
    for s, label in layout.labels.items():
        row, col = divmod(s, layout.grid[1])
        if s in layout.kinds:
            draw_text(image, label, col * side + side / 2, row * side + side / 2, FILL[layout.kinds[s]], WHITE)
        else:
            draw_text(image, label, col * side + 3, row * side + 8, *colors(s), center=False)


def value_picture(values: np.ndarray, layout: Layout, title: str = "V(s) = max_a Q(s, a)") -> np.ndarray:
    """V drawn on the map of a grid env: colour and number per cell."""
    values = np.asarray(values, dtype=np.float64)
    open_ = np.ones(len(values), dtype=bool)
    open_[list(layout.kinds)] = False
    low, high, idx = _scale(values, open_)
    image, side = _map(layout, LUT[idx])
    cols = layout.grid[1]
    if side >= TEXT_CELL:
        for s in np.flatnonzero(open_).tolist():
            row, col = divmod(s, cols)
            k = idx[s]
            draw_text(
                image,
                _number(values[s], low, high),
                col * side + side / 2,
                row * side + side / 2 + side / 8,
                LUT_T[k],
                INK[k],
            )
    _labels(image, layout, side, lambda s: (LUT_T[idx[s]], INK[idx[s]]))
    return _titled(image, f"{title}   min {low:.3g}  max {high:.3g}")


def policy_picture(
    q: np.ndarray, layout: Layout, allowed: np.ndarray | None = None, terminal: np.ndarray | None = None
) -> np.ndarray:
    """The greedy actions as arrows on the map (every tied best action; a dot where all tie)."""
    allowed = np.ones(q.shape, dtype=bool) if allowed is None else np.asarray(allowed, dtype=bool)
    image, side = _map(layout, np.full((len(q), 3), FLOOR))
    greedy, counts, cols = _greedy(q, allowed), allowed.sum(axis=1), layout.grid[1]
    for s in range(len(q)):
        if s in layout.kinds or (terminal is not None and terminal[s]):
            continue
        y, x = divmod(s, cols)
        best = np.flatnonzero(greedy[s]).tolist()
        if len(best) == counts[s] > 1:
            best = [None]  # no preference yet
        for a in best:
            move = None if a is None else layout.moves[a] if a < len(layout.moves) else None
            if a is not None and move is None:  # an action with no direction: its name
                name = layout.action_names[a] if layout.action_names else str(a)
                draw_text(image, name[:3], x * side + side / 2, y * side + side / 2, FLOOR)
            else:
                _put(image, _arrow_patch(move, side, FLOOR, ARROW), x * side + 1, y * side + 1)
    _labels(image, layout, side, lambda s: (FLOOR, BLACK))
    return _titled(image, "greedy policy (dot: no preference)")


def png_bytes(image: np.ndarray) -> bytes:
    """An HxWx3 uint8 array as PNG bytes (Pillow, fastest compression: these pictures are flat colours)."""
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image[:, :, :3], dtype=np.uint8)).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def save_png(image: np.ndarray, path: str | Path) -> Path:
    """Write ``image`` to ``path`` as a PNG (folders made as needed)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(png_bytes(image))
    return path
