"""``realzoo runs``: one line per run folder, for quick orientation in a log tree."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from dataclasses import astuple, dataclass, fields
from datetime import datetime, timezone
from pathlib import Path

from rlzoo_real.errors import UserError

__all__ = ["RunRow", "format_runs", "list_runs", "runs_csv"]


@dataclass(frozen=True)
class RunRow:
    """What ``realzoo runs`` shows of one run; ``None``/``nan`` where it is unknown."""

    algo: str
    env: str
    id: int
    seed: int | None
    steps: int | None
    best_eval: float
    last_eval: float
    status: str
    wall_time_s: float
    path: str


def _seconds_between(start: object, end: object) -> float:
    try:
        t0 = datetime.fromisoformat(str(start))
        t1 = datetime.fromisoformat(str(end)) if end else datetime.now(timezone.utc)
    except ValueError:
        return math.nan
    return max((t1 - t0).total_seconds(), 0.0)


def list_runs(
    log_folder: Path, *, algos: Sequence[str] = (), envs: Sequence[str] = ()
) -> list[RunRow]:
    """Every run folder under ``log_folder`` with its seed, steps, evaluations and status.

    Steps come from the manifest when the run ended, else from the last evaluation.
    Status ``unknown`` is a run without a manifest (e.g. made by the RL Zoo).

    Raises:
        UserError: when the folder does not exist or holds no matching run.
    """
    from rlzoo_real.plotting.logs import read_evaluations
    from rlzoo_real.runs.folder import (
        find_run_folders,
        read_run_args,
        read_run_manifest,
        run_number,
        run_status,
    )

    if not log_folder.is_dir():
        raise UserError(f"Log folder {str(log_folder)!r} does not exist or is not a folder.")
    found = find_run_folders(log_folder, algos=algos or None, envs=envs or None)
    if not found:
        asked = " ".join(
            part
            for part in (
                f"--algos {' '.join(algos)}" if algos else "",
                f"--envs {' '.join(envs)}" if envs else "",
            )
            if part
        )
        raise UserError(
            f"No run folders{' for ' + asked if asked else ''} under {str(log_folder)!r} "
            "(run folders are <log-folder>/<algo>/<env>_<N>/)."
        )
    rows = []
    for algo, run in found:
        args = read_run_args(run) or {}
        manifest = read_run_manifest(run) or {}
        seed = args.get("seed", manifest.get("seed"))
        log, _ = read_evaluations(run)
        best = float(log.mean_returns.max()) if log is not None else math.nan
        last = float(log.mean_returns[-1]) if log is not None else math.nan
        status, steps = run_status(run, manifest)
        if not steps and log is not None:
            steps = int(log.timesteps[-1])
        if isinstance(manifest.get("train_seconds"), (int, float)):
            wall = float(manifest["train_seconds"])  # time spent training, resumes included
        elif manifest.get("start_time"):
            wall = _seconds_between(manifest.get("start_time"), manifest.get("end_time"))
        else:
            wall = math.nan
        rows.append(
            RunRow(
                algo=algo,
                env=run.env_id,
                id=run_number(run),
                seed=seed if isinstance(seed, int) else None,
                steps=int(steps) if isinstance(steps, (int, float)) else None,
                best_eval=best,
                last_eval=last,
                status=status,
                wall_time_s=wall,
                path=str(run.path),
            )
        )
    return rows


def _duration(seconds: float) -> str:
    if math.isnan(seconds):
        return "-"
    seconds = int(round(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds}s"


def _value(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.2f}"


def format_runs(rows: Sequence[RunRow]) -> str:
    """An aligned text table, one line per run, and a count by status."""
    header = ["algo", "env", "id", "seed", "steps", "best eval", "last eval", "status", "wall time"]
    body = [
        [
            r.algo,
            r.env,
            str(r.id),
            "-" if r.seed is None else str(r.seed),
            "-" if r.steps is None else str(r.steps),
            _value(r.best_eval),
            _value(r.last_eval),
            r.status,
            _duration(r.wall_time_s),
        ]
        for r in rows
    ]
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]
    numeric = {2, 3, 4, 5, 6, 8}

    def fmt(line: list[str]) -> str:
        cells = [
            cell.rjust(widths[i]) if i in numeric else cell.ljust(widths[i])
            for i, cell in enumerate(line)
        ]
        return "  ".join(cells).rstrip()

    counts: dict[str, int] = {}
    for r in rows:
        counts[r.status] = counts.get(r.status, 0) + 1
    total = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    return "\n".join([fmt(header), *(fmt(line) for line in body), f"{len(rows)} runs: {total}"])


def runs_csv(rows: Sequence[RunRow]) -> str:
    """The rows as CSV (empty where unknown)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([f.name for f in fields(RunRow)])
    for row in rows:
        writer.writerow(
            [
                "" if v is None or (isinstance(v, float) and math.isnan(v)) else v
                for v in astuple(row)
            ]
        )
    return out.getvalue()
