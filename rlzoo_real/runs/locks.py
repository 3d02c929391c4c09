"""One writer per run folder: an exclusive OS lock held for the whole life of a writer.

``realzoo train`` (a new run, from the moment its folder exists) and ``realzoo train
--resume`` (before anything in the folder is touched) hold an exclusive ``flock`` on the
run's lock file (:attr:`rlzoo_real.runs.folder.RunFolder.lock_file`) until they end. The kernel
drops the lock when the process dies, however it dies, so a killed run can be resumed
at once; a second writer is refused with the holder's pid and host, which the lock file
records (``pid``, ``host``, ``pid_start``, ``start_time``, ``command``).

``flock`` locks belong to an open file description: a process forked while holding
one shares it, and the lock would outlive the writer in a forked child. The lock's file
descriptor is therefore closed in every forked child (``os.register_at_fork``; closing
a shared descriptor does not release the parent's lock), and it is opened close-on-exec,
so processes started with ``exec`` (subprocess envs, tuning workers) never hold it.

A reader (``realzoo runs``, a sweep) asks :func:`lock_state` whether a writer holds a
run: it takes a shared lock without waiting and drops it at once. A writer that meets
such a probe retries for a moment (:data:`_RETRY_S`) before it concludes that the folder
is in use, so a listing never makes a writer fail.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import sys
import time
from pathlib import Path
from typing import Any

from rlzoo_real.errors import UserError
from rlzoo_real.runs.processes import process_start_time

__all__ = [
    "LOCK_FILE",
    "lock_file_of",
    "RunLock",
    "RunLockedError",
    "acquire_run_lock",
    "lock_state",
    "read_lock_holder",
]

#: the run folder's lock file (see :mod:`rlzoo_real.runs.locks`): held by the one process writing in
#: the folder, it records that process's pid, host and start time
LOCK_FILE = "run.lock"


def lock_file_of(run_path: Path) -> Path:
    """The lock file of the run folder ``run_path``."""
    return run_path / LOCK_FILE


#: how long a writer retries a lock held by someone else (a reader's probe lasts microseconds)
_RETRY_S = 1.0
_POLL_S = 0.02
#: descriptors of the locks this process holds, closed in forked children
_HELD: set[int] = set()


def _close_in_child() -> None:
    for fd in list(_HELD):
        with contextlib.suppress(OSError):
            os.close(fd)  # the child's copy only: the parent keeps its lock
    _HELD.clear()


os.register_at_fork(after_in_child=_close_in_child)


class RunLockedError(UserError):
    """Another process writes in this run folder."""

    def __init__(self, message: str, holder: dict[str, Any]) -> None:
        super().__init__(message)
        self.holder = holder


class RunLock:
    """The exclusive lock of one run folder, held by this process until :meth:`release`.

    The lock file's previous content is put back when the lock is released before
    :meth:`keep` was called (a request refused after the lock was taken leaves the
    folder's files as they were).
    """

    def __init__(self, path: Path, fd: int, previous: bytes) -> None:
        self.path = path
        self._fd: int | None = fd
        self._previous: bytes | None = previous

    @property
    def held(self) -> bool:
        return self._fd is not None

    def keep(self) -> None:
        """The writer has started: its identity stays in the lock file after it ends."""
        self._previous = None

    def release(self) -> None:
        """Drop the lock (the kernel does it too when the process dies)."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        _HELD.discard(fd)
        try:
            if self._previous is not None:
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, 0)
                    os.pwrite(fd, self._previous, 0)
        finally:
            os.close(fd)  # closing the last descriptor releases the flock

    def __enter__(self) -> RunLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _identity() -> dict[str, Any]:
    from rlzoo_real.runs.manifest import now_iso

    return {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "pid_start": process_start_time(os.getpid()),
        "start_time": now_iso(),
        "command": " ".join(["realzoo", *sys.argv[1:]]) if sys.argv else "",
    }


def acquire_run_lock(run_path: Path) -> RunLock:
    """Take the exclusive lock of the run folder ``run_path`` (without waiting for a holder).

    Raises:
        RunLockedError: another process holds it; the message names its pid and host.
    """
    path = lock_file_of(run_path)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666 & ~_umask())
    deadline = time.monotonic() + _RETRY_S
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() < deadline:
                time.sleep(_POLL_S)
                continue
            os.close(fd)
            holder = read_lock_holder(run_path, wait_s=_RETRY_S)
            raise RunLockedError(_refusal(run_path, holder), holder) from None
        except OSError as exc:  # e.g. ENOLCK: a network file system without locks
            os.close(fd)
            raise UserError(
                f"Cannot lock {path} ({exc.strerror}): the file system of {run_path} does not "
                "support file locks (flock), which keep a run folder to one writer. Use a log "
                "folder (-f) on a local disk or on a file system with locking."
            ) from None
        except BaseException:
            os.close(fd)
            raise
    _HELD.add(fd)
    try:
        previous = _read_all(fd)
        data = (json.dumps(_identity()) + "\n").encode()
        os.ftruncate(fd, 0)
        os.pwrite(fd, data, 0)
    except BaseException:
        _HELD.discard(fd)
        os.close(fd)
        raise
    return RunLock(path, fd, previous)


def _read_all(fd: int) -> bytes:
    chunks: list[bytes] = []
    offset = 0
    while True:
        chunk = os.pread(fd, 65536, offset)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        offset += len(chunk)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def read_lock_holder(run_path: Path, *, wait_s: float = 0.0) -> dict[str, Any]:
    """Who holds (or last held) the run's lock, as its lock file records it ({} if unknown).

    Args:
        wait_s: keep reading this long while the file is empty or half written (a holder
            writes its identity just after it takes the lock).
    """
    deadline = time.monotonic() + wait_s
    while True:
        try:
            data = json.loads(lock_file_of(run_path).read_bytes())
            if isinstance(data, dict):
                return data
        except (OSError, ValueError):
            pass
        if time.monotonic() >= deadline:
            return {}
        time.sleep(_POLL_S)


def _refusal(run_path: Path, holder: dict[str, Any]) -> str:
    pid, host = holder.get("pid", "?"), holder.get("host", "an unknown host")
    since = f" since {holder['start_time']}" if holder.get("start_time") else ""
    command = f" ({holder['command']})" if holder.get("command") else ""
    return (
        f"{run_path} is in use: process {pid} on {host} writes in it{since}{command}, and a run "
        f"folder has one writer at a time (its lock file {lock_file_of(run_path).name} is "
        "locked). Nothing was changed. Wait until that process ends (realzoo runs shows the "
        f"run as running), or stop it (kill -INT {pid} on {host} saves a checkpoint), then "
        f"continue the run with realzoo train --resume {run_path}."
    )


def lock_state(run_path: Path) -> str:
    """``held`` (a writer is in the folder), ``free`` (nobody writes), or ``none`` (the folder
    has no lock file: made before locks, or by the RL Zoo)."""
    path = lock_file_of(run_path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return "none"
    except OSError:
        return "none"
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return "held"
    finally:
        os.close(fd)  # also drops the shared lock if it was taken
    return "free"
