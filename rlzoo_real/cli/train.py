"""``realzoo train``: the RL Zoo's train command, same flags, same meaning."""

from __future__ import annotations

import math
import shlex
import sys
from typing import Annotated

import typer

from rlzoo_real.cli._common import user_errors
from rlzoo_real.cli._options import opt

__all__ = ["register"]

_ENV = "Environment"
_EVAL = "Evaluation and checkpoints"
_TRACK = "Tracking"
_TUNE = "Tuning (-optimize: the study realzoo tune runs)"

#: train options that mean nothing to a tuning study (parameter name -> flag shown)
_NOT_WITH_OPTIMIZE = {
    "resume": "--resume", "time_limit": "--time-limit", "keep_checkpoints": "--keep-checkpoints",
    "eval_freq": "--eval-freq", "save_freq": "--save-freq",
    "save_replay_buffer": "--save-replay-buffer", "trained_agent": "-i/--trained-agent",
    "truncate_last_trajectory": "--truncate-last-trajectory", "uuid": "-uuid/--uuid",
    "log_interval": "--log-interval", "tensorboard_log": "-tb/--tensorboard-log",
    "track": "--track", "wandb_project_name": "--wandb-project-name",
    "wandb_entity": "--wandb-entity", "wandb_group": "--wandb-group",
    "wandb_tags": "-tags/--wandb-tags", "progress": "-P/--progress",
    "eval_env_kwargs": "--eval-env-kwargs", "vec_env": "--vec-env",
    "updates_between_episodes": "--updates-between-episodes", "trial_id": "--trial-id",
}  # fmt: skip
#: options of a tuning study, refused on a plain training run
_TUNING_ONLY = {
    "n_trials": "--n-trials", "max_total_trials": "--max-total-trials", "n_jobs": "--n-jobs",
    "sampler": "--sampler", "pruner": "--pruner", "n_startup_trials": "--n-startup-trials",
    "n_evaluations": "--n-evaluations",
    "search_space": "--search-space", "no_optim_plots": "--no-optim-plots",
}  # fmt: skip
_TRIAL = {"storage": "--storage", "study_name": "--study-name"}


