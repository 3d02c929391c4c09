"""``realzoo enjoy`` and ``realzoo record``: replay a trained agent, print its episodes, film it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from rlzoo_real.cli._common import user_errors
from rlzoo_real.cli._replay_options import (
    Algo,
    AllowImport,
    Backend,
    Device,
    Env,
    EnvKwargs,
    ExpId,
    Folder,
    GymPackages,
    LoadBest,
    LoadCheckpoint,
    LoadLastCheckpoint,
    NumThreads,
    Target,
    Unsafe,
    request_from,
)

if TYPE_CHECKING:
    from pathlib import Path

    from rlzoo_real.replay.enjoy import Episode, ReplayResult
    from rlzoo_real.replay.loading import LoadedRun, RunRequest

__all__ = ["register"]

Seed = Annotated[int, typer.Option("--seed", help="Seed of the env (and of sampled actions).")]
NTimesteps = Annotated[
    int | None,
    typer.Option(
        "--n-timesteps",
        "-n",
        help="Steps to replay (default: 1000; no limit when --n-episodes is given).",
        show_default=False,
    ),
]
NEpisodes = Annotated[
    int | None,
    typer.Option("--n-episodes", help="Stop after this many finished episodes."),
]
NEnvs = Annotated[int, typer.Option("--n-envs", help="Envs stepped side by side.")]
Deterministic = Annotated[
    bool,
    typer.Option(
        "--deterministic/--stochastic",
        help="Deterministic actions (the policy's mode), or actions sampled from the policy.",
    ),
]
VideoFolder = Annotated[
    str | None,
    typer.Option(
        "--video-folder",
        "-o",
        help="Where the mp4 goes (default: <run>/videos).",
        show_default=False,
    ),
]


def describe(loaded: LoadedRun) -> str:
    """``sac on Pendulum-v1, final model (400 steps trained), rl_zoo3 run``."""
    steps = loaded.info.num_timesteps
    trained = f" ({steps} steps trained)" if steps is not None else ""
    origin = ", an rl_zoo3 run" if loaded.record and loaded.record.origin == "rl_zoo3" else ""
    normalized = (
        ", normalization statistics loaded and frozen" if loaded.spec.normalize is not None else ""
    )
    return f"{loaded.algo} on {loaded.env_id}, {loaded.choice.label}{trained}{origin}{normalized}"


def enjoy(
    target: Target = None,
    algo: Algo = None,
    env: Env = None,
    folder: Folder = "logs",
    exp_id: ExpId = 0,
    load_best: LoadBest = False,
    load_checkpoint: LoadCheckpoint = None,
    load_last_checkpoint: LoadLastCheckpoint = False,
    n_timesteps: NTimesteps = None,
    n_episodes: NEpisodes = None,
    n_envs: NEnvs = 1,
    deterministic: Deterministic = True,
    no_render: Annotated[
        bool, typer.Option("--no-render", help="Do not open a window (headless replay).")
    ] = False,
    record_video: Annotated[
        bool,
        typer.Option(
            "--record-video", help="Write an mp4 of the replay (offscreen, no window needed)."
        ),
    ] = False,
    video_folder: VideoFolder = None,
    seed: Seed = 0,
    env_kwargs: EnvKwargs = None,
    gym_packages: GymPackages = None,
    device: Device = "auto",
    num_threads: NumThreads = 1,
    unsafe_pickle_load: Unsafe = False,
    verbose: Annotated[
        int, typer.Option("--verbose", help="0: print nothing but errors; 1: every episode.")
    ] = 1,
    progress: Annotated[
        bool, typer.Option("--progress", "-P", help="Show a progress bar over the steps.")
    ] = False,
    reward_log: Annotated[
        str | None,
        typer.Option(
            "--reward-log",
            metavar="DIR",
            help="Write the replayed episodes as Monitor files (DIR/<env>.monitor.csv).",
        ),
    ] = None,
    custom_objects: Annotated[
        bool,
        typer.Option(
            "--custom-objects",
            help="Accepted for the RL Zoo's scripts; not needed: the model is rebuilt from "
            "config.yml and only its weights are read, so no pickled schedule is loaded.",
        ),
    ] = False,
    norm_reward: Annotated[
        bool,
        typer.Option("--norm-reward", hidden=True, help="Refused (see the README)."),
    ] = False,
    allow_import: AllowImport = None,
    backend: Backend = "sb3",
) -> None:
    """Replay a trained agent: env rebuilt as trained, episode returns and lengths printed."""
    from rlzoo_real.errors import UserError

    if norm_reward:
        raise UserError(
            "--norm-reward is not offered: realzoo reports the env's own returns (counted by the "
            "Monitor before any normalization), the numbers evaluations.npz and the plots use. "
            "A normalized return depends on the running statistics frozen at the end of "
            "training, so it compares with nothing; drop the flag."
        )
    if custom_objects and unsafe_pickle_load:
        raise UserError(
            "--custom-objects with --unsafe-pickle-load: realzoo does not pass replacement "
            "objects to Algo.load. Drop --unsafe-pickle-load: the default loading rebuilds the "
            "model from config.yml and never unpickles schedules, which is what --custom-objects "
            "works around in the RL Zoo."
        )
    if exp_id < 0 and target is None:  # the RL Zoo's --exp-id -1: the model is in <folder>/<algo>
        if not algo or not env:
            raise UserError(
                "--exp-id -1 needs --algo and --env (the model <folder>/<algo>/<env>.zip)."
            )
        target = str(
            _model_without_run_folder(folder, algo, env, load_best, load_checkpoint, backend)
        )
    request = request_from(
        target,
        algo=algo,
        env=env,
        folder=folder,
        exp_id=exp_id,
        load_best=load_best,
        load_checkpoint=load_checkpoint,
        load_last_checkpoint=load_last_checkpoint,
        env_kwargs=env_kwargs,
        gym_packages=gym_packages,
        device=device,
        unsafe_pickle_load=unsafe_pickle_load,
        allow_import=allow_import,
        backend=backend,
    )
    _run(
        request,
        n_timesteps=n_timesteps,
        n_episodes=n_episodes,
        n_envs=n_envs,
        deterministic=deterministic,
        render=not no_render,
        record_video=record_video,
        video_folder=video_folder,
        seed=seed,
        num_threads=num_threads,
        verbose=verbose,
        progress=progress,
        reward_log=reward_log,
    )


def _model_without_run_folder(
    folder: str,
    algo: str,
    env: str,
    load_best: bool,
    load_checkpoint: int | None,
    backend: str = "sb3",
) -> Path:
    from pathlib import Path

    from rlzoo_real.algos.registry import get_algo

    base = Path(folder) / get_algo(algo, backend=backend).folder  # sac, or sac_sbx
    if load_best:
        return base / "best_model.zip"
    if load_checkpoint is not None:
        return base / f"rl_model_{load_checkpoint}_steps.zip"
    return base / f"{env}.zip"


def record(
    target: Target = None,
    algo: Algo = None,
    env: Env = None,
    folder: Folder = "logs",
    exp_id: ExpId = 0,
    load_best: LoadBest = False,
    load_checkpoint: LoadCheckpoint = None,
    load_last_checkpoint: LoadLastCheckpoint = False,
    n_timesteps: NTimesteps = None,
    n_episodes: NEpisodes = None,
    n_envs: NEnvs = 1,
    deterministic: Deterministic = True,
    video_folder: VideoFolder = None,
    seed: Seed = 0,
    env_kwargs: EnvKwargs = None,
    gym_packages: GymPackages = None,
    device: Device = "auto",
    num_threads: NumThreads = 1,
    unsafe_pickle_load: Unsafe = False,
    allow_import: AllowImport = None,
    backend: Backend = "sb3",
) -> None:
    """Film a trained agent: an mp4 of N steps, rendered offscreen (works headless)."""
    enjoy(
        target, algo, env, folder, exp_id, load_best, load_checkpoint, load_last_checkpoint,
        n_timesteps, n_episodes, n_envs, deterministic, no_render=True, record_video=True,
        video_folder=video_folder, seed=seed, env_kwargs=env_kwargs, gym_packages=gym_packages,
        device=device, num_threads=num_threads, unsafe_pickle_load=unsafe_pickle_load,
        allow_import=allow_import, backend=backend,
    )  # fmt: skip


def _run(
    request: RunRequest,
    *,
    n_timesteps: int | None,
    n_episodes: int | None,
    n_envs: int,
    deterministic: bool,
    render: bool,
    record_video: bool,
    video_folder: str | None,
    seed: int,
    num_threads: int,
    verbose: int = 1,
    progress: bool = False,
    reward_log: str | None = None,
) -> None:
    from rlzoo_real.replay.enjoy import ReplayOptions, RewardLog
    from rlzoo_real.replay.enjoy import enjoy as run_enjoy

    echo = typer.echo if verbose > 0 else (lambda *a, **k: None)

    if n_timesteps is None and n_episodes is None:
        n_timesteps = 1000
    options = ReplayOptions(
        n_timesteps=n_timesteps,
        n_episodes=n_episodes,
        n_envs=n_envs,
        deterministic=deterministic,
        render=render,
        seed=seed,
        record_video=record_video,
        video_folder=video_folder,
        num_threads=num_threads,
    )

    log: list[RewardLog] = []
    bar: list[Any] = []

    def on_start(loaded: LoadedRun, remarks: list[str]) -> None:
        if reward_log is not None:
            log.append(RewardLog(reward_log, loaded.env_id))
        if progress:
            bar.append(_progress_bar(options.n_timesteps))
        for remark in remarks:
            echo(f"Note: {remark}", err=True)
        limits = []
        if options.n_timesteps is not None:
            limits.append(f"{options.n_timesteps} steps")
        if options.n_episodes is not None:
            limits.append(f"{options.n_episodes} episodes")
        actions = "deterministic" if deterministic else "stochastic"
        envs = f"{n_envs} envs" if n_envs > 1 else "1 env"
        echo(f"Replaying {loaded.choice.path}: {describe(loaded)}")
        echo(f"{' or '.join(limits).capitalize()}, {actions} actions, seed {seed}, {envs}")

    def on_episode(episode: Episode) -> None:
        where = f" (env {episode.env_index})" if n_envs > 1 else ""
        cost = episode.continuity_cost
        smooth = f", continuity cost {cost:.4f}" if cost is not None else ""
        echo(
            f"Episode {episode.number}{where}: return {episode.episode_return:.2f}, "
            f"length {episode.length}{smooth}"
        )
        if log:
            log[0].add(episode)

    try:
        result = run_enjoy(
            request,
            options,
            on_start=on_start,
            on_episode=on_episode,
            on_step=(lambda: bar[0].update(1)) if progress else None,
        )
    finally:
        for item in (*bar, *log):
            item.close()
    if verbose > 0:
        _summary(result)
    if log:
        typer.echo(f"Reward log: {log[0].folder}", err=True)


def _progress_bar(total: int | None) -> Any:
    """A tqdm bar on standard error (tqdm comes with SB3's progress-bar extra)."""
    from rlzoo_real.errors import UserError

    try:
        from tqdm import tqdm
    except ImportError:
        raise UserError("-P/--progress needs tqdm: pip install tqdm.") from None
    return tqdm(total=total, unit="step", dynamic_ncols=True)


def _summary(result: ReplayResult) -> None:
    import numpy as np

    for part in result.unfinished:
        typer.echo(
            f"Unfinished at the end (env {part.env_index}): return so far "
            f"{part.episode_return:.2f} after {part.length} steps"
        )
    if result.episodes:
        returns, lengths = np.array(result.returns), np.array(result.lengths)
        typer.echo(
            f"Summary: {len(returns)} episode{'s' if len(returns) > 1 else ''} in "
            f"{result.steps} steps, return "
            f"{returns.mean():.2f} +/- {returns.std():.2f} (min {returns.min():.2f}, "
            f"max {returns.max():.2f}), length {lengths.mean():.1f} +/- {lengths.std():.1f}"
            + (
                f", continuity cost {costs.mean():.4f} +/- {costs.std():.4f}"
                if len(costs := np.array(result.continuity_costs))
                else ""
            )
        )
    else:
        typer.echo(f"Summary: no episode finished in {result.steps} steps (raise -n).")
    if result.video is not None:
        typer.echo(f"Video: {result.video} ({result.frames} frames)")


def register(app: typer.Typer) -> None:
    """Add ``enjoy`` and ``record`` to the ``realzoo`` app."""
    app.command("enjoy")(user_errors(enjoy))
    app.command("record")(user_errors(record))
