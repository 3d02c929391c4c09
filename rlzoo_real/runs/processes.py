"""Process liveness: whether the process that wrote a lock, a manifest or a worker record
still runs (a pid alone can be reused: its start time tells a new process from the old one).
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["process_is_alive", "process_start_time"]


def process_start_time(pid: int) -> int | None:
    """When process ``pid`` started (clock ticks since boot, from /proc), to tell pid reuse."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rpartition(")")[2].split()
    return int(fields[19]) if len(fields) > 19 else None


def process_is_alive(pid: int, start: int | None = None) -> bool:
    """Whether process ``pid`` on this machine still runs (and is the one started at ``start``)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc: trust kill(0)
    fields = stat.rpartition(")")[2].split()
    if fields and fields[0] in ("Z", "X"):
        return False  # killed, not yet reaped
    return start is None or process_start_time(pid) in (None, start)
