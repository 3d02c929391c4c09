"""RL Zoo habits on the command line that click does not accept as they are.

The Zoo (argparse ``nargs="+"``) takes several values after one flag:
``-params lr:1e-3 n_envs:4``. Click takes one value per flag, so before click sees
the words we repeat the flag for every bare word that follows it:
``-params lr:1e-3 -params n_envs:4``.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["MULTI_VALUE_OPTIONS", "expand_multi_value_options"]

#: Options that take several space-separated values, as in the RL Zoo.
MULTI_VALUE_OPTIONS = frozenset(
    {
        "-params",
        "--hyperparams",
        "--env-kwargs",
        "--eval-env-kwargs",
        "--gym-packages",
        "--wandb-tags",
        "--algos",
        "--envs",
        "--seeds",
    }
)


def expand_multi_value_options(argv: Sequence[str]) -> list[str]:
    """Repeat a multi-value option before each of the bare words that follow it.

    A word is bare when it does not start with ``-`` (negative numbers such as
    ``-1`` count as bare). Everything after ``--`` is left alone.
    """
    out: list[str] = []
    current: str | None = None
    taken = 0
    for i, word in enumerate(argv):
        if word == "--":
            out.extend(argv[i:])
            break
        if word in MULTI_VALUE_OPTIONS:
            current, taken = word, 0
            out.append(word)
            continue
        if current is not None and (not word.startswith("-") or _is_number(word)):
            if taken:
                out.append(current)
            out.append(word)
            taken += 1
            continue
        current = None
        out.append(word)
    return out


def _is_number(word: str) -> bool:
    try:
        float(word)
    except ValueError:
        return False
    return True
