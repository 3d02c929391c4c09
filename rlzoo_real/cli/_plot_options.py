"""The options of ``realzoo plot``'s commands, declared once for all five, and the
selection of runs they describe.

Each option is an ``Annotated`` type: a command's parameter ``algos: Algos = None`` takes
the flags, metavar, help and panel declared here.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from rlzoo_real.cli._options import opt

if TYPE_CHECKING:
    from rlzoo_real.plotting.views import Selection

__all__ = [
    "Algos",
    "Backend",
    "Ci",
    "Data",
    "Engine",
    "Envs",
    "Format",
    "GroupBy",
    "Key",
    "Labels",
    "LogFolders",
    "MaxSteps",
    "MinSteps",
    "Normalize",
    "Output",
    "PerRun",
    "References",
    "Reps",
    "Seed",
    "Window",
    "selection",
]

_BOOT = "Confidence intervals"
_SEL = "Which runs"

LogFolders = Annotated[
    list[str] | None,
    typer.Option(
        "--log-folder",
        "-f",
        "--exp-folders",
        "--exp-folder",
        metavar="DIR ...",
        help="Roots of log trees (default: logs); several to compare them: -f a b.",
        rich_help_panel=_SEL,
    ),
]
Algos = Annotated[
    list[str] | None,
    typer.Option(
        "--algos",
        "-a",
        "--algo",
        metavar="ALGO ...",
        help="Algorithms (default: all; any case, as the RL Zoo's A2C).",
        rich_help_panel=_SEL,
    ),
]
Backend = Annotated[
    str | None,
    typer.Option(
        "--backend",
        help="Runs trained with this --backend: sb3 (PyTorch) or sbx (JAX; --algos sac "
        "--backend sbx selects <log-folder>/sac_sbx/). Default: every backend.",
        show_default=False,
        rich_help_panel=_SEL,
    ),
]
Envs = Annotated[
    list[str] | None,
    typer.Option(
        "--envs",
        "-e",
        "--env",
        "--keep-envs",
        metavar="ENV ...",
        help="Env ids (default: all); without the version suffix (CartPole), every version.",
        rich_help_panel=_SEL,
    ),
]
Labels = Annotated[
    list[str] | None,
    typer.Option(
        "--labels",
        "-l",
        metavar="LABEL ...",
        help="One label per -f folder, put before the algorithm (default: the folder names).",
        rich_help_panel=_SEL,
    ),
]
Key = Annotated[
    str,
    typer.Option(
        "--key",
        "-k",
        help="Array of evaluations.npz to use: results (the returns; the only one realzoo reads).",
        rich_help_panel=_SEL,
    ),
]
GroupBy = Annotated[
    str,
    typer.Option(
        "--group-by",
        help="config: runs of an algorithm with other -params/--env-kwargs/--conf-file get "
        "their own label; algo: one label per algorithm.",
        rich_help_panel=_SEL,
    ),
]
MinSteps = Annotated[
    int,
    typer.Option(
        "--min-timesteps",
        "-min",
        help="Leave out runs whose last evaluation is before this step.",
        rich_help_panel=_SEL,
    ),
]
MaxSteps = Annotated[
    int | None,
    typer.Option(
        "--max-timesteps", "-max", help="Ignore data after this step.", rich_help_panel=_SEL
    ),
]
Output = Annotated[
    str, typer.Option("--output", "-o", help="Folder for the figures, tables and data files.")
]
Format = Annotated[str, typer.Option("--format", help="Figure format: png, pdf or svg.")]
Data = Annotated[
    str | None,
    typer.Option(
        "--data",
        "-i",
        "--input",
        help="Redraw from the .npz a previous call saved in its output folder, reading no log.",
    ),
]
Reps = Annotated[int, opt("reps", panel=_BOOT)]
Ci = Annotated[
    float,
    typer.Option("--ci", "-ci", "--ci-size", help="Interval coverage.", rich_help_panel=_BOOT),
]
Seed = Annotated[
    int,
    typer.Option(
        "--seed", help="Seed of the bootstrap: same seed, same intervals.", rich_help_panel=_BOOT
    ),
]
PerRun = Annotated[bool, typer.Option("--per-run", help="One line per run instead of the mean.")]
References = Annotated[
    str | None,
    typer.Option(
        "--references",
        help="YAML file of reference returns per env, added to the built-in table: "
        "'MyEnv-v0: {random: -50, expert: 120}'.",
    ),
]
Normalize = Annotated[
    str,
    typer.Option(
        "--normalize",
        help="reference: (return - random) / (expert - random) per env; none: raw returns.",
    ),
]
Engine = Annotated[
    str,
    typer.Option(
        "--bootstrap",
        help="fast: vectorized, the same draws as rliable; rliable: rliable's own (slow) code.",
        rich_help_panel=_BOOT,
    ),
]
Window = Annotated[
    int,
    typer.Option(
        "--window",
        "-w",
        "--episode-window",
        help="Episodes in the moving average of training returns.",
    ),
]


def selection(
    log_folder: list[str] | None,
    algos: list[str] | None,
    envs: list[str] | None,
    group_by: str = "config",
    min_timesteps: int = 0,
    max_timesteps: int | None = None,
    labels: list[str] | None = None,
    key: str = "results",
    backend: str | None = None,
) -> Selection:
    """The runs that ``realzoo plot``'s selection options name (checked, not yet read)."""
    from rlzoo_real.errors import UserError
    from rlzoo_real.plotting.views import Selection

    if key != "results":
        raise UserError(
            f"-k/--key {key}: realzoo plots the returns of evaluations.npz (its 'results' "
            "array, the RL Zoo's default key) and nothing else; success rates and episode "
            "lengths are not drawn."
        )
    from rlzoo_real.replay.finding import algo_folders

    folders = [Path(f) for f in (log_folder or ["logs"])]
    return Selection(
        labels=list(labels or []),
        log_folders=folders,
        algos=algo_folders(folders, list(algos or []), backend),
        envs=list(envs or []),
        group_by=group_by,
        min_timesteps=min_timesteps,
        max_timesteps=max_timesteps,
    )
