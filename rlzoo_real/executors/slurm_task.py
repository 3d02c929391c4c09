"""A task of a sweep's Slurm job array: ``python -m rlzoo_real.executors.slurm_task DIR INDEX``.

FOLDER is the submission folder (``<log_folder>/sweep_logs/slurm/<stamp>``) holding
``jobs.json``; INDEX is ``$SLURM_ARRAY_TASK_ID``. The task trains job INDEX as the local
sweep would: nothing when a finished run records it, ``realzoo train --resume RUN`` when a
stopped run with a checkpoint does, else a fresh ``realzoo train``; always with
``--time-limit`` below the job's Slurm limit. Its output is appended to the job's log
``<log_folder>/sweep_logs/<job>.log``, the same file a local sweep writes.

When the training stops at its time limit (exit 75, a checkpoint written), the task asks
Slurm to requeue it (``scontrol requeue``): the same task starts again later, finds the
stopped run and resumes it, until the run is finished. A task that made no progress since
its last start, or was requeued :data:`~rlzoo_real.executors.slurm.MAX_REQUEUES` times,
fails instead. The task's last outcome is written to ``FOLDER/task_<INDEX>.json``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

__all__ = ["main"]

_TIME_LIMIT_EXIT = 75


def _say(message: str) -> None:
    print(f"[realzoo slurm task] {message}", flush=True)


def _steps(run: Any) -> int:
    """Timesteps of a run's latest checkpoint (-1: none)."""
    from rlzoo_real.runs.folder import latest_checkpoint_steps

    steps = latest_checkpoint_steps(run)
    return -1 if steps is None else steps


def run_task(folder: Path, index: int) -> int:
    """Train job ``index`` of the submission in ``folder``; returns the exit status."""
    from rlzoo_real.executors.slurm import MAX_REQUEUES
    from rlzoo_real.executors.sweep import LOG_DIR, Job, finished_runs
    from rlzoo_real.runs.folder import write_text_atomic
    from rlzoo_real.runs.manifest import now_iso
    from rlzoo_real.train.argv import train_argv
    from rlzoo_real.train.request import TrainArgs

    spec = json.loads((folder / "jobs.json").read_text())
    entry = spec["jobs"][index]
    job = Job(TrainArgs(**entry["args"]))
    log_folder = Path(spec["log_folder"])
    hours = float(spec["time_limit_hours"])
    status_file = folder / f"task_{index}.json"
    job_id = os.environ.get("SLURM_JOB_ID", "")
    restarts = int(os.environ.get("SLURM_RESTART_COUNT", "0") or 0)

    def record(status: str, code: int, run: str | None = None, **extra: Any) -> None:
        data = {"status": status, "exit_code": code, "run": run, "job_id": job_id,
                "restarts": restarts, "time": now_iso(), **extra}  # fmt: skip
        write_text_atomic(status_file, json.dumps(data, indent=1) + "\n")

    key = job.match_key()
    done = finished_runs(log_folder, [job]).get(key)
    if done is not None:
        _say(f"{job.name}: already finished in {done.path}; nothing to do")
        record("finished", 0, str(done.path))
        return 0
    busy = finished_runs(log_folder, [job], status="running").get(key)
    if busy is not None:
        _say(f"{job.name}: {busy.path} is being trained by another process now; left alone")
        record("failed", 1, str(busy.path), why="another process trains this run")
        return 1
    stopped = finished_runs(log_folder, [job], status="stopped").get(key)
    before = _steps(stopped) if stopped is not None else -1
    resume = ["train", "--resume", str(stopped.path)] if stopped is not None else None
    argv = resume or train_argv(job.args)
    argv += ["--time-limit", f"{hours:.6g}"]
    log = log_folder / LOG_DIR / f"{job.slug}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    verb = f"resume {stopped.path}" if stopped is not None else "start"
    _say(f"{job.name}: {verb} (Slurm job {job_id}, restart {restarts}); log {log}")
    with log.open("ab") as handle:
        handle.write(
            f"\n=== {now_iso()} Slurm job {job_id} restart {restarts}: realzoo "
            f"{' '.join(argv)}\n".encode()
        )
        handle.flush()
        proc = subprocess.Popen(
            [sys.executable, "-m", "rlzoo_real", *argv],
            stdout=handle,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        # scancel and Slurm's time limit send SIGTERM to every process of the job: the
        # training checkpoints and exits; this task waits for it and records the outcome
        signal.signal(signal.SIGTERM, lambda signum, frame: None)
        code = proc.wait()
    finished = finished_runs(log_folder, [job]).get(key)
    if code == 0 and finished is not None:
        _say(f"{job.name}: finished in {finished.path}")
        record("finished", 0, str(finished.path))
        return 0
    if code != _TIME_LIMIT_EXIT:
        status = "stopped" if code in (130, 143) else "failed"
        _say(f"{job.name}: {status}, exit {code}; log {log}")
        record(status, code, None, log=str(log))
        return code or 1
    now = finished_runs(log_folder, [job], status="stopped").get(key)
    after = _steps(now) if now is not None else -1
    if now is None or after <= before:
        _say(f"{job.name}: reached its time limit without a new checkpoint; not requeued")
        record("failed", code, None, log=str(log), why="no progress before the time limit")
        return 1
    if restarts >= MAX_REQUEUES:
        _say(f"{job.name}: requeued {restarts} times already; giving up")
        record("failed", code, str(now.path), log=str(log), why="too many requeues")
        return 1
    record("requeued", code, str(now.path), steps=after)
    _say(f"{job.name}: time limit reached at {after} steps; requeueing job {job_id}")
    if job_id:
        done_requeue = subprocess.run(
            ["scontrol", "requeue", job_id], capture_output=True, text=True, check=False
        )
        if done_requeue.returncode == 0:
            # Slurm ends this job now and starts it again as the same job id: its SIGTERM
            # must end this process at once, not leave it behind the new start
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            time.sleep(120)
            _say("Slurm did not end the requeued job within 120 s; run the sweep again")
        else:
            _say(f"scontrol requeue failed: {done_requeue.stderr.strip()}; run the sweep again")
    return _TIME_LIMIT_EXIT


def main(argv: list[str] | None = None) -> None:
    """Entry point of the batch script."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m rlzoo_real.executors.slurm_task FOLDER INDEX", file=sys.stderr)
        sys.exit(2)
    sys.exit(run_task(Path(args[0]), int(args[1])))


if __name__ == "__main__":
    main()
