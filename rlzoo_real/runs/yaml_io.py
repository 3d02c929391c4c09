"""The YAML readers, all of them: plain YAML and the RL Zoo's tagged run files.

:func:`safe_load` (text), :func:`read_yaml` (a file, errors raised),
:func:`read_plain_yaml` (a file for a listing: None when unreadable), :func:`read_mapping`
(a run's own file that must be a mapping: a :class:`UserError` saying what to do) and
:func:`read_run_yaml` (``args.yml``/``config.yml`` of a realzoo or RL Zoo run, the Zoo's
Python tags read as plain data, any other refused) all use PyYAML's safe loader,
refusing a mapping that repeats a key.

PyYAML silently keeps the last of two equal keys, so a hyperparameter file with
``n_timesteps`` twice trains with whichever came last. Every YAML file realzoo reads
(hyperparameter tables, ``--conf-file``, search spaces, reference scores, ``args.yml``,
``config.yml``, manifests, checkpoint indexes) goes through :func:`safe_load` or a
loader made by :func:`unique_keys`, which raises :class:`DuplicateKeyError` naming the
key and the lines of both occurrences. It is a ``yaml.YAMLError`` with marks, so the
readers' existing "malformed YAML at line N" messages report it with no change.

Merge keys (``<<: *defaults``) may still be overridden by an explicit key: only keys
written twice in the same mapping are refused.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import ConstructorError

from rlzoo_real.errors import UserError

__all__ = [
    "DuplicateKeyError",
    "known_name_for",
    "read_mapping",
    "read_mapping_with_bytes",
    "read_plain_yaml",
    "read_run_yaml",
    "read_yaml",
    "safe_load",
    "unique_keys",
]

_MERGE_TAG = "tag:yaml.org,2002:merge"


class DuplicateKeyError(ConstructorError):
    """A mapping that gives the same key twice (``key``, ``first_line``, ``line`` 1-based)."""

    def __init__(self, key: Any, first: Any, again: Any) -> None:
        self.key = key
        self.first_line = first.line + 1
        self.line = again.line + 1
        super().__init__(
            problem=(
                f"duplicate key {key!r} (at line {self.first_line} and again at line {self.line}; "
                "YAML would silently keep the last one, so remove one of them)"
            ),
            problem_mark=again,
        )


class _UniqueKeysMixin:
    """``construct_mapping`` that first checks the mapping's own keys for repeats."""

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        checked: set[int] = self.__dict__.setdefault("_unique_checked", set())
        if isinstance(node, yaml.MappingNode) and id(node) not in checked:
            checked.add(id(node))  # merges flatten the node in place: check it once, before
            seen: dict[Any, Any] = {}
            for key_node, _ in node.value:
                if key_node.tag == _MERGE_TAG:
                    continue
                key = self.construct_object(key_node, deep=True)  # type: ignore[attr-defined]
                try:
                    first = seen.get(key)
                except TypeError:  # an unhashable key: the base loader says so
                    continue
                if first is not None:
                    raise DuplicateKeyError(key, first, key_node.start_mark)
                seen[key] = key_node.start_mark
        return super().construct_mapping(node, deep=deep)  # type: ignore[misc]


@cache
def unique_keys(base: type) -> type:
    """A subclass of the PyYAML loader ``base`` that refuses duplicate keys."""
    return type(f"Unique{base.__name__}", (_UniqueKeysMixin, base), {})


def safe_load(text: str, *, fast: bool = False) -> Any:
    """``yaml.safe_load`` of ``text`` that raises :class:`DuplicateKeyError` on a repeated key.

    ``fast``: use libyaml's parser when it is installed (for listings that read many files).
    """
    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader) if fast else yaml.SafeLoader
    return yaml.load(text, Loader=unique_keys(base))  # noqa: S506 - a SafeLoader subclass


def read_yaml(path: Path) -> Any:
    """A YAML file (e.g. from :func:`rlzoo_real.runs.atomic.write_yaml_atomic`); duplicate
    keys refused, errors raised as PyYAML raises them."""
    return safe_load(path.read_text())


def read_plain_yaml(path: Path) -> dict[str, Any] | None:
    """A YAML mapping read with the safe loader (libyaml's when available: listing a log
    tree reads two files per run), or None when missing, unreadable or not a mapping."""
    try:
        data = safe_load(path.read_text(), fast=True)  # a safe loader (C or Python)
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    return data if isinstance(data, dict) else None


def read_mapping(path: Path, *, advice: str) -> dict[str, Any]:
    """A YAML mapping that must be there and be plain (a run's own file, e.g. for resume).

    Raises:
        UserError: the file is missing, unreadable, not YAML or not a mapping; the message
            ends with ``advice`` (what the user can do about it).
    """
    return _checked_mapping(path, advice, lambda: read_yaml(path))


