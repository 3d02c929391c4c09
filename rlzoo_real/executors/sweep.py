"""Sweeps: many ``realzoo train`` runs (algorithms x envs x settings x seeds) in parallel.

Each job is an ordinary ``realzoo train`` process with an explicit ``--seed`` writing
an ordinary run folder, so ``realzoo plot`` and ``realzoo runs`` read a sweep like any
other log tree. A grid over hyperparameters or env kwargs is written by repeating a
key: ``-params learning_rate:1e-3 learning_rate:3e-4 n_steps:256`` gives two settings.

Re-running the same sweep skips the jobs already finished: a job is done when a run
folder's ``args.yml`` records the same request (algorithm, env, seed, overrides and
training options) and its manifest says ``finished``. A job whose run was stopped
(Ctrl-C, SIGTERM, ``--time-limit``) continues with ``realzoo train --resume`` from its
latest checkpoint (so does one whose process was killed: nobody holds its lock); a failed
run is trained again in a new run folder (the old one stays for inspection). A job whose
run folder is locked by a process training it now (another sweep, a ``realzoo train``
typed by hand) is left alone and reported ``running``: never resumed or trained twice.

Each job's output is appended to ``<log_folder>/sweep_logs/<job>.log``; a failed job makes the
sweep exit non-zero with the path of that log. A summary of every sweep is written next
to the logs as ``sweep_<time>.yml``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rlzoo_real.algos.registry import get_algo
from rlzoo_real.errors import UserError
from rlzoo_real.executors.pool import Child, ChildProcesses
from rlzoo_real.runs.folder import RunFolder, env_folder_name, find_run_folders
from rlzoo_real.train.argv import train_argv

if TYPE_CHECKING:
    from rlzoo_real.train.request import TrainArgs

__all__ = [
    "MATCH_KEYS",
    "Job",
    "JobOutcome",
    "SweepResult",
    "expand_grid",
    "make_jobs",
    "parse_seeds",
    "run_sweep",
]

#: Fields of ``args.yml`` that must match for a finished run to count as a sweep job.
MATCH_KEYS = (
    "algo",
    "env",
    "seed",
    "hyperparams",
    "env_kwargs",
    "eval_env_kwargs",
    "n_timesteps",
    "conf_file",
    "eval_freq",
    "eval_episodes",
    "n_eval_envs",
    "save_freq",
    "vec_env",
    "device",
    "num_threads",
    "gym_packages",
    "trained_agent",
    "backend",
    "preset",
    "updates_between_episodes",
)
#: What a run made before a field existed recorded for it (its value then).
_MATCH_DEFAULTS: dict[str, Any] = {
    "backend": "sb3",
    "preset": None,
    "updates_between_episodes": False,
}
LOG_DIR = "sweep_logs"
_POLL_S = 0.1
#: exit statuses of a run that stopped cleanly and can be resumed: SIGINT, SIGTERM, time limit
_STOPPED_CODES = (130, 143, 75)
_GRACE_S = 120.0


def parse_seeds(words: Sequence[str]) -> list[int]:
    """``["0-4"]`` -> ``[0, 1, 2, 3, 4]``; ``["0", "1", "7"]`` -> ``[0, 1, 7]`` (no repeats).

    Raises:
        UserError: on a word that is neither ``N`` nor ``A-B`` with ``A <= B``.
    """
    seeds: list[int] = []
    for word in words:
        for part in str(word).split(","):
            part = part.strip()
            first, dash, last = part.partition("-")
            try:
                lo = int(first)
                hi = int(last) if dash else lo
            except ValueError:
                lo, hi = -1, -2
            if lo < 0 or hi < lo:
                raise UserError(
                    f"--seeds takes numbers and ranges such as '0-4' or '0 1 2', got {part!r}."
                )
            seeds.extend(s for s in range(lo, hi + 1) if s not in seeds)
    if not seeds:
        raise UserError("--seeds is empty; give seeds such as '--seeds 0-4'.")
    return seeds


def expand_grid(words: Sequence[str], *, option: str) -> list[tuple[str, ...]]:
    """Every combination of ``key:value`` words, a repeated key giving alternatives.

    ``["lr:1", "lr:2", "n:3"]`` -> ``[("lr:1", "n:3"), ("lr:2", "n:3")]``.

    Raises:
        UserError: a word without ``key:``.
    """
    values: dict[str, list[str]] = {}
    for word in words:
        key, sep, _ = word.partition(":")
        if not sep or not key.strip():
            raise UserError(
                f"{option} expects words of the form key:value (repeat a key for a grid: "
                f"{option} learning_rate:1e-3 learning_rate:3e-4), got {word!r}."
            )
        alternatives = values.setdefault(key.strip(), [])
        if word not in alternatives:
            alternatives.append(word)
    return [tuple(combo) for combo in itertools.product(*values.values())]


@dataclass(frozen=True)
class Job:
    """One training run of a sweep."""

    args: TrainArgs

    @property
    def _algo(self) -> str:
        """``sac``, or ``sac_sbx`` for the JAX backend's (as its log folder is named)."""
        return self.args.algo if self.args.backend == "sb3" else f"{self.args.algo}_sbx"

    @property
    def name(self) -> str:
        """``ppo CartPole-v1 seed 0 learning_rate:0.001``."""
        extra = " ".join([*self.args.hyperparams, *self.args.env_kwargs])
        return f"{self._algo} {self.args.env} seed {self.args.seed}" + (
            f" {extra}" if extra else ""
        )

    @property
    def slug(self) -> str:
        """A file name for the job's log, the same every time the sweep is run."""
        base = f"{self._algo}_{env_folder_name(self.args.env)}_seed{self.args.seed}"
        overrides = [*self.args.hyperparams, "|", *self.args.env_kwargs]
        if self.args.hyperparams or self.args.env_kwargs:
            digest = hashlib.sha1("\n".join(overrides).encode()).hexdigest()[:8]
            base += f"_{digest}"
        return base

    def match_key(self) -> str:
        """What ``args.yml`` of a run of this job records, as a canonical string."""
        return _match_key(dataclasses.asdict(self.args))


