"""Child processes watched by one parent: the core that sweeps and tuning workers share,
and ``--n-workers K`` tuning workers on it.

:class:`ChildProcesses` starts each child in a session of its own (so a terminal's Ctrl-C
reaches only the parent, which passes it on once; a second one is passed on too, to stop
at once), appends its output to a log file, optionally with one torch/OpenMP thread, and
reports each child that exits with its status so that the caller can tell a death from a
clean end. A sweep (:mod:`~rlzoo_real.executors.sweep`) runs its jobs on it; so does
:func:`run_pool` for a study's workers.

Each tuning worker is ``python -m rlzoo_real.tuning.worker INDEX`` with its output in
``<study>/workers/<session>_w<INDEX>.log``. The parent prints a line per finished
trial (read from the storage, so trials of other machines show too). A worker that
dies (killed, out of memory, crashed) has its running trial marked failed with the
reason at once, and a new worker takes its place while the budget lasts; the command
then ends with a non-zero status and the worker's log path. Workers whose parent is gone
finish their running trial and stop.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, BinaryIO

__all__ = ["Child", "ChildProcesses", "PoolOutcome", "run_pool"]

#: thread settings of numerical libraries, one each in a child with ``threads=1``
_THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")

_POLL_S = 0.5


@dataclass
class PoolOutcome:
    """How the pool ended: status, why it stopped early, and workers that died."""

    exit_code: int = 0
    stop_reason: str | None = None
    problems: list[str] = field(default_factory=list)


@dataclass
class Child:
    """One child process: the caller's ``tag`` for it, its log and when it started."""

    tag: Any
    process: subprocess.Popen[bytes]
    log: Path
    handle: BinaryIO
    started: float = field(default_factory=time.monotonic)

    @property
    def pid(self) -> int:
        """The child's process id."""
        return self.process.pid


