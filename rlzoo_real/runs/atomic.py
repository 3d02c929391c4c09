"""Atomic writes: a reader sees a run's old file or its new one, never half of one.

The one writer of the package: run files (``args.yml``, ``manifest.yml``, ``command.txt``)
and checkpoint files (model, replay buffer, normalization, state) alike. A file is written
under a temporary name in the same folder, flushed to disk, then renamed into place; a
crash leaves at most a temporary file named ``.tmp-*`` (:data:`TMP_PREFIX`), which resume
removes.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["TMP_PREFIX", "fsync_path", "write_atomic", "write_text_atomic", "write_yaml_atomic"]

#: temporary files of an unfinished write start with it (``.tmp-<pid>-<random>-<name>``)
TMP_PREFIX = ".tmp-"


def write_atomic(path: Path, writer: Callable[[Path], object]) -> None:
    """Have ``writer`` write a temporary file next to ``path``, then rename it to ``path``.

    The temporary name ends with ``path``'s name, so a writer that adds a missing suffix
    (Stable-Baselines3's ``model.save`` adds ``.zip``) writes where it is told. The file
    gets the permissions of a plainly created one (``0666`` less the umask: files of a run
    are for sharing). An ``OSError`` (a full disk) names ``path``, not the temporary name.
    """
    fd, name = tempfile.mkstemp(
        prefix=f"{TMP_PREFIX}{os.getpid()}-", suffix=f"-{path.name}", dir=path.parent
    )
    tmp = Path(name)
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600
        os.close(fd)
        writer(tmp)
        fsync_path(tmp)
        os.replace(tmp, path)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError) and exc.filename in (None, str(tmp), tmp):
            exc.filename = str(path)
        raise


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (see :func:`write_atomic`)."""
    write_atomic(path, lambda tmp: tmp.write_text(text))


def write_yaml_atomic(path: Path, data: Any) -> None:
    """Write ``data`` with ``yaml.safe_dump`` atomically (``yaml.safe_load`` reads it back)."""
    import yaml

    write_text_atomic(path, yaml.safe_dump(data, sort_keys=False, default_flow_style=False))


def fsync_path(path: Path) -> None:
    """Flush a file (or a folder: the renames in it) to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
