"""The ``realzoo`` command line: assembles one typer app per subcommand.

Only typer is imported here; every command imports what it needs when it runs, so
``realzoo --help`` starts in a blink.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import typer

from rlzoo_real.cli import benchmark as _benchmark
from rlzoo_real.cli import enjoy as _enjoy
from rlzoo_real.cli import export as _export
from rlzoo_real.cli import plot as _plot
from rlzoo_real.cli import runs as _runs
from rlzoo_real.cli import sweep as _sweep
from rlzoo_real.cli import train as _train
from rlzoo_real.cli import tune as _tune
from rlzoo_real.cli._argv import ZooGroup

__all__ = ["app", "main"]

app = typer.Typer(
    name="realzoo",
    cls=ZooGroup,
    help="Reproducible, crash-safe reinforcement-learning experiments on Stable-Baselines3.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
_train.register(app)
_tune.register(app)
_enjoy.register(app)
_export.register(app)
_sweep.register(app)
_plot.register(app)
_runs.register(app)
_benchmark.register(app)


@app.callback()
def _root() -> None:
    """realzoo: train, tune, replay and plot RL agents, RL Zoo style."""


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the ``realzoo`` console script and of ``python -m rlzoo_real``.

    The app's group (:class:`~rlzoo_real.cli._argv.ZooGroup`) rewrites RL Zoo spellings
    (option prefixes, several values after one flag) itself, so this and typer's
    ``CliRunner`` take the same path.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    app(args=args, prog_name="realzoo")
