"""The files of one run read into arrays: ``evaluations.npz`` and the monitor files.

Nothing is unpickled; a file cut while it was written (a killed run) is read up to its
last complete line. What cannot be read comes back as a reason, never an exception, so
that one broken run leaves a note, not a failed plot.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

    from rlzoo_real.runs.folder import RunFolder

__all__ = ["EvalLog", "MonitorLog", "read_evaluations", "read_monitor"]


@dataclass(frozen=True)
class EvalLog:
    """``evaluations.npz`` of one run: the step of each evaluation and its mean return."""

    timesteps: np.ndarray
    mean_returns: np.ndarray
    n_episodes: int


@dataclass(frozen=True)
class MonitorLog:
    """The training episodes of one run, all monitor files merged in time order."""

    returns: np.ndarray
    lengths: np.ndarray
    timesteps: np.ndarray
    walltime: np.ndarray
    problems: tuple[str, ...] = ()
    continuity: np.ndarray | None = None  # per episode; NaN where not measured

    def select(self, keep: np.ndarray) -> MonitorLog:
        """The episodes where ``keep`` is true."""
        return MonitorLog(
            self.returns[keep],
            self.lengths[keep],
            self.timesteps[keep],
            self.walltime[keep],
            self.problems,
            self.continuity[keep] if self.continuity is not None else None,
        )


def read_evaluations(run: RunFolder) -> tuple[EvalLog | None, str | None]:
    """Read ``evaluations.npz`` (never unpickling anything).

    Returns:
        ``(log, None)``, or ``(None, why)`` when the file is missing, unreadable or empty.
    """
    import numpy as np

    path = run.evaluations
    if not path.is_file():
        return None, "no evaluations.npz (trained with --eval-freq -1?)"
    try:
        with path.open("rb") as handle, np.load(handle, allow_pickle=False) as data:
            timesteps = np.asarray(data["timesteps"], dtype=float).reshape(-1)
            results = np.asarray(data["results"], dtype=float)
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        return None, f"unreadable evaluations.npz ({type(exc).__name__}: {exc})"
    if results.ndim == 1:
        results = results[:, None]
    results = results.reshape(results.shape[0], -1)
    n = min(len(timesteps), len(results))
    if n == 0 or results.shape[1] == 0:
        return None, "evaluations.npz holds no evaluation yet"
    order = np.argsort(timesteps[:n], kind="stable")
    means = results[:n].mean(axis=1)
    return EvalLog(timesteps[:n][order], means[order], int(results.shape[1])), None


def read_monitor(run: RunFolder) -> tuple[MonitorLog | None, str | None]:
    """Read and merge the monitor files of a run (``0.monitor.csv``, ``1.monitor.csv`` ...).

    Episodes of all training envs are put in time order; ``timesteps`` counts the steps
    of all envs up to the end of each episode (as SB3's ``ts2xy``). A truncated last
    line (a run killed while writing) is left out; so are malformed lines.

    Returns:
        ``(log, None)``, or ``(None, why)`` when no file holds a complete episode.
    """
    import numpy as np

    files = run.monitor_files()
    if not files:
        return None, "no monitor files (<i>.monitor.csv)"
    starts, rows, problems = [], [], []
    for path in files:
        parsed, problem = _parse_monitor_file(path)
        if problem:
            problems.append(f"{path.name}: {problem}")
        if parsed is not None and len(parsed[1]):
            starts.append(parsed[0])
            rows.append(parsed[1])
    if not rows:
        why = "; ".join(problems) if problems else "monitor files hold no episode"
        return None, why
    t0 = min(starts)
    stacked = np.concatenate(
        [
            np.column_stack([r[:, 0], r[:, 1], r[:, 2] + s - t0, r[:, 3]])
            for s, r in zip(starts, rows, strict=True)
        ]
    )
    stacked = stacked[np.argsort(stacked[:, 2], kind="stable")]
    lengths = stacked[:, 1]
    log = MonitorLog(
        returns=stacked[:, 0],
        lengths=lengths,
        timesteps=np.cumsum(lengths),
        walltime=stacked[:, 2],
        problems=tuple(problems),
        continuity=stacked[:, 3],
    )
    return log, None


def _parse_monitor_file(path: Path) -> tuple[tuple[float, np.ndarray] | None, str | None]:
    """``(t_start, rows[r, l, t, continuity_cost])`` of one monitor file (NaN continuity
    cost when the file has no such column), and a problem worth a note."""
    import numpy as np

    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        return None, f"unreadable ({exc})"
    if not text.strip():
        return None, "empty file"
    lines = text.split("\n")
    complete = text.endswith("\n")
    if not complete:
        lines = lines[:-1]  # the last line may have been cut while it was written
    lines = [line.rstrip("\r") for line in lines]
    if len(lines) < 2 or not lines[0].startswith("#"):
        return None, "truncated header"
    try:
        t_start = float(json.loads(lines[0][1:]).get("t_start", 0.0))
    except (ValueError, AttributeError):
        return None, "unreadable header line"
    columns = lines[1].split(",")
    try:
        cols = [columns.index(name) for name in ("r", "l", "t")]
    except ValueError:
        return None, f"header {lines[1]!r} lacks the r,l,t columns"
    extra = columns.index("continuity_cost") if "continuity_cost" in columns else None
    body = [line.split(",") for line in lines[2:] if line]
    good: list[list[str]] = []
    bad = 0
    for fields in body:
        if len(fields) != len(columns):
            bad += 1
            continue
        good.append([fields[i] for i in cols] + [fields[extra] if extra is not None else "nan"])
    try:
        rows = np.array(good, dtype=float).reshape(-1, 4)
    except ValueError:
        parsed = []
        for fields in good:
            try:
                parsed.append([float(v) for v in fields])
            except ValueError:
                bad += 1
        rows = np.array(parsed, dtype=float).reshape(-1, 4)
    problem = []
    if not complete:
        problem.append("truncated last line left out")
    if bad:
        problem.append(f"{bad} malformed line(s) left out")
    if not len(rows):
        problem.append("no complete episode")
    return (t_start, rows), "; ".join(problem) or None
