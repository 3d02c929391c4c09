"""The views of ``realzoo plot``: read runs, compute, save the numbers, draw.

Each view writes its figure(s) and the numbers behind them (``<view>.npz``, see
:mod:`~rlzoo_real.plotting.store`) into the output folder and returns what it wrote
with notes for the user. :func:`redraw` draws a figure again from such a file.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from rlzoo_real.errors import UserError

if TYPE_CHECKING:
    from rlzoo_real.plotting.data import EvalGroup, RunInfo

__all__ = [
    "Bootstrap",
    "Selection",
    "ViewOutput",
    "aggregate_view",
    "all_views",
    "check_format",
    "eval_view",
    "redraw",
    "table_view",
    "train_view",
]


@dataclass(frozen=True)
class Selection:
    """Which runs to read and how to group them."""

    log_folders: Sequence[Path]
    algos: Sequence[str] = ()
    envs: Sequence[str] = ()
    group_by: str = "config"
    min_timesteps: int = 0
    max_timesteps: int | None = None
    labels: Sequence[str] = ()


@dataclass(frozen=True)
class Bootstrap:
    """Settings of every bootstrap interval."""

    reps: int = 2000
    ci: float = 0.95
    seed: int = 0

    def check(self) -> None:
        """Raise a UserError on settings out of range."""
        if self.reps < 10:
            raise UserError(f"--reps must be at least 10, got {self.reps}.")
        if not 0 < self.ci < 1:
            raise UserError(f"--ci must be between 0 and 1 (e.g. 0.95), got {self.ci}.")


@dataclass
class ViewOutput:
    """Files written, notes for the user, and a short text summary for the terminal."""

    files: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    summary: str = ""

    def extend(self, other: ViewOutput) -> None:
        """Add another view's files, notes (without repeats) and summary."""
        self.files += other.files
        self.notes += [n for n in other.notes if n not in self.notes]
        self.summary = "\n".join(s for s in (self.summary, other.summary) if s)


def check_format(fmt: str, *, figures: bool = True) -> None:
    """Raise a UserError for a format other than png, pdf or svg, or, when ``figures``,
    when matplotlib is missing (before any file is written)."""
    from rlzoo_real.plotting.figures import FORMATS, require_matplotlib

    if fmt not in FORMATS:
        raise UserError(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}.")
    if figures:
        require_matplotlib()


def _select(selection: Selection) -> list[RunInfo]:
    from rlzoo_real.plotting.data import select_runs

    return select_runs(
        selection.log_folders,
        algos=selection.algos,
        envs=selection.envs,
        group_by=selection.group_by,
        labels=selection.labels,
    )


def _eval_groups(
    selection: Selection, runs: list[RunInfo] | None = None
) -> tuple[list[EvalGroup], list[str]]:
    from rlzoo_real.plotting.data import collect_evaluations

    return collect_evaluations(
        runs if runs is not None else _select(selection),
        min_timesteps=selection.min_timesteps,
        max_timesteps=selection.max_timesteps,
    )


def train_view(
    selection: Selection,
    output: Path,
    fmt: str = "png",
    *,
    x_axis: str = "steps",
    window: int = 100,
    per_run: bool = False,
    band: str = "std",
    boot: Bootstrap | None = None,
    runs: list[RunInfo] | None = None,
    y: str = "return",
) -> ViewOutput:
    """Training curves from the monitor files: ``train_curves.<fmt>`` and ``.npz``
    (``y="continuity"``: ``train_continuity.<fmt>`` and ``.npz``)."""
    from rlzoo_real.plotting.curves import training_curves
    from rlzoo_real.plotting.figures import draw_curves
    from rlzoo_real.plotting.store import save_curves

    check_format(fmt)
    boot = boot or Bootstrap()
    boot.check()
    curves = training_curves(
        runs if runs is not None else _select(selection),
        x_axis=x_axis,
        window=window,
        per_run=per_run,
        band=band,
        ci=boot.ci,
        reps=boot.reps,
        seed=boot.seed,
        max_timesteps=selection.max_timesteps,
        y=y,
    )
    stem = "train_curves" if y == "return" else "train_continuity"
    data = output / f"{stem}.npz"
    save_curves(curves, data)
    figure = draw_curves(curves, output / f"{stem}.{fmt}")
    return ViewOutput([figure, data], curves.notes)


