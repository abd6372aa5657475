"""Recording one deterministic episode as frames and as an animated GIF (the run's ``video_every``).

The frames are the env's ``rgb_array`` renders: the reset frame, then one per step, scaled up by
a whole factor until the longer side reaches :data:`MIN_SIDE` and captioned with the step and the
return so far (so no two frames are alike and a GIF keeps every one). An episode is cut after
:data:`MAX_RECORDED_STEPS` steps. The GIF shares one palette over all frames, which encodes it
about ten times faster than a palette per frame.
"""

from __future__ import annotations

import contextlib
import copy
import io
import os
from collections.abc import Iterator
from typing import Any

import gymnasium as gym
import numpy as np
from PIL import Image

from rlsuite.core.envspec import EnvSpec, env_name, gym_make, make_env
from rlsuite.core.errors import RLSuiteError
from rlsuite.media.pictures import ROW_H, draw_text

MIN_SIDE = 400  # frames are scaled up by a whole factor until their longer side reaches this
MAX_RECORDED_STEPS = 500  # a recorded episode is cut here (CartPole's 500 steps fit)


@contextlib.contextmanager
def quiet_pygame(offscreen: bool = True) -> Iterator[None]:
    """While it lasts, pygame (which draws some envs' frames and windows) prints no banner and opens no
    sound device; ``offscreen``, no display either, so SDL prints no complaint about a missing one
    (``rgb_array`` frames need none). The user's own settings of these variables are kept; the ones
    set here are removed after."""
    wanted = {"PYGAME_HIDE_SUPPORT_PROMPT": "1", "SDL_AUDIODRIVER": "dummy"}
    if offscreen:
        wanted["SDL_VIDEODRIVER"] = "dummy"
    added = [k for k in wanted if k not in os.environ]
    os.environ.update({k: wanted[k] for k in added})
    try:
        yield
    finally:
        for k in added:
            os.environ.pop(k, None)


def rgb_array_env(env: EnvSpec, env_kwargs: dict[str, Any] | None = None) -> gym.Env:
    """An env like ``env`` that renders ``rgb_array`` frames (never the caller's own instance), or one
    RLSuiteError line saying it cannot."""
    kwargs = dict(env_kwargs or {})
    plain = env if isinstance(env, gym.Env) else make_env(env, **kwargs)
    modes = list(plain.metadata.get("render_modes") or [])
    if plain.render_mode == "rgb_array":  # it renders frames as made (an env observed through its pixels)
        return plain if plain is not env else copy.deepcopy(env)
    if plain is not env:
        plain.close()
    if "rgb_array" not in modes:
        raise RLSuiteError(
            f"video_every needs an env that renders rgb_array frames, and env {env_name(env)!r} does "
            f"not (its render modes: {', '.join(modes) or 'none'}); set video_every=0."
        )
    if not isinstance(env, gym.Env):
        return make_env(env, **{**kwargs, "render_mode": "rgb_array"})  # over the env's own, e.g. "ansi"
    if env.spec is not None and env.spec.id in gym.registry:
        return gym_make(env.spec, render_mode="rgb_array")
    raise RLSuiteError(
        f"video_every needs rgb_array frames, and the env instance {env_name(env)!r} was made with "
        f"render_mode={env.render_mode!r}; make it with render_mode='rgb_array' or pass its id."
    )


def upscale(frame: Any) -> np.ndarray:
    """An HxWx3 uint8 frame, scaled up by a whole factor until its longer side reaches MIN_SIDE."""
    image = np.asarray(frame if frame is not None else (), dtype=np.uint8)
    if image.ndim != 3 or image.shape[2] not in (3, 4):
        raise RLSuiteError(
            f"the env's render() gave an array of shape {image.shape} in rgb_array mode; "
            "it must be height x width x 3 (RGB)."
        )
    factor = max(1, MIN_SIDE // max(image.shape[:2]))
    image = image[:, :, :3]
    return image.repeat(factor, axis=1).repeat(factor, axis=0) if factor > 1 else image


def captioned(frame: Any, step: int, total: float) -> np.ndarray:
    """``frame`` scaled up, over a strip saying the step and the return so far."""
    image = upscale(frame)
    strip = np.full((ROW_H + 2, image.shape[1], 3), 255, dtype=np.uint8)
    draw_text(strip, f"step {step}   return {total:.4g}", 4, strip.shape[0] / 2, center=False)
    return np.concatenate([image, strip])


def record_episode(agent: Any, env: gym.Env, seed: int, max_steps: int = MAX_RECORDED_STEPS) -> list[np.ndarray]:
    """The frames of one deterministic episode of ``agent`` on ``env``: the reset frame, then one per step
    (at most ``max_steps``, and never more than MAX_RECORDED_STEPS)."""
    with quiet_pygame():
        obs, info = env.reset(seed=seed)
        frames, total = [captioned(env.render(), 0, 0.0)], 0.0
        for step in range(1, min(max_steps, MAX_RECORDED_STEPS) + 1):
            action = agent.predict(obs, deterministic=True, action_mask=info.get("action_mask"))
            obs, reward, terminated, truncated, info = env.step(action)
            total += float(reward)
            frames.append(captioned(env.render(), step, total))
            if terminated or truncated:
                break
    return frames


def gif_bytes(frames: list[np.ndarray], fps: float = 4.0) -> bytes:
    """``frames`` as an animated GIF that loops, every frame shown ``1 / fps`` seconds."""
    images = [Image.fromarray(f) for f in frames]
    if all(f.shape == frames[0].shape for f in frames):  # one palette from a sample of the frames
        sample = np.concatenate(frames[:: max(1, len(frames) // 8)][:8] + [frames[-1]])
        palette = Image.fromarray(sample).quantize(256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
        images = [im.quantize(palette=palette, dither=Image.Dither.NONE) for im in images]
    buffer = io.BytesIO()
    images[0].save(
        buffer,
        format="GIF",
        save_all=True,
        append_images=images[1:],
        duration=max(20, round(1000 / (fps or 4.0))),
        loop=0,
    )
    return buffer.getvalue()
