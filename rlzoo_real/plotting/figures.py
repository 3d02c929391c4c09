"""Figures with matplotlib's object API (no pyplot: no global state, no display needed).

Every function takes computed numbers (a :class:`~rlzoo_real.plotting.curves.CurveSet`
or an :class:`~rlzoo_real.plotting.aggregate.AggregateResult`) and a path whose suffix
picks the format: ``.png``, ``.pdf`` or ``.svg``. Files carry no creation date, so the
same numbers give the same file. A label has the same color in every figure.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rlzoo_real.errors import UserError

if TYPE_CHECKING:
    from rlzoo_real.plotting.aggregate import AggregateResult
    from rlzoo_real.plotting.curves import CurveSet

__all__ = [
    "FORMATS",
    "curves_figure",
    "draw_aggregate",
    "draw_aggregate_metrics",
    "draw_curves",
    "draw_performance_profile",
    "draw_probability_of_improvement",
    "draw_sample_efficiency",
    "label_colors",
    "require_matplotlib",
    "save_figure",
]

FORMATS = ("png", "pdf", "svg")
_PALETTE = (
    "#0072B2",
    "#D55E00",
    "#009E73",
    "#CC79A7",
    "#E69F00",
    "#56B4E9",
    "#F0E442",
    "#000000",
    "#999999",
    "#882255",
)


def require_matplotlib() -> Any:
    """Import ``matplotlib.figure``, or explain which extra to install."""
    import importlib

    try:
        figure = importlib.import_module("matplotlib.figure")
    except ImportError as exc:
        raise UserError(
            f"Figures need matplotlib, which cannot be imported here ({exc}). Install the "
            "plotting extra: pip install 'rlzoo-real[plots]'."
        ) from None
    return figure


def _figure(width: float, height: float) -> Any:
    return require_matplotlib().Figure(figsize=(width, height), layout="constrained", dpi=100)


def label_colors(labels: Sequence[str]) -> dict[str, str]:
    """A color per label, by sorted label, so that each label keeps its color everywhere."""
    return {label: _PALETTE[i % len(_PALETTE)] for i, label in enumerate(sorted(set(labels)))}


def save_figure(fig: Any, path: Path) -> Path:
    """Save ``fig`` in the format of ``path``'s suffix (png, pdf or svg), without dates."""
    fmt = path.suffix.lstrip(".")
    if fmt not in FORMATS:
        raise UserError(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}.")
    metadata: dict[str, Any] = {"png": {"Software": None}, "pdf": {"CreationDate": None}}.get(
        fmt, {"Date": None}
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format=fmt, dpi=150, metadata=metadata)
    return path


def _grid(n: int) -> tuple[int, int]:
    cols = min(n, 3)
    return math.ceil(n / cols), cols


def draw_curves(curves: CurveSet, path: Path, *, title: str | None = None) -> Path:
    """One panel per env; a line per label (mean, with band) or per run.

    Args:
        curves: from :func:`~rlzoo_real.plotting.curves.training_curves` or
            :func:`~rlzoo_real.plotting.curves.evaluation_curves`.
        path: output file; its suffix picks the format.
        title: figure title (default: none).
    """
    return save_figure(curves_figure(curves, title=title), path)


