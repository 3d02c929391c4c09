"""Learning curves: training returns from monitor files, evaluation returns over seeds.

Both views produce a :class:`CurveSet`: per label and env, either one line per run,
or the mean over runs with a band (standard deviation, standard error, min-max, or a
bootstrap confidence interval of the mean that a seed fixes).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rlzoo_real.errors import UserError

if TYPE_CHECKING:
    import numpy as np

    from rlzoo_real.plotting.data import EvalGroup, RunInfo

__all__ = [
    "BANDS",
    "X_AXES",
    "Y_QUANTITIES",
    "CurveSet",
    "Series",
    "evaluation_curves",
    "smooth",
    "training_curves",
]

X_AXES = ("steps", "episodes", "time")
#: What a training curve shows: the episode return, or the continuity cost (monitor column).
Y_QUANTITIES = ("return", "continuity")
BANDS = ("ci", "std", "se", "minmax", "none")
_GRID_POINTS = 200


@dataclass(frozen=True)
class Series:
    """One line of a figure, with an optional band ``[low, high]``."""

    label: str
    env_id: str
    x: np.ndarray
    y: np.ndarray
    low: np.ndarray | None = None
    high: np.ndarray | None = None
    n_runs: int = 1
    run: str | None = None


@dataclass(frozen=True)
class CurveSet:
    """The lines of a train or eval figure, with axis names and what the band means."""

    view: str
    x_label: str
    y_label: str
    band: str
    series: list[Series]
    notes: list[str] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def envs(self) -> list[str]:
        """Env ids in order of first appearance."""
        return list(dict.fromkeys(s.env_id for s in self.series))

    @property
    def labels(self) -> list[str]:
        """Labels in order of first appearance."""
        return list(dict.fromkeys(s.label for s in self.series))


def smooth(x: np.ndarray, y: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Moving average of ``y`` over ``window`` episodes; x of the last episode of each window."""
    import numpy as np

    window = max(1, min(window, len(y)))
    if window == 1:
        return x, y
    sums = np.cumsum(np.concatenate([[0.0], y]))
    return x[window - 1 :], (sums[window:] - sums[:-window]) / window


