"""Aggregate metrics across envs and seeds, as rliable defines them.

Scores are normalized per env by a reference table (random -> 0, expert -> 1) and
arranged as rliable expects, ``(n_runs, n_envs)`` per label. Point estimates come
from ``rliable.metrics``; confidence intervals from rliable's stratified bootstrap
(percentile method), either run by rliable itself (``engine='rliable'``, with numpy's
global random state seeded and restored around it) or by the vectorized
reimplementation in :mod:`~rlzoo_real.plotting.bootstrap` (``engine='fast'``, the
default), which draws the same indices and so gives the same intervals.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rlzoo_real.errors import UserError

if TYPE_CHECKING:
    import numpy as np

    from rlzoo_real.plotting.data import EvalGroup
    from rlzoo_real.plotting.references import Reference

__all__ = [
    "ENGINES",
    "METRICS",
    "AggregateResult",
    "ScoreTable",
    "aggregate",
    "require_rliable",
    "score_table",
]

METRICS = ("Median", "IQM", "Mean", "Optimality gap")
ENGINES = ("fast", "rliable")
NORMALIZE = ("reference", "none")


def require_rliable() -> Any:
    """Import ``rliable.metrics``, or explain which extra to install."""
    try:
        from rliable import metrics
    except ImportError as exc:
        raise UserError(
            f"Aggregate metrics need rliable, which cannot be imported here ({exc}). Install "
            "the plotting extra: pip install 'rlzoo-real[plots]' (rliable with arch<8 and "
            "pandas<3)."
        ) from None
    return metrics


@dataclass(frozen=True)
class ScoreTable:
    """Normalized scores, arranged for rliable.

    ``final[label]`` has shape ``(n_runs, n_envs)``; ``curves[label]`` has shape
    ``(n_runs, n_envs, n_points)`` on the common x axis ``x``.
    """

    labels: list[str]
    envs: list[str]
    final: dict[str, np.ndarray]
    curves: dict[str, np.ndarray]
    x: np.ndarray
    x_label: str
    normalized: bool
    references: dict[str, tuple[float, float]]
    notes: list[str] = field(default_factory=list)


def score_table(
    groups: Sequence[EvalGroup],
    *,
    references: dict[str, Reference],
    normalize: str = "reference",
) -> ScoreTable:
    """Arrange the evaluation groups as rliable's score matrices.

    Only the envs that every label ran are kept; each label keeps as many runs per env
    as its env with the fewest runs has (lowest seeds first), since rliable's bootstrap
    needs a full ``(n_runs, n_envs)`` matrix. Curves of one env are aligned across all
    labels; when envs differ in steps, the x axis becomes the fraction of training.

    Raises:
        UserError: when an env has no reference score, or no env is shared by all labels.
    """
    import numpy as np

    from rlzoo_real.plotting.data import align_curves
    from rlzoo_real.plotting.references import normalize as normalize_returns

    if normalize not in NORMALIZE:
        raise UserError(f"--normalize must be one of {', '.join(NORMALIZE)}, got {normalize!r}.")
    notes: list[str] = []
    labels = list(dict.fromkeys(g.label for g in sorted(groups, key=lambda g: g.label)))
    by_label = {label: {g.env_id: g for g in groups if g.label == label} for label in labels}
    all_envs = sorted({g.env_id for g in groups})
    envs = [e for e in all_envs if all(e in by_label[label] for label in labels)]
    if not envs:
        listing = "; ".join(f"{label}: {', '.join(sorted(by_label[label]))}" for label in labels)
        raise UserError(
            f"No env was run by every label, so nothing can be aggregated ({listing}). "
            "Pick labels with --algos, or envs with --envs."
        )
    if len(envs) < len(all_envs):
        left = [e for e in all_envs if e not in envs]
        notes.append(f"left out env(s) {', '.join(left)}: not run by every label")
    refs: dict[str, tuple[float, float]] = {}
    if normalize == "reference":
        missing = [e for e in envs if e not in references]
        if missing:
            raise UserError(
                f"No reference score (random and expert return) for {', '.join(missing)}. "
                "Add them in a YAML file passed with --references, e.g. "
                f"'{missing[0]}: {{random: 0.0, expert: 100.0}}', or aggregate raw returns "
                "with --normalize none."
            )
        refs = {e: (references[e].random, references[e].expert) for e in envs}
    elif len(envs) > 1:
        notes.append(
            "--normalize none: raw returns of envs with different scales are aggregated as is"
        )

    def scaled(values: np.ndarray, env_id: str) -> np.ndarray:
        return normalize_returns(values, references[env_id]) if refs else values

    final: dict[str, np.ndarray] = {}
    kept: dict[str, int] = {}
    for label in labels:
        n_runs = min(len(by_label[label][e].runs) for e in envs)
        kept[label] = n_runs
        dropped = [
            f"{e} ({len(by_label[label][e].runs) - n_runs})"
            for e in envs
            if len(by_label[label][e].runs) > n_runs
        ]
        if dropped:
            notes.append(
                f"{label}: kept the {n_runs} lowest-seed run(s) per env for a full "
                f"runs x envs matrix; left out extra runs on {', '.join(dropped)}"
            )
        final[label] = np.column_stack([scaled(by_label[label][e].final[:n_runs], e) for e in envs])
    # sample-efficiency curves: per env, align all labels' runs onto one grid
    per_env: dict[str, tuple[np.ndarray, dict[str, np.ndarray]]] = {}
    for env_id in envs:
        members = []
        for label in labels:
            group = by_label[label][env_id]
            for i in range(kept[label]):
                members.append((label, group.runs[i].name, group.logs[i]))
        aligned = align_curves(
            [(log.timesteps, log.mean_returns) for _, _, log in members],
            names=[name for _, name, _ in members],
        )
        if aligned is None:
            raise UserError(
                f"The runs on {env_id} share no range of steps, so no sample-efficiency curve "
                "can be drawn; select runs with --algos or --min-timesteps."
            )
        if aligned.note:
            notes.append(f"sample-efficiency curves on {env_id}: {aligned.note}")
        rows: dict[str, list[np.ndarray]] = {}
        for (label, _, _), row in zip(members, aligned.values, strict=True):
            rows.setdefault(label, []).append(scaled(row, env_id))
        per_env[env_id] = (aligned.grid, {k: np.vstack(v) for k, v in rows.items()})
    grids = [per_env[e][0] for e in envs]
    same_length = all(len(g) == len(grids[0]) for g in grids)
    if same_length and np.allclose(grids, grids[0], rtol=0.02, atol=0):
        x, x_label = np.mean(grids, axis=0), "Timesteps"
        if not all(np.array_equal(g, grids[0]) for g in grids):
            # e.g. --eval-freq 5000 with 16 envs evaluates at 4992, 9984, ...: one schedule
            first = ", ".join(f"{e}: {g[0]:g}" for e, g in zip(envs, grids, strict=True))
            notes.append(
                "sample-efficiency curves: envs evaluate at steps within 2% of each other "
                f"(first evaluation {first}); drawn at their mean"
            )
        curves = {label: np.stack([per_env[e][1][label] for e in envs], axis=1) for label in labels}
    else:
        n_points = min(len(g) for g in grids)
        x = np.linspace(1.0 / n_points, 1.0, n_points)
        x_label = "Fraction of training steps"
        notes.append(
            "envs differ in evaluation steps; sample-efficiency curves use the fraction of each "
            f"env's steps ({n_points} points)"
        )
        curves = {}
        for label in labels:
            per = []
            for e, grid in zip(envs, grids, strict=True):
                values = per_env[e][1][label]
                targets = x * grid[-1]
                per.append(np.vstack([np.interp(targets, grid, row) for row in values]))
            curves[label] = np.stack(per, axis=1)
    return ScoreTable(labels, envs, final, curves, x, x_label, bool(refs), refs, notes)


@dataclass(frozen=True)
class AggregateResult:
    """Point estimates and confidence intervals of every aggregate view.

    ``metrics``: ``(n_labels, n_metrics)`` for :attr:`metric_names`; ``profile``:
    ``(n_labels, n_taus)``; ``poi``: ``(n_pairs,)`` for P(first > second) of each pair;
    ``iqm``: ``(n_labels, n_points)`` at ``scores.x``. Each has ``_low`` and ``_high``.
    """

    scores: ScoreTable
    metric_names: list[str]
    metrics: np.ndarray
    metrics_low: np.ndarray
    metrics_high: np.ndarray
    taus: np.ndarray
    profile: np.ndarray
    profile_low: np.ndarray
    profile_high: np.ndarray
    pairs: list[tuple[str, str]]
    poi: np.ndarray
    poi_low: np.ndarray
    poi_high: np.ndarray
    iqm: np.ndarray
    iqm_low: np.ndarray
    iqm_high: np.ndarray
    settings: dict[str, Any]


# vectorized metrics: arrays of shape (reps, n_runs, n_envs[, n_points]) -> (reps[, n_points])


def _iqm_rows(flat: np.ndarray) -> np.ndarray:
    """IQM of each row of ``(reps, n)`` (scipy's ``trim_mean(.., 0.25)``)."""
    n = flat.shape[-1]
    cut = int(0.25 * n)
    ordered = flat.copy()
    ordered.sort(axis=-1)
    return ordered[..., cut : n - cut].mean(axis=-1)


def _metric_samples(names: Sequence[str]) -> Callable[[np.ndarray], np.ndarray]:
    import numpy as np

    def stat(r: np.ndarray) -> np.ndarray:
        task_means = r.mean(axis=1)
        values = {
            "Median": lambda: np.median(task_means, axis=1),
            "IQM": lambda: _iqm_rows(r.reshape(r.shape[0], -1)),
            "Mean": lambda: task_means.mean(axis=1),
            "Optimality gap": lambda: 1.0 - np.minimum(r, 1.0).mean(axis=(1, 2)),
        }
        return np.stack([values[name]() for name in names], axis=1)

    return stat


def _profile_samples(taus: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    import numpy as np

    def stat(r: np.ndarray) -> np.ndarray:
        flat = np.sort(r.reshape(r.shape[0], -1), axis=1)
        above = flat.shape[1] - np.stack([np.searchsorted(row, taus, side="right") for row in flat])
        return above / flat.shape[1]

    return stat


def _poi_samples(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """P(X > Y) + P(X = Y) / 2 averaged over envs, for each replication (Mann-Whitney U)."""
    greater = (x[:, :, None, :] > y[:, None, :, :]).sum(axis=(1, 2))
    equal = (x[:, :, None, :] == y[:, None, :, :]).sum(axis=(1, 2))
    return ((greater + 0.5 * equal) / (x.shape[1] * y.shape[1])).mean(axis=1)


def _iqm_curve_samples(r: np.ndarray) -> np.ndarray:
    flat = r.transpose(0, 3, 1, 2).reshape(r.shape[0], r.shape[3], -1)
    return _iqm_rows(flat)


@contextlib.contextmanager
def _global_numpy_seed(seed: int) -> Iterator[None]:
    """Seed numpy's global random state for rliable, and put the old state back after."""
    import numpy as np

    state = np.random.get_state()
    np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(state)


def aggregate(
    scores: ScoreTable,
    *,
    reps: int = 2000,
    ci: float = 0.95,
    seed: int = 0,
    engine: str = "fast",
    taus: np.ndarray | None = None,
) -> AggregateResult:
    """IQM, median, mean and optimality gap, performance profiles, probability of
    improvement and IQM sample-efficiency curves, with stratified bootstrap intervals.

    Args:
        scores: from :func:`score_table`.
        reps: bootstrap replications.
        ci: interval coverage, e.g. 0.95.
        seed: fixes every interval; each (analysis, label) draws from its own stream
            derived from it, so adding a label does not move the others' intervals.
        engine: ``fast`` (vectorized, the same draws) or ``rliable`` (rliable's own code).
        taus: thresholds of the performance profile (default: 101 points over the range
            of the scores, at least [0, 1] for normalized scores).

    Raises:
        UserError: on bad options or when rliable is not installed.
    """
    import numpy as np

    from rlzoo_real.plotting.bootstrap import (
        derived_seed,
        independent_bootstrap,
        random_state,
        stratified_bootstrap,
    )

    metrics = require_rliable()
    if engine not in ENGINES:
        raise UserError(f"--bootstrap must be one of {', '.join(ENGINES)}, got {engine!r}.")
    if reps < 10:
        raise UserError(f"--reps must be at least 10, got {reps}.")
    if not 0 < ci < 1:
        raise UserError(f"--ci must be between 0 and 1 (e.g. 0.95), got {ci}.")
    names = list(METRICS if scores.normalized else METRICS[:3])
    point_funcs = {
        "Median": metrics.aggregate_median,
        "IQM": metrics.aggregate_iqm,
        "Mean": metrics.aggregate_mean,
        "Optimality gap": metrics.aggregate_optimality_gap,
    }
    labels = scores.labels
    if taus is None:
        everything = np.concatenate([s.ravel() for s in scores.final.values()])
        lo, hi = float(everything.min()), float(everything.max())
        if scores.normalized:
            lo, hi = min(lo, 0.0), max(hi, 1.0)
        taus = np.linspace(lo, hi if hi > lo else lo + 1.0, 101)
    pairs = list(itertools.combinations(labels, 2))
    n_points = len(scores.x)

    def metric_func(s: np.ndarray) -> np.ndarray:
        return np.array([point_funcs[name](s) for name in names])

    def iqm_func(s: np.ndarray) -> np.ndarray:
        return np.array([metrics.aggregate_iqm(s[..., i]) for i in range(s.shape[-1])])

    def profile_func(s: np.ndarray) -> np.ndarray:
        return np.array([np.mean(s > tau) for tau in taus])

    out: dict[str, list[Any]] = {k: [] for k in ("m", "ml", "mh", "p", "pl", "ph", "i", "il", "ih")}
    poi, poi_low, poi_high = [], [], []
    for label in labels:
        final, curve = scores.final[label], scores.curves[label]
        if engine == "fast":
            m_interval = stratified_bootstrap(
                final,
                _metric_samples(names),
                reps=reps,
                ci=ci,
                rs=random_state(seed, "metrics", label),
            )
            p_interval = stratified_bootstrap(
                final,
                _profile_samples(taus),
                reps=reps,
                ci=ci,
                rs=random_state(seed, "profile", label),
            )
            i_interval = stratified_bootstrap(
                curve, _iqm_curve_samples, reps=reps, ci=ci, rs=random_state(seed, "iqm", label)
            )
        else:
            m_interval = _rliable_interval(
                final, metric_func, reps, ci, derived_seed(seed, "metrics", label)
            )
            p_interval = _rliable_interval(
                final, profile_func, reps, ci, derived_seed(seed, "profile", label)
            )
            i_interval = _rliable_interval(
                curve, iqm_func, reps, ci, derived_seed(seed, "iqm", label)
            )
        for key, point, interval in (
            ("m", metric_func(final), m_interval),
            ("p", profile_func(final), p_interval),
            ("i", iqm_func(curve), i_interval),
        ):
            out[key].append(point)
            out[key + "l"].append(interval[0])
            out[key + "h"].append(interval[1])
    for first, second in pairs:
        x, y = scores.final[first], scores.final[second]
        key = f"{first} > {second}"
        poi.append(metrics.probability_of_improvement(x, y))
        if engine == "fast":
            low, high = independent_bootstrap(
                x, y, _poi_samples, reps=reps, ci=ci, rs=random_state(seed, "poi", key)
            )
        else:
            low, high = _rliable_interval(
                (x, y), metrics.probability_of_improvement, reps, ci, derived_seed(seed, "poi", key)
            )
        poi_low.append(low)
        poi_high.append(high)

    def arr(key: str, width: int) -> np.ndarray:
        return np.array(out[key], dtype=float).reshape(len(labels), width)

    return AggregateResult(
        scores=scores,
        metric_names=names,
        metrics=arr("m", len(names)),
        metrics_low=arr("ml", len(names)),
        metrics_high=arr("mh", len(names)),
        taus=np.asarray(taus, dtype=float),
        profile=arr("p", len(taus)),
        profile_low=arr("pl", len(taus)),
        profile_high=arr("ph", len(taus)),
        pairs=pairs,
        poi=np.array(poi, dtype=float).reshape(-1),
        poi_low=np.array(poi_low, dtype=float).reshape(-1),
        poi_high=np.array(poi_high, dtype=float).reshape(-1),
        iqm=arr("i", n_points),
        iqm_low=arr("il", n_points),
        iqm_high=arr("ih", n_points),
        settings={"reps": reps, "ci": ci, "seed": seed, "engine": engine},
    )


def _rliable_interval(
    data: np.ndarray | tuple[np.ndarray, np.ndarray],
    func: Callable[..., Any],
    reps: int,
    ci: float,
    seed: int,
) -> tuple[np.ndarray, np.ndarray]:
    """rliable's ``get_interval_estimates`` for one entry, with the global state seeded."""
    import numpy as np

    try:
        from rliable import library
    except ImportError:
        require_rliable()
        raise
    with _global_numpy_seed(seed):
        scores_dict: dict[str, Any] = {"x": list(data) if isinstance(data, tuple) else data}
        _, intervals = library.get_interval_estimates(
            scores_dict, func, reps=reps, confidence_interval_size=ci
        )
    interval = np.asarray(intervals["x"], dtype=float)
    return interval[0], interval[1]
