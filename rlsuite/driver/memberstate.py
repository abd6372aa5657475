"""One member's state out of a stacked agent, and back in: what member views, per-member
checkpoints and the resume of a many-seed run are made of.

An agent's :meth:`~rlsuite.learning.agent.Trainable.state_parts` are numpy arrays with the member
axis first (a tabular (K, S, A) table), torch modules built with ``members=K`` (stacked layers,
:mod:`rlsuite.nets.stacked`) and torch optimizers over those modules' parameters. Member k's
state is written in the layout of the same agent built with one member — the layout of its
checkpoint — so ``rlsuite.load(RUN/seed_<s>)`` gives an ordinary single-seed agent:

* an array: its slice ``[k:k+1]``;
* a module: :func:`~rlsuite.nets.stacked.members_state` (and :func:`~rlsuite.nets.stacked.load_member`);
* an optimizer: each per-parameter state shaped like its parameter (Adam's moments) is moved as
  that parameter is, by the stacked layer that owns it; the rest (``step``, the count torch's
  optimizers keep, one for all members, even where a parameter has one element per member) as it is.
  Putting a member in keeps the larger of the two step counts: the members of a
  run share one count, and a member that stopped learning early (whose updates the agent undoes)
  brings an older one, which must not set back the count of those still learning. So a member
  that stopped early shows the run's count, not its own; its weights and moments are its own.

With one member the layout is already the single one: the arrays are those of
:func:`~rlsuite.driver.checkpoint.parts_to_arrays`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from rlsuite.driver.checkpoint import load_parts, parts_to_arrays


def member_arrays(parts: dict[str, Any], k: int, members: int) -> dict[str, np.ndarray]:
    """Member ``k``'s arrays, named and shaped as a single-member agent's :meth:`state_tensors`."""
    if members == 1:
        return parts_to_arrays(parts)
    out: dict[str, np.ndarray] = {}
    for name, part in parts.items():
        if isinstance(part, np.ndarray):
            out[name] = part[k : k + 1].copy()
            continue
        import torch

        from rlsuite.nets.stacked import members_state

        if isinstance(part, torch.nn.Module):
            out.update({f"{name}.{key}": v.detach().cpu().numpy().copy() for key, v in members_state(part, k).items()})
            continue
        for index, (param, owner) in enumerate(_optimizer_params(part, parts)):
            state = part.state.get(param, {})
            for key, value in state.items():
                tensor = torch.as_tensor(value)
                if owner is not None and tensor.shape == param.shape:
                    layer, leaf = owner
                    with _swapped(layer, leaf, tensor):
                        tensor = layer.member_state(k)[leaf]
                out[f"{name}.{index}.{key}"] = tensor.detach().cpu().numpy().copy()
    return out


def load_member_arrays(parts: dict[str, Any], k: int, members: int, arrays: dict[str, np.ndarray]) -> None:
    """Put a single-member agent's arrays (as :func:`member_arrays` gives them) in as member ``k``."""
    if members == 1:
        load_parts(parts, arrays)
        return
    for name, part in parts.items():
        if isinstance(part, np.ndarray):
            part[k : k + 1] = arrays[name]
            continue
        import torch

        from rlsuite.nets.stacked import load_member

        mine = {
            key[len(name) + 1 :]: torch.from_numpy(np.array(v))
            for key, v in arrays.items()
            if key.startswith(name + ".")
        }
        if isinstance(part, torch.nn.Module):
            load_member(part, k, mine)
            continue
        for index, (param, owner) in enumerate(_optimizer_params(part, parts)):
            fields = {key.split(".", 1)[1]: v for key, v in mine.items() if key.split(".", 1)[0] == str(index)}
            state = part.state[param]
            for key, value in fields.items():
                value = value.to(param.device)
                # shaped like member k's slice of the parameter: a moment to move in; else shared by the
                # members (a step count) or a plain parameter's, taken as it is
                if (
                    owner is None
                    or key == "step"
                    or tuple(value.shape) != tuple(owner[0].member_state(k)[owner[1]].shape)
                ):
                    shared = state.get(key)
                    if owner is not None and shared is not None and shared.numel() == value.numel() == 1:
                        value = torch.maximum(shared.reshape(()), value.reshape(())).reshape(shared.shape)  # a count
                    state[key] = value.clone()
                    continue
                if key not in state:
                    state[key] = torch.zeros_like(param)
                layer, leaf = owner
                with _swapped(layer, leaf, state[key]):
                    single = layer.member_state(k)
                    single[leaf] = value
                    layer.load_member_(k, single)


