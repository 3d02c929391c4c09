"""A tuning worker: takes trials of the study one after the other until the budget is spent.

Each trial is a ``realzoo train`` run (:func:`rlzoo_real.train.run.train`) with the
sampled values as ``-params``, no checkpoints, its own run folder under the study's
``trials/`` and a :class:`~rlzoo_real.tuning.pruning.TrialReporter` that reports every
evaluation to Optuna. A trial that raises or diverges is failed with its reason (user
attribute ``fail_reason``) and the worker goes on with the next one.

Workers run in the ``realzoo tune`` process itself (``--n-workers 1``) or as processes
``python -m rlzoo_real.tuning.worker INDEX`` that read their settings as JSON on
standard input (see :mod:`~rlzoo_real.executors.pool`). SIGINT/SIGTERM stop a worker
cleanly: the running trial stops after its current step and is failed as
"interrupted"; no new trial starts; a second signal stops at once.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn

from rlzoo_real.errors import UserError
from rlzoo_real.train.stopping import StopRequest

__all__ = ["TrialFailed", "WorkerOutcome", "claim_trial", "main", "run_worker"]

_MAX_REASON = 2000


class TrialFailed(Exception):
    """A trial that could not give a result; its reason is in the trial's ``fail_reason``."""


@dataclass(frozen=True)
class WorkerOutcome:
    """How a worker ended: its exit status and why it stopped early (None: budget spent)."""

    exit_code: int
    stop_reason: str | None
    trials: int


def claim_trial(path: str, n_trials: int | None, study: Any, max_total: int | None) -> bool:
    """Take one of the command's ``n_trials`` slots (shared by its workers through ``path``).

    With ``max_total``, also refuse when the study already holds that many complete,
    pruned or running trials (failed ones do not count, as in the RL Zoo).
    """
    import fcntl

    from optuna.trial import TrialState

    with open(path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        handle.seek(0)
        text = handle.read().strip()
        taken = int(text) if text.isdigit() else 0
        if n_trials is not None and taken >= n_trials:
            return False
        if max_total is not None:
            states = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING)
            if len(study.get_trials(deepcopy=False, states=states)) >= max_total:
                return False
        handle.seek(0)
        handle.truncate()
        handle.write(str(taken + 1))
        handle.flush()
    return True


def run_worker(
    config: dict[str, Any],
    index: int,
    *,
    echo: Callable[[str], None] | None = None,
    in_process: bool = False,
) -> WorkerOutcome:
    """Run trials until the budget (``n_trials``, ``max_total_trials``, deadline) is spent.

    Args:
        config: the worker settings written by :func:`~rlzoo_real.tuning.study.run_tune`.
        index: this worker's number (its sampler seed is ``seed + index``).
        echo: where a line per finished trial goes (default: standard output).
        in_process: True when run inside ``realzoo tune`` itself (no parent to watch).
    """
    import optuna

    from rlzoo_real.algos.registry import get_algo
    from rlzoo_real.tuning.results import describe_trial
    from rlzoo_real.tuning.samplers import make_pruner, make_sampler
    from rlzoo_real.tuning.spaces import space_from_dict
    from rlzoo_real.tuning.storage import StorageSpec, fail_dead_trials, open_storage

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    say = echo or (lambda line: print(line, flush=True))
    spec = StorageSpec(*config["storage"])

    def on_stale(study: Any, trial: Any) -> None:
        say(f"Trial {trial.number} failed: no heartbeat from its worker (killed or cut off).")

    storage = open_storage(
        spec,
        heartbeat_interval=config["heartbeat"] if spec.has_heartbeat else None,
        on_stale=on_stale,
    )
    seed = config["seed"]
    study = optuna.load_study(
        study_name=config["study_name"],
        storage=storage,
        sampler=make_sampler(
            config["sampler"],
            seed=None if seed is None else seed + index,
            n_startup_trials=config["n_startup_trials"],
        ),
        pruner=make_pruner(
            config["pruner"],
            n_startup_trials=config["n_startup_trials"],
            n_evaluations=config["n_evaluations"],
        ),
    )
    algo = get_algo(config["algo"], backend=config.get("backend", "sb3"))
    space = space_from_dict(algo, config["space"], where="the study's search space")
    fail_dead_trials(study, storage)
    # load torch and SB3 before the first trial, so that its duration is its training
    import rlzoo_real.train.request  # noqa: F401
    import rlzoo_real.tuning.pruning  # noqa: F401

    stop = StopRequest(notice="{signal} received: no new trial starts.")
    objective = _Objective(config, algo, space, stop)

    def report(study: Any, trial: Any) -> None:
        say(describe_trial(trial, study.get_trials(deepcopy=False)))

    parent = os.getppid()
    ran = 0
    deadline = config["deadline"]
    with stop, contextlib.closing(_Closer(storage)):
        try:
            while stop.reason is None:
                if deadline is not None and time.time() >= deadline:
                    break
                if not in_process and os.getppid() != parent:
                    stop.request("realzoo tune (the parent process) is gone", 1)
                    break
                if int(config.get("n_seeds", 1)) > 1:
                    ran += _run_seeds(config, study, storage, objective, in_process, parent, say)
                    break
                if not claim_trial(
                    config["claims"], config["n_trials"], study, config["max_total_trials"]
                ):
                    break
                ran += 1
                study.optimize(
                    objective,
                    n_trials=1,
                    catch=(TrialFailed,),
                    callbacks=[report],
                    gc_after_trial=True,
                )
        except KeyboardInterrupt:
            stop.request("second signal", stop.exit_code or 130)
    return WorkerOutcome(stop.exit_code, stop.reason, ran)