def read_mapping_with_bytes(path: Path, *, advice: str) -> tuple[dict[str, Any], bytes]:
    """:func:`read_mapping`, with the bytes it parsed (to check a digest on the same read).

    The bytes are decoded as :meth:`pathlib.Path.read_text` decodes a file.
    """
    raw = b""

    def load() -> Any:
        nonlocal raw
        raw = path.read_bytes()
        return safe_load(io.TextIOWrapper(io.BytesIO(raw)).read())

    return _checked_mapping(path, advice, load), raw


def _checked_mapping(path: Path, advice: str, load: Callable[[], Any]) -> dict[str, Any]:
    if not path.is_file():
        raise UserError(f"{path} is missing; {advice}.")
    try:
        data = load()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise UserError(f"{path} is not valid YAML{where} ({problem}); {advice}.") from None
    except (UnicodeDecodeError, OSError) as exc:
        raise UserError(f"{path} cannot be read ({type(exc).__name__}); {advice}.") from None
    if not isinstance(data, dict):
        raise UserError(f"{path} is not a mapping; {advice}.")
    return data


# -- args.yml / config.yml ------------------------------------------------------

_PY_TAG = "tag:yaml.org,2002:python/"


class _UnsafeTag(Exception):
    pass


@cache
def _run_yaml_loader() -> type:
    class RunYamlLoader(unique_keys(yaml.SafeLoader)):  # type: ignore[misc]
        """SafeLoader plus the few Python tags the RL Zoo writes, built as plain data."""

    def ordered_dict(loader: Any, node: Any) -> dict[Any, Any]:
        if isinstance(node, yaml.MappingNode):
            mapping = loader.construct_mapping(node, deep=True)
            if set(mapping) - {"args"}:
                raise _UnsafeTag(f"{node.tag} with {sorted(mapping)}")
            args = mapping.get("args") or []
        else:
            args = loader.construct_sequence(node, deep=True)
        pairs = args[0] if args else []
        if len(args) > 1 or not all(isinstance(p, list) and len(p) == 2 for p in pairs):
            raise _UnsafeTag(f"{node.tag} that is not a list of key-value pairs")
        return {key: value for key, value in pairs}

    def python_tuple(loader: Any, node: Any) -> tuple[Any, ...]:
        return tuple(loader.construct_sequence(node, deep=True))

    def python_name(loader: Any, suffix: str, node: Any) -> Any:
        name = known_name_for(suffix)
        if name is None:
            raise _UnsafeTag(f"{_PY_TAG}name:{suffix}")
        from rlzoo_real.config.literals import KnownName

        return KnownName(name)

    def other_python_tag(loader: Any, suffix: str, node: Any) -> Any:
        raise _UnsafeTag(_PY_TAG + suffix)

    RunYamlLoader.add_constructor(_PY_TAG + "object/apply:collections.OrderedDict", ordered_dict)
    RunYamlLoader.add_constructor(_PY_TAG + "tuple", python_tuple)
    RunYamlLoader.add_multi_constructor(_PY_TAG + "name:", python_name)
    RunYamlLoader.add_multi_constructor(_PY_TAG, other_python_tag)
    return RunYamlLoader


def known_name_for(dotted: str) -> str | None:
    """``torch.nn.modules.activation.ReLU`` -> ``nn.ReLU`` (a name the safe parser knows)."""
    from rlzoo_real.config.literals import KNOWN_NAMES

    module, _, attr = dotted.rpartition(".")
    for name, target in KNOWN_NAMES.items():
        target_module, target_attr = target.split(":")
        if target_attr == attr and (module + ".").startswith(target_module + "."):
            return name  # torch.nn.modules.activation.ReLU is torch.nn's ReLU, nothing else
    return None


def read_run_yaml(path: Path, *, text: str | None = None) -> Any:
    """Read ``args.yml`` or ``config.yml`` of a realzoo or RL Zoo run, constructing no object.

    realzoo writes plain YAML. The RL Zoo writes ``yaml.dump`` of an ``OrderedDict``
    (``!!python/object/apply:collections.OrderedDict``), tuples and, for values given on
    its command line, class names (``!!python/name:torch.nn.modules.activation.ReLU``).
    Those are read as a dict, a tuple and a known name; every other Python tag is refused.
    ``text``: the file's content when the caller has read it already (``path`` names it).

    Raises:
        UserError: malformed YAML, or a Python tag that would construct an object.
    """
    if text is None:
        try:
            text = path.read_text()
        except (OSError, UnicodeDecodeError) as exc:
            raise UserError(f"Cannot read {str(path)!r}: {exc}.") from None
    try:
        return yaml.load(text, Loader=_run_yaml_loader())  # noqa: S506 - a SafeLoader subclass
    except _UnsafeTag as exc:
        raise UserError(
            f"{str(path)!r} holds the YAML tag {exc}, which would construct a Python object; "
            "realzoo reads run files without running code from them and accepts only the tags "
            "the RL Zoo writes (OrderedDict, tuple, known class names such as nn.ReLU)."
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise UserError(f"Malformed YAML in {str(path)!r}{where}: {problem}.") from None