def _band(
    values: np.ndarray, band: str, *, ci: float, reps: int, seed: int, key: str
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Band of ``values`` (n_runs, n_points) around their mean over runs."""
    import numpy as np

    from rlzoo_real.plotting.bootstrap import bootstrap_runs, random_state

    n = values.shape[0]
    if band == "none" or n < 2:
        return None, None
    mean = values.mean(axis=0)
    if band == "std":
        std = values.std(axis=0)
        return mean - std, mean + std
    if band == "se":
        se = values.std(axis=0, ddof=1) / np.sqrt(n)
        return mean - se, mean + se
    if band == "minmax":
        return values.min(axis=0), values.max(axis=0)
    return bootstrap_runs(
        values,
        lambda r: r.mean(axis=1),
        reps=reps,
        ci=ci,
        rs=random_state(seed, "curve", key),
    )


def band_description(band: str, ci: float, reps: int, seed: int) -> str:
    """What the shaded area means, for the figure's caption and the saved data."""
    return {
        "ci": f"{ci:.0%} bootstrap CI of the mean over runs ({reps} resamples, seed {seed})",
        "std": "mean +- one standard deviation over runs",
        "se": "mean +- one standard error over runs",
        "minmax": "mean, min and max over runs",
        "none": "mean over runs",
    }[band]


def _check_band(band: str) -> None:
    if band not in BANDS:
        raise UserError(f"--band must be one of {', '.join(BANDS)}, got {band!r}.")


def training_curves(
    runs: Sequence[RunInfo],
    *,
    x_axis: str = "steps",
    window: int = 100,
    per_run: bool = False,
    band: str = "std",
    ci: float = 0.95,
    reps: int = 2000,
    seed: int = 0,
    max_timesteps: int | None = None,
    y: str = "return",
) -> CurveSet:
    """Training returns (or continuity costs) from the monitor files, smoothed over
    ``window`` episodes.

    Args:
        runs: from :func:`~rlzoo_real.plotting.data.select_runs`.
        x_axis: ``steps`` (all training envs together), ``episodes`` or ``time`` (wall
            clock since the first env started).
        window: episodes in the moving average (1: no smoothing).
        per_run: one line per run instead of the mean over the runs of a label.
        band: spread around the mean, one of :data:`BANDS`.
        ci, reps, seed: for ``band='ci'``.
        max_timesteps: leave out episodes that end after this many steps.
        y: ``return``, or ``continuity`` (the mean absolute change of the action between
            steps, from the ``continuity_cost`` monitor column; runs without it are left
            out with a note).

    Raises:
        UserError: on a bad option, or when no run has a complete episode.
    """
    import numpy as np

    from rlzoo_real.plotting.data import status_note
    from rlzoo_real.plotting.logs import read_monitor

    if x_axis not in X_AXES:
        raise UserError(f"--x-axis must be one of {', '.join(X_AXES)}, got {x_axis!r}.")
    if y not in Y_QUANTITIES:
        raise UserError(f"--y must be one of {', '.join(Y_QUANTITIES)}, got {y!r}.")
    if window < 1:
        raise UserError(f"--window must be at least 1, got {window}.")
    _check_band(band)
    notes: list[str] = [note] if (note := status_note(runs)) else []
    skipped, partial = [], []
    raw: dict[tuple[str, str], list[tuple[RunInfo, np.ndarray, np.ndarray]]] = {}
    for info in runs:
        log, why = read_monitor(info.run)
        if log is not None and max_timesteps is not None:
            keep = log.timesteps <= max_timesteps
            if not keep.any():
                log, why = None, f"no episode within --max-timesteps {max_timesteps}"
            else:
                log = log.select(keep)
        if log is not None and y == "continuity":
            measured = log.continuity is not None and ~np.isnan(log.continuity)
            if not np.any(measured):
                log, why = None, "no continuity_cost column (not a Box-action run, or older)"
            else:
                log = log.select(np.asarray(measured))
        if log is None:
            skipped.append(f"{info.name} ({why})")
            continue
        if log.problems:
            partial.append(f"{info.name} ({'; '.join(log.problems)})")
        x = {
            "steps": log.timesteps,
            "episodes": np.arange(1, len(log.returns) + 1, dtype=float),
            "time": log.walltime,
        }[x_axis]
        values = log.returns if y == "return" else log.continuity
        assert values is not None
        raw.setdefault((info.env_id, info.label), []).append((info, x, values))
    if skipped:
        notes.append(f"left out {len(skipped)} run(s): " + "; ".join(skipped))
    if partial:
        notes.append("read in part: " + "; ".join(partial))
    curves: dict[tuple[str, str], list[tuple[RunInfo, np.ndarray, np.ndarray]]] = {}
    windows: dict[int, list[str]] = {}
    for (env_id, label), members in raw.items():
        shortest = min(len(returns) for _, _, returns in members)
        used = min(window, max(1, shortest // 2))  # at least half the episodes get a point
        windows.setdefault(used, []).append(f"{label} on {env_id}")
        curves[(env_id, label)] = [(i, *smooth(x, y, used)) for i, x, y in members]
    for used, names in sorted(windows.items()):
        if used < window:
            notes.append(
                f"moving average over {used} episodes instead of --window {window} for "
                f"{', '.join(names)}: runs too short for it"
            )
    if not curves:
        raise UserError(
            f"None of the {len(runs)} run(s) found has a complete training episode in its "
            "monitor files: " + "; ".join(skipped)
        )
    scale, unit = 1.0, "s"
    if x_axis == "time":
        longest = max(float(c[1][-1]) for members in curves.values() for c in members)
        scale, unit = (
            (3600.0, "h") if longest > 7200 else (60.0, "min") if longest > 120 else (1, "s")
        )
    series: list[Series] = []
    for (env_id, label), members in sorted(curves.items()):
        if per_run or len(members) == 1:
            for info, xs, ys in members:
                series.append(Series(label, env_id, xs / scale, ys, run=info.name))
            continue
        lo = max(float(xs[0]) for _, xs, _ in members)
        hi = min(float(xs[-1]) for _, xs, _ in members)
        if lo >= hi:
            notes.append(f"{label} on {env_id}: runs share no x range; drawn one line per run")
            for info, xs, ys in members:
                series.append(Series(label, env_id, xs / scale, ys, run=info.name))
            continue
        grid = np.linspace(lo, hi, _GRID_POINTS)
        values = np.vstack([np.interp(grid, xs, ys) for _, xs, ys in members])
        low, high = _band(values, band, ci=ci, reps=reps, seed=seed, key=f"{label}|{env_id}")
        series.append(
            Series(label, env_id, grid / scale, values.mean(axis=0), low, high, len(members))
        )
    x_label = {
        "steps": "Timesteps",
        "episodes": "Episodes",
        "time": f"Wall time ({unit})",
    }[x_axis]
    quantity = "Training return" if y == "return" else "Continuity cost (mean |a_t - a_t-1|)"
    return CurveSet(
        view="train",
        x_label=x_label,
        y_label=(
            f"{quantity} ({next(iter(windows))}-episode average)"
            if len(windows) == 1 and next(iter(windows)) > 1
            else f"{quantity} (moving average)"
            if len(windows) > 1
            else quantity
        ),
        band=band_description(band, ci, reps, seed) if not per_run else "one line per run",
        series=series,
        notes=notes,
        settings={
            "x_axis": x_axis,
            "y": y,
            "window": window,
            "per_run": per_run,
            "band": band,
            "ci": ci,
            "reps": reps,
            "seed": seed,
        },
    )


def evaluation_curves(
    groups: Sequence[EvalGroup],
    *,
    per_run: bool = False,
    band: str = "ci",
    ci: float = 0.95,
    reps: int = 2000,
    seed: int = 0,
    notes: Sequence[str] = (),
) -> CurveSet:
    """Mean evaluation return over the runs of each label and env, with a band.

    Args:
        groups: from :func:`~rlzoo_real.plotting.data.collect_evaluations`.
        per_run: one line per run instead.
        band: one of :data:`BANDS`; ``ci`` is a percentile bootstrap interval of the
            mean over runs (whole curves resampled), fixed by ``seed``.
        notes: notes from reading the runs, carried into the result.
    """
    _check_band(band)
    series: list[Series] = []
    for group in groups:
        if per_run:
            for info, row in zip(group.runs, group.returns, strict=True):
                series.append(
                    Series(group.label, group.env_id, group.timesteps, row, run=info.name)
                )
            continue
        key = f"{group.label}|{group.env_id}"
        low, high = _band(group.returns, band, ci=ci, reps=reps, seed=seed, key=key)
        series.append(
            Series(
                group.label,
                group.env_id,
                group.timesteps,
                group.returns.mean(axis=0),
                low,
                high,
                n_runs=len(group.runs),
            )
        )
    return CurveSet(
        view="eval",
        x_label="Timesteps",
        y_label="Mean evaluation return",
        band=band_description(band, ci, reps, seed) if not per_run else "one line per run",
        series=series,
        notes=list(notes),
        settings={"per_run": per_run, "band": band, "ci": ci, "reps": reps, "seed": seed},
    )
