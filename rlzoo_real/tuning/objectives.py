"""What a trial's value is: ``--objective`` over one seed's evaluations, ``--aggregate`` over seeds.

- ``last``: the last evaluation (the RL Zoo's objective);
- ``best``: the best evaluation;
- ``auc``: the mean over all evaluations (the area under the learning curve, per step).

Over the K seeds of a trial the per-seed values are combined by ``mean``, ``median`` or
``iqm`` (the interquartile mean: the mean of what remains after cutting ``int(K / 4)``
values off each end, as rliable does; for K < 4 it is the mean).

The pruner sees the same objective as it stands at each evaluation (the running best,
the running mean), aggregated over the seeds, so an intermediate value and the final
value are the same kind of number. Pure functions over sequences; numpy only for the
bootstrap, which takes an explicit generator.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from typing import Any

from rlzoo_real.errors import UserError, suggest

__all__ = [
    "AGGREGATES",
    "OBJECTIVES",
    "aggregate",
    "bootstrap_ci",
    "check_objective",
    "curve_value",
    "describe_objective",
    "running_values",
]

#: --objective -> what it means (for messages and files)
OBJECTIVES = {
    "last": "the last evaluation",
    "best": "the best evaluation",
    "auc": "the mean over all evaluations (area under the curve)",
}
#: --aggregate -> what it means
AGGREGATES = {
    "mean": "mean",
    "median": "median",
    "iqm": "interquartile mean",
}


def check_objective(objective: str, how: str) -> None:
    """Raise a UserError for an unknown ``--objective`` or ``--aggregate``."""
    if objective not in OBJECTIVES:
        raise UserError(
            f"Unknown objective {objective!r}.{suggest(objective, OBJECTIVES)} --objective takes "
            + "; ".join(f"{k} ({v})" for k, v in OBJECTIVES.items())
            + "."
        )
    if how not in AGGREGATES:
        raise UserError(
            f"Unknown aggregate {how!r}.{suggest(how, AGGREGATES)} --aggregate takes "
            + ", ".join(f"{k} ({v})" for k, v in AGGREGATES.items())
            + " (over the seeds of a trial)."
        )


def describe_objective(objective: str, how: str, n_seeds: int) -> str:
    """``the last evaluation, mean over 3 seeds`` (for file headers and the announcement)."""
    text = OBJECTIVES[objective]
    if n_seeds > 1:
        text += f", {AGGREGATES[how]} over {n_seeds} seeds"
    return text


def curve_value(values: Sequence[float], objective: str) -> float:
    """One seed's value: its evaluations (mean returns, in order) reduced by ``objective``."""
    if not values:
        raise ValueError("no evaluation")
    if objective == "last":
        return float(values[-1])
    if objective == "best":
        return float(max(values))
    if objective == "auc":
        return float(math.fsum(values) / len(values))
    raise ValueError(f"unknown objective {objective!r}")


def running_values(values: Sequence[float], objective: str) -> list[float]:
    """The objective as it stands after each evaluation (what the pruner is shown)."""
    return [curve_value(values[: i + 1], objective) for i in range(len(values))]


def aggregate(values: Sequence[float], how: str) -> float:
    """The seeds' values combined by ``how`` (mean, median or iqm)."""
    if len(values) == 0:
        raise ValueError("no value to aggregate")
    data = sorted(float(v) for v in values)
    if how == "mean":
        return math.fsum(data) / len(data)
    if how == "median":
        return float(statistics.median(data))
    if how == "iqm":
        cut = int(len(data) * 0.25)
        kept = data[cut : len(data) - cut] if cut else data
        return math.fsum(kept) / len(kept)
    raise ValueError(f"unknown aggregate {how!r}")


def bootstrap_ci(
    values: Sequence[float], rng: Any, *, how: str = "mean", level: float = 0.95, n: int = 2000
) -> tuple[float, float]:
    """A percentile bootstrap confidence interval of ``aggregate(values, how)``.

    Args:
        values: one number per seed.
        rng: a ``numpy.random.Generator`` (the same generator state gives the same interval).
        how: the statistic (mean, median, iqm).
        level: the interval's coverage.
        n: bootstrap resamples.
    """
    import numpy as np

    data = np.asarray(values, dtype=float)
    if data.size < 2:
        value = float(data[0]) if data.size else math.nan
        return value, value
    picks = rng.integers(0, data.size, size=(n, data.size))
    stats = np.array([aggregate(row, how) for row in data[picks]])
    tail = (1.0 - level) / 2.0
    return float(np.quantile(stats, tail)), float(np.quantile(stats, 1.0 - tail))
