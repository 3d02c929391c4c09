"""Replaying a trained agent: ``realzoo enjoy`` and ``realzoo record``.

:func:`enjoy` loads a run through :func:`rlzoo_real.replay.loading.open_run` (env rebuilt as
trained, normalization frozen, model rebuilt from config with its weights), then
:func:`replay` steps it and reports every finished episode. Episode returns and
lengths are counted the way ``stable_baselines3``'s ``evaluate_policy`` counts them
(from the ``Monitor`` wrapper when the env has one), so with the same env and seed
the two give the same numbers.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rlzoo_real.errors import UserError
from rlzoo_real.replay.loading import LoadedRun, RunRequest

__all__ = ["RewardLog", "Episode", "ReplayOptions", "ReplayResult", "enjoy", "replay", "video_path"]


@dataclass(frozen=True)
class ReplayOptions:
    """How to replay.

    Attributes:
        n_timesteps: steps to take (each step advances every env); None: no step limit.
        n_episodes: stop once this many episodes have finished; None: no limit.
        n_envs: envs stepped side by side.
        deterministic: take the policy's deterministic action (else sample).
        render: show a window when a display is available.
        seed: seed of the first env (env ``i`` gets ``seed + i``) and of the model.
        record_video: write an mp4 of the replay (offscreen rendering, no window).
        video_folder: where the mp4 goes (default: ``<run>/videos``).
        num_threads: torch threads (``<= 0``: torch's default).
    """

    n_timesteps: int | None = 1000
    n_episodes: int | None = None
    n_envs: int = 1
    deterministic: bool = True
    render: bool = True
    seed: int = 0
    record_video: bool = False
    video_folder: str | None = None
    num_threads: int = 1


@dataclass(frozen=True)
class Episode:
    """One episode of a replay: its number (from 1), env, return and length, and its
    continuity cost (mean absolute change of the action between steps; None when the
    env's actions are not Box, see :mod:`rlzoo_real.envs.continuity`)."""

    number: int
    env_index: int
    episode_return: float
    length: int
    continuity_cost: float | None = None


@dataclass(frozen=True)
class ReplayResult:
    """What a replay saw.

    Attributes:
        episodes: finished episodes, in the order they finished.
        steps: steps taken (each step advances every env).
        unfinished: episodes cut by the step limit (return and length so far).
        video: the mp4 written, or None.
        frames: frames in the video.
    """

    episodes: tuple[Episode, ...]
    steps: int
    unfinished: tuple[Episode, ...] = ()
    video: Path | None = None
    frames: int = 0

    @property
    def returns(self) -> list[float]:
        return [e.episode_return for e in self.episodes]

    @property
    def lengths(self) -> list[int]:
        return [e.length for e in self.episodes]

    @property
    def continuity_costs(self) -> list[float]:
        """The measured continuity costs of the finished episodes (empty: not measured)."""
        costs = [e.continuity_cost for e in self.episodes if e.continuity_cost is not None]
        return [c for c in costs if c == c]  # NaN: a one-step episode has no change


def replay(
    model: Any,
    env: Any,
    *,
    n_timesteps: int | None,
    n_episodes: int | None = None,
    deterministic: bool = True,
    on_episode: Callable[[Episode], None] | None = None,
    on_frame: Callable[[Any], None] | None = None,
) -> ReplayResult:
    """Step ``model`` in the vectorized ``env`` and collect finished episodes.

    Args:
        model: anything with SB3's ``predict(obs, state, episode_start, deterministic)``.
        env: a VecEnv; rewards should be unnormalized (a frozen VecNormalize is).
        n_timesteps: steps to take, or None for no limit (then ``n_episodes`` is needed).
        n_episodes: stop once this many episodes have finished.
        deterministic: deterministic actions, or sampled ones.
        on_episode: called with each finished episode as it finishes.
        on_frame: called with ``env`` after the reset and after every step (to record).

    Returns:
        The finished episodes, the steps taken and the unfinished episodes.
    """
    import numpy as np
    from stable_baselines3.common.monitor import Monitor
    from stable_baselines3.common.vec_env import VecMonitor, is_vecenv_wrapped

    from rlzoo_real.envs.continuity import episode_cost

    if n_timesteps is None and n_episodes is None:
        raise ValueError("give n_timesteps or n_episodes, or both")
    n_envs = env.num_envs
    monitored = is_vecenv_wrapped(env, VecMonitor) or env.env_is_wrapped(Monitor)[0]
    returns = np.zeros(n_envs)
    lengths = np.zeros(n_envs, dtype=int)
    episodes: list[Episode] = []
    obs = env.reset()
    if on_frame is not None:
        on_frame(env)
    state = None
    episode_start = np.ones(n_envs, dtype=bool)
    steps = 0
    while n_timesteps is None or steps < n_timesteps:
        action, state = model.predict(
            obs, state=state, episode_start=episode_start, deterministic=deterministic
        )
        obs, rewards, dones, infos = env.step(action)
        steps += 1
        if on_frame is not None:
            on_frame(env)
        returns += rewards
        lengths += 1
        for i in np.flatnonzero(dones):
            info = infos[i]
            if not monitored or "episode" in info:
                ret = info["episode"]["r"] if monitored else returns[i]
                length = info["episode"]["l"] if monitored else lengths[i]
                cost = episode_cost(info) if monitored else None
                episode = Episode(len(episodes) + 1, int(i), float(ret), int(length), cost)
                episodes.append(episode)
                if on_episode is not None:
                    on_episode(episode)
            returns[i], lengths[i] = 0.0, 0
        episode_start = dones
        if n_episodes is not None and len(episodes) >= n_episodes:
            break
    unfinished = tuple(
        Episode(0, i, float(returns[i]), int(lengths[i])) for i in range(n_envs) if lengths[i] > 0
    )
    return ReplayResult(tuple(episodes), steps, unfinished)


def video_path(loaded: LoadedRun, options: ReplayOptions) -> Path:
    """The mp4 of ``--record-video``: ``<run>/videos/<model>-<algo>-<env>-step-0-to-step-N.mp4``."""
    from rlzoo_real.runs.folder import env_folder_name

    run_path = loaded.record.folder.path if loaded.record else loaded.choice.path.parent
    folder = Path(options.video_folder) if options.video_folder else run_path / "videos"
    span = (
        f"step-0-to-step-{options.n_timesteps}"
        if options.n_timesteps is not None
        else f"{options.n_episodes}-episodes"
    )
    name = f"{loaded.choice.slug}-{loaded.algo}-{env_folder_name(loaded.env_id)}-{span}.mp4"
    return folder / name


def enjoy(
    request: RunRequest,
    options: ReplayOptions,
    *,
    on_start: Callable[[LoadedRun, list[str]], None] | None = None,
    on_episode: Callable[[Episode], None] | None = None,
    on_step: Callable[[], None] | None = None,
) -> ReplayResult:
    """Load the run and model of ``request`` and replay it as ``options`` say.

    Args:
        request: which run and which of its models.
        options: how long, how many envs, rendering and recording.
        on_start: called once loaded, with the loaded run and remarks for the user.
        on_episode: called with each finished episode.
        on_step: called after every step (each step advances every env), for a progress bar.

    Raises:
        UserError: a bad request (see :func:`rlzoo_real.replay.loading.open_run`) or options.
    """
    from rlzoo_real.replay.loading import open_run
    from rlzoo_real.replay.video import Mp4Writer, has_display, prepare_headless_rendering

    _check_options(options)
    _set_threads(options.num_threads)
    remarks: list[str] = []
    render_mode: str | None = None
    if options.record_video:
        render_mode = "rgb_array"
        prepare_headless_rendering()
        Mp4Writer.check_available()
    elif options.render and has_display():
        render_mode = "human"
    elif options.render:
        remarks.append("no display: not rendering (--record-video writes an mp4 instead)")
    loaded = open_run(request, n_envs=options.n_envs, seed=options.seed, render_mode=render_mode)
    try:
        from stable_baselines3.common.utils import set_random_seed

        set_random_seed(options.seed)
        if not options.deterministic and getattr(loaded.model, "use_sde", False):
            loaded.model.policy.reset_noise(options.n_envs)
        if on_start is not None:
            on_start(loaded, [*loaded.notes, *remarks])
        steps = [0]

        def step(_env: Any) -> None:  # replay calls on_frame after the reset too
            if on_step is not None and steps[0]:
                on_step()
            steps[0] += 1

        path = video_path(loaded, options) if options.record_video else None
        with Mp4Writer(path, fps=_fps(loaded.env)) if path else contextlib.nullcontext() as writer:

            def frame(env: Any) -> None:
                if writer is not None:
                    writer.add(_frame(env))
                step(env)

            result = replay(
                loaded.model,
                loaded.env,
                n_timesteps=options.n_timesteps,
                n_episodes=options.n_episodes,
                deterministic=options.deterministic,
                on_episode=on_episode,
                on_frame=frame if writer is not None or on_step is not None else None,
            )
        if writer is None:
            return result
        return ReplayResult(result.episodes, result.steps, result.unfinished, path, writer.frames)
    finally:
        loaded.close()


def _check_options(options: ReplayOptions) -> None:
    if options.n_timesteps is not None and options.n_timesteps < 1:
        raise UserError(f"-n/--n-timesteps must be at least 1, got {options.n_timesteps}.")
    if options.n_episodes is not None and options.n_episodes < 1:
        raise UserError(f"--n-episodes must be at least 1, got {options.n_episodes}.")
    if options.n_timesteps is None and options.n_episodes is None:
        raise UserError("Give -n STEPS or --n-episodes N.")
    if options.n_envs < 1:
        raise UserError(f"--n-envs must be at least 1, got {options.n_envs}.")


def _set_threads(num_threads: int) -> None:
    import torch

    if num_threads > 0:
        torch.set_num_threads(num_threads)


def _fps(env: Any) -> float:
    metadata = env.get_attr("metadata")[0] or {}
    fps = metadata.get("render_fps")
    return float(fps) if isinstance(fps, int | float) and fps > 0 else 30.0


def _frame(env: Any) -> Any:
    from stable_baselines3.common.vec_env.base_vec_env import tile_images

    images = [image for image in env.get_images() if image is not None]
    if not images:
        raise UserError(
            "The env returned no image to record (its render_mode is not rgb_array, or it "
            "cannot render offscreen). For MuJoCo without a display set MUJOCO_GL=egl or osmesa."
        )
    return images[0] if len(images) == 1 else tile_images(images)


class RewardLog:
    """The episodes of a replay as Monitor files (``<folder>/<env index>.monitor.csv``).

    The RL Zoo's ``enjoy --reward-log DIR``: the same format as the training monitor files
    (``r``, ``l``, ``t`` after a JSON header), so SB3's ``load_results`` reads them back.
    """

    def __init__(self, folder: str | Path, env_id: str) -> None:
        import time

        self.folder = Path(folder)
        self.env_id = env_id
        self.t_start = time.time()
        self._writers: dict[int, Any] = {}

    def add(self, episode: Episode) -> None:
        """Write one finished episode (time: seconds since the log was opened)."""
        import time

        from stable_baselines3.common.monitor import ResultsWriter

        writer = self._writers.get(episode.env_index)
        if writer is None:
            self.folder.mkdir(parents=True, exist_ok=True)
            writer = ResultsWriter(
                str(self.folder / f"{episode.env_index}.monitor.csv"),
                header={"t_start": self.t_start, "env_id": self.env_id},
            )
            self._writers[episode.env_index] = writer
        writer.write_row(
            {
                "r": round(float(episode.episode_return), 6),
                "l": int(episode.length),
                "t": round(time.time() - self.t_start, 6),
            }
        )

    def close(self) -> None:
        for writer in self._writers.values():
            writer.close()
        self._writers.clear()
