"""``realzoo sweep --executor slurm``: the jobs not finished yet, as one Slurm job array.

A submission writes ``<log_folder>/sweep_logs/slurm/<stamp>/``:

- ``jobs.json``: each array task's job (its training request), read by the task;
- ``commands.txt``: line *i* is task *i*'s ``realzoo train`` command, for reading;
- ``sweep.sbatch``: the batch script (each task runs
  ``python -m rlzoo_real.executors.slurm_task FOLDER $SLURM_ARRAY_TASK_ID``);
- ``submission.yml``: the array's job id and which job each task trains;
- ``slurm-<array>_<task>.out``: Slurm's output of each task (the training's own output
  goes to ``sweep_logs/<job>.log`` as in a local sweep);
- ``task_<i>.json``: how task *i* last ended (written by the task).

Running the sweep again reads every earlier submission: a job whose run is finished is
skipped, a job whose Slurm task is still pending or running is shown and left alone, and
only the rest is submitted (a stopped run resumes from its checkpoint).
"""

from __future__ import annotations

import dataclasses
import json
import shlex
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rlzoo_real.executors.slurm import (
    JobState,
    SlurmOptions,
    check_options,
    job_states,
    render_script,
    submit,
)
from rlzoo_real.executors.sweep import LOG_DIR, Job, finished_runs
from rlzoo_real.train.argv import train_argv

__all__ = ["SlurmJob", "SlurmSweepResult", "slurm_sweep", "sweep_status"]

SLURM_DIR = "slurm"
_POLL_S = 2.0


@dataclass
class SlurmJob:
    """One sweep job with its latest Slurm task (if any) and its run's state."""

    job: Job
    task: str | None = None  # "ARRAY_INDEX"
    folder: Path | None = None  # the submission's folder
    index: int | None = None
    slurm: JobState | None = None
    run_status: str = "-"  # finished, stopped, running, or - (no run)
    run: Path | None = None

    @property
    def slurm_state(self) -> str:
        """Slurm's state, or the task's own record once Slurm has forgotten the job."""
        if self.slurm is not None:
            return self.slurm.state
        record = self.task_record()
        if record:
            return f"ended ({record.get('status')})"
        return "-" if self.task is None else "UNKNOWN"

    def task_record(self) -> dict[str, Any] | None:
        """``task_<i>.json`` of the task, if written."""
        if self.folder is None or self.index is None:
            return None
        try:
            data = json.loads((self.folder / f"task_{self.index}.json").read_text())
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    @property
    def active(self) -> bool:
        """Its Slurm task is pending or running."""
        return self.slurm is not None and self.slurm.active

    @property
    def log(self) -> Path | None:
        """The training log of the job."""
        if self.folder is None:
            return None
        return self.folder.parent.parent / f"{self.job.slug}.log"

    @property
    def slurm_output(self) -> Path | None:
        """Slurm's output file of the task."""
        if self.folder is None or self.task is None:
            return None
        return self.folder / f"slurm-{self.task}.out"

    def outcome(self) -> str:
        """finished, failed, cancelled, waiting (pending/running), or missing (never submitted
        or ended without finishing its run: submit it again)."""
        if self.run_status == "finished":
            return "finished"
        if self.active:
            return "waiting"
        state = self.slurm.state if self.slurm is not None else ""
        if state.startswith("CANCELLED"):
            return "cancelled"
        record = self.task_record() or {}
        if state in ("FAILED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY", "BOOT_FAIL", "DEADLINE"):
            return "failed"
        if record.get("status") == "failed":
            return "failed"
        if self.task is not None and state == "COMPLETED":
            return "failed"  # the task ended well but the run is not finished
        return "missing"


@dataclass
class SlurmSweepResult:
    """What a Slurm sweep command did."""

    jobs: list[SlurmJob] = field(default_factory=list)
    submitted: list[str] = field(default_factory=list)  # array job ids
    folder: Path | None = None

    def by_outcome(self, outcome: str) -> list[SlurmJob]:
        """The jobs with this outcome."""
        return [j for j in self.jobs if j.outcome() == outcome]

    @property
    def exit_code(self) -> int:
        """1 when a job failed or was cancelled, else 0."""
        return 1 if self.by_outcome("failed") or self.by_outcome("cancelled") else 0


def _submissions(log_folder: Path) -> list[Path]:
    root = log_folder / LOG_DIR / SLURM_DIR
    if not root.is_dir():
        return []
    return sorted(p.parent for p in root.glob("*/submission.yml"))