def eval_view(
    selection: Selection,
    output: Path,
    fmt: str = "png",
    *,
    per_run: bool = False,
    band: str = "ci",
    boot: Bootstrap | None = None,
    groups: tuple[list[EvalGroup], list[str]] | None = None,
) -> ViewOutput:
    """Evaluation curves over seeds: ``eval_curves.<fmt>`` and ``.npz``."""
    from rlzoo_real.plotting.curves import evaluation_curves
    from rlzoo_real.plotting.figures import draw_curves
    from rlzoo_real.plotting.store import save_curves

    check_format(fmt)
    boot = boot or Bootstrap()
    boot.check()
    found, notes = groups or _eval_groups(selection)
    curves = evaluation_curves(
        found, per_run=per_run, band=band, ci=boot.ci, reps=boot.reps, seed=boot.seed, notes=notes
    )
    data = output / "eval_curves.npz"
    save_curves(curves, data)
    figure = draw_curves(curves, output / f"eval_curves.{fmt}")
    return ViewOutput([figure, data], curves.notes)


def aggregate_view(
    selection: Selection,
    output: Path,
    fmt: str = "png",
    *,
    references: Path | None = None,
    normalize: str = "reference",
    engine: str = "fast",
    boot: Bootstrap | None = None,
    groups: tuple[list[EvalGroup], list[str]] | None = None,
) -> ViewOutput:
    """rliable's aggregate metrics: four figures, ``aggregate.npz`` and ``aggregate.json``."""
    from rlzoo_real.plotting.aggregate import aggregate, require_rliable, score_table
    from rlzoo_real.plotting.figures import draw_aggregate
    from rlzoo_real.plotting.references import load_references
    from rlzoo_real.plotting.store import aggregate_summary, save_aggregate, write_output

    check_format(fmt)
    boot = boot or Bootstrap()
    boot.check()
    require_rliable()
    table = load_references(references)
    found, notes = groups or _eval_groups(selection)
    scores = score_table(found, references=table, normalize=normalize)
    result = aggregate(scores, reps=boot.reps, ci=boot.ci, seed=boot.seed, engine=engine)
    output.mkdir(parents=True, exist_ok=True)
    data = output / "aggregate.npz"
    save_aggregate(result, data)
    summary_file = output / "aggregate.json"
    write_output(summary_file, json.dumps(aggregate_summary(result), indent=2) + "\n")
    figures = draw_aggregate(result, output, fmt)
    return ViewOutput(
        [*figures, data, summary_file], [*notes, *scores.notes], _aggregate_text(result)
    )


def _aggregate_text(result: object) -> str:
    from rlzoo_real.plotting.aggregate import AggregateResult

    assert isinstance(result, AggregateResult)
    ci = result.settings.get("ci", 0.95)
    width = max(len(label) for label in result.scores.labels)
    head = f"{'':{width}}  " + "  ".join(f"{name:>24}" for name in result.metric_names)
    lines = [f"Aggregate over {', '.join(result.scores.envs)} ({ci:.0%} CIs):", head]
    for i, label in enumerate(result.scores.labels):
        cells = [
            f"{result.metrics[i, j]:.3f} [{result.metrics_low[i, j]:.3f}, "
            f"{result.metrics_high[i, j]:.3f}]"
            for j in range(len(result.metric_names))
        ]
        lines.append(f"{label:{width}}  " + "  ".join(f"{c:>24}" for c in cells))
    return "\n".join(lines)


