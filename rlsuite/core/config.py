"""Hyperparameters as dataclasses whose fields carry their valid range.

An agent declares ``Config``, a dataclass whose fields are made with :func:`hp`. Building it
from user input checks names (suggesting the closest for a typo), coerces types (a YAML or
``--set`` value of 1e3 becomes the int 1000 where an int is expected) and checks ranges, each
failure as one :class:`~rlsuite.core.errors.RLSuiteError` sentence.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from rlsuite.core.errors import RLSuiteError

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

C = TypeVar("C", bound="DataclassInstance")

#: names from papers and other libraries -> what rlsuite calls them (the first one the owner has)
ALIASES: dict[str, tuple[str, ...]] = {
    "lr": ("learning_rate",),
    "alpha": ("learning_rate",),
    "step_size": ("learning_rate",),
    "discount": ("gamma",),
    "discount_factor": ("gamma",),
    "eps": ("epsilon", "exploration_final_eps"),
    "epsilon": ("exploration_final_eps",),
    "exploration_rate": ("epsilon", "exploration_final_eps"),
}


def hp(
    default: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    choices: tuple | None = None,
    doc: str = "",
) -> Any:
    """A hyperparameter field: default, optional bounds (closed unless ``*_open``), choices."""
    meta = {"low": low, "high": high, "low_open": low_open, "high_open": high_open, "choices": choices, "doc": doc}
    if isinstance(default, list):
        return dataclasses.field(default_factory=lambda: list(default), metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def describe_range(meta: Mapping[str, Any]) -> str:
    if meta["choices"] is not None:
        return "one of " + ", ".join(repr(c) for c in meta["choices"])
    lo = "(" if meta["low_open"] else "["
    hi = ")" if meta["high_open"] else "]"
    low = "-inf" if meta["low"] is None else f"{meta['low']:g}"
    high = "inf" if meta["high"] is None else f"{meta['high']:g}"
    return f"{lo}{low}, {high}{hi}"


def _coerce(name: str, value: Any, default: Any, owner: str) -> Any:
    kind = type(default)
    try:
        if isinstance(default, bool):
            if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "yes", "no"):
                return value.lower() in ("true", "1", "yes")
            if isinstance(value, (bool, int)) and value in (0, 1):
                return bool(value)
            raise TypeError
        if isinstance(default, int):
            as_float = float(value)
            if not as_float.is_integer():
                raise TypeError
            return int(as_float)
        if isinstance(default, float):
            if isinstance(value, bool):
                raise TypeError
            return float(value)
        if isinstance(default, list):
            if isinstance(value, (int, float)):
                value = [value]
            return [int(v) if float(v).is_integer() else float(v) for v in value]
        if isinstance(default, str):
            if not isinstance(value, str):
                raise TypeError
            return value
    except (TypeError, ValueError, OverflowError):  # OverflowError: an int too large for a float, e.g. 10**400
        raise RLSuiteError(
            f"{owner} hyperparameter {name}={value!r} is not a valid {kind.__name__}; give a value like {default!r}."
        ) from None
    return value


def unknown_name(
    name: str, owner: str, names: Iterable[str], others: Mapping[str, Iterable[str]] | None = None
) -> RLSuiteError:
    """The error for a name that is none of ``owner``'s hyperparameter ``names`` nor, where given,
    any of ``others`` (kind -> names, e.g. ``{"loop setting": LOOP_KEYS}``); it suggests the
    closest name of any kind, or the one a known alias such as ``lr`` stands for."""
    groups = {"hyperparameter": sorted(names), **{kind: sorted(group) for kind, group in (others or {}).items()}}
    kind_of = {n: kind for kind, group in reversed(groups.items()) for n in group}
    alias = [c for c in ALIASES.get(name.lower(), ()) if c in kind_of][:1]
    close = alias or difflib.get_close_matches(name, list(kind_of), n=3, cutoff=0.6)
    shown = [repr(c) if kind_of[c] == "hyperparameter" else f"the {kind_of[c]} {c!r}" for c in close]
    hint = f" (did you mean {' or '.join(shown)}?)" if shown else ""
    valid = (
        ", ".join(groups["hyperparameter"])
        if len(groups) == 1
        else ", ".join(f"{kind}s ({', '.join(group) or 'none'})" for kind, group in groups.items())
    )
    kind_names = list(groups)
    kinds = ", ".join(kind_names[:-1]) + " or " + kind_names[-1] if len(kind_names) > 1 else kind_names[0]
    return RLSuiteError(f"{owner} has no {kinds} {name!r}{hint}; valid names: {valid}.")


def build_config(cls: type[C], values: dict[str, Any], owner: str) -> C:
    """Instantiate ``cls`` from user ``values``, validating names, types and ranges."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    kwargs = {}
    for name, value in values.items():
        if name not in fields:
            raise unknown_name(name, owner, fields)
        field = fields[name]
        default = field.default
        if default is dataclasses.MISSING and field.default_factory is not dataclasses.MISSING:
            default = field.default_factory()
        kwargs[name] = _coerce(name, value, default, owner)
    config = cls(**kwargs)
    check_ranges(config, owner)
    return config


def check_ranges(config: Any, owner: str) -> None:
    for f in dataclasses.fields(config):
        meta, value = f.metadata, getattr(config, f.name)
        if not meta:
            continue
        bad = False
        if meta["choices"] is not None:
            bad = value not in meta["choices"]
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            bad = math.isnan(value)
            if meta["low"] is not None:
                bad |= value <= meta["low"] if meta["low_open"] else value < meta["low"]
            if meta["high"] is not None:
                bad |= value >= meta["high"] if meta["high_open"] else value > meta["high"]
        elif isinstance(value, list) and meta["low"] is not None:
            bad = any(v < meta["low"] for v in value)
        if bad:
            raise RLSuiteError(
                f"{owner} hyperparameter {f.name}={value!r} is out of range; choose {describe_range(meta)}."
            )
