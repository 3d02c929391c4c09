"""Hyperparameter tables: the YAML files in the RL Zoo's format (``hyperparams/<algo>.yml``,
``--conf-file``), Python tables (a module or a ``.py`` file, as the Zoo's ``-conf`` takes),
and ``key:value`` words from the command line (``-params``, ``--env-kwargs``).

Only reading: the entries are checked and interpreted by :mod:`rlzoo_real.config.spec`.
"""

from __future__ import annotations

import importlib
import inspect
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rlzoo_real.config.literals import (
    KNOWN_NAMES,
    KnownName,
    ValueParseError,
    contains_known_name,
    format_value,
    parse_value,
)
from rlzoo_real.errors import UserError

__all__ = [
    "PARSED_KEYS",
    "Unrecordable",
    "bundled_hyperparams_dir",
    "load_table",
    "parse_key_values",
    "plain_overrides",
]

#: Keys whose string values are read with the safe parser (the Zoo writes them as strings).
PARSED_KEYS = frozenset(
    {"policy_kwargs", "replay_buffer_kwargs", "normalize", "env_kwargs", "monitor_kwargs"}
)


def bundled_hyperparams_dir() -> Path:
    """The folder of hyperparameter files shipped with realzoo."""
    return Path(__file__).resolve().parent.parent / "hyperparams"


def load_table(path: str | Path) -> dict[str, Any]:
    """Read a hyperparameter table: a YAML file, or a Python module with a ``hyperparams`` dict.

    Raises:
        UserError: missing file, malformed YAML (with file and line), a module that cannot
            be imported or has no ``hyperparams`` dict, or a table that is not a mapping.
    """
    text_path = str(path)
    if text_path.endswith(".py"):  # the RL Zoo's -conf path/to/table.py
        module = _import_file(Path(text_path))
        return _plain_python_table(getattr(module, "hyperparams", None), text_path)
    if text_path.endswith((".yml", ".yaml")) or Path(text_path).exists():
        return _load_yaml_table(Path(text_path))
    try:
        if "/" in text_path or text_path.startswith("."):  # a path, not a module name
            raise ImportError(f"no file {text_path!r}")
        module = importlib.import_module(text_path)
    except ImportError as exc:
        raise UserError(
            f"Cannot read hyperparameters from {text_path!r}: it is neither an existing YAML file "
            f"(.yml/.yaml) nor an importable Python module ({exc}). "
            "Give a path to a YAML file or a "
            "module path such as my_package.hyperparams that defines a dict called 'hyperparams'."
        ) from None
    return _plain_python_table(getattr(module, "hyperparams", None), text_path)


def _import_file(path: Path) -> Any:
    """Import the Python file ``path`` (the user's own table: importing it runs it)."""
    import importlib.util
    import sys

    if not path.is_file():
        raise UserError(f"Hyperparameter file {str(path)!r} does not exist.")
    name = f"_realzoo_conf_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise UserError(f"Cannot read {str(path)!r} as a Python file.")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # the user's file: say where it failed, no traceback
        del sys.modules[name]
        raise UserError(
            f"Importing the hyperparameter file {str(path)!r} failed: {type(exc).__name__}: {exc}."
        ) from None
    return module


def _plain_python_table(table: Any, where: str) -> dict[str, Any]:
    """A Python table's values as a YAML table holds them, so ``config.yml`` stays plain.

    Classes become names: the safe parser's known names (``nn.Tanh``) inside ``policy_kwargs``
    and the other parsed keys (which are then written as the Zoo writes them, a
    ``"dict(...)"`` string), dotted paths elsewhere (wrapper and callback keys or items).
    Tuples become lists. A function or an object (a schedule, a callback instance) cannot be
    recorded in ``config.yml`` and is refused with what to write instead.
    """
    if not isinstance(table, dict):
        raise UserError(
            f"The module {where!r} has no dict called 'hyperparams'; a Python conf file must "
            "define hyperparams = {'<env id>': {...}, ...}."
        )
    out: dict[str, Any] = {}
    for env_id, entry in table.items():
        if not isinstance(entry, dict):
            out[env_id] = entry
            continue
        plain = {}
        try:
            for key, value in entry.items():
                known = key in PARSED_KEYS
                converted = _plain_object(value, f"{where} [{env_id}] {key}", known=known)
                if known and contains_known_name(converted):
                    converted = format_value(converted)
                plain[key] = converted
        except UserError as exc:  # refused when this entry is the one used, not before
            out[env_id] = Unrecordable(str(exc))
            continue
        out[env_id] = plain
    return out