def _match_key(args: dict[str, Any]) -> str:
    values = {k: args.get(k, _MATCH_DEFAULTS.get(k)) for k in MATCH_KEYS}
    return json.dumps(values, sort_keys=True, default=str)


def make_jobs(
    *,
    algos: Sequence[str],
    envs: Sequence[str],
    seeds: Sequence[int],
    hyperparams: Sequence[str] = (),
    env_kwargs: Sequence[str] = (),
    template: TrainArgs,
) -> list[Job]:
    """The job grid: algorithms x envs x hyperparameter settings x env kwargs x seeds.

    Args:
        template: the training options every job shares (log folder, steps, evaluation);
            its ``algo``, ``env``, ``seed``, ``hyperparams`` and ``env_kwargs`` are replaced.
    """
    if not algos or not envs:
        raise UserError(
            "A sweep needs --algos and --envs (e.g. --algos ppo a2c --envs CartPole-v1)."
        )
    jobs: list[Job] = []
    seen: set[str] = set()
    for algo, env, hp, ek, seed in itertools.product(
        algos,
        envs,
        expand_grid(hyperparams, option="-params"),
        expand_grid(env_kwargs, option="--env-kwargs"),
        seeds,
    ):
        spec = get_algo(algo, backend=template.backend)  # sac_sbx: sac on the JAX backend
        args = dataclasses.replace(
            template,
            algo=spec.name,
            backend=spec.run_backend,
            env=env,
            seed=seed,
            hyperparams=list(hp),
            env_kwargs=list(ek),
        )
        job = Job(args)
        if job.match_key() not in seen:  # --algos ppo ppo
            seen.add(job.match_key())
            jobs.append(job)
    return jobs


@dataclass(frozen=True)
class JobOutcome:
    """How one job ended: ``finished``, ``failed``, ``stopped`` (resumable), ``skipped``,
    ``running`` (another process trains it now) or ``not started``."""

    job: Job
    status: str
    log: Path | None
    run: Path | None = None
    exit_code: int | None = None
    seconds: float = 0.0
    last_lines: tuple[str, ...] = ()


