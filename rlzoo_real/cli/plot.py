"""``realzoo plot``: training and evaluation curves, rliable aggregates, results tables."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from rlzoo_real.cli._common import user_errors
from rlzoo_real.cli._plot_options import (
    Algos,
    Backend,
    Ci,
    Data,
    Engine,
    Envs,
    Format,
    GroupBy,
    Key,
    Labels,
    LogFolders,
    MaxSteps,
    MinSteps,
    Normalize,
    Output,
    PerRun,
    References,
    Reps,
    Seed,
    Window,
    selection,
)

if TYPE_CHECKING:
    from rlzoo_real.plotting.views import Bootstrap, ViewOutput

__all__ = ["plot_app", "register"]

plot_app = typer.Typer(
    name="plot",
    help="Figures and tables from run folders: train, eval, aggregate (rliable), table, all.",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _boot(reps: int, ci: float, seed: int) -> Bootstrap:
    from rlzoo_real.plotting.views import Bootstrap

    return Bootstrap(reps=reps, ci=ci, seed=seed)


def _report(out: ViewOutput) -> None:
    for note in out.notes:
        typer.echo(f"Note: {note}", err=True)
    if out.summary:
        typer.echo(out.summary)
    for path in out.files:
        typer.echo(f"Wrote {path}")


def _redraw(
    data: str, output: str, fmt: str, view: str, algos: list[str] | None, envs: list[str] | None
) -> None:
    from rlzoo_real.errors import UserError
    from rlzoo_real.plotting.views import redraw

    if data.endswith((".pkl", ".pickle")):
        raise UserError(
            f"--data/-i {data}: realzoo never reads pickle files (loading one runs code), so "
            "the RL Zoo's all_plots output cannot be redrawn. Point realzoo plot at the log "
            "folders instead (-f), or give the .npz a previous realzoo plot saved in its "
            "output folder."
        )
    _report(redraw(Path(data), Path(output), fmt, view=view, algos=algos or [], envs=envs or []))


@plot_app.command("train")
@user_errors
def train(
    log_folder: LogFolders = None,
    algos: Algos = None,
    envs: Envs = None,
    backend: Backend = None,
    labels: Labels = None,
    output: Output = "plots",
    fmt: Format = "png",
    x_axis: Annotated[
        str, typer.Option("--x-axis", "-x", help="steps, episodes or time (wall clock).")
    ] = "steps",
    y: Annotated[
        str,
        typer.Option(
            "--y",
            "-y",
            "--y-axis",
            help="return (or reward, the RL Zoo's name), or continuity: the continuity cost "
            "(mean |change of the action| per step) from the monitor files, for the "
            "return/smoothness trade-off.",
        ),
    ] = "return",
    window: Window = 100,
    per_run: PerRun = False,
    band: Annotated[
        str, typer.Option("--band", help="Spread over runs: std, se, minmax, ci or none.")
    ] = "std",
    group_by: GroupBy = "config",
    max_timesteps: MaxSteps = None,
    reps: Reps = 2000,
    ci: Ci = 0.95,
    seed: Seed = 0,
    data: Data = None,
) -> None:
    """Training curves from the monitor files: mean and spread over seeds, or one line per run."""
    from rlzoo_real.errors import UserError
    from rlzoo_real.plotting.views import train_view

    if y == "reward":  # the RL Zoo's plot_train -y reward: the training return
        y = "return"
    elif y in ("length", "success"):
        raise UserError(
            f"-y {y}: realzoo plot train draws the training return (-y return or reward) or "
            "the continuity cost (-y continuity); episode lengths and success rates are not "
            "drawn."
        )
    if data:
        _redraw(data, output, fmt, "train", algos, envs)
        return
    _report(
        train_view(
            selection(log_folder, algos, envs, group_by, 0, max_timesteps, labels, backend=backend),
            Path(output),
            fmt,
            x_axis=x_axis,
            window=window,
            per_run=per_run,
            band=band,
            boot=_boot(reps, ci, seed),
            y=y,
        )
    )


@plot_app.command("eval")
@user_errors
def evaluation(
    log_folder: LogFolders = None,
    algos: Algos = None,
    envs: Envs = None,
    backend: Backend = None,
    labels: Labels = None,
    key: Key = "results",
    output: Output = "plots",
    fmt: Format = "png",
    per_run: PerRun = False,
    band: Annotated[
        str, typer.Option("--band", help="ci (bootstrap CI of the mean), std, se, minmax or none.")
    ] = "ci",
    group_by: GroupBy = "config",
    min_timesteps: MinSteps = 0,
    max_timesteps: MaxSteps = None,
    reps: Reps = 2000,
    ci: Ci = 0.95,
    seed: Seed = 0,
    data: Data = None,
) -> None:
    """Evaluation curves (evaluations.npz) over seeds, with confidence bands."""
    from rlzoo_real.plotting.views import eval_view

    if data:
        _redraw(data, output, fmt, "eval", algos, envs)
        return
    _report(
        eval_view(
            selection(
                log_folder,
                algos,
                envs,
                group_by,
                min_timesteps,
                max_timesteps,
                labels,
                key,
                backend,
            ),
            Path(output),
            fmt,
            per_run=per_run,
            band=band,
            boot=_boot(reps, ci, seed),
        )
    )


@plot_app.command("aggregate")
@user_errors
def aggregate(
    log_folder: LogFolders = None,
    algos: Algos = None,
    envs: Envs = None,
    backend: Backend = None,
    labels: Labels = None,
    key: Key = "results",
    output: Output = "plots",
    fmt: Format = "png",
    references: References = None,
    normalize: Normalize = "reference",
    group_by: GroupBy = "config",
    min_timesteps: MinSteps = 0,
    max_timesteps: MaxSteps = None,
    reps: Reps = 2000,
    ci: Ci = 0.95,
    seed: Seed = 0,
    engine: Engine = "fast",
    data: Data = None,
) -> None:
    """rliable metrics across envs and seeds: IQM, median, mean, optimality gap, performance
    profiles, probability of improvement, IQM sample-efficiency curves."""
    from rlzoo_real.plotting.views import aggregate_view

    if data:
        _redraw(data, output, fmt, "aggregate", algos, envs)
        return
    _report(
        aggregate_view(
            selection(
                log_folder,
                algos,
                envs,
                group_by,
                min_timesteps,
                max_timesteps,
                labels,
                key,
                backend,
            ),
            Path(output),
            fmt,
            references=Path(references) if references else None,
            normalize=normalize,
            engine=engine,
            boot=_boot(reps, ci, seed),
        )
    )


@plot_app.command("table")
@user_errors
def table(
    log_folder: LogFolders = None,
    algos: Algos = None,
    envs: Envs = None,
    backend: Backend = None,
    labels: Labels = None,
    key: Key = "results",
    output: Output = "plots",
    fmt: Annotated[
        str,
        typer.Option(
            "--format", help="Accepted for symmetry; tables are always CSV, Markdown, LaTeX."
        ),
    ] = "png",
    group_by: GroupBy = "config",
    min_timesteps: MinSteps = 0,
    max_timesteps: MaxSteps = None,
    reps: Reps = 2000,
    ci: Ci = 0.95,
    seed: Seed = 0,
) -> None:
    """Final and best return per algorithm and env (mean, bootstrap CI, std) as CSV,
    Markdown and LaTeX."""
    from rlzoo_real.plotting.views import check_format, table_view

    check_format(fmt, figures=False)
    _report(
        table_view(
            selection(
                log_folder,
                algos,
                envs,
                group_by,
                min_timesteps,
                max_timesteps,
                labels,
                key,
                backend,
            ),
            Path(output),
            boot=_boot(reps, ci, seed),
        )
    )


@plot_app.command("all")
@user_errors
def all_views(
    log_folder: LogFolders = None,
    algos: Algos = None,
    envs: Envs = None,
    backend: Backend = None,
    labels: Labels = None,
    key: Key = "results",
    output: Output = "plots",
    fmt: Format = "png",
    references: References = None,
    normalize: Normalize = "reference",
    window: Window = 100,
    group_by: GroupBy = "config",
    min_timesteps: MinSteps = 0,
    max_timesteps: MaxSteps = None,
    reps: Reps = 2000,
    ci: Ci = 0.95,
    seed: Seed = 0,
    engine: Engine = "fast",
) -> None:
    """Every view at once (train, eval, aggregate, table), reading the logs once."""
    from rlzoo_real.plotting.views import all_views as run_all

    _report(
        run_all(
            selection(
                log_folder,
                algos,
                envs,
                group_by,
                min_timesteps,
                max_timesteps,
                labels,
                key,
                backend,
            ),
            Path(output),
            fmt,
            references=Path(references) if references else None,
            normalize=normalize,
            engine=engine,
            window=window,
            boot=_boot(reps, ci, seed),
        )
    )


# The RL Zoo's plot scripts, by their names (rl_zoo3 all_plots / plot_train / plot_from_file):
# the same functions as the realzoo views they correspond to, hidden from the command list.
plot_app.command("all_plots", hidden=True, help="The RL Zoo's name of realzoo plot all.")(all_views)
plot_app.command("plot_train", hidden=True, help="The RL Zoo's name of realzoo plot train.")(train)
plot_app.command(
    "plot_from_file", hidden=True, help="The RL Zoo's name of realzoo plot aggregate -i DATA."
)(aggregate)


def register(app: typer.Typer) -> None:
    """Add ``plot`` (with its subcommands) to the ``realzoo`` app."""
    app.add_typer(plot_app, name="plot")