def _run_seeds(
    config: dict[str, Any],
    study: Any,
    storage: Any,
    objective: _Objective,
    in_process: bool,
    parent: int,
    say: Callable[[str], None],
) -> int:
    """``--n-seeds K`` > 1: take seeds from the command's seed board (see multiseed)."""
    from pathlib import Path

    from rlzoo_real.tuning.multiseed import Job, run_seed_loop

    stop = objective.stop

    def keep_going() -> bool:
        if not in_process and os.getppid() != parent:
            stop.request("realzoo tune (the parent process) is gone", 1)
        return stop.reason is None

    def take_trial() -> bool:
        return claim_trial(config["claims"], config["n_trials"], study, config["max_total_trials"])

    def train_seed(
        job: Job, adapter: Any, cancelled: Callable[[], bool]
    ) -> tuple[str, str, str, int, float]:
        runs: list[str] = []

        def on_start(prepared: Any, run: Any) -> None:
            runs.append(str(run.path))
            if job.index == 0:
                study._storage.set_trial_user_attr(
                    job.trial_id, "config", dict(prepared.spec.hyperparams)
                )

        folder = str(Path(config["trials_dir"]) / f"trial_{job.number:04d}")
        status, reason, _, result = objective.train_seed(
            job.words, job.seed, adapter, folder, on_start, cancelled
        )
        steps = result.num_timesteps if result is not None else 0
        wall = round(result.wall_time, 3) if result is not None else 0.0
        return status, reason, runs[0] if runs else "", steps, wall

    return run_seed_loop(
        config,
        study,
        storage,
        take_trial=take_trial,
        start_trial=objective.start,
        train_seed=train_seed,
        keep_going=keep_going,
        say=say,
    )


class _Closer:
    def __init__(self, storage: Any) -> None:
        self.storage = storage

    def close(self) -> None:
        from rlzoo_real.tuning.storage import close_storage

        close_storage(self.storage)


