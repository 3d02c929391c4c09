"""The plot views as functions that return matplotlib figures (nothing is written)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["plot_evaluations", "plot_training"]


def plot_training(
    log_folder: str | Path | Sequence[str | Path] = "logs",
    *,
    algos: Sequence[str] = (),
    envs: Sequence[str] = (),
    x_axis: str = "steps",
    window: int = 100,
    per_run: bool = False,
    band: str = "std",
    title: str | None = None,
) -> Any:
    """Training curves from the runs' monitor files, as ``realzoo plot train`` draws them.

    Args:
        log_folder: one log tree, or several (their runs are labelled by folder).
        algos, envs: only these algorithms / env ids (default: all).
        x_axis: ``steps``, ``episodes`` or ``time``.
        window: episodes of the moving average.
        per_run: one line per run instead of the mean over seeds.
        band: the shaded band around the mean (``std``, ``ci``, ``minmax``, ``none``).
        title: figure title.

    Returns:
        A ``matplotlib.figure.Figure`` (one panel per env); ``fig.savefig(path)`` saves it.

    Raises:
        UserError: no runs match, or matplotlib is missing.
    """
    from rlzoo_real.plotting.curves import training_curves
    from rlzoo_real.plotting.figures import curves_figure
    from rlzoo_real.plotting.views import Selection, _select

    selection = Selection(_folders(log_folder), algos=algos, envs=envs)
    curves = training_curves(
        _select(selection), x_axis=x_axis, window=window, per_run=per_run, band=band
    )
    return curves_figure(curves, title=title)


def plot_evaluations(
    log_folder: str | Path | Sequence[str | Path] = "logs",
    *,
    algos: Sequence[str] = (),
    envs: Sequence[str] = (),
    per_run: bool = False,
    band: str = "ci",
    seed: int = 0,
    title: str | None = None,
) -> Any:
    """Evaluation curves (``evaluations.npz``) over seeds, as ``realzoo plot eval`` draws them.

    Args:
        log_folder: one log tree, or several.
        algos, envs: only these algorithms / env ids (default: all).
        per_run: one line per run instead of the mean over seeds.
        band: ``ci`` (bootstrap interval of the mean, fixed by ``seed``), ``std``, ...
        seed: seed of the bootstrap.
        title: figure title.

    Returns:
        A ``matplotlib.figure.Figure``.

    Raises:
        UserError: no runs with evaluations match, or matplotlib is missing.
    """
    from rlzoo_real.plotting.curves import evaluation_curves
    from rlzoo_real.plotting.figures import curves_figure
    from rlzoo_real.plotting.views import Selection, _eval_groups

    selection = Selection(_folders(log_folder), algos=algos, envs=envs)
    groups, notes = _eval_groups(selection)
    curves = evaluation_curves(groups, per_run=per_run, band=band, seed=seed, notes=notes)
    return curves_figure(curves, title=title)


def _folders(log_folder: str | Path | Sequence[str | Path]) -> list[Path]:
    if isinstance(log_folder, str | Path):
        return [Path(log_folder)]
    return [Path(f) for f in log_folder]