def plain_overrides(values: Any, where: str) -> dict[str, Any]:
    """Overrides given as Python values (the API), as a YAML table would hold them.

    The same rules as a Python table's entries (:func:`_plain_python_table`): classes become
    known names (``torch.nn.ReLU`` -> ``nn.ReLU`` inside ``policy_kwargs``) or dotted paths,
    tuples lists; a function or another object (a callable schedule, a callback instance)
    cannot be recorded in ``config.yml`` and is refused with what to write instead.

    Raises:
        ConfigError: a value that cannot be recorded, or ``values`` not a mapping of names.
    """
    from rlzoo_real.errors import ConfigError

    if not isinstance(values, dict) or not all(isinstance(k, str) for k in values):
        raise ConfigError(
            f"{where} must be a dict of hyperparameter names to values, e.g. "
            f"{{'learning_rate': 3e-4, 'policy_kwargs': {{'net_arch': [64, 64]}}}}; "
            f"got {type(values).__name__}."
        )
    plain: dict[str, Any] = {}
    for key, value in values.items():
        known = key in PARSED_KEYS
        try:
            converted = _plain_object(value, f"{where} {key}", known=known)
        except UserError as exc:
            raise ConfigError(str(exc)) from None
        if known and contains_known_name(converted):
            converted = format_value(converted)
        plain[key] = converted
    return plain


@dataclass(frozen=True)
class Unrecordable:
    """An entry of a Python table that cannot be written to ``config.yml`` (why, in words)."""

    message: str


def _plain_object(value: Any, where: str, *, known: bool) -> Any:
    if isinstance(value, type):
        if known:
            name = _known_name_of(value)
            if name is None:
                raise UserError(
                    f"{where}: {value.__module__}.{value.__qualname__} is not one of the names "
                    f"the safe parser knows (such as nn.ReLU, th.optim.Adam, NatureCNN)."
                )
            return KnownName(name)
        return f"{value.__module__}.{value.__qualname__}"
    if isinstance(value, dict):
        return {
            _plain_object(k, where, known=known): _plain_object(v, where, known=known)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_plain_object(v, where, known=known) for v in value]
    if value is None or isinstance(value, str | bool | int | float):
        return value
    kind = "function" if inspect.isroutine(value) else "object"
    raise UserError(
        f"{where}: a Python {kind} ({type(value).__name__}) cannot be recorded in the run's "
        "config.yml, from which the run is rebuilt. Give what a YAML file would hold: a class "
        "by its dotted class path with its arguments ({'package.module.Class': {'arg': 1}}), a "
        "schedule as 'lin_0.001'."
    )


def _known_name_of(cls: type) -> str | None:
    """The shortest name in the safe parser's table that stands for ``cls``, if any."""
    for name, target in sorted(KNOWN_NAMES.items(), key=lambda item: len(item[0])):
        module, _, attr = target.partition(":")
        if attr == cls.__name__ and cls.__module__.startswith(module):
            try:
                if getattr(importlib.import_module(module), attr) is cls:
                    return name
            except ImportError:
                continue
    return None


def _load_yaml_table(path: Path) -> dict[str, Any]:
    import yaml

    if not path.is_file():
        raise UserError(f"Hyperparameter file {str(path)!r} does not exist.")
    try:
        from rlzoo_real.runs.yaml_io import safe_load  # refuses duplicate keys

        table = safe_load(path.read_text())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        context, context_mark = getattr(exc, "context", None), getattr(exc, "context_mark", None)
        if context and context_mark is not None:
            problem += f" ({context} that starts at line {context_mark.line + 1})"
        raise UserError(
            f"Malformed YAML in {str(path)!r}{where}: {problem}. "
            "A hyperparameter file maps env ids "
            "to mappings of hyperparameters, e.g. 'CartPole-v1:\\n  n_timesteps: 1e5'."
        ) from None
    except UnicodeDecodeError:
        raise UserError(f"{str(path)!r} is not a text (UTF-8) YAML file.") from None
    if table is None:
        table = {}
    if not isinstance(table, dict) or not all(isinstance(v, dict | None) for v in table.values()):
        raise UserError(
            f"{str(path)!r} is not a hyperparameter table: the top level must map env ids to "
            "mappings of hyperparameters (RL Zoo format)."
        )
    return table


def parse_key_values(items: Iterable[str], *, option: str) -> dict[str, Any]:
    """Parse ``key:value`` words from the command line (``-params``, ``--env-kwargs``).

    Values are read with the safe parser; a bare word that is not a literal (``auto``,
    ``MlpPolicy``) is kept as a string. Dotted names must be known (``nn.ReLU``).

    Raises:
        UserError: a word without ``:``, an empty key, or a value the parser rejects.
    """
    result: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition(":")
        key = key.strip()
        if not sep or not key or not key.isidentifier():
            raise UserError(
                f"{option} expects words of the form key:value (e.g. {option} learning_rate:0.001 "
                f"n_envs:4), got {item!r}. Quote values that contain spaces."
            )
        result[key] = _parse_cli_value(text, option=option, key=key)
    return result


def _parse_cli_value(text: str, *, option: str, key: str) -> Any:
    import ast

    try:
        return parse_value(text)
    except ValueParseError as exc:
        word = text.strip()
        try:
            node: ast.AST | None = ast.parse(word, mode="eval").body
        except SyntaxError:
            node = None
        # A bare word (auto, MlpPolicy, lin_0.001, auto_0.1) is a string; a dotted name such as
        # nn.Relu was meant as a known name and is an error.
        if re.fullmatch(r"[A-Za-z_][\w\-.+]*", word) and not isinstance(node, ast.Attribute):
            return word
        raise UserError(f"{option} {key}: {exc}") from None
