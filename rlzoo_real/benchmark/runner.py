"""Plan a benchmark (the sweep jobs of a suite at N seeds and a budget) and run it.

Each (algorithm, env, seed) is an ordinary sweep job (:mod:`rlzoo_real.executors.sweep`):
a ``realzoo train`` with the shipped hyperparameters, ``--n-timesteps`` set to the
pair's budget and an evaluation schedule derived from it, in an ordinary run folder.
Running the same benchmark again skips the finished runs (the sweep's match on
``args.yml``), resumes stopped ones and trains only what is missing.

The jobs run on an executor: ``local`` (the sweep's process pool on this machine) or
``slurm`` (one Slurm job array, submitted exactly as ``realzoo sweep --executor slurm``
submits it: :func:`rlzoo_real.executors.slurm_sweep.slurm_sweep`). Either way the outcome
is a :class:`PlanOutcome`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rlzoo_real.benchmark.suites import Pair, Suite, shipped_entry
from rlzoo_real.errors import UserError

if TYPE_CHECKING:
    from rlzoo_real.executors.slurm import SlurmOptions
    from rlzoo_real.executors.sweep import Job

__all__ = [
    "EXECUTORS",
    "Budget",
    "Plan",
    "PlanOutcome",
    "PlannedPair",
    "check_executor",
    "plan_benchmark",
    "run_plan",
]

#: Where the jobs can run. ``local``: the sweep's process pool on this machine;
#: ``slurm``: a Slurm job array, as ``realzoo sweep --executor slurm``.
EXECUTORS = ("local", "slurm")


@dataclass(frozen=True)
class Budget:
    """Steps per run: the shipped ``n_timesteps`` (both None), a fixed number for every
    pair, or a fraction of each pair's shipped ``n_timesteps``."""

    n_timesteps: int | None = None
    fraction: float | None = None

    def check(self) -> None:
        """Raise a UserError on a budget that cannot be run."""
        if self.n_timesteps is not None and self.fraction is not None:
            raise UserError(
                "Give either --n-timesteps (the same steps for every pair) or --budget-fraction "
                "(a fraction of each pair's shipped n_timesteps), not both."
            )
        if self.n_timesteps is not None and self.n_timesteps < 1:
            raise UserError(f"--n-timesteps must be at least 1, got {self.n_timesteps}.")
        if self.fraction is not None and not (
            math.isfinite(self.fraction) and 0 < self.fraction <= 1
        ):
            raise UserError(
                f"--budget-fraction must be in (0, 1], e.g. 0.1 for a tenth of each pair's "
                f"shipped n_timesteps; got {self.fraction}."
            )

    @property
    def full(self) -> bool:
        """Whether every pair trains for its shipped ``n_timesteps``."""
        return self.n_timesteps is None and self.fraction in (None, 1.0)

    def steps(self, shipped: int) -> int:
        """The steps of a pair whose shipped entry trains ``shipped`` steps."""
        if self.n_timesteps is not None:
            return self.n_timesteps
        if self.fraction is not None:
            return max(int(round(shipped * self.fraction)), 1)
        return shipped

    def describe(self) -> str:
        """For the report: what the budget was."""
        if self.n_timesteps is not None:
            return f"{self.n_timesteps} steps per run for every pair (--n-timesteps)"
        if self.fraction is not None and self.fraction != 1.0:
            return f"{self.fraction:g} of each pair's shipped n_timesteps (--budget-fraction)"
        return "each pair's shipped n_timesteps (the full budget)"


@dataclass(frozen=True)
class PlannedPair:
    """A pair with its shipped and planned budget and its evaluation schedule."""

    pair: Pair
    shipped_steps: int
    steps: int
    eval_freq: int
    learning_starts: int | None = None  # the shipped entry's, when it sets one

    @property
    def untrained(self) -> bool:
        """Whether the budget ends before the entry's ``learning_starts``: no gradient step."""
        return self.learning_starts is not None and self.steps <= self.learning_starts


@dataclass(frozen=True)
class Plan:
    """Everything a benchmark run does: its pairs, seeds and sweep jobs."""

    suite: Suite
    seeds: tuple[int, ...]
    pairs: tuple[PlannedPair, ...]
    jobs: tuple[Job, ...]
    budget: Budget
    n_evals: int
    eval_episodes: int
    log_folder: Path

    def jobs_of(self, planned: PlannedPair) -> list[Job]:
        """The jobs (one per seed) of one pair."""
        return [
            job
            for job in self.jobs
            if (job.args.algo, job.args.env) == (planned.pair.algo, planned.pair.env)
        ]


