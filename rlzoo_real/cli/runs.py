"""``realzoo runs``: a table of the runs in a log tree."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from rlzoo_real.cli._common import user_errors

__all__ = ["register"]


def runs(
    log_folder: Annotated[
        str, typer.Option("--log-folder", "-f", help="Root of the log tree.")
    ] = "logs",
    algos: Annotated[
        list[str] | None, typer.Option("--algos", metavar="ALGO ...", help="Algorithms to list.")
    ] = None,
    envs: Annotated[
        list[str] | None, typer.Option("--envs", metavar="ENV ...", help="Env ids to list.")
    ] = None,
    as_csv: Annotated[bool, typer.Option("--csv", help="CSV instead of a text table.")] = False,
    backend: Annotated[
        str | None,
        typer.Option(
            "--backend",
            help="Runs trained with this --backend: sb3 (PyTorch) or sbx (JAX; --algos sac "
            "--backend sbx lists <log-folder>/sac_sbx/). Default: every backend.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """One line per run: algo, env, id, seed, steps, best and last evaluation, status, wall time."""
    from rlzoo_real.plotting.overview import format_runs, list_runs, runs_csv
    from rlzoo_real.replay.finding import algo_folders

    chosen = algo_folders([Path(log_folder)], list(algos or []), backend)
    rows = list_runs(Path(log_folder), algos=chosen, envs=list(envs or []))
    typer.echo(runs_csv(rows) if as_csv else format_runs(rows), nl=not as_csv)


def register(app: typer.Typer) -> None:
    """Add ``runs`` to the ``realzoo`` app."""
    app.command("runs")(user_errors(runs))
