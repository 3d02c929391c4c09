"""``realzoo train``: the RL Zoo's train command, same flags, same meaning."""

from __future__ import annotations

import shlex
import sys
from typing import TYPE_CHECKING, Annotated

import typer

from rlzoo_real.cli._common import user_errors
from rlzoo_real.cli._options import opt

if TYPE_CHECKING:
    from rlzoo_real.runs import RunFolder
    from rlzoo_real.training import Prepared

__all__ = ["register"]

_ENV = "Environment"
_EVAL = "Evaluation and checkpoints"
_TRACK = "Tracking"


def train(
    algo: Annotated[str, opt("algo")] = "",
    env: Annotated[str, opt("env")] = "",
    backend: Annotated[str, opt("backend")] = "sb3",
    resume: Annotated[
        str | None,
        typer.Option(
            "--resume",
            metavar="RUN|latest|N",
            help="Continue a run from its latest complete checkpoint, in its own folder: a run "
            "folder, or 'latest' / a run id with --algo, --env and -f. -n sets a new total.",
            rich_help_panel=_EVAL,
        ),
    ] = None,
    time_limit: Annotated[
        float | None,
        typer.Option(
            "--time-limit",
            metavar="HOURS",
            help="Stop cleanly (checkpoint, resume command, exit status 75) after this much "
            "wall-clock time.",
            rich_help_panel=_EVAL,
        ),
    ] = None,
    keep_checkpoints: Annotated[
        int,
        typer.Option(
            "--keep-checkpoints",
            help="Keep the last K checkpoints (0: all). The replay buffer is kept with the latest "
            "only, unless --save-replay-buffer.",
            rich_help_panel=_EVAL,
        ),
    ] = 0,
    log_folder: Annotated[str, opt("log_folder")] = "logs",
    n_timesteps: Annotated[
        int,
        typer.Option("--n-timesteps", "-n", help="Training steps (-1: the entry's n_timesteps)."),
    ] = -1,
    hyperparams: Annotated[list[str] | None, opt("hyperparams")] = None,
    conf_file: Annotated[str | None, opt("conf_file")] = None,
    env_kwargs: Annotated[list[str] | None, opt("env_kwargs", panel=_ENV)] = None,
    eval_env_kwargs: Annotated[list[str] | None, opt("eval_env_kwargs", panel=_ENV)] = None,
    vec_env: Annotated[str, opt("vec_env", panel=_ENV)] = "dummy",
    gym_packages: Annotated[list[str] | None, opt("gym_packages", panel=_ENV)] = None,
    eval_freq: Annotated[
        int,
        typer.Option(
            "--eval-freq", help="Evaluate every N steps (-1: no evaluation).", rich_help_panel=_EVAL
        ),
    ] = 25000,
    eval_episodes: Annotated[int, opt("eval_episodes", panel=_EVAL)] = 5,
    n_eval_envs: Annotated[int, opt("n_eval_envs", panel=_EVAL)] = 1,
    save_freq: Annotated[
        int,
        typer.Option(
            "--save-freq",
            help="Write a resumable checkpoint every N steps, at rollout boundaries (0: about ten "
            "per run; -1: none, except when stopped).",
            rich_help_panel=_EVAL,
        ),
    ] = 0,
    save_replay_buffer: Annotated[
        bool,
        typer.Option(
            "--save-replay-buffer",
            help="Save the replay buffer with checkpoints and at the end.",
            rich_help_panel=_EVAL,
        ),
    ] = False,
    seed: Annotated[
        int | None,
        typer.Option("--seed", help="Random seed (default: drawn at random and recorded)."),
    ] = None,
    device: Annotated[str, opt("device")] = "auto",
    num_threads: Annotated[int, opt("num_threads")] = 1,
    trained_agent: Annotated[
        str | None,
        typer.Option("--trained-agent", "-i", help="Warm start from this .zip model."),
    ] = None,
    uuid: Annotated[
        bool, typer.Option("--uuid", help="Append a UUID to the run folder name.")
    ] = False,
    log_interval: Annotated[
        int,
        typer.Option("--log-interval", help="Log every N updates (-1: the algorithm's default)."),
    ] = -1,
    tensorboard_log: Annotated[
        str | None,
        typer.Option(
            "--tensorboard-log", "-tb", help="TensorBoard log folder.", rich_help_panel=_TRACK
        ),
    ] = None,
    track: Annotated[
        bool,
        typer.Option(
            "--track",
            help="Log config and metrics to Weights & "
            "Biases (WANDB_MODE=offline works without network).",
            rich_help_panel=_TRACK,
        ),
    ] = False,
    wandb_project_name: Annotated[
        str, typer.Option("--wandb-project-name", rich_help_panel=_TRACK)
    ] = "realzoo",
    wandb_entity: Annotated[
        str | None,
        typer.Option("--wandb-entity", rich_help_panel=_TRACK),
    ] = None,
    wandb_tags: Annotated[
        list[str] | None,
        typer.Option("--wandb-tags", metavar="TAG ...", rich_help_panel=_TRACK),
    ] = None,
    progress: Annotated[bool, typer.Option("--progress", help="Show a progress bar.")] = False,
    verbose: Annotated[
        int, typer.Option("--verbose", help="0: quiet, 1: training logs, 2: debug.")
    ] = 1,
    updates_between_episodes: Annotated[bool, opt("updates_between_episodes")] = False,
    preset: Annotated[str | None, opt("preset")] = None,
) -> None:
    """Train an agent with tuned hyperparameters into logs/<algo>/<env>_<N>/."""
    from rlzoo_real.training import TrainArgs
    from rlzoo_real.training import train as run_training

    args = TrainArgs(
        algo=algo,
        backend=backend,
        env=env,
        log_folder=log_folder,
        n_timesteps=n_timesteps,
        eval_freq=eval_freq,
        eval_episodes=eval_episodes,
        n_eval_envs=n_eval_envs,
        save_freq=save_freq,
        keep_checkpoints=keep_checkpoints,
        time_limit=time_limit,
        resume=resume,
        save_replay_buffer=save_replay_buffer,
        seed=seed,
        hyperparams=list(hyperparams or []),
        env_kwargs=list(env_kwargs or []),
        eval_env_kwargs=list(eval_env_kwargs or []),
        conf_file=conf_file,
        vec_env=vec_env,
        device=device,
        num_threads=num_threads,
        trained_agent=trained_agent,
        gym_packages=list(gym_packages or []),
        uuid=uuid,
        log_interval=log_interval,
        tensorboard_log=tensorboard_log,
        track=track,
        wandb_project_name=wandb_project_name,
        wandb_entity=wandb_entity,
        wandb_tags=list(wandb_tags or []),
        progress=progress,
        verbose=verbose,
        updates_between_episodes=updates_between_episodes,
        preset=preset,
    )
    command = shlex.join(["realzoo", *sys.argv[1:]]) if sys.argv else "realzoo"
    result = run_training(args, command=command, on_start=_announce)
    best = (
        f", best mean evaluation return {result.best_mean_reward:.2f}"
        if result.best_mean_reward is not None
        else ""
    )
    for note in result.notes:
        typer.echo(f"Note: {note}", err=True)
    if result.status == "stopped":
        saved = (
            f"checkpoint at {result.checkpoint.steps} steps and model {result.run.final_model}"
            if result.checkpoint is not None
            else "nothing (stopped at once)"
        )
        typer.echo(
            f"Stopped ({result.stop_reason}) at step {result.num_timesteps}{best}. Saved {saved}. "
            f"Resume with:\n  {result.resume_command}",
            err=True,
        )
    else:
        typer.echo(f"Finished {result.num_timesteps} steps in {result.wall_time:.1f} s{best}.")
        typer.echo(f"Run folder: {result.run.path} (final model {result.run.final_model.name})")
    if result.exit_code:
        raise typer.Exit(result.exit_code)


def _announce(prepared: Prepared, run: RunFolder) -> None:
    if prepared.notice:
        typer.echo(f"Note: {prepared.notice}", err=True)
    spec = prepared.spec
    verb = "Resuming" if prepared.args.resume else "Training"
    typer.echo(
        f"{verb} {spec.algo} on {spec.env_id} to {spec.n_timesteps} steps "
        f"({spec.source}, seed {prepared.seed}) in {run.path}"
    )


def register(app: typer.Typer) -> None:
    """Add ``train`` to the ``realzoo`` app."""
    app.command("train")(user_errors(train))