def plan_benchmark(
    suite: Suite,
    *,
    n_seeds: int,
    budget: Budget,
    log_folder: Path,
    n_evals: int = 10,
    eval_episodes: int = 10,
    device: str = "auto",
    num_threads: int = 1,
) -> Plan:
    """The sweep jobs of ``suite``: every pair at seeds ``0 .. n_seeds - 1``.

    Args:
        n_evals: evaluations per run, evenly spaced; the last one ends training.
        eval_episodes: deterministic episodes per evaluation.

    Raises:
        UserError: fewer than one seed, evaluation or episode, or a bad budget.
    """
    from rlzoo_real.executors.sweep import make_jobs
    from rlzoo_real.train.request import TrainArgs

    if n_seeds < 1:
        raise UserError(
            f"--n-seeds must be at least 1 (seeds 0 .. N-1; 5 or more for confidence "
            f"intervals worth reading), got {n_seeds}."
        )
    if n_evals < 1:
        raise UserError(f"--n-evals must be at least 1, got {n_evals}.")
    if eval_episodes < 1:
        raise UserError(f"--eval-episodes must be at least 1, got {eval_episodes}.")
    budget.check()
    seeds = tuple(range(n_seeds))
    planned: list[PlannedPair] = []
    jobs: list[Job] = []
    for pair in suite.pairs:
        entry = shipped_entry(pair, suite=suite.name)
        shipped = int(entry["n_timesteps"])
        steps = budget.steps(shipped)
        eval_freq = max(steps // n_evals, 1)
        starts = entry.get("learning_starts")
        starts = int(float(starts)) if isinstance(starts, (int, float, str)) else None
        planned.append(PlannedPair(pair, shipped, steps, eval_freq, starts))
        template = TrainArgs(
            algo=pair.algo,
            env=pair.env,
            log_folder=str(log_folder),
            n_timesteps=steps,
            eval_freq=eval_freq,
            eval_episodes=eval_episodes,
            device=device,
            num_threads=num_threads,
        )
        jobs += make_jobs(algos=[pair.algo], envs=[pair.env], seeds=seeds, template=template)
    return Plan(
        suite, seeds, tuple(planned), tuple(jobs), budget, n_evals, eval_episodes, log_folder
    )


@dataclass(frozen=True)
class PlanOutcome:
    """How running a plan ended, whatever the executor: the exit status (the sweep's: 0,
    1 when a run failed, 75 when runs are stopped or elsewhere, 130/143 on a signal) and
    one line per failed run (its name, exit status, log and last error line)."""

    exit_code: int
    failures: tuple[str, ...] = ()
    #: jobs still pending or running elsewhere (Slurm with ``--no-wait``): the report waits
    waiting: int = 0


def run_plan(
    plan: Plan,
    *,
    executor: str = "local",
    n_workers: int = 1,
    on_event: Callable[[str], None] = print,
    command: str = "",
    slurm: SlurmOptions | None = None,
) -> PlanOutcome:
    """Train the plan's jobs that are not finished yet, on ``executor``.

    Args:
        n_workers: training processes at once (``local``).
        slurm: the Slurm options (``slurm``; ``slurm.wait`` False: return after submitting).

    Raises:
        UserError: an unknown executor, a bad Slurm option (no ``sbatch``, an unknown
            partition, a template without ``{{command}}``...) or a job that cannot start;
            all checked before any process starts or anything is submitted.
    """
    from rlzoo_real.executors.sweep import check_jobs, finished_runs, run_sweep

    check_executor(executor)
    if executor == "slurm" and slurm is None:
        raise UserError("--executor slurm needs its Slurm options (--slurm-time ...).")
    done = finished_runs(plan.log_folder, plan.jobs)
    stopped = finished_runs(plan.log_folder, plan.jobs, status="stopped")
    check_jobs([j for j in plan.jobs if j.match_key() not in done and j.match_key() not in stopped])
    if slurm is not None:
        return _run_on_slurm(plan, slurm, on_event=on_event, command=command)
    result = run_sweep(
        list(plan.jobs),
        log_folder=plan.log_folder,
        n_workers=n_workers,
        on_event=on_event,
        command=command,
    )
    failures = tuple(
        f"{o.job.name} (exit {o.exit_code}), log {o.log}"
        + (f": {o.last_lines[-1]}" if o.last_lines else "")
        for o in result.by_status("failed")
    )
    return PlanOutcome(result.exit_code, failures)


def _run_on_slurm(
    plan: Plan, options: SlurmOptions, *, on_event: Callable[[str], None], command: str
) -> PlanOutcome:
    """The plan's jobs as one Slurm job array (waiting for it when ``options.wait``)."""
    from rlzoo_real.executors.slurm_sweep import describe_failures, slurm_sweep, table

    result = slurm_sweep(
        list(plan.jobs), log_folder=plan.log_folder, options=options, on_event=on_event,
        command=command,
    )  # fmt: skip
    on_event(table(result.jobs))
    failures = tuple(line.strip() for line in describe_failures(result.jobs))
    return PlanOutcome(result.exit_code, failures, waiting=len(result.by_outcome("waiting")))


def check_executor(executor: str) -> None:
    """Raise a UserError for an executor this installation does not have."""
    if executor not in EXECUTORS:
        raise UserError(
            f"--executor takes {' or '.join(EXECUTORS)}, got {executor!r} (local: processes "
            "on this machine, as realzoo sweep; slurm: a Slurm job array, as realzoo sweep "
            "--executor slurm)."
        )
