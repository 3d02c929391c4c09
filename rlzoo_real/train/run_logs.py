"""A run's log files at a checkpoint: how far they had got, and cutting them back to it.

A checkpoint records :func:`log_marks` (the size and header lines of each monitor file,
the rows of ``progress.csv``); before a run resumes from it, :func:`trim_logs` cuts the
files back to those marks, so that the rows written after the checkpoint by the process
that died are not counted twice. Damaged rows are repaired rather than trusted.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from rlzoo_real.errors import UserError
from rlzoo_real.runs.folder import RunFolder

__all__ = ["log_marks", "trim_logs"]


def log_marks(run: RunFolder) -> dict[str, Any]:
    """How far the run's monitor files and ``progress.csv`` had got (for :func:`trim_logs`)."""
    return {
        "monitor_bytes": {p.name: p.stat().st_size for p in run.monitor_files()},
        "monitor_headers": {p.name: _head(p, 2) for p in run.monitor_files()},
        "progress_rows": _count_rows(run.progress_file),
    }


def _head(path: Path, lines: int) -> bytes:
    with path.open("rb") as handle:
        return b"".join(handle.readline() for _ in range(lines))


def _count_rows(path: Path) -> int:
    if not path.is_file():
        return 0
    with path.open("rb") as handle:
        return max(sum(1 for _ in handle) - 1, 0)


def trim_logs(run: RunFolder, logs: dict[str, Any]) -> list[str]:
    """Cut monitor files and ``progress.csv`` back to what they held at the checkpoint.

    A damaged log (bytes that are not UTF-8, a row with the wrong number of fields or a
    value that is not a number, a file cut short) is repaired rather than trusted: it is
    cut back to its last good row before the damage, with a note. A monitor file whose
    header lines are damaged, or that is missing, gets its header back from the copy the
    checkpoint kept; ``progress.csv`` with a damaged header is moved aside to
    ``progress.csv.damaged`` and a new one is started.

    Returns:
        notes naming each repaired file and what was dropped.

    Raises:
        UserError: a damaged or missing monitor header and a checkpoint of an older
            version that kept no copy of it.
    """
    notes = []
    headers: dict[str, bytes] = logs.get("monitor_headers") or {}
    for name, size in logs["monitor_bytes"].items():
        note = _repair_monitor(run.path / name, size, headers.get(name))
        if note:
            notes.append(note)
    note = _repair_progress(run.progress_file, logs["progress_rows"])
    if note:
        notes.append(note)
    return notes


def _good_rows(lines: list[bytes], n_fields: int, numeric: int) -> int:
    """How many of ``lines`` are complete CSV rows of ``n_fields`` fields (the first
    ``numeric`` of them numbers) before the first one that is not."""
    import csv

    for i, line in enumerate(lines):
        try:
            if not line.endswith(b"\n") or b"\0" in line:
                return i
            (fields,) = list(csv.reader([line.decode("utf-8").rstrip("\r\n")]))
            if len(fields) != n_fields:
                return i
            for value in fields[:numeric]:
                float(value)
        except (UnicodeDecodeError, ValueError, csv.Error):
            return i
    return len(lines)


def _repair_monitor(path: Path, size: int, header: bytes | None) -> str | None:
    import json

    if not path.is_file():
        if header is None:
            raise UserError(
                f"{path} is missing, and this checkpoint (of an older realzoo) kept no copy of "
                "its header; restore the file, or start the run anew."
            )
        path.write_bytes(header)
        return (
            f"{path.name} was missing: started again with its header (its earlier episode "
            "rows are lost)"
        )
    data = path.read_bytes()
    cut = data[:size]
    lines = cut.splitlines(keepends=True)
    head, rows = b"".join(lines[:2]), lines[2:]
    note = None
    try:
        ok = head.startswith(b"#") and isinstance(json.loads(lines[0][1:]), dict)
        columns = lines[1].decode("utf-8").strip().split(",")
        ok = ok and columns[:3] == ["r", "l", "t"]
    except (IndexError, ValueError, UnicodeDecodeError):
        ok = False
    if header is not None and head != header:
        ok = False
    if not ok:
        if header is None:
            raise UserError(
                f"{path}: its header lines are damaged, and this checkpoint (of an older realzoo) "
                "kept no copy of them; restore the file, or start the run anew."
            )
        head = header
        columns = header.splitlines()[1].decode("utf-8").strip().split(",")
        note = f"{path.name}: its header lines were damaged; restored from the checkpoint's copy"
    good = _good_rows(rows, len(columns), 3)
    if good < len(rows) or len(data) < size:
        lost = len(rows) - good
        note = (note + "; " if note else f"{path.name}: ") + (
            f"line {good + 3} is damaged, so the file was cut back to the {good} good episode "
            f"rows before it ({lost} row(s) dropped)"
            if good < len(rows)
            else f"it is shorter than at the checkpoint; kept its {good} complete episode rows"
        )
    repaired = head + b"".join(rows[:good])
    if repaired != data:
        with path.open("r+b") as handle:  # the same file: the env's Monitor appends to it
            handle.seek(0)
            handle.write(repaired)
            handle.truncate(len(repaired))
    return note


def _repair_progress(path: Path, rows_at_checkpoint: int) -> str | None:
    if not path.is_file():
        if rows_at_checkpoint:
            return f"{path.name} is missing: a new one starts with the resumed run"
        return None
    lines = path.read_bytes().splitlines(keepends=True)
    if not lines:
        return None  # nothing logged yet: the logger writes the header with its first row
    header = lines[0]
    try:
        columns = header.decode("utf-8").strip().split(",")
        ok = header.endswith(b"\n") and b"\0" not in header and all(columns)
    except UnicodeDecodeError:
        ok = False
    if not ok:
        aside = path.with_name(path.name + ".damaged")
        os.replace(path, aside)
        return (
            f"{path.name}: its header line is damaged; moved aside to {aside.name}, and a new "
            "progress.csv starts with the resumed run"
        )
    rows = lines[1 : 1 + rows_at_checkpoint]
    good = _good_rows(rows, len(columns), 0)
    path.write_bytes(header + b"".join(rows[:good]))
    if good < len(rows):
        return (
            f"{path.name}: line {good + 2} is damaged, so the file was cut back to the {good} "
            f"good rows before it ({len(rows) - good} row(s) dropped)"
        )
    return None