def _optimizer_params(optimizer: Any, parts: dict[str, Any]) -> list[tuple[Any, tuple[Any, str] | None]]:
    """The optimizer's parameters in its own order, each with (the stacked layer that owns it, the
    parameter's name in that layer), or None for a parameter no stacked layer owns."""
    import torch

    from rlsuite.nets.stacked import StackedLayer

    owners: dict[int, tuple[Any, str]] = {}
    for part in parts.values():
        if isinstance(part, torch.nn.Module):
            for layer in part.modules():
                if isinstance(layer, StackedLayer):
                    owners.update({id(p): (layer, leaf) for leaf, p in layer.named_parameters(recurse=False)})
    params = [p for group in optimizer.param_groups for p in group["params"]]
    return [(p, owners.get(id(p))) for p in params]


@contextmanager
def _swapped(layer: Any, leaf: str, tensor: Any) -> Iterator[None]:
    """While inside, ``layer``'s parameter ``leaf`` is ``tensor`` (so the layer's own member_state /
    load_member_ move an optimizer state shaped like that parameter)."""
    import torch

    before = layer._parameters[leaf]
    layer._parameters[leaf] = torch.nn.Parameter(tensor, requires_grad=False)
    try:
        yield
    finally:
        layer._parameters[leaf] = before


class DoneMembers:
    """The members of a K-member agent that learn no more (their runs reached ``max_episodes``), kept
    as they were: the framework's business, so that no algorithm has to know which members learn.

    Such a member still computes in the stacked arithmetic (slicing it out would cost more than it
    saves), and after each ``observe`` its part of every state part is put back: arrays (a tabular
    table's rows), modules' parameters (targets included) and the optimizer states shaped like their
    parameters (Adam's moments); a moment that did not exist when it stopped goes to zero. This is done
    after every step, changed or not: a fused optimizer step leaves no trace on a tensor (its version
    counter stays) to tell whether it changed. It costs ≈0.3 ms a step for the 4-256-256-2 Q-network at
    K = 8, only while some members are done and others go on. What the members share — Adam's step
    count, the step counters — goes on.
    """

    def __init__(self, agent: Any) -> None:
        self.agent = agent
        self.members: list[int] = []
        self._held: dict[int, list[Any]] = {}  # id(state) -> [state, saved rows(, member index)]

    def __bool__(self) -> bool:
        return bool(self.members)

    def stop(self, k: int) -> None:
        """Keep member ``k``'s state as it is now (the others held before keep theirs)."""
        self.restore()
        self.members = sorted({*self.members, int(k)})
        self._held = {}
        self._hold_new(self._states())

    def restore(self) -> None:
        """Put the held members' state back (call after every ``observe``)."""
        if not self.members:
            return
        states = self._states()
        new = []
        for state in states:
            held = self._held.get(id(state))
            if held is None or held[0] is not state:
                new.append(state)
            elif isinstance(state, np.ndarray):
                state[self.members] = held[1]
            else:
                state.detach().view(self.agent.n_members, -1).index_copy_(0, held[2], held[1])
        for state in new:  # an optimizer moment that appeared after the members stopped
            import torch

            with torch.no_grad():
                index = torch.tensor(self.members, dtype=torch.long, device=state.device)
                state.detach().view(self.agent.n_members, -1).index_fill_(0, index, 0.0)
        self._hold_new(new)

    def _hold_new(self, states: list[Any]) -> None:
        import torch

        for state in states:
            if isinstance(state, np.ndarray):
                self._held[id(state)] = [state, state[self.members].copy()]
                continue
            index = torch.tensor(self.members, dtype=torch.long, device=state.device)
            rows = state.detach().view(self.agent.n_members, -1).index_select(0, index)
            self._held[id(state)] = [state, rows, index]

    def _states(self) -> list[Any]:
        """Every array and tensor of per-member state, member axis first."""
        import torch

        out: list[Any] = []
        parts = self.agent.state_parts()
        for part in parts.values():
            if isinstance(part, np.ndarray):
                out.append(part)
            elif isinstance(part, torch.nn.Module):
                out.extend(part.parameters())
            elif isinstance(part, torch.optim.Optimizer):
                for group in part.param_groups:
                    for p in group["params"]:
                        out.extend(
                            v for v in part.state.get(p, {}).values() if torch.is_tensor(v) and v.shape == p.shape
                        )
        return out