class ChildProcesses:
    """Children in sessions of their own, each writing to a log, signals passed on to them.

    Used as a context manager: SIGINT and SIGTERM (main thread only) are recorded in
    :attr:`signals` and passed on to every running child; the previous handlers come back
    on exit, and a child still running then (an error of the parent's) is killed.

    Args:
        env: the children's environment (default: this process's).
        threads: with a number, the children's OpenMP/MKL/OpenBLAS threads unless the
            environment already sets them.
        on_signal: called with the signal number on the first signal (from the handler).
    """

    def __init__(
        self,
        *,
        env: Mapping[str, str] | None = None,
        threads: int | None = None,
        on_signal: Callable[[int], None] | None = None,
    ) -> None:
        self.env = dict(os.environ if env is None else env)
        if threads is not None:
            for variable in _THREAD_VARIABLES:
                self.env.setdefault(variable, str(max(threads, 1)))
        self.running: list[Child] = []
        self.signals: list[int] = []
        self._on_signal = on_signal
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> ChildProcesses:
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                self._previous[signum] = signal.signal(signum, self._forward)
        return self

    def __exit__(self, *exc: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()
        for child in self.running:  # only on an error of ours: leave no child behind
            child.process.kill()
            child.process.wait()
            child.handle.close()
        self.running.clear()

    def spawn(
        self,
        argv: Sequence[str],
        log: Path,
        *,
        tag: Any = None,
        stdin: bytes | None = None,
        header: str | None = None,
    ) -> Child:
        """Start ``argv`` with its output appended to ``log`` (after ``header`` if given)."""
        handle = log.open("ab")
        if header is not None:
            handle.write(header.encode())
            handle.flush()
        process = subprocess.Popen(
            list(argv),
            stdin=subprocess.PIPE if stdin is not None else None,
            stdout=handle,
            stderr=subprocess.STDOUT,
            env=self.env,
            start_new_session=True,  # a terminal's Ctrl-C reaches the parent, which passes it on
        )
        if stdin is not None:
            assert process.stdin is not None
            process.stdin.write(stdin)
            process.stdin.close()
        child = Child(tag, process, log, handle)
        self.running.append(child)
        return child

    def reap(self) -> list[tuple[Child, int]]:
        """The children that exited since the last call, with their exit status (logs closed)."""
        ended = []
        for child in list(self.running):
            code = child.process.poll()
            if code is None:
                continue
            self.running.remove(child)
            child.handle.close()
            ended.append((child, code))
        return ended

    def wait(self, timeout: float | None) -> list[tuple[Child, int]]:
        """Wait for every running child, killing those still running after ``timeout`` s."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for child in list(self.running):
            try:
                left = None if deadline is None else max(deadline - time.monotonic(), 1.0)
                child.process.wait(timeout=left)
            except subprocess.TimeoutExpired:
                child.process.kill()
                child.process.wait()
        return self.reap()

    def _forward(self, signum: int, frame: FrameType | None) -> None:
        self.signals.append(signum)
        if len(self.signals) == 1 and self._on_signal is not None:
            self._on_signal(signum)
        for child in self.running:
            if child.process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(child.process.pid, signum)


def run_pool(
    config: dict[str, Any],
    n_workers: int,
    *,
    study: Any,
    storage: Any,
    echo: Callable[[str], None],
) -> PoolOutcome:
    """Run ``n_workers`` worker processes on the study until they have all finished.

    Args:
        config: worker settings (see :func:`~rlzoo_real.tuning.study.run_tune`).
        n_workers: how many processes at once.
        study: the study (read for progress lines and to fail a dead worker's trial).
        storage: its storage.
        echo: where progress lines go.
    """
    from rlzoo_real.tuning.results import describe_trial
    from rlzoo_real.tuning.storage import fail_dead_trials

    workers_dir = Path(config["workers_dir"])
    workers_dir.mkdir(parents=True, exist_ok=True)
    Path(config["claims"]).touch()
    payload = json.dumps(config).encode()
    outcome = PoolOutcome()
    next_index = 0
    respawns_left = 2 * n_workers

    def announce(signum: int) -> None:
        echo(
            f"{signal.Signals(signum).name} received: stopping the running trials (they are "
            "recorded as interrupted); finished trials are kept. Again to stop at once."
        )

    children = ChildProcesses(threads=int(config["num_threads"]), on_signal=announce)

    def spawn() -> None:
        nonlocal next_index
        index, next_index = next_index, next_index + 1
        children.spawn(
            [sys.executable, "-m", "rlzoo_real.tuning.worker", str(index)],
            workers_dir / f"{config['session']}_w{index}.log",
            tag=index,
            stdin=payload,
        )

    seen = {t.number for t in study.get_trials(deepcopy=False) if t.state.is_finished()}
    with children:
        for _ in range(n_workers):
            spawn()
        while children.running:
            time.sleep(_POLL_S)
            seen = _print_finished(study, seen, echo, describe_trial)
            for worker, code in children.reap():
                if code == 0 or (children.signals and code in (130, 143, -2, -15)):
                    continue
                how = f"killed by {signal.Signals(-code).name}" if code < 0 else f"exit {code}"
                reason = f"its worker process (pid {worker.pid}) died, {how}; log {worker.log}"
                failed = fail_dead_trials(study, storage, pids={worker.pid: reason})
                lost = f", its trial {', '.join(map(str, failed))} marked failed" if failed else ""
                outcome.problems.append(
                    f"worker {worker.tag} (pid {worker.pid}) died, {how}{lost}; log {worker.log}"
                )
                echo(f"Worker {worker.tag} died ({how}){lost}. Log: {worker.log}")
                if not children.signals and respawns_left > 0 and _budget_left(config):
                    respawns_left -= 1
                    spawn()
        _print_finished(study, seen, echo, describe_trial)
    if children.signals:
        outcome.stop_reason = signal.Signals(children.signals[0]).name
        outcome.exit_code = 128 + children.signals[0]
    elif outcome.problems:
        outcome.exit_code = 1
    return outcome


def _budget_left(config: dict[str, Any]) -> bool:
    deadline = config["deadline"]
    if deadline is not None and time.time() >= deadline:
        return False
    n_trials = config["n_trials"]
    if n_trials is None:
        return True
    text = Path(config["claims"]).read_text().strip()
    return (int(text) if text.isdigit() else 0) < n_trials


def _print_finished(
    study: Any, seen: set[int], echo: Callable[[str], None], describe: Callable[..., str]
) -> set[int]:
    trials = study.get_trials(deepcopy=False)
    for trial in sorted(trials, key=lambda t: t.number):
        if trial.state.is_finished() and trial.number not in seen:
            seen.add(trial.number)
            echo(describe(trial, trials))
    return seen
