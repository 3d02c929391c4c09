"""``--n-workers K``: K worker processes on one study, watched by ``realzoo tune``.

Each worker is ``python -m rlzoo_real.tuning.worker INDEX`` in a session of its own
(so a terminal's Ctrl-C reaches only ``realzoo tune``, which passes it on once), with
one torch/OpenMP thread unless the environment says otherwise, and its output in
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
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, BinaryIO

__all__ = ["PoolOutcome", "run_pool"]

_POLL_S = 0.5


@dataclass
class PoolOutcome:
    """How the pool ended: status, why it stopped early, and workers that died."""

    exit_code: int = 0
    stop_reason: str | None = None
    problems: list[str] = field(default_factory=list)


@dataclass
class _Worker:
    index: int
    process: subprocess.Popen[bytes]
    log: Path
    handle: BinaryIO


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
    env = dict(os.environ)
    for variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env.setdefault(variable, str(max(int(config["num_threads"]), 1)))
    payload = json.dumps(config).encode()
    outcome = PoolOutcome()
    running: list[_Worker] = []
    next_index = 0
    respawns_left = 2 * n_workers
    signals: list[int] = []

    def spawn() -> None:
        nonlocal next_index
        index, next_index = next_index, next_index + 1
        log = workers_dir / f"{config['session']}_w{index}.log"
        handle = log.open("ab")
        process = subprocess.Popen(
            [sys.executable, "-m", "rlzoo_real.tuning.worker", str(index)],
            stdin=subprocess.PIPE,
            stdout=handle,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
        assert process.stdin is not None
        process.stdin.write(payload)
        process.stdin.close()
        running.append(_Worker(index, process, log, handle))

    def forward(signum: int, frame: FrameType | None) -> None:
        signals.append(signum)
        if len(signals) == 1:
            echo(
                f"{signal.Signals(signum).name} received: stopping the running trials (they are "
                "recorded as interrupted); finished trials are kept. Again to stop at once."
            )
        for worker in running:
            if worker.process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(worker.process.pid, signum)

    seen = {t.number for t in study.get_trials(deepcopy=False) if t.state.is_finished()}
    previous = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        for _ in range(n_workers):
            spawn()
        while running:
            time.sleep(_POLL_S)
            seen = _print_finished(study, seen, echo, describe_trial)
            for worker in list(running):
                code = worker.process.poll()
                if code is None:
                    continue
                running.remove(worker)
                worker.handle.close()
                if code == 0 or (signals and code in (130, 143, -2, -15)):
                    continue
                how = f"killed by {signal.Signals(-code).name}" if code < 0 else f"exit {code}"
                reason = (
                    f"its worker process (pid {worker.process.pid}) died, {how}; log {worker.log}"
                )
                failed = fail_dead_trials(study, storage, pids={worker.process.pid: reason})
                lost = f", its trial {', '.join(map(str, failed))} marked failed" if failed else ""
                outcome.problems.append(
                    f"worker {worker.index} (pid {worker.process.pid}) died, {how}{lost}; "
                    f"log {worker.log}"
                )
                echo(f"Worker {worker.index} died ({how}){lost}. Log: {worker.log}")
                if not signals and respawns_left > 0 and _budget_left(config):
                    respawns_left -= 1
                    spawn()
        _print_finished(study, seen, echo, describe_trial)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        for worker in running:  # only on an error of ours: do not leave workers behind
            worker.process.kill()
            worker.process.wait()
            worker.handle.close()
    if signals:
        outcome.stop_reason = signal.Signals(signals[0]).name
        outcome.exit_code = 128 + signals[0]
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