def train(
    ctx: typer.Context,
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
        typer.Option(
            "--trained-agent",
            "-i",
            help="Warm start from this .zip model (and the replay_buffer.pkl next to it).",
        ),
    ] = None,
    truncate_last_trajectory: Annotated[
        str,
        typer.Option(
            "--truncate-last-trajectory",
            metavar="BOOL",
            help="With -i and a HER replay buffer next to the model: drop the buffer's last, "
            "unfinished episode when loading it (true, the default), or keep it (false: the "
            "warm start continues that same episode).",
        ),
    ] = "true",
    uuid: Annotated[
        bool, typer.Option("--uuid", "-uuid", help="Append a UUID to the run folder name.")
    ] = False,
    log_interval: Annotated[
        int,
        typer.Option(
            "--log-interval",
            help="Log every N updates (-1: the algorithm's default; -2: no logging).",
        ),
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
        typer.Option("--wandb-tags", "-tags", metavar="TAG ...", rich_help_panel=_TRACK),
    ] = None,
    wandb_group: Annotated[
        str | None, typer.Option("--wandb-group", rich_help_panel=_TRACK)
    ] = None,
    progress: Annotated[
        bool, typer.Option("--progress", "-P", help="Show a progress bar.")
    ] = False,
    verbose: Annotated[
        int, typer.Option("--verbose", help="0: quiet, 1: training logs, 2: debug.")
    ] = 1,
    updates_between_episodes: Annotated[bool, opt("updates_between_episodes")] = False,
    preset: Annotated[str | None, opt("preset")] = None,
    optimize: Annotated[
        bool,
        typer.Option(
            "--optimize-hyperparameters",
            "-optimize",
            help="Run a tuning study instead of one training run: the study realzoo tune runs, "
            "with the options of this panel.",
            rich_help_panel=_TUNE,
        ),
    ] = False,
    n_trials: Annotated[
        int | None, typer.Option("--n-trials", help="As realzoo tune.", rich_help_panel=_TUNE)
    ] = None,
    max_total_trials: Annotated[
        int | None,
        typer.Option("--max-total-trials", help="As realzoo tune.", rich_help_panel=_TUNE),
    ] = None,
    n_jobs: Annotated[
        int | None,
        typer.Option(
            "--n-jobs",
            "--n-workers",
            help="Worker processes (the RL Zoo's threads; processes here, see realzoo tune).",
            rich_help_panel=_TUNE,
        ),
    ] = None,
    sampler: Annotated[
        str | None, typer.Option("--sampler", help="As realzoo tune.", rich_help_panel=_TUNE)
    ] = None,
    pruner: Annotated[
        str | None, typer.Option("--pruner", help="As realzoo tune.", rich_help_panel=_TUNE)
    ] = None,
    n_startup_trials: Annotated[
        int | None,
        typer.Option("--n-startup-trials", help="As realzoo tune.", rich_help_panel=_TUNE),
    ] = None,
    n_evaluations: Annotated[
        int | None,
        typer.Option("--n-evaluations", help="As realzoo tune.", rich_help_panel=_TUNE),
    ] = None,
    storage: Annotated[
        str | None,
        typer.Option(
            "--storage",
            help="Storage of the study (-optimize or --trial-id).",
            rich_help_panel=_TUNE,
        ),
    ] = None,
    study_name: Annotated[
        str | None,
        typer.Option(
            "--study-name",
            help="Name of the study (-optimize or --trial-id; default tune_<env>).",
            rich_help_panel=_TUNE,
        ),
    ] = None,
    search_space: Annotated[
        str | None,
        typer.Option(
            "--search-space",
            metavar="FILE.yml",
            help="As realzoo tune: narrow or extend the search space.",
            rich_help_panel=_TUNE,
        ),
    ] = None,
    no_optim_plots: Annotated[
        bool,
        typer.Option("--no-optim-plots", help="No PNG plots of the study.", rich_help_panel=_TUNE),
    ] = False,
    trial_id: Annotated[
        int | None,
        typer.Option(
            "--trial-id",
            metavar="N",
            help="Train with the hyperparameters trial N of a study tried (over the entry, under "
            "-params); the study is found by --study-name, --storage and -f as realzoo tune "
            "finds it.",
            rich_help_panel=_TUNE,
        ),
    ] = None,
    optimization_log_path: Annotated[
        str | None,
        typer.Option(
            "--optimization-log-path",
            hidden=True,
            help="Refused: every trial is already a full run folder under the study's trials/.",
        ),
    ] = None,
) -> None:
    """Train an agent with tuned hyperparameters into logs/<algo>/<env>_<N>/."""
    from rlzoo_real.api.request import train_args
    from rlzoo_real.api.train import announce, run_request
    from rlzoo_real.errors import UserError

    given = _given(ctx)
    if optimization_log_path is not None:
        raise UserError(
            "--optimization-log-path is not needed: every trial of a realzoo study is already "
            "a full run folder (evaluations.npz, best_model.zip, config.yml, monitor files) "
            "under <log-folder>/<algo>/<study>/trials/, whatever the command. Choose that place "
            "with -f and --study-name."
        )
    if seed is not None and seed < 0:  # the RL Zoo's --seed -1: a random seed
        seed = None
    if optimize:
        _refuse(
            given,
            _NOT_WITH_OPTIMIZE,
            "with -optimize",
            "a tuning study (realzoo tune) decides them for each trial or has no such setting",
        )
        from rlzoo_real.cli.tune import run_study
        from rlzoo_real.tuning.study import TuneRequest

        defaults = TuneRequest()
        run_study(
            TuneRequest(
                algo=algo, env=env, backend=backend, log_folder=log_folder,
                n_timesteps=None if n_timesteps < 0 else n_timesteps,
                n_trials=n_trials, max_total_trials=max_total_trials,
                n_workers=n_jobs if n_jobs is not None else defaults.n_workers,
                sampler=sampler or defaults.sampler, pruner=pruner or defaults.pruner,
                n_startup_trials=n_startup_trials if n_startup_trials is not None
                else defaults.n_startup_trials,
                n_evaluations=n_evaluations,
                eval_episodes=eval_episodes if "eval_episodes" in given else None,
                n_eval_envs=n_eval_envs if "n_eval_envs" in given else None,
                study_name=study_name, storage=storage, seed=seed,
                hyperparams=list(hyperparams or []), env_kwargs=list(env_kwargs or []),
                conf_file=conf_file, preset=preset, search_space=search_space, device=device,
                num_threads=num_threads,
                gym_packages=list(gym_packages or []), plots=not no_optim_plots, verbose=verbose,
            )
        )  # fmt: skip
        return
    tuning_only = _TUNING_ONLY if trial_id is not None else _TUNING_ONLY | _TRIAL
    _refuse(
        given,
        tuning_only,
        "without -optimize",
        "they set up a tuning study: add -optimize "
        "(or use realzoo tune)"
        + (
            ""
            if trial_id is not None
            else "; --storage and --study-name also name the study of --trial-id"
        ),
    )
    truncate = _parse_bool(truncate_last_trajectory, "--truncate-last-trajectory")
    hyperparams = list(hyperparams or [])
    if trial_id is not None:
        from rlzoo_real.algos.registry import get_algo
        from rlzoo_real.tuning.results import trial_overrides
        from rlzoo_real.tuning.storage import default_study_name

        spec = get_algo(algo, backend=backend)
        if not env:
            raise UserError("--trial-id needs --algo and --env (those the study tuned).")
        words = trial_overrides(
            log_folder=log_folder, algo=spec.name, algo_folder=spec.folder, env=env,
            study_name=study_name or default_study_name(env), storage=storage, number=trial_id,
        )  # fmt: skip
        typer.echo(f"Trial {trial_id}'s hyperparameters: {' '.join(words)}", err=True)
        hyperparams = [*words, *hyperparams]

    args = train_args(  # the request rz.train builds, from the values these words parsed to
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
        hyperparams=hyperparams,
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
        wandb_group=wandb_group,
        progress=progress,
        verbose=verbose,
        updates_between_episodes=updates_between_episodes,
        preset=preset,
        truncate_last_trajectory=truncate,
    )
    command = shlex.join(["realzoo", *sys.argv[1:]]) if sys.argv else "realzoo"
    result = run_request(args, command=command, on_start=announce)
    best = (
        f", best mean evaluation return {result.best_eval:.2f}"
        if not math.isnan(result.best_eval)
        else ""
    )
    for note in result.notes:
        typer.echo(f"Note: {note}", err=True)
    if result.status == "stopped":
        saved = (
            f"checkpoint at {result.checkpoint_steps} steps and model {result.final_model}"
            if result.checkpoint_steps is not None
            else "nothing (stopped at once)"
        )
        typer.echo(
            f"Stopped ({result.stop_reason}) at step {result.steps}{best}. Saved {saved}. "
            f"Resume with:\n  {result.resume_command}",
            err=True,
        )
    else:
        typer.echo(f"Finished {result.steps} steps in {result.wall_time_s:.1f} s{best}.")
        typer.echo(f"Run folder: {result.run_folder} (final model {result.final_model.name})")
    if result.exit_code:
        raise typer.Exit(result.exit_code)


def _given(ctx: typer.Context) -> set[str]:
    """Parameters the user typed (not left at their default)."""
    given = set()
    for name in ctx.params:
        source = ctx.get_parameter_source(name)
        if source is not None and source.name not in ("DEFAULT", "DEFAULT_MAP"):
            given.add(name)
    return given


def _refuse(given: set[str], options: dict[str, str], when: str, why: str) -> None:
    from rlzoo_real.errors import UserError

    typed = [flag for name, flag in options.items() if name in given]
    if typed:
        raise UserError(f"realzoo train {when} does not take {', '.join(typed)}: {why}.")


def _parse_bool(text: str, option: str) -> bool:
    from rlzoo_real.errors import UserError

    words = {"true": True, "1": True, "yes": True, "on": True}
    words.update({"false": False, "0": False, "no": False, "off": False})
    value = words.get(text.strip().lower())
    if value is None:
        raise UserError(f"{option} {text!r}: expected true or false (also 1/0, yes/no, on/off).")
    return value


def register(app: typer.Typer) -> None:
    """Add ``train`` to the ``realzoo`` app."""
    app.command("train")(user_errors(train))
