"""The one exception type for mistakes a user can make.

A :class:`UserError` carries a one-paragraph message saying what was wrong, where,
and what would be accepted. The CLI prints it without a traceback and exits
non-zero; any other exception is our bug and keeps its traceback.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = ["ConfigError", "EnvError", "RunNotFoundError", "UserError", "suggest"]


class UserError(Exception):
    """A mistake in what the user asked for (flags, files, names), not a bug."""

    exit_code: int = 2


class ConfigError(UserError):
    """A hyperparameter or option that cannot be used or recorded (a key, a value, a type)."""


class EnvError(UserError):
    """An env that cannot be named, found, imported or made (an id, a class, its kwargs)."""


class RunNotFoundError(UserError):
    """No run folder (or no model in it) where one was asked for."""


def suggest(word: str, choices: Iterable[str], n: int = 3) -> str:
    """Return ' Did you mean X, Y?' for close matches of ``word``, or ''."""
    choices = list(choices)
    close = difflib.get_close_matches(word, choices, n=n, cutoff=0.6)
    if not close:
        lowered = {c.lower(): c for c in choices}
        close = [lowered[c] for c in difflib.get_close_matches(word.lower(), lowered, n=n)]
    return f" Did you mean {', '.join(close)}?" if close else ""