def curves_figure(curves: CurveSet, *, title: str | None = None) -> Any:
    """The figure :func:`draw_curves` saves (a ``matplotlib.figure.Figure``), unsaved."""
    envs = curves.envs
    rows, cols = _grid(len(envs))
    fig = _figure(4.4 * cols, 3.3 * rows + 0.6)
    axes = fig.subplots(rows, cols, squeeze=False)
    colors = label_colors(curves.labels)
    seen: set[str] = set()
    for k, env_id in enumerate(envs):
        ax = axes[k // cols][k % cols]
        for s in curves.series:
            if s.env_id != env_id:
                continue
            color = colors[s.label]
            legend = s.label if s.label not in seen else None
            if s.run is not None and curves.settings.get("per_run"):
                ax.plot(s.x, s.y, color=color, linewidth=1.0, alpha=0.7, label=legend)
            else:
                name = f"{s.label} ({s.n_runs} runs)" if s.n_runs > 1 and legend else legend
                ax.plot(s.x, s.y, color=color, linewidth=2.0, label=name)
                if s.low is not None and s.high is not None:
                    ax.fill_between(s.x, s.low, s.high, color=color, alpha=0.2, linewidth=0)
            seen.add(s.label)
        ax.set_title(env_id)
        ax.set_xlabel(curves.x_label)
        ax.set_ylabel(curves.y_label)
        ax.grid(alpha=0.3)
        ax.ticklabel_format(axis="x", style="sci", scilimits=(-3, 4))
    for k in range(len(envs), rows * cols):
        axes[k // cols][k % cols].set_visible(False)
    handles, names = [], []
    for ax_row in axes:
        for ax in ax_row:
            for handle, name in zip(*ax.get_legend_handles_labels(), strict=True):
                handles.append(handle)
                names.append(name)
    fig.legend(handles, names, loc="outside lower center", ncols=min(len(names), 4), frameon=False)
    fig.suptitle(title or f"Shaded: {curves.band}", fontsize=9 if not title else 12)
    return fig


def _ci_text(result: AggregateResult) -> str:
    ci = result.settings.get("ci", 0.95)
    return f"{ci:.0%} stratified bootstrap CIs, {result.settings.get('reps')} resamples"


def draw_aggregate_metrics(result: AggregateResult, path: Path) -> Path:
    """rliable's interval-estimate plot: one panel per metric, a bar per label (CI) with
    a tick at the point estimate."""
    labels = result.scores.labels
    names = result.metric_names
    colors = label_colors(labels)
    fig = _figure(2.6 * len(names) + 1.2, 0.45 * len(labels) + 1.3)
    axes = fig.subplots(1, len(names), squeeze=False)[0]
    for j, (ax, name) in enumerate(zip(axes, names, strict=True)):
        for i, label in enumerate(labels):
            low, high = result.metrics_low[i, j], result.metrics_high[i, j]
            ax.barh(i, high - low, left=low, height=0.6, color=colors[label], alpha=0.75)
            ax.vlines(result.metrics[i, j], i - 0.3, i + 0.3, color="black", linewidth=1.5)
        ax.set_title(name)
        ax.set_yticks(range(len(labels)), labels if j == 0 else [""] * len(labels))
        ax.tick_params(axis="y", length=0)
        ax.invert_yaxis()
        ax.grid(axis="x", alpha=0.3)
        ax.spines[["top", "right", "left"]].set_visible(False)
    unit = "Normalized score" if result.scores.normalized else "Return"
    ci = result.settings.get("ci", 0.95)
    fig.supxlabel(
        f"{unit} ({ci:.0%} stratified bootstrap CIs, {result.settings.get('reps')} resamples, "
        f"{len(result.scores.envs)} env(s))",
        fontsize=9,
    )
    return save_figure(fig, path)


def draw_performance_profile(result: AggregateResult, path: Path) -> Path:
    """Fraction of runs with a score above each threshold, with CI bands."""
    labels = result.scores.labels
    colors = label_colors(labels)
    fig = _figure(5.5, 4.0)
    ax = fig.subplots()
    for i, label in enumerate(labels):
        ax.plot(result.taus, result.profile[i], color=colors[label], linewidth=2, label=label)
        ax.fill_between(
            result.taus,
            result.profile_low[i],
            result.profile_high[i],
            color=colors[label],
            alpha=0.2,
            linewidth=0,
        )
    unit = "normalized score" if result.scores.normalized else "return"
    ax.set_xlabel(f"Threshold {unit} $\\tau$")
    ax.set_ylabel(f"Fraction of runs with {unit} > $\\tau$")
    ax.set_ylim(-0.02, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(frameon=False)
    ax.set_title(f"Performance profile\n({_ci_text(result)})", fontsize=10)
    return save_figure(fig, path)


def draw_probability_of_improvement(result: AggregateResult, path: Path) -> Path:
    """P(X > Y) for each pair of labels, with CIs (0.5: no difference)."""
    pairs = result.pairs
    colors = label_colors(result.scores.labels)
    fig = _figure(6.0, 0.5 * len(pairs) + 1.4)
    ax = fig.subplots()
    for k, (first, _) in enumerate(pairs):
        low, high = result.poi_low[k], result.poi_high[k]
        ax.barh(k, max(high - low, 0.004), left=low, height=0.6, color=colors[first], alpha=0.75)
        ax.plot([result.poi[k]], [k], marker="D", color="black", markersize=5)
    ax.axvline(0.5, color="gray", linestyle="--", linewidth=1)
    ax.set_yticks(range(len(pairs)), [f"P({a} > {b})" for a, b in pairs])
    ax.invert_yaxis()
    ax.set_xlim(-0.03, 1.03)
    ax.set_xlabel(f"Probability of improvement ({_ci_text(result)})")
    ax.grid(axis="x", alpha=0.3)
    return save_figure(fig, path)


def draw_sample_efficiency(result: AggregateResult, path: Path) -> Path:
    """IQM of the (normalized) evaluation score along training, with CI bands."""
    labels = result.scores.labels
    colors = label_colors(labels)
    fig = _figure(5.5, 4.0)
    ax = fig.subplots()
    x = result.scores.x
    for i, label in enumerate(labels):
        ax.plot(x, result.iqm[i], color=colors[label], linewidth=2, label=label, marker=".")
        ax.fill_between(
            x, result.iqm_low[i], result.iqm_high[i], color=colors[label], alpha=0.2, linewidth=0
        )
    ax.set_xlabel(result.scores.x_label)
    ax.set_ylabel("IQM " + ("normalized score" if result.scores.normalized else "return"))
    ax.ticklabel_format(axis="x", style="sci", scilimits=(-3, 4))
    ax.grid(alpha=0.3)
    ax.legend(frameon=False)
    ax.set_title(f"Sample efficiency\n({_ci_text(result)})", fontsize=10)
    return save_figure(fig, path)


def draw_aggregate(result: AggregateResult, folder: Path, fmt: str) -> list[Path]:
    """Every aggregate figure into ``folder``; the probability of improvement needs two
    labels or more."""
    paths = [
        draw_aggregate_metrics(result, folder / f"aggregate_metrics.{fmt}"),
        draw_performance_profile(result, folder / f"performance_profile.{fmt}"),
        draw_sample_efficiency(result, folder / f"sample_efficiency.{fmt}"),
    ]
    if result.pairs:
        paths.append(
            draw_probability_of_improvement(result, folder / f"probability_of_improvement.{fmt}")
        )
    return paths
