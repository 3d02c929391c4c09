"""The options of the commands that replay a run (enjoy, record, export), declared once,
and the request for the run and model they name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from rlzoo_real.replay.loading import RunRequest

__all__ = [
    "Algo",
    "AllowImport",
    "Backend",
    "Device",
    "Env",
    "EnvKwargs",
    "ExpId",
    "Folder",
    "GymPackages",
    "LoadBest",
    "LoadCheckpoint",
    "LoadLastCheckpoint",
    "NumThreads",
    "Target",
    "Unsafe",
    "request_from",
]

_RUN = "Which run and model"
_ENV = "Environment"
_LOAD = "Loading"

Target = Annotated[
    str | None,
    typer.Argument(
        metavar="[RUN]",
        help="A run folder (logs/sac/Pendulum-v1_1) or a model .zip in one. "
        "Without it: --algo, --env, -f and --exp-id.",
        show_default=False,
    ),
]
Algo = Annotated[
    str | None,
    typer.Option("--algo", "-a", help="Algorithm of the run.", rich_help_panel=_RUN),
]
Backend = Annotated[
    str,
    typer.Option(
        "--backend",
        help="What the run was trained with, as train's --backend: sb3 (PyTorch) or sbx (JAX); "
        "--algo sac --backend sbx finds the runs in <folder>/sac_sbx/ (as --algo sac_sbx does).",
        rich_help_panel=_RUN,
    ),
]
Env = Annotated[
    str | None,
    typer.Option("--env", "-e", help="Env id of the run, e.g. Pendulum-v1.", rich_help_panel=_RUN),
]
Folder = Annotated[
    str,
    typer.Option(
        "--folder", "-f", "--log-folder", help="Root of the log tree.", rich_help_panel=_RUN
    ),
]
ExpId = Annotated[
    int,
    typer.Option("--exp-id", help="Run id N of <env>_<N> (0: the latest).", rich_help_panel=_RUN),
]
LoadBest = Annotated[
    bool,
    typer.Option("--load-best", help="Load best_model.zip.", rich_help_panel=_RUN),
]
LoadCheckpoint = Annotated[
    int | None,
    typer.Option(
        "--load-checkpoint",
        metavar="STEPS",
        help="Load the checkpoint rl_model_<STEPS>_steps.zip.",
        rich_help_panel=_RUN,
    ),
]
LoadLastCheckpoint = Annotated[
    bool,
    typer.Option(
        "--load-last-checkpoint", help="Load the latest checkpoint.", rich_help_panel=_RUN
    ),
]
EnvKwargs = Annotated[
    list[str] | None,
    typer.Option(
        "--env-kwargs",
        metavar="KEY:VALUE ...",
        help="Env keyword arguments, over those the run was trained with.",
        rich_help_panel=_ENV,
    ),
]
GymPackages = Annotated[
    list[str] | None,
    typer.Option(
        "--gym-packages",
        metavar="MODULE ...",
        help="Modules to import that register envs (besides the run's own).",
        rich_help_panel=_ENV,
    ),
]
AllowImport = Annotated[
    list[str] | None,
    typer.Option(
        "--allow-import",
        metavar="MODULE_OR_CLASS",
        help="Let the run's files name classes of this module (and its submodules) or this "
        "one dotted class, and import it, besides the wrappers, callbacks and torch classes "
        "realzoo trusts; also needed for the run's gym_packages and module:Env ids. Importing "
        "runs the module's code: allow only code you trust.",
        rich_help_panel=_LOAD,
    ),
]
Device = Annotated[str, typer.Option("--device", help="auto, cpu or cuda.", rich_help_panel=_LOAD)]
NumThreads = Annotated[
    int,
    typer.Option(
        "--num-threads", help="Torch threads (<= 0: torch's default).", rich_help_panel=_LOAD
    ),
]
Unsafe = Annotated[
    bool,
    typer.Option(
        "--unsafe-pickle-load",
        help="DANGEROUS: load the model with Algo.load and the normalization statistics with "
        "pickle. Unpickling runs Python code stored in the file: a crafted zip or .pkl can do "
        "anything you can. By default realzoo rebuilds the model from the run's config.yml and "
        "reads only the weights. Use this only for files you trust that realzoo cannot "
        "rebuild (custom policy classes, a lone model file with --algo and --env).",
        rich_help_panel=_LOAD,
    ),
]


def request_from(
    target: str | None,
    *,
    algo: str | None,
    env: str | None,
    folder: str,
    exp_id: int,
    load_best: bool,
    load_checkpoint: int | None,
    load_last_checkpoint: bool,
    env_kwargs: list[str] | None,
    gym_packages: list[str] | None,
    device: str,
    unsafe_pickle_load: bool,
    allow_import: list[str] | None = None,
    backend: str = "sb3",
) -> RunRequest:
    """Collect the run-choosing options of enjoy, record and export into a request."""
    from rlzoo_real.replay.loading import RunRequest

    return RunRequest(
        target=target,
        algo=algo,
        env=env,
        log_folder=folder,
        exp_id=exp_id,
        load_best=load_best,
        load_checkpoint=load_checkpoint,
        load_last_checkpoint=load_last_checkpoint,
        env_kwargs=tuple(env_kwargs or ()),
        gym_packages=tuple(gym_packages or ()),
        device=device,
        unsafe_pickle_load=unsafe_pickle_load,
        allow_import=tuple(allow_import or ()),
        backend=backend,
    )