def sweep_status(jobs: Sequence[Job], log_folder: Path) -> list[SlurmJob]:
    """Each job with its latest Slurm task (from earlier submissions) and its run's state."""
    from rlzoo_real.runs.folder import read_plain_yaml

    by_slug = {job.slug: SlurmJob(job) for job in jobs}
    for folder in _submissions(log_folder):  # oldest first: the latest submission wins
        data = read_plain_yaml(folder / "submission.yml") or {}
        array = str(data.get("job_id", ""))
        for index, slug in enumerate(data.get("tasks") or []):
            if slug in by_slug and array:
                entry = by_slug[slug]
                entry.task, entry.folder, entry.index = f"{array}_{index}", folder, index
    _refresh(list(by_slug.values()), log_folder)
    return list(by_slug.values())


def _refresh(entries: Sequence[SlurmJob], log_folder: Path) -> None:
    jobs = [e.job for e in entries]
    runs = {
        status: finished_runs(log_folder, jobs, status=status)
        for status in ("finished", "running", "stopped")
    }
    arrays = {e.task.split("_")[0] for e in entries if e.task}
    states = job_states(arrays)
    for entry in entries:
        entry.slurm = states.get(entry.task) if entry.task else None
        entry.run_status, entry.run = "-", None
        for status, found in runs.items():
            run = found.get(entry.job.match_key())
            if run is not None:
                entry.run_status, entry.run = status, run.path
                break


def table(entries: Sequence[SlurmJob]) -> str:
    """One line per job: name, Slurm task and state, run status and folder."""
    rows = [("job", "slurm job", "slurm state", "run", "folder")]
    for e in entries:
        state = e.slurm_state
        if e.slurm is not None and e.slurm.reason not in ("", "None") and e.slurm.active:
            state += f" ({e.slurm.reason})"
        rows.append((e.job.name, e.task or "-", state, e.run_status, str(e.run or "")))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    return "\n".join(
        "  ".join(cell.ljust(widths[i]) if i < 4 else cell for i, cell in enumerate(r)).rstrip()
        for r in rows
    )


def slurm_sweep(
    jobs: Sequence[Job],
    *,
    log_folder: Path,
    options: SlurmOptions,
    dry_run: bool = False,
    on_event: Callable[[str], None] = print,
    command: str = "",
) -> SlurmSweepResult:
    """Submit the jobs that are neither finished nor pending/running on Slurm; wait for them
    when ``options.wait``.

    Raises:
        UserError: a bad option, no ``sbatch``, an unknown partition, sbatch refusing.
    """
    from rlzoo_real.runs.folder import write_text_atomic, write_yaml_atomic
    from rlzoo_real.runs.manifest import now_iso

    check_options(options, needs_cluster=not dry_run)
    result = SlurmSweepResult(jobs=sweep_status(jobs, log_folder))
    todo = [e for e in result.jobs if e.run_status != "finished" and not e.active]
    n_done = sum(e.run_status == "finished" for e in result.jobs)
    n_queued = sum(e.active for e in result.jobs)
    on_event(
        f"Sweep of {len(jobs)} job(s) on Slurm: {n_done} finished (skipped), {n_queued} pending "
        f"or running in Slurm, {len(todo)} to submit."
    )
    stamp = time.strftime("%Y%m%d-%H%M%S")
    folder = (log_folder / LOG_DIR / SLURM_DIR / stamp).absolute()
    n = 1
    while folder.exists():
        n += 1
        folder = folder.with_name(f"{stamp}-{n}")
    commands = []
    for e in todo:
        argv = ["realzoo", *train_argv(e.job.args), "--time-limit", f"{options.train_hours:.6g}"]
        if e.run_status == "stopped" and e.run is not None:
            argv = ["realzoo", "train", "--resume", str(e.run), "--time-limit"]
            argv.append(f"{options.train_hours:.6g}")
        commands.append(shlex.join(argv))
    task = shlex.join([sys.executable, "-m", "rlzoo_real.executors.slurm_task", str(folder)])
    script = render_script(
        options,
        f"{task} $SLURM_ARRAY_TASK_ID",
        job_name=f"realzoo-sweep-{stamp}",
        output=str(folder / "slurm-%A_%a.out"),
        array=f"0-{len(todo) - 1}" if todo else "0-0",
        workdir=Path.cwd(),
        environment={"PYTHONUNBUFFERED": "1"},
    )
    if dry_run:
        on_event(table(result.jobs))
        if todo:
            on_event(f"--- batch script ({folder / 'sweep.sbatch'}, not submitted) ---")
            on_event(script.rstrip("\n"))
            on_event("--- task i runs (resuming a stopped run when there is one): ---")
            for i, line in enumerate(commands):
                on_event(f"{i}: {line}")
        return result
    if todo:
        folder.mkdir(parents=True)
        spec = {
            "log_folder": str(log_folder.absolute()),
            "time_limit_hours": options.train_hours,
            "command": command,
            "jobs": [
                {
                    "slug": e.job.slug,
                    "name": e.job.name,
                    "args": {
                        **dataclasses.asdict(e.job.args),
                        "log_folder": str(log_folder.absolute()),
                    },
                }
                for e in todo
            ],
        }
        write_text_atomic(folder / "jobs.json", json.dumps(spec, indent=1) + "\n")
        write_text_atomic(folder / "commands.txt", "\n".join(commands) + "\n")
        write_text_atomic(folder / "sweep.sbatch", script)
        array = submit(folder / "sweep.sbatch")
        write_yaml_atomic(
            folder / "submission.yml",
            {
                "job_id": array,
                "submitted": now_iso(),
                "command": command,
                "tasks": [e.job.slug for e in todo],
            },
        )
        result.submitted.append(array)
        result.folder = folder
        for i, e in enumerate(todo):
            e.task, e.folder, e.index = f"{array}_{i}", folder, i
        on_event(f"Submitted job array {array} ({len(todo)} task(s)); files in {folder}")
    if options.wait:
        wait_for_jobs(result.jobs, log_folder, on_event)
    else:
        _refresh(result.jobs, log_folder)
    return result


