"""The one YAML reader: PyYAML's safe loader, refusing a mapping that repeats a key.

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

from functools import cache
from typing import Any

import yaml
from yaml.constructor import ConstructorError

__all__ = ["DuplicateKeyError", "safe_load", "unique_keys"]

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
