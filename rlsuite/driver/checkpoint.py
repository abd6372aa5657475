"""Checkpoints without pickle: arrays in safetensors, everything else in JSON.

A checkpoint is a directory holding ``tensors.safetensors`` and ``agent.json`` (and
``replay.npz`` where it keeps the replay buffer). It is written under a temporary name and renamed
into place, so a crash at any moment leaves the previous checkpoint whole. ``agent.json`` records
the SHA-256 of each other file (``"files"``), checked on load; loading refuses a link, a file that
changed, a non-finite weight and a counter out of range, and never runs code that a file carries.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from safetensors.numpy import load as load_tensor_bytes
from safetensors.numpy import save as tensor_bytes

from rlsuite.core import __version__
from rlsuite.core.envspec import env_name
from rlsuite.core.errors import RLSuiteError
from rlsuite.core.spaces import space_to_json
from rlsuite.driver.rundir import refuse_link

FORMAT = "rlsuite-checkpoint"
VERSION = 1
TENSORS, META, REPLAY = "tensors.safetensors", "agent.json", "replay.npz"
STEP_NAME = re.compile(r"step_(\d+)")
MAX_INT = 2**63


def parts_to_arrays(parts: dict[str, Any]) -> dict[str, np.ndarray]:
    """Named arrays of an agent's state parts: a module's state dict, an optimizer's per-parameter
    state (e.g. Adam's moments and step), a numpy array as it is."""
    out: dict[str, np.ndarray] = {}
    for name, part in parts.items():
        if isinstance(part, np.ndarray):
            out[name] = part
            continue
        import torch

        if isinstance(part, torch.nn.Module):
            out.update({f"{name}.{k}": v.detach().cpu().numpy().copy() for k, v in part.state_dict().items()})
        else:  # an optimizer
            for index, state in part.state_dict()["state"].items():
                for key, value in state.items():
                    out[f"{name}.{index}.{key}"] = torch.as_tensor(value).detach().cpu().numpy().copy()
    return out


def load_parts(parts: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
    """Put what :func:`parts_to_arrays` returned back into ``parts`` (arrays in place)."""
    for name, part in parts.items():
        if isinstance(part, np.ndarray):
            part[...] = arrays[name]
            continue
        import torch

        mine = {
            k[len(name) + 1 :]: torch.from_numpy(np.array(v)) for k, v in arrays.items() if k.startswith(name + ".")
        }
        if isinstance(part, torch.nn.Module):
            part.load_state_dict(mine)
        else:
            state_dict = part.state_dict()
            state: dict[int, dict[str, Any]] = {}
            for key, value in mine.items():
                index, field = key.split(".", 1)
                state.setdefault(int(index), {})[field] = value
            state_dict["state"] = state
            part.load_state_dict(state_dict)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _atomic_write_dir(target: Path, write) -> None:
    refuse_link(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        write(tmp)
        for f in tmp.iterdir():
            with open(f, "rb") as fh:
                os.fsync(fh.fileno())
        if target.exists():
            old = target.with_name(f".{target.name}.old-{os.getpid()}")
            shutil.rmtree(old, ignore_errors=True)  # left by a killed process of the same PID
            os.rename(target, old)
            os.rename(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def save_agent(agent, path: Path, loop_state: dict[str, Any] | None = None, with_replay: bool = False) -> Path:
    """Write ``agent`` (and the loop's counters, for resuming) to the directory ``path``.

    ``with_replay`` adds the replay buffer as ``replay.npz`` (plain arrays, no objects).
    """

    meta = {
        "format": FORMAT,
        "version": VERSION,
        "rlsuite_version": __version__,
        "agent": agent.name,
        "env": env_name(agent.env) if agent.env is not None else None,
        "env_kwargs": agent.env_kwargs,
        "seed": agent.seed,
        "hyperparameters": agent.hyperparameters(),
        "observation_space": space_to_json(agent.observation_space),
        "action_space": space_to_json(agent.action_space),
        "extra_state": agent.extra_state(),
        "loop": loop_state or {},
    }
    tensors = {k: np.ascontiguousarray(v) for k, v in agent.state_tensors().items()}

    replay = agent.replay_arrays() if with_replay else None

    def write(tmp: Path) -> None:
        data = tensor_bytes(tensors)
        (tmp / TENSORS).write_bytes(data)
        meta["files"] = {TENSORS: hashlib.sha256(data).hexdigest()}
        if replay is not None:
            np.savez(tmp / REPLAY, **replay)
            meta["files"][REPLAY] = sha256_of(tmp / REPLAY)
        (tmp / META).write_text(json.dumps(meta, indent=1))

    _atomic_write_dir(Path(path), write)
    return Path(path)


def save_checkpoint(
    agent, run_dir: Path, step: int, loop_state: dict[str, Any], keep: int | None, with_replay: bool = False
) -> Path:
    """Write ``run_dir/checkpoints/step_<step>`` and keep the newest ``keep`` checkpoints
    (:func:`prune_checkpoints`); ``keep`` None leaves the pruning to the caller."""
    refuse_link(run_dir / "checkpoints")
    path = save_agent(agent, run_dir / "checkpoints" / f"step_{step:012d}", loop_state, with_replay=with_replay)
    if keep is not None:
        prune_checkpoints(run_dir, keep)
    return path


def prune_checkpoints(run_dir: Path, keep: int) -> None:
    """Delete all but the newest ``keep`` (by step number) of this run's checkpoints: ``step_<number>``
    directories, never a link or anything else."""
    for old in checkpoints(run_dir)[:-keep]:
        shutil.rmtree(old, ignore_errors=True)


def checkpoints(run_dir: Path) -> list[Path]:
    """The checkpoint directories (``step_<number>``) of ``run_dir``, oldest step first; a link among
    them is refused."""
    ckpt_dir = Path(run_dir) / "checkpoints"
    if not ckpt_dir.is_dir():
        return []
    refuse_link(ckpt_dir)
    found = []
    for path in ckpt_dir.iterdir():
        match = STEP_NAME.fullmatch(path.name)
        if match:
            refuse_link(path)
            if path.is_dir():
                found.append((int(match.group(1)), path))
    return [path for _, path in sorted(found)]


def read_checkpoint(path: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """(metadata, arrays) of a checkpoint directory, with every failure as one sentence."""
    path = Path(path)
    for part in (path, path / META, path / TENSORS, path / REPLAY):
        refuse_link(part)
    if not (path / META).is_file() or not (path / TENSORS).is_file():
        raise RLSuiteError(
            f"{path} is not an rlsuite checkpoint (it lacks {META} or {TENSORS}); give a model or run directory."
        )
    try:
        meta = json.loads((path / META).read_text())
    except RecursionError:
        raise RLSuiteError(f"checkpoint {path} is corrupt: {META} nests too deeply to be rlsuite's.") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RLSuiteError(
            f"checkpoint {path} is corrupt: {META} is not valid JSON ({exc.msg if hasattr(exc, 'msg') else exc})."
        ) from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise RLSuiteError(
            f"{path / META} was not written by rlsuite; load a directory saved by agent.save or rlsuite train."
        )
    check_meta(meta, path)
    listed = meta.get("files")
    for name in sorted(listed) if isinstance(listed, dict) else ():
        if name not in (TENSORS, REPLAY) or not (path / name).is_file():
            raise RLSuiteError(
                f"checkpoint {path} is incomplete: {META} lists {name!r}, which is not there (or not one of "
                f"rlsuite's files); use another checkpoint."
            )
    data = (path / TENSORS).read_bytes()
    verify(path, TENSORS, meta, hashlib.sha256(data).hexdigest())
    try:
        tensors = load_tensor_bytes(data)
    except Exception as exc:  # safetensors raises its own error types for bad headers and short files
        raise RLSuiteError(f"checkpoint {path} is corrupt or truncated: {TENSORS} does not parse ({exc}).") from None
    for name, array in tensors.items():
        if array.dtype.kind in "fc" and not np.isfinite(array).all():
            raise RLSuiteError(
                f"checkpoint {path} holds non-finite numbers (NaN or inf) in {name}, so it cannot be "
                "used; load an earlier checkpoint or retrain."
            )
    return meta, tensors


def verify(path: Path, name: str, meta: dict[str, Any], digest: str) -> None:
    """One line if ``name``'s SHA-256 is not the one ``agent.json`` records (checkpoints older than
    the checksums record none)."""
    files = meta.get("files")
    if files is None:
        return
    if files.get(name) != digest:
        raise RLSuiteError(
            f"checkpoint {path} is corrupt or truncated: {name} does not match the SHA-256 recorded in "
            f"{META} (it changed after it was written); use another checkpoint."
        )


def _counter(value: Any) -> bool:
    return type(value) is int and 0 <= value < MAX_INT


def _generator_states(value: Any) -> bool:
    return (
        value is None
        or isinstance(value, dict)
        or (isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value))
    )


def check_meta(meta: dict[str, Any], path: Path) -> None:
    """Range-check what the loop and the agent take from ``agent.json`` before anything uses it."""
    loop, extra = meta.get("loop", {}), meta.get("extra_state", {})
    checks = [
        ("seed", meta.get("seed", 0), _counter, "an int in [0, 2**63)"),
        ("loop", loop, lambda v: isinstance(v, dict), "a mapping"),
        ("extra_state", extra, lambda v: isinstance(v, dict), "a mapping"),
        ("files", meta.get("files", {}), lambda v: isinstance(v, dict), "a mapping of file names to SHA-256 digests"),
        ("hyperparameters", meta.get("hyperparameters", {}), lambda v: isinstance(v, dict), "a mapping"),
    ]
    if isinstance(loop, dict):
        checks += [(f"loop.{k}", loop[k], _counter, "a non-negative int") for k in ("step", "episodes") if k in loop]
        checks += [
            (f"loop.{k}", loop[k], lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= -1, "an int >= -1")
            for k in ("evaluated_at", "hparams_at")
            if k in loop
        ]
        checks += [
            (
                "loop.last_eval",
                loop.get("last_eval", [0.0, 0.0]),
                lambda v: isinstance(v, list) and len(v) == 2 and all(isinstance(x, (int, float)) for x in v),
                "two numbers",
            )
        ]
        checks += [
            (
                "loop.wall_s",
                loop.get("wall_s", 0.0),
                lambda v: isinstance(v, (int, float)) and math.isfinite(v) and v >= 0,
                "a non-negative number",
            ),
            (
                "loop.rng_before_reset",
                loop.get("rng_before_reset"),
                _generator_states,
                "null, a generator state or a list of them",
            ),
        ]
    if isinstance(extra, dict):
        checks += [
            (f"extra_state.{k}", extra[k], _counter, "a non-negative int")
            for k in ("num_timesteps", "n_calls", "env_steps_since_train")
            if k in extra
        ]
    named = STEP_NAME.fullmatch(path.name)  # a run's checkpoint is named by the step it was taken at
    if named and isinstance(loop, dict) and "step" in loop:
        checks.append(("loop.step", loop["step"], lambda v: v == int(named.group(1)), f"{int(named.group(1))}"))
    for key, value, ok, expected in checks:
        if not ok(value):
            shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
            raise RLSuiteError(
                f"checkpoint {path} is corrupt: {META} has {key}={shown}, which must be {expected}; "
                "use another checkpoint."
            )


def latest_checkpoint(run_dir: Path) -> Path | None:
    """The newest complete checkpoint in ``run_dir/checkpoints`` (by step number), if any."""
    done = [p for p in checkpoints(run_dir) if (p / META).is_file()]
    return done[-1] if done else None


def restore_into(agent, path: Path, with_replay: bool = False) -> dict[str, Any]:
    """Load the checkpoint at ``path`` into ``agent``, which must be the same kind for the same spaces.

    Returns the checkpoint's metadata (its ``loop`` entry holds the loop's counters).
    """
    meta, tensors = read_checkpoint(path)
    if meta.get("agent") != agent.name:
        raise RLSuiteError(
            f"checkpoint {path} is for agent {meta.get('agent')!r}, not {agent.name!r}; load it with its own agent."
        )
    for what in ("observation_space", "action_space"):
        if meta.get(what) != space_to_json(getattr(agent, what)):
            raise RLSuiteError(
                f"checkpoint {path} was written for another {what.replace('_', ' ')} "
                f"than {getattr(agent, what)}; use it with the env it was trained on."
            )
    expected = agent.state_tensors()
    # a fresh optimiser has no state yet, so the checkpoint may hold more arrays than `expected`
    if not set(expected) <= set(tensors) or any(expected[k].shape != tensors[k].shape for k in expected):
        raise RLSuiteError(
            f"checkpoint {path} does not fit this {agent.name} agent (its arrays differ in names or "
            "shapes, so it was trained with other hyperparameters such as net_arch)."
        )
    changed = sorted(k for k in expected if expected[k].dtype != tensors[k].dtype)
    if changed:
        raise RLSuiteError(
            f"checkpoint {path} holds {changed[0]} as {tensors[changed[0]].dtype}, not the "
            f"{expected[changed[0]].dtype} rlsuite writes; it was altered after it was written, use another checkpoint."
        )
    try:
        agent.load_state_tensors(tensors)
        agent.load_extra_state(meta.get("extra_state", {}))
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise RLSuiteError(f"checkpoint {path} is corrupt: its state does not load ({exc}).") from None
    if with_replay and (Path(path) / REPLAY).is_file():
        verify(path, REPLAY, meta, sha256_of(Path(path) / REPLAY))
        try:
            with np.load(Path(path) / REPLAY, allow_pickle=False) as data:
                agent.load_replay_arrays({k: data[k] for k in data.files})
        except RLSuiteError:
            raise
        except Exception as exc:  # zipfile and numpy raise several types for damaged files
            raise RLSuiteError(f"checkpoint {path} is corrupt: {REPLAY} does not load ({exc}).") from None
    return meta


def find_checkpoint(path: Path) -> Path:
    """``path`` itself if it is a checkpoint, else the newest checkpoint of the run directory ``path``."""
    if not path.exists():
        raise RLSuiteError(f"{path} does not exist; give a directory written by agent.save or rlsuite train.")
    if (path / META).exists():
        return path
    found = latest_checkpoint(path)
    if found is None:
        members = sorted(p.name for p in path.glob("seed_*") if latest_checkpoint(p) is not None)
        if members:
            raise RLSuiteError(
                f"{path} is a run of several seeds ({', '.join(members)}); load one of them, e.g. "
                f"rlsuite.load('{path / members[0]}'), or evaluate them all with rlsuite eval {path}."
            )
        raise RLSuiteError(
            f"{path} holds no rlsuite checkpoint; give a directory written by agent.save or rlsuite train."
        )
    return found
