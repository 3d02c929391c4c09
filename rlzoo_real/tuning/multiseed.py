"""``--n-seeds K`` (K > 1): each trial is K ordinary runs, shared out among the workers.

A worker that takes a new trial asks Optuna for it, samples its values and posts its K
seeds on the command's *seed board* (``workers/<session>.seeds.json``, guarded by a
file lock), then runs seed 0. A worker that is free takes an open seed of the oldest
trial before it starts a new trial, so the seeds of a trial run in parallel as far as
there are free workers (with one worker they run one after the other).

Each seed writes its evaluations to the board. When every seed of a trial has reached
evaluation ``k``, the worker that completed the set reports the aggregate (of the
objective as it stands, :mod:`~rlzoo_real.tuning.objectives`) to Optuna as the
intermediate value of step ``k`` and asks the pruner; a pruned trial's other seeds stop
at their next evaluation and its open seeds never start. The worker that ends the
trial's last seed tells Optuna the result: the aggregate over seeds, or PRUNED, or FAIL
with the first failed seed's reason (a failed seed cancels the others).

A seed whose worker process died is found by the next worker that looks at the board
(and by :func:`close_board` when the command ends) and fails its trial; the trial's
other running seeds see it at their next look (:meth:`SeedBoard.stopping`) and stop.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import math
import os
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

__all__ = ["SeedBoard", "close_board", "run_seed_loop"]

_OPEN, _RUNNING, _DONE, _FAILED, _CANCELLED, _PRUNED = (
    "open",
    "running",
    "done",
    "failed",
    "cancelled",
    "pruned",
)
_ACTIVE = (_OPEN, _RUNNING)


@dataclass(frozen=True)
class Job:
    """One seed of one trial, taken by this worker."""

    number: int
    index: int
    seed: int
    trial_id: int
    words: list[str]


class SeedBoard:
    """The seed board of one ``realzoo tune`` command (all its workers share it)."""

    def __init__(self, workers_dir: str | Path, session: str) -> None:
        self.path = Path(workers_dir) / f"{session}.seeds.json"
        self.lock = Path(workers_dir) / f"{session}.seeds.lock"

    @contextlib.contextmanager
    def _state(self) -> Iterator[dict[str, Any]]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.lock, "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            state = self.read()
            yield state
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(state))
            os.replace(tmp, self.path)

    def read(self) -> dict[str, Any]:
        """The board as it is (written whole by rename, so readable without the lock)."""
        try:
            return dict(json.loads(self.path.read_text()))
        except FileNotFoundError:
            return {}

    def post(
        self,
        number: int,
        trial_id: int,
        seeds: list[int],
        words: list[str],
        objective: tuple[str, str],
    ) -> Job:
        """Put a new trial's seeds on the board; this worker takes seed 0.

        Args:
            objective: the study's (objective, aggregate).
        """
        with self._state() as state:
            state[str(number)] = {
                "objective": objective[0],
                "aggregate": objective[1],
                "trial_id": trial_id,
                "seeds": seeds,
                "words": words,
                "status": [_RUNNING] + [_OPEN] * (len(seeds) - 1),
                "pids": [_me()] + [None] * (len(seeds) - 1),
                "values": [[] for _ in seeds],
                "runs": [""] * len(seeds),
                "steps": [0] * len(seeds),
                "wall": [0.0] * len(seeds),
                "reasons": [""] * len(seeds),
                "reported": 0,
                "pruned_at": None,
                "finalized": False,
            }
        return Job(number, 0, seeds[0], trial_id, words)

    def take(self) -> tuple[Job | None, list[dict[str, Any]]]:
        """An open seed of the oldest trial (or None), and trials that are now over.

        Seeds whose worker process is gone are failed on the way.
        """
        with self._state() as state:
            self._reap(state)
            job = None
            for key in sorted(state, key=int):
                entry = state[key]
                if entry["finalized"] or entry["pruned_at"] is not None:
                    continue
                if any(s == _FAILED for s in entry["status"]):
                    continue
                if _OPEN in entry["status"]:
                    index = entry["status"].index(_OPEN)
                    entry["status"][index] = _RUNNING
                    entry["pids"][index] = _me()
                    job = Job(
                        int(key), index, entry["seeds"][index], entry["trial_id"], entry["words"]
                    )
                    break
            return job, _over(state)

    def record(self, job: Job, value: float) -> tuple[list[tuple[int, float]], bool]:
        """Add an evaluation of ``job``; returns the steps this worker must report, and
        whether the trial is to stop (pruned, or another seed failed)."""
        from rlzoo_real.tuning.objectives import aggregate, running_values

        with self._state() as state:
            entry = state[str(job.number)]
            entry["values"][job.index].append(value)
            stop = entry["pruned_at"] is not None or _FAILED in entry["status"]
            ready = min(len(v) for v in entry["values"])
            steps = []
            objective, how = entry["objective"], entry["aggregate"]
            for step in range(entry["reported"] + 1, ready + 1):
                per_seed = [running_values(v[:step], objective)[-1] for v in entry["values"]]
                steps.append((step, aggregate(per_seed, how)))
            entry["reported"] = max(entry["reported"], ready)
        return steps, stop

    def prune(self, number: int, step: int) -> None:
        with self._state() as state:
            entry = state[str(number)]
            if entry["pruned_at"] is None:
                entry["pruned_at"] = step
            entry["status"] = [_CANCELLED if s == _OPEN else s for s in entry["status"]]

    def stopping(self, number: int) -> bool:
        """Whether the trial was pruned, one of its seeds failed, or the worker of one of its
        seeds died (read without the lock; the next :meth:`take` records the death)."""
        from rlzoo_real.runs.processes import process_is_alive

        entry = self.read().get(str(number))
        if entry is None or entry["pruned_at"] is not None or _FAILED in entry["status"]:
            return True
        for status, owner in zip(entry["status"], entry["pids"], strict=True):
            pid, start = owner or (None, None)
            if status == _RUNNING and isinstance(pid, int) and not process_is_alive(pid, start):
                return True
        return False

    def finish(
        self,
        job: Job,
        status: str,
        *,
        reason: str = "",
        run: str = "",
        steps: int = 0,
        wall: float = 0.0,
    ) -> list[dict[str, Any]]:
        """Record how ``job`` ended; returns the trials that are now over (to tell Optuna)."""
        with self._state() as state:
            entry = state[str(job.number)]
            entry["status"][job.index] = status
            entry["reasons"][job.index] = reason
            entry["runs"][job.index] = run
            entry["steps"][job.index] = steps
            entry["wall"][job.index] = wall
            if status == _FAILED:
                entry["status"] = [_CANCELLED if s == _OPEN else s for s in entry["status"]]
            return _over(state)

    def abandon(self, reason: str) -> list[dict[str, Any]]:
        """Fail every seed not finished (the command is ending); returns trials now over."""
        with self._state() as state:
            for entry in state.values():
                if entry["finalized"]:
                    continue
                for index, status in enumerate(entry["status"]):
                    if status in _ACTIVE:
                        entry["status"][index] = _FAILED
                        entry["reasons"][index] = reason
            return _over(state)

    @staticmethod
    def _reap(state: dict[str, Any]) -> None:
        from rlzoo_real.runs.processes import process_is_alive

        for entry in state.values():
            for index, status in enumerate(entry["status"]):
                pid, start = entry["pids"][index] or (None, None)
                if status == _RUNNING and isinstance(pid, int) and not process_is_alive(pid, start):
                    entry["status"][index] = _FAILED
                    entry["reasons"][index] = (
                        f"its worker process (pid {pid} on {socket.gethostname()}) died: killed "
                        "or crashed"
                    )
                    entry["status"] = [_CANCELLED if s == _OPEN else s for s in entry["status"]]


def _me() -> list[Any]:
    from rlzoo_real.runs.processes import process_start_time

    return [os.getpid(), process_start_time(os.getpid())]


def _over(state: dict[str, Any]) -> list[dict[str, Any]]:
    """Trials no seed of which is open or running, not yet told: mark them and return them."""
    over = []
    for key, entry in state.items():
        if entry["finalized"] or any(s in _ACTIVE for s in entry["status"]):
            continue
        entry["finalized"] = True
        over.append({"number": int(key), **entry})
    return over


def conclude(study: Any, entries: list[dict[str, Any]], objective: str, how: str) -> list[Any]:
    """Tell Optuna how the trials in ``entries`` ended; returns their frozen trials."""
    import optuna
    from optuna.trial import TrialState

    from rlzoo_real.tuning.objectives import aggregate, curve_value

    storage = study._storage
    told = []
    for entry in entries:
        trial_id = entry["trial_id"]
        number = entry["number"]
        seeds, values, status = entry["seeds"], entry["values"], entry["status"]
        per_seed = [curve_value(v, objective) if v else None for v in values]
        attrs = {
            "seed_values": [None if v is None else round(v, 6) for v in per_seed],
            "seed_runs": entry["runs"],
            "num_timesteps": int(sum(entry["steps"])),
            "wall_time": round(sum(entry["wall"]), 3),
        }
        if entry["runs"][0]:
            attrs["run_folder"] = entry["runs"][0]
        try:
            for key, value in attrs.items():
                storage.set_trial_user_attr(trial_id, key, value)
            failed = [i for i, s in enumerate(status) if s == _FAILED]
            if failed:
                i = failed[0]
                reason = f"seed {i} (seed {seeds[i]}) failed: {entry['reasons'][i]}"
                storage.set_trial_user_attr(trial_id, "fail_reason", reason[:2000])
                frozen = study.tell(number, state=TrialState.FAIL)
            elif entry["pruned_at"] is not None:
                frozen = study.tell(number, state=TrialState.PRUNED)
            else:
                value = aggregate([v for v in per_seed if v is not None], how)
                if not math.isfinite(value):
                    storage.set_trial_user_attr(
                        trial_id, "fail_reason", f"diverged: the aggregate over seeds is {value}"
                    )
                    frozen = study.tell(number, state=TrialState.FAIL)
                else:
                    frozen = study.tell(number, value)
        except (optuna.exceptions.UpdateFinishedTrialError, RuntimeError, ValueError):
            continue  # failed by another process first (a dead worker's trial)
        told.append(frozen)
    return told


def close_board(
    study: Any, workers_dir: str | Path, session: str, objective: str, how: str
) -> None:
    """At the end of a command: fail trials whose seeds no worker will finish."""
    board = SeedBoard(workers_dir, session)
    if not board.path.exists():
        return
    over = board.abandon("the command ended before this seed ran (its worker stopped or died)")
    conclude(study, over, objective, how)


class _Adapter:
    """Looks like an Optuna trial to :class:`~rlzoo_real.tuning.pruning.TrialReporter`."""

    def __init__(self, study: Any, board: SeedBoard, job: Job) -> None:
        self.study, self.board, self.job = study, board, job
        self.stop = False

    def report(self, value: float, step: int) -> None:
        import optuna

        steps, self.stop = self.board.record(self.job, value)
        storage = self.study._storage
        try:
            for number, aggregate_value in steps:
                storage.set_trial_intermediate_value(self.job.trial_id, number, aggregate_value)
        except optuna.exceptions.UpdateFinishedTrialError:
            self.stop = True  # failed by another process (its seed 0's worker died): stop too
            return
        if steps and not self.stop:
            frozen = storage.get_trial(self.job.trial_id)
            if self.study.pruner.prune(self.study, frozen):
                self.board.prune(self.job.number, steps[-1][0])
                self.stop = True

    def should_prune(self) -> bool:
        return self.stop


def run_seed_loop(
    config: dict[str, Any],
    study: Any,
    storage: Any,
    *,
    take_trial: Callable[[], bool],
    start_trial: Callable[[Any], list[str]],
    train_seed: Callable[[Job, Any, Callable[[], bool]], tuple[str, str, str, int, float]],
    keep_going: Callable[[], bool],
    say: Callable[[str], None],
) -> int:
    """Take seeds (open ones first, else a new trial) until the budget is spent.

    Args:
        take_trial: claims a slot of the command's trial budget (False: none left).
        start_trial: samples a new trial's values (``-params`` words), records its attributes.
        train_seed: runs one seed with a TrialReporter over the given adapter; returns
            (status, reason, run folder, steps, wall time).
        keep_going: False once a signal or the parent's end says to stop.
        say: where a line per trial this worker ends goes.

    Returns:
        The number of trials this worker started.
    """
    import optuna
    from optuna.storages._heartbeat import get_heartbeat_thread

    from rlzoo_real.tuning.results import describe_trial
    from rlzoo_real.tuning.seeds import search_seed

    objective, how = config["objective"], config["aggregate"]
    n_seeds = int(config["n_seeds"])
    board = SeedBoard(config["workers_dir"], config["session"])
    started = 0
    deadline = config["deadline"]

    def tell(entries: list[dict[str, Any]]) -> None:
        for frozen in conclude(study, entries, objective, how):
            say(describe_trial(frozen, study.get_trials(deepcopy=False)))

    while keep_going():
        job, over = board.take()
        tell(over)
        if job is None:
            if deadline is not None and time.time() >= deadline:
                break
            if not take_trial():
                break
            started += 1
            trial = study.ask()
            try:
                words = start_trial(trial)
            except Exception as exc:  # noqa: BLE001 - a bad sample fails its trial, not the study
                trial.set_user_attr("fail_reason", str(exc)[:2000])
                study.tell(trial, state=optuna.trial.TrialState.FAIL)
                continue
            seeds = [search_seed(config["trial_seed"], trial.number, i) for i in range(n_seeds)]
            trial.set_user_attr("seeds", seeds)
            trial.set_user_attr("seed", seeds[0])
            job = board.post(trial.number, trial._trial_id, seeds, words, (objective, how))
        adapter = _Adapter(study, board, job)
        result = (_FAILED, "interrupted (second signal)", "", 0, 0.0)
        try:
            with get_heartbeat_thread(job.trial_id, storage):
                result = train_seed(job, adapter, partial(board.stopping, job.number))
        finally:
            status, reason, run, steps, wall = result
            tell(board.finish(job, status, reason=reason, run=run, steps=steps, wall=wall))
    return started
