"""The one exception type rlsuite raises for bad user input."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class RLSuiteError(ValueError):
    """A user-facing error: one sentence that names the bad input and the fix.

    The CLI prints it on one line and exits with status 2, without a traceback.
    """


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``choices``, or an empty string."""
    close = difflib.get_close_matches(name, list(choices), n=3, cutoff=0.6)
    if not close:
        return ""
    return " (did you mean " + " or ".join(repr(c) for c in close) + "?)"


def one_line(text: str) -> str:
    """``text`` with its unprintable characters escaped: a message stays one line on a terminal, and
    moves nothing on it, whatever newline or terminal code the path or name it quotes holds."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape", "backslashreplace").decode() for c in text)