def wait_for_jobs(
    entries: Sequence[SlurmJob], log_folder: Path, on_event: Callable[[str], None]
) -> None:
    """Poll Slurm until no job is pending or running, printing each change of state."""
    shown: dict[str, str] = {}
    while True:
        _refresh(entries, log_folder)
        for e in entries:
            if e.task is None:
                continue
            state = f"{e.slurm_state}, run {e.run_status}"
            if shown.get(e.job.slug) != state:
                shown[e.job.slug] = state
                on_event(f"{e.task}  {e.job.name}: {state}")
        if not any(e.active for e in entries):
            return
        time.sleep(_POLL_S)


def describe_failures(entries: Sequence[SlurmJob]) -> list[str]:
    """A line per failed or cancelled job, naming its logs."""
    lines = []
    for e in entries:
        outcome = e.outcome()
        if outcome in ("failed", "cancelled"):
            record = e.task_record() or {}
            why = f": {record['why']}" if record.get("why") else ""
            code = f", exit {record['exit_code']}" if "exit_code" in record else ""
            lines.append(
                f"  {e.job.name}: Slurm job {e.task} {e.slurm_state.lower()}{code}{why}; "
                f"log {e.log}, Slurm output {e.slurm_output}"
            )
    return lines


def run_slurm_sweep(
    jobs: Sequence[Job],
    log_folder: Path,
    options: SlurmOptions,
    *,
    dry_run: bool = False,
    on_event: Callable[[str], None] | None = None,
) -> int:
    """``realzoo sweep --executor slurm``: check, submit, (wait,) report; the exit status.

    Raises:
        UserError: any mistake, before anything is submitted.
    """
    from rlzoo_real.executors.sweep import check_jobs

    say = on_event or _echo
    if not dry_run:
        done = finished_runs(log_folder, jobs)
        stopped = finished_runs(log_folder, jobs, status="stopped")
        check_jobs([j for j in jobs if j.match_key() not in done and j.match_key() not in stopped])
    command = shlex.join(["realzoo", *sys.argv[1:]]) if sys.argv else "realzoo sweep"
    result = slurm_sweep(
        jobs, log_folder=log_folder, options=options, dry_run=dry_run, on_event=say,
        command=command,
    )  # fmt: skip
    if dry_run:
        return 0
    say(table(result.jobs))
    counts = {o: len(result.by_outcome(o)) for o in ("finished", "waiting", "failed", "cancelled")}
    missing = len(result.by_outcome("missing"))
    summary = ", ".join(f"{n} {o}" for o, n in counts.items() if n or o == "finished")
    say(f"Sweep on Slurm: {summary}" + (f", {missing} not submitted" if missing else "") + ".")
    failures = describe_failures(result.jobs)
    if failures:
        _echo_err(
            f"{len(failures)} of {len(jobs)} sweep job(s) failed or were cancelled:\n"
            + "\n".join(failures)
            + "\nRun the same sweep again to submit them again (a stopped run resumes)."
        )
    elif counts["waiting"]:
        say("Run the same command again to see their states (it submits nothing twice).")
    return result.exit_code


def _echo(line: str) -> None:
    print(line, flush=True)


def _echo_err(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