class _Objective:
    """One trial: sample, train, report; failures become a reason, not a crash."""

    def __init__(self, config: dict[str, Any], algo: Any, space: Any, stop: StopRequest) -> None:
        from rlzoo_real.tuning.storage import process_identity

        self.config = config
        self.algo = algo
        self.space = space
        self.stop = stop
        self.identity = process_identity()

    def start(self, trial: Any) -> list[str]:
        """Record who runs ``trial`` and sample its values; returns them as ``-params`` words."""
        from rlzoo_real.tuning.values import overrides, resolve_values

        for key, value in self.identity.items():
            trial.set_user_attr(key, value)
        trial.set_user_attr("session", self.config["session"])
        if self.stop.reason is not None:
            self._fail(trial, f"interrupted ({self.stop.reason}) before it started")
        values = self.space.sample(trial)
        words = overrides(resolve_values(self.algo, values, self.config["base"]))
        trial.set_user_attr("hyperparams", words)
        trial.set_user_attr("n_seeds", int(self.config.get("n_seeds", 1)))
        return words

    def __call__(self, trial: Any) -> float:
        """One seed per trial (the RL Zoo's way), inside ``study.optimize``."""
        import optuna

        from rlzoo_real.tuning.objectives import curve_value
        from rlzoo_real.tuning.seeds import search_seed

        config = self.config
        words = self.start(trial)
        seed = search_seed(config["trial_seed"], trial.number, 0)
        trial.set_user_attr("seed", seed)
        trial.set_user_attr("seeds", [seed])
        objective = config.get("objective", "last")

        def on_start(prepared: Any, run: Any) -> None:
            trial.set_user_attr("run_folder", str(run.path))
            trial.set_user_attr("config", dict(prepared.spec.hyperparams))

        try:
            status, reason, values, result = self.train_seed(
                words, seed, _RunningObjective(trial, objective), config["trials_dir"], on_start
            )
        except KeyboardInterrupt:
            trial.set_user_attr("fail_reason", "interrupted (second signal)")
            raise
        if result is not None:
            trial.set_user_attr("num_timesteps", result.num_timesteps)
            trial.set_user_attr("wall_time", round(result.wall_time, 3))
        if values:
            trial.set_user_attr("best_mean_reward", max(values))
        if status == "pruned":
            raise optuna.TrialPruned(f"at evaluation {reason}")
        if status != "done":
            self._fail(trial, reason)
        value = curve_value(values, objective)
        trial.set_user_attr("seed_values", [round(value, 6)])
        return value

    def train_seed(
        self,
        words: list[str],
        seed: int,
        trial: Any,
        log_folder: str,
        on_start: Callable[[Any, Any], None] | None = None,
        cancelled: Callable[[], bool] | None = None,
    ) -> tuple[str, str, list[float], Any]:
        """Train one seed of a trial, reporting to ``trial`` (an Optuna trial or a stand-in).

        Returns:
            (status, reason, evaluations, train result): status is done, pruned (reason: the
            evaluation), failed or cancelled (reason: why); the result is None when training
            raised.
        """
        from rlzoo_real.train.argv import train_command
        from rlzoo_real.train.request import TrainArgs
        from rlzoo_real.train.run import train
        from rlzoo_real.tuning.pruning import TrialDiverged, TrialReporter

        config = self.config
        n_timesteps = int(config["n_timesteps"])
        args = TrainArgs(
            algo=self.algo.name,
            backend=self.algo.run_backend,
            env=config["env"],
            log_folder=log_folder,
            n_timesteps=-1,
            eval_freq=max(n_timesteps // int(config["n_evaluations"]), 1),
            eval_episodes=int(config["eval_episodes"]),
            n_eval_envs=int(config["n_eval_envs"]),
            save_freq=-1,
            seed=seed,
            hyperparams=words,
            env_kwargs=list(config["env_kwargs"]),
            conf_file=config["conf_file"],
            device=config["device"],
            num_threads=int(config["num_threads"]),
            gym_packages=list(config["gym_packages"]),
            verbose=0,
        )
        checks = [0]

        def should_stop() -> bool:
            if self.stop.reason is not None:
                return True
            checks[0] += 1
            return cancelled is not None and checks[0] % 256 == 0 and cancelled()

        reporter = TrialReporter(trial, n_timesteps, should_stop)
        try:
            result = train(
                args, command=train_command(args), on_start=on_start, extra_callbacks=[reporter]
            )
        except TrialDiverged as exc:
            return "failed", f"diverged: {exc}", reporter.values, None
        except UserError as exc:
            return "failed", str(exc), reporter.values, None
        except KeyboardInterrupt:
            raise
        except Exception as exc:  # noqa: BLE001 - any error of one trial must not end the study
            text = f"{type(exc).__name__}: {exc}"
            if "nan" in text.lower() or "invalid values" in text:
                first = text.splitlines()[0].rstrip(":")  # NaN from torch: no traceback needed
                return "failed", f"diverged: {first}", reporter.values, None
            print("A trial's run raised an error (the study goes on):", file=sys.stderr)
            traceback.print_exc()
            return "failed", text, reporter.values, None
        if result.status == "stopped":
            self.stop.request(result.stop_reason or "stopped", result.exit_code or 130)
        elif result.stop_reason is not None:  # a signal as it ended: it counts, no new one starts
            self.stop.request(result.stop_reason, 143 if result.stop_reason == "SIGTERM" else 130)
        if result.status == "stopped" or (reporter.interrupted and self.stop.reason is not None):
            reason = result.stop_reason or self.stop.reason
            return "failed", f"interrupted ({reason}) at step {result.num_timesteps}", [], result
        if reporter.interrupted:
            return "cancelled", "another seed of the trial failed or it was pruned", [], result
        if reporter.pruned_at is not None:
            return "pruned", str(reporter.pruned_at), reporter.values, result
        if not reporter.values:
            return (
                "failed",
                "no evaluation ran (fewer steps than one evaluation interval)",
                [],
                result,
            )
        if not math.isfinite(reporter.values[-1]):
            return (
                "failed",
                f"diverged: the last evaluation returned {reporter.values[-1]}",
                [],
                result,
            )
        return "done", "", reporter.values, result

    @staticmethod
    def _fail(trial: Any, reason: str) -> NoReturn:
        trial.set_user_attr("fail_reason", reason[:_MAX_REASON])
        raise TrialFailed(reason)


class _RunningObjective:
    """Shows the pruner the objective as it stands (running best, running mean)."""

    def __init__(self, trial: Any, objective: str) -> None:
        self.trial = trial
        self.objective = objective
        self.values: list[float] = []

    def report(self, value: float, step: int) -> None:
        from rlzoo_real.tuning.objectives import curve_value

        self.values.append(value)
        self.trial.report(curve_value(self.values, self.objective), step)

    def should_prune(self) -> bool:
        return bool(self.trial.should_prune())


def main(argv: list[str] | None = None) -> None:
    """``python -m rlzoo_real.tuning.worker INDEX``, settings as JSON on standard input."""
    args = sys.argv[1:] if argv is None else argv
    index = int(args[0]) if args else 0
    config = json.load(sys.stdin)
    try:
        outcome = run_worker(config, index)
    except UserError as exc:
        print(f"Error: {exc}", file=sys.stderr, flush=True)
        sys.exit(exc.exit_code)
    sys.exit(outcome.exit_code)


if __name__ == "__main__":
    main()