@dataclass
class SweepResult:
    """Every job's outcome, and where the sweep summary was written."""

    outcomes: list[JobOutcome] = field(default_factory=list)
    summary_file: Path | None = None
    interrupted: bool = False
    signal_number: int = 2

    def by_status(self, status: str) -> list[JobOutcome]:
        """The outcomes with this status."""
        return [o for o in self.outcomes if o.status == status]

    @property
    def exit_code(self) -> int:
        """128 + the signal when interrupted (130: Ctrl-C, 143: SIGTERM), 1 when a job failed,
        75 when a job stopped or another process was training it (run the sweep again to
        resume or check it), else 0."""
        if self.interrupted:
            return 128 + self.signal_number
        if self.by_status("failed"):
            return 1
        return 75 if self.by_status("stopped") or self.by_status("running") else 0


def finished_runs(
    log_folder: Path, jobs: Sequence[Job], *, status: str = "finished"
) -> dict[str, RunFolder]:
    """Run folders in ``log_folder`` in ``status``, by the match key of the job they ran.

    The status is :func:`rlzoo_real.runs.folder.run_status`'s: ``running`` while a process holds
    the run's lock, ``stopped`` also for a run whose process was killed (for ``stopped``,
    only runs with a checkpoint to resume from).
    """
    from rlzoo_real.runs.folder import read_run_args, read_run_manifest, run_status

    algos = sorted({get_algo(job.args.algo, backend=job.args.backend).folder for job in jobs})
    envs = sorted({job.args.env for job in jobs})
    found: dict[str, RunFolder] = {}
    for _, run in find_run_folders(log_folder, algos=algos, envs=envs):
        if run_status(run, read_run_manifest(run))[0] != status:
            continue
        if status == "stopped" and not run.checkpoint_index.is_file():
            continue
        args = read_run_args(run)
        if args is not None:
            found.setdefault(_match_key(args), run)
    return found


def check_jobs(jobs: Sequence[Job]) -> None:
    """Check each distinct setting once (names, files, hyperparameters, env kwargs), so a
    mistake is one clear error before any process starts.

    Raises:
        UserError: the first mistake found, naming the job.
    """
    from rlzoo_real.train.request import prepare

    seen = set()
    for job in jobs:
        key = (job.args.algo, job.args.env, tuple(job.args.hyperparams), tuple(job.args.env_kwargs))
        if key in seen:
            continue
        seen.add(key)
        try:
            prepare(job.args)
        except UserError as exc:
            raise UserError(f"Sweep job '{job.name}': {exc}") from None


def _holder(run: RunFolder) -> str:
    from rlzoo_real.runs.locks import read_lock_holder

    holder = read_lock_holder(run.path)
    return f"pid {holder.get('pid', '?')} on {holder.get('host', '?')}"


def _tail(path: Path, n: int = 5) -> tuple[str, ...]:
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return ()
    errors = [line for line in lines if line.startswith("Error:")]
    picked = errors[-1:] or [line for line in lines if line.strip()][-n:]
    return tuple(line.strip() for line in picked)