def table_view(
    selection: Selection,
    output: Path,
    *,
    boot: Bootstrap | None = None,
    groups: tuple[list[EvalGroup], list[str]] | None = None,
) -> ViewOutput:
    """The results table: ``results.csv``, ``results.md`` and ``results.tex``."""
    from rlzoo_real.plotting.tables import results_table, to_markdown, write_tables

    boot = boot or Bootstrap()
    boot.check()
    found, notes = groups or _eval_groups(selection)
    rows = results_table(found, reps=boot.reps, ci=boot.ci, seed=boot.seed)
    files = write_tables(rows, output, ci=boot.ci)
    return ViewOutput(files, list(notes), to_markdown(rows, ci=boot.ci).split("\n\n### ")[0])


def all_views(
    selection: Selection,
    output: Path,
    fmt: str = "png",
    *,
    references: Path | None = None,
    normalize: str = "reference",
    engine: str = "fast",
    window: int = 100,
    boot: Bootstrap | None = None,
) -> ViewOutput:
    """Every view, reading the logs once; aggregate problems stop it before any file."""
    from rlzoo_real.plotting.aggregate import require_rliable, score_table
    from rlzoo_real.plotting.references import load_references

    check_format(fmt)
    boot = boot or Bootstrap()
    boot.check()
    require_rliable()
    runs = _select(selection)
    groups = _eval_groups(selection, runs)
    score_table(groups[0], references=load_references(references), normalize=normalize)
    out = ViewOutput()
    out.extend(train_view(selection, output, fmt, window=window, boot=boot, runs=runs))
    out.extend(eval_view(selection, output, fmt, boot=boot, groups=groups))
    out.extend(
        aggregate_view(
            selection,
            output,
            fmt,
            references=references,
            normalize=normalize,
            engine=engine,
            boot=boot,
            groups=groups,
        )
    )
    out.extend(table_view(selection, output, boot=boot, groups=groups))
    return out


def redraw(
    data_file: Path,
    output: Path,
    fmt: str,
    *,
    view: str,
    algos: Sequence[str] = (),
    envs: Sequence[str] = (),
) -> ViewOutput:
    """Draw a view again from the numbers saved by an earlier run, reading no log.

    Args:
        data_file: ``train_curves.npz``, ``eval_curves.npz`` or ``aggregate.npz``.
        view: the view asked for; the file must hold that view's numbers.
        algos, envs: draw only these (curves only).
    """
    from dataclasses import replace

    from rlzoo_real.plotting.aggregate import AggregateResult
    from rlzoo_real.plotting.figures import draw_aggregate, draw_curves
    from rlzoo_real.plotting.store import load_data

    check_format(fmt)
    loaded = load_data(data_file)
    found = "aggregate" if isinstance(loaded, AggregateResult) else loaded.view
    if found != view:
        raise UserError(
            f"--data {str(data_file)!r} holds the numbers of the {found!r} view; redraw it with "
            f"realzoo plot {found} --data {data_file}."
        )
    if isinstance(loaded, AggregateResult):
        if algos or envs:
            raise UserError(
                "--algos and --envs cannot narrow saved aggregate numbers (they were computed "
                "over all their runs); compute them again from the logs with -f."
            )
        return ViewOutput(draw_aggregate(loaded, output, fmt), list(loaded.scores.notes))
    series = [
        s
        for s in loaded.series
        if (not algos or s.label.split(" ")[0].split("/")[-1] in algos)
        and (not envs or s.env_id in envs)
    ]
    if not series:
        raise UserError(
            f"--data {str(data_file)!r} has no curves for the --algos/--envs asked for; it has "
            f"{', '.join(loaded.labels)} on {', '.join(loaded.envs)}."
        )
    curves = replace(loaded, series=series)
    stem = "train_continuity" if loaded.settings.get("y") == "continuity" else f"{view}_curves"
    figure = draw_curves(curves, output / f"{stem}.{fmt}")
    return ViewOutput([figure], list(loaded.notes))
