"""Journal files: a study's ``study.log`` whose last write was cut is repaired before use.

Optuna's journal file holds one JSON record per line, each append written as one
``write`` of whole lines. A process killed during an append leaves a torn last record:
bytes without their newline (Optuna then appends the next record onto them, and every
later read of the study fails), or, after a crash of the machine, bytes that are not
JSON at all. :func:`repair_journal` runs before Optuna reads or appends (every
``realzoo tune`` command and worker opens the journal through
:func:`rlzoo_real.tuning.storage.open_storage`) and, under the lock Optuna's writers take
for each append (so a live writer's append in progress is waited for, never taken for a
torn one):

* a last record whose JSON is complete and only its newline is missing gets the newline;
* any other torn tail is cut off, back to the end of the last complete record, and the
  cut bytes are kept beside the journal as ``<journal>.torn-<time>``.

Both say so in a one-line note. A record that does not parse *before* the last one
(damage in the middle of the file) is an error naming the file and the line: those
records are never dropped silently.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from rlzoo_real.errors import UserError

__all__ = ["journal_lock", "repair_journal", "torn_file_of"]


def journal_lock(path: Path) -> Any:
    """The lock Optuna's ``JournalFileBackend`` takes for each append to ``path`` (its default,
    a ``<journal>.lock`` symlink, which also works on NFS); realzoo's backends are given it."""
    from optuna.storages.journal import JournalFileSymlinkLock

    return JournalFileSymlinkLock(str(path))


def torn_file_of(path: Path) -> Path:
    """Where the cut bytes of a torn last record of ``path`` are kept (one file per repair)."""
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    return path.with_name(f"{path.name}.torn-{stamp}-{os.getpid()}")


def repair_journal(path: Path) -> str | None:
    """Repair a torn last record of the journal file ``path``; a note when it did, else None.

    Raises:
        UserError: a record before the last one does not parse (the file and line named).
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    if _good_end(path, data) == len(data):
        return None  # intact (the common case): no lock taken
    lock = journal_lock(path)
    lock.acquire()
    try:
        data = path.read_bytes()  # again: an append may have finished meanwhile
        end = _good_end(path, data)
        if end == len(data):
            return None
        tail = data[end:]
        if _is_record(tail):
            with path.open("ab") as handle:
                handle.write(b"\n")
                handle.flush()
                os.fsync(handle.fileno())
            return (
                f"{path}: its last record was complete but for its newline (an append cut at "
                "its last byte); added the newline."
            )
        torn = torn_file_of(path)
        torn.write_bytes(tail)
        with path.open("r+b") as handle:
            handle.truncate(end)
            handle.flush()
            os.fsync(handle.fileno())
        records = data[:end].count(b"\n")
        return (
            f"{path}: its last record was cut mid-write ({len(tail)} bytes, e.g. a process "
            f"killed while appending); cut it off (the bytes are kept in {torn.name}), the "
            f"{records} complete records before it are intact."
        )
    finally:
        lock.release()


def _is_record(line: bytes) -> bool:
    try:
        record = json.loads(line)
    except ValueError:  # JSONDecodeError and UnicodeDecodeError
        return False
    return isinstance(record, dict) and "op_code" in record


def _good_end(path: Path, data: bytes) -> int:
    """The offset just after the last complete record of ``data`` (``len(data)``: intact).

    Raises:
        UserError: a record that does not parse before the last one.
    """
    lines = data.split(b"\n")
    tail = lines.pop()  # the bytes after the last newline (b"" when the file ends with one)
    offset = 0
    for number, line in enumerate(lines, start=1):
        if not _is_record(line):
            if number == len(lines) and not tail:
                return offset  # the last line, newline and all, but not a record: torn too
            raise UserError(
                f"{path}, line {number}: not a complete Optuna journal record, and records "
                f"follow it (damage in the middle of the file, not a write cut at its end); "
                "realzoo does not drop records silently. Keep a copy of the file, then repair "
                f"or delete that line by hand (e.g. sed -i '{number}d' {path}) and run the "
                "command again."
            )
        offset += len(line) + 1
    return offset