def run_sweep(
    jobs: Sequence[Job],
    *,
    log_folder: Path,
    n_workers: int = 1,
    on_event: Callable[[str], None] = print,
    command: str = "",
) -> SweepResult:
    """Run the jobs not finished yet, ``n_workers`` processes at a time.

    Ctrl-C (SIGINT) or SIGTERM stops starting jobs and passes the signal once to each
    running job, which checkpoints and exits (a second signal is passed on too: the jobs
    stop at once); the sweep then reports and returns (exit 130 or 143). The processes
    run on :class:`~rlzoo_real.executors.pool.ChildProcesses`, as tuning workers do.

    Args:
        jobs: from :func:`make_jobs`.
        log_folder: the log tree the jobs write into (for skipping finished jobs).
        n_workers: processes at once.
        on_event: receives one line per event (start, end, failure).
        command: the command line, recorded in the summary.
    """
    from rlzoo_real.runs.folder import write_yaml_atomic
    from rlzoo_real.runs.manifest import now_iso

    if n_workers < 1:
        raise UserError(f"--n-workers must be at least 1, got {n_workers}.")
    result = SweepResult()
    done = finished_runs(log_folder, jobs)
    busy = finished_runs(log_folder, jobs, status="running")
    stopped = finished_runs(log_folder, jobs, status="stopped")
    todo = []
    for job in jobs:
        run = done.get(job.match_key())
        if run is not None:
            result.outcomes.append(JobOutcome(job, "skipped", None, run.path))
        elif job.match_key() in busy:
            run = busy[job.match_key()]
            result.outcomes.append(JobOutcome(job, "running", None, run.path))
            on_event(f"running elsewhere: {job.name} in {run.path} ({_holder(run)}); left alone")
        else:
            todo.append(job)
    resumes = {job.slug: stopped[job.match_key()] for job in todo if job.match_key() in stopped}
    logs = log_folder / LOG_DIR
    logs.mkdir(parents=True, exist_ok=True)
    skipped = len(result.by_status("skipped"))
    elsewhere = len(result.by_status("running"))
    plan = (
        f"{len(todo)} to run with {min(n_workers, len(todo))} worker(s); job logs in {logs}"
        if todo
        else "nothing to run"
    )
    busy_note = f"{elsewhere} being trained by another process, " if elsewhere else ""
    on_event(
        f"Sweep of {len(jobs)} job(s): {skipped} already finished (skipped), {busy_note}{plan}"
    )
    started = now_iso()
    pending = list(todo)
    count = 0
    children = ChildProcesses(env={**os.environ, "PYTHONUNBUFFERED": "1"})
    with children:
        while (pending and not children.signals) or children.running:
            while pending and not children.signals and len(children.running) < n_workers:
                job = pending.pop(0)
                count += 1
                resume = resumes.get(job.slug)
                argv = ["train", "--resume", str(resume.path)] if resume else train_argv(job.args)
                children.spawn(
                    [sys.executable, "-m", "rlzoo_real", *argv],
                    logs / f"{job.slug}.log",
                    tag=job,
                    header=f"\n=== {now_iso()} realzoo {' '.join(argv)}\n",
                )
                verb = f"resume {job.name} from {resume.path}" if resume else f"start {job.name}"
                on_event(f"[{count}/{len(todo)}] {verb}")
            time.sleep(_POLL_S)
            for child, code in children.reap():
                result.outcomes.append(_finish(child, code, log_folder, on_event))
            if children.signals and not result.interrupted:
                # each running job got the signal (a second one, too): they save and stop
                result.interrupted = True
                result.signal_number = children.signals[0]
                on_event(
                    f"Interrupted: stopping {len(children.running)} running job(s) "
                    "(they save their models)"
                )
                for child, code in children.wait(_GRACE_S):
                    result.outcomes.append(_finish(child, code, log_folder, on_event))
    result.outcomes += [JobOutcome(job, "not started", None) for job in pending]
    summary = logs / f"sweep_{started.replace(':', '').replace('+0000', 'Z')}.yml"
    write_yaml_atomic(
        summary,
        {
            "command": command,
            "start_time": started,
            "end_time": now_iso(),
            "n_workers": n_workers,
            "jobs": [
                {
                    "job": o.job.name,
                    "status": o.status,
                    "run": str(o.run) if o.run else None,
                    "log": str(o.log) if o.log else None,
                    "exit_code": o.exit_code,
                    "seconds": round(o.seconds, 1),
                }
                for o in result.outcomes
            ],
        },
    )
    result.summary_file = summary
    return result


def _finish(
    child: Child, code: int, log_folder: Path, on_event: Callable[[str], None]
) -> JobOutcome:
    job, log = child.tag, child.log
    seconds = time.monotonic() - child.started
    run = finished_runs(log_folder, [job]).get(job.match_key()) if code == 0 else None
    if code == 0:
        where = (
            f"-> {run.path}"
            if run is not None
            else f"(no finished run folder records this job; see {log})"
        )
        on_event(f"done  {job.name} in {seconds:.1f} s {where}")
        return JobOutcome(job, "finished", log, run.path if run else None, code, seconds)
    status = "stopped" if code in _STOPPED_CODES else "failed"
    lines = _tail(log)
    why = f" ({lines[-1]})" if lines else ""
    on_event(f"{status.upper()} {job.name} (exit {code}) after {seconds:.1f} s; log: {log}{why}")
    return JobOutcome(job, status, log, None, code, seconds, lines)
