"""RL Zoo habits on the command line that click does not accept as they are.

The Zoo parses its flags with argparse, which takes two things click does not:

- several values after one flag (``nargs="+"``): ``-params lr:1e-3 n_envs:4``. Click takes
  one value per flag, so every bare word after a multi-value option (a click option with
  ``multiple=True``) gets the flag repeated before it: ``-params lr:1e-3 -params n_envs:4``;
- any unambiguous prefix of a long option: ``--env-kwarg g:9.8``, ``--eval-fr 1000``,
  ``-optim``. The prefix is replaced by the full name; a prefix that fits several options
  is a usage error listing them (argparse's "ambiguous option").

Both need to know the options of the subcommand being called, so the rewrite works on the
command's own option table (typer's click command objects hold it), found by
walking the words that name the subcommand (``plot train``). :class:`ZooGroup`, the class of
the ``realzoo`` app, rewrites its argv this way before click parses it, so the console
script, ``python -m rlzoo_real`` and typer's ``CliRunner`` all take the same path.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import typer
from typer.core import TyperGroup

__all__ = ["AmbiguousOption", "ZooGroup", "expand_multi_value_options", "translate_argv"]


@dataclass(frozen=True)
class _Opt:
    name: str  # the option string as declared, e.g. --env-kwargs
    param: str  # the parameter it sets (two spellings of one option are not ambiguous)
    takes_value: bool
    multiple: bool


class AmbiguousOption(Exception):
    """A prefix that fits several options, or a refused RL Zoo flag (a usage error, exit 2)."""


def _option_table(command: Any) -> dict[str, _Opt]:
    table: dict[str, _Opt] = {}
    for param in command.params:
        if getattr(param, "param_type_name", "") != "option":
            continue
        takes_value = not param.is_flag and not param.count
        for name in [*param.opts, *param.secondary_opts]:
            table[name] = _Opt(name, param.name or name, takes_value, bool(param.multiple))
    for name in ("-h", "--help"):
        table.setdefault(name, _Opt(name, "help", False, False))
    return table


def _looks_like_option(word: str) -> bool:
    return len(word) > 1 and word.startswith("-") and not _is_number(word)


def _resolve(word: str, table: dict[str, _Opt], where: str) -> str:
    """The full option string that ``word`` (a name, no ``=value``) stands for, or ``word``.

    As argparse: an exact name wins; else the options whose name starts with ``word`` (a
    two-character word such as ``-c`` only among the single-dash names: ``-conf``).
    """
    if word in table:
        return word
    fits = [name for name in table if name.startswith(word)]
    if len(word) <= 2:  # -c: argparse takes it for a single-dash long option (-conf) it begins
        fits = [name for name in fits if not name.startswith("--")]
    candidates = sorted({table[name].param: name for name in fits}.items())
    if len(candidates) == 1:
        return candidates[0][1]
    if len(candidates) > 1:
        names = ", ".join(sorted(fits))
        raise AmbiguousOption(
            f"{word} is ambiguous for '{where}': it is the beginning of {names}. Type more of "
            "the name (an abbreviation must fit one option only)."
        )
    return word


def _rewrite(argv: Sequence[str], command: Any, path: tuple[str, ...], where: str) -> list[str]:
    from rlzoo_real.cli._zoo import zoo_flags_for

    table = _option_table(command)
    zoo = {flag: v for flag, v in zoo_flags_for(path).items() if flag not in table}
    names = {
        **table,
        **{flag: _Opt(flag, f"zoo {reason}", False, False) for flag, (_, reason) in zoo.items()},
    }
    out: list[str] = []
    current: _Opt | None = None  # a multi-value option whose values are being read
    taken = 0
    i = 0
    while i < len(argv):
        word = argv[i]
        i += 1
        if word == "--":
            out.extend(argv[i - 1 :])
            break
        if _looks_like_option(word):
            current = None
            name, eq, value = word.partition("=")
            full = _resolve(name, names, where)
            if full in zoo:
                kind, reason = zoo[full]
                if kind == "already":  # accepted: realzoo always does this
                    continue
                raise AmbiguousOption(
                    f"{full} (an RL Zoo flag) is not taken by '{where}': {reason}."
                )
            out.append(f"{full}{eq}{value}" if eq else full)
            opt = table.get(full)
            if opt is None or not opt.takes_value or eq:
                continue
            if i < len(argv):  # its value, whatever it looks like (as argparse: -1, -x)
                out.append(argv[i])
                i += 1
            if opt.multiple:
                current, taken = opt, 1
            continue
        if current is not None:  # another value of a multi-value option
            out.extend([current.name, word])
            taken += 1
            continue
        out.append(word)
    return out


def translate_argv(group: Any, argv: Sequence[str], prog: str = "realzoo") -> list[str]:
    """Rewrite ``argv`` (the words after the program name) for the subcommand it calls.

    The words naming the subcommand (``train``, ``plot train``) are walked down ``group``;
    options before them belong to the group (only ``-h``/``--help``) and are left alone, as is
    everything when the subcommand is unknown (click then says so).

    Raises:
        AmbiguousOption: a prefix fits several options of the subcommand.
    """
    words = list(argv)
    command = group
    where = prog
    path: tuple[str, ...] = ()
    start = 0
    while isinstance(getattr(command, "commands", None), dict):
        while start < len(words) and words[start].startswith("-"):
            start += 1
        if start >= len(words):
            return words
        sub = command.commands.get(words[start])
        if sub is None:
            return words
        where = f"{where} {words[start]}"
        path = (*path, words[start])
        command, start = sub, start + 1
    return words[:start] + _rewrite(words[start:], command, path, where)


def expand_multi_value_options(argv: Sequence[str]) -> list[str]:
    """``argv`` as the ``realzoo`` app rewrites it (prefixes completed, multi-values split).

    Kept for callers that prepare argv themselves; :class:`ZooGroup` does the same on its own,
    and the rewrite is idempotent.
    """
    from rlzoo_real.cli import app

    try:
        return translate_argv(typer.main.get_command(app), argv)
    except AmbiguousOption:  # left as typed: the app says so when it parses them
        return list(argv)


class ZooGroup(TyperGroup):
    """The ``realzoo`` group: RL Zoo (argparse) spellings are rewritten before click parses."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        from rlzoo_real.cli._common import print_error

        try:
            args = translate_argv(self, args, ctx.info_name or "realzoo")
        except AmbiguousOption as exc:
            print_error(str(exc))
            raise typer.Exit(2) from None
        return super().parse_args(ctx, args)


def _is_number(word: str) -> bool:
    try:
        float(word)
    except ValueError:
        return False
    return True
