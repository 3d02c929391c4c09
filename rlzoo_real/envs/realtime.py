"""Real-time operation: step an env at a fixed control frequency in wall-clock time.

:class:`RealTime` makes every ``step`` last one control period: after the wrapped
env has stepped, it sleeps until the step's deadline, so the agent sees observations
at a steady rate, as on a physical system. A step that returns more than
``tolerance_s`` after its deadline is an *overrun* (the time since the previous step
returned, spent by the agent choosing its action and by the env, was longer than one
period, or the OS woke the sleep late). Overruns are counted and reported in ``info``
(per step and per episode), and :class:`RealTimeLogger` writes them to
``progress.csv`` during training.

Scheduling rules:

* Deadlines are computed from a reference time (``anchor + k * period``), never by
  sleeping a fixed amount, so small delays do not add up into drift.
* The schedule starts at the first ``step`` after a ``reset``: the time between a
  reset and the first step (where between-episode learning happens, see
  ``realzoo train --updates-between-episodes``) is never an overrun.
* After an overrun the schedule is *re-anchored*: the next deadline is one period
  after the late step ended. Missed periods are dropped, not caught up, because a
  burst of short periods (sending several actions in quick succession) is worse for
  a physical system than one long period.

In a hyperparameter file (``RealTime`` is also the wrapper registry's short name)::

    env_wrapper:
      - rlzoo_real.envs.realtime.RealTime: {frequency_hz: 50}
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, SupportsFloat

import gymnasium as gym
from stable_baselines3.common.callbacks import BaseCallback

from rlzoo_real.errors import UserError

if TYPE_CHECKING:
    from rlzoo_real.algos.registry import AlgoSpec
    from rlzoo_real.config.spec import RunSpec

__all__ = [
    "RealTime",
    "RealTimeArgumentError",
    "RealTimeLogger",
    "between_episode_overrides",
    "check_between_episodes",
    "realtime_callbacks",
]

#: key of the per-step timing record in ``info``
STEP_KEY = "realtime"
#: key of the per-episode summary in the ``info`` of an episode's last step
EPISODE_KEY = "realtime_episode"


class RealTimeArgumentError(UserError, ValueError):
    """A bad ``RealTime`` argument: a user's mistake (exit 2 in the CLI), and a ValueError."""


class RealTime(gym.Wrapper[Any, Any, Any, Any]):
    """Keep a fixed control period in wall-clock time and record overruns.

    Each step's ``info`` gets ``info["realtime"]``: ``late_s`` (how far past its
    deadline the step returned: the agent and env took too long, or the OS woke the
    sleep late; tens of microseconds when on time), ``overrun`` (``late_s >
    tolerance_s``), ``period_s`` (time since the previous step returned; None on an
    episode's first step), ``overruns`` and ``worst_late_s`` (totals since the wrapper
    was made). The last step of an episode also gets ``info["realtime_episode"]``:
    ``steps``, ``overruns``, ``late_s`` (summed lateness of its overruns) and
    ``worst_late_s`` for that episode.
    ``terminated`` and ``truncated`` pass through unchanged.

    Args:
        env: the env to wrap.
        frequency_hz: control frequency (steps per second), > 0.
        tolerance_s: lateness up to this is not an overrun (timer and scheduler jitter);
            default 1 ms, or a tenth of the period above 100 Hz.
    """

    def __init__(
        self, env: gym.Env[Any, Any], frequency_hz: float, tolerance_s: float | None = None
    ) -> None:
        if (
            isinstance(frequency_hz, bool)
            or not isinstance(frequency_hz, int | float)
            or not math.isfinite(frequency_hz)
            or frequency_hz <= 0
        ):
            raise RealTimeArgumentError(
                f"RealTime: frequency_hz must be a positive number of steps per second, got "
                f"{frequency_hz!r}. In a hyperparameter file: env_wrapper: "
                "[{rlzoo_real.envs.realtime.RealTime: {frequency_hz: 50}}]."
            )
        if tolerance_s is None:
            tolerance_s = min(0.001, 0.1 / frequency_hz)
        if (
            isinstance(tolerance_s, bool)
            or not isinstance(tolerance_s, int | float)
            or not 0 <= tolerance_s < 1 / frequency_hz
        ):
            raise RealTimeArgumentError(
                f"RealTime: tolerance_s must be >= 0 and below one period ({1 / frequency_hz} s "
                f"at {frequency_hz} Hz), got {tolerance_s!r}."
            )
        super().__init__(env)
        self.frequency_hz = float(frequency_hz)
        self.period_s = 1.0 / self.frequency_hz
        self.tolerance_s = float(tolerance_s)
        self.total_steps = 0
        self.total_overruns = 0
        self.worst_late_s = 0.0
        self._new_episode()

    def _new_episode(self) -> None:
        self._deadline: float | None = None  # None: the schedule starts at the next step
        self._last_return: float | None = None
        self.episode_steps = 0
        self.episode_overruns = 0
        self.episode_late_s = 0.0
        self.episode_worst_late_s = 0.0

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        """Reset the env; the schedule starts again at the next step."""
        self._new_episode()
        return self.env.reset(seed=seed, options=options)

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        """Step the env, then sleep until this step's deadline (see the module notes)."""
        start = time.perf_counter()
        if self._deadline is None:
            self._deadline = start + self.period_s
        else:
            self._deadline += self.period_s
        obs, reward, terminated, truncated, info = self.env.step(action)
        now = time.perf_counter()
        if now < self._deadline:
            time.sleep(self._deadline - now)
            now = time.perf_counter()
        late = now - self._deadline  # work past the deadline, or the OS waking us late
        overrun = late > self.tolerance_s
        if overrun:
            self._deadline = now  # re-anchor: the next deadline is one period from here
        late = max(late, 0.0)
        period = now - self._last_return if self._last_return is not None else None
        self._last_return = now
        self.total_steps += 1
        self.episode_steps += 1
        if overrun:
            self.total_overruns += 1
            self.episode_overruns += 1
            self.episode_late_s += late
            self.episode_worst_late_s = max(self.episode_worst_late_s, late)
            self.worst_late_s = max(self.worst_late_s, late)
        info = dict(info)
        info[STEP_KEY] = {
            "late_s": late,
            "overrun": overrun,
            "period_s": period,
            "overruns": self.total_overruns,
            "worst_late_s": self.worst_late_s,
        }
        if terminated or truncated:
            info[EPISODE_KEY] = {
                "steps": self.episode_steps,
                "overruns": self.episode_overruns,
                "late_s": self.episode_late_s,
                "worst_late_s": self.episode_worst_late_s,
            }
        return obs, reward, terminated, truncated, info

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        # Clock readings mean nothing in another process (a resumed run): the schedule
        # starts again at the next step, as after a reset, and that gap is no overrun.
        state["_deadline"] = None
        state["_last_return"] = None
        return state


class RealTimeLogger(BaseCallback):
    """Write the RealTime wrapper's timing to the SB3 logger (``progress.csv``).

    Records ``rollout/overruns`` (overruns so far, all training envs),
    ``rollout/ep_overruns_mean`` (mean overruns per episode, last 100 episodes),
    ``time/control_period_ms`` (mean measured period, last 100 steps),
    ``time/control_period_max_ms`` and ``time/worst_lateness_ms``.
    """

    def __init__(self) -> None:
        super().__init__()
        self.totals: dict[int, int] = {}
        self.worst: dict[int, float] = {}
        self.periods: deque[float] = deque(maxlen=100)
        self.episodes: deque[int] = deque(maxlen=100)

    def _on_step(self) -> bool:
        infos = self.locals.get("infos") or ()
        seen = False
        for i, info in enumerate(infos):
            record = info.get(STEP_KEY)
            if record is None:
                continue
            seen = True
            self.totals[i] = int(record["overruns"])
            self.worst[i] = float(record["worst_late_s"])
            if record["period_s"] is not None:
                self.periods.append(float(record["period_s"]))
            episode = info.get(EPISODE_KEY)
            if episode is not None:
                self.episodes.append(int(episode["overruns"]))
        if seen:
            self.logger.record("rollout/overruns", sum(self.totals.values()))
            self.logger.record("time/worst_lateness_ms", 1000 * max(self.worst.values()))
            if self.periods:
                self.logger.record(
                    "time/control_period_ms", 1000 * sum(self.periods) / len(self.periods)
                )
                self.logger.record("time/control_period_max_ms", 1000 * max(self.periods))
            if self.episodes:
                self.logger.record(
                    "rollout/ep_overruns_mean", sum(self.episodes) / len(self.episodes)
                )
        return True


def realtime_callbacks(spec: RunSpec) -> list[BaseCallback]:
    """A :class:`RealTimeLogger` when one of the run's env wrappers is :class:`RealTime`."""
    from rlzoo_real.envs.make import resolve_class

    for ref in spec.env_wrappers:
        cls = resolve_class(ref.path, kind="env_wrapper")
        if isinstance(cls, type) and issubclass(cls, RealTime):
            return [RealTimeLogger()]
    return []


def check_realtime_envs(spec: RunSpec, *, vec_env: str, n_eval_envs: int) -> None:
    """Refuse :class:`RealTime` in several envs stepped one after another in one process.

    A ``DummyVecEnv`` steps its envs in turn, each sleeping its own period, so every step
    of ``n`` envs would take ``n`` periods and overrun by ``n - 1`` of them.

    Raises:
        UserError: ``n_envs`` or ``--n-eval-envs`` above 1 without ``--vec-env subproc``.
    """
    if vec_env == "subproc" or not realtime_callbacks(spec):
        return
    for what, count in (("n_envs", spec.n_envs), ("--n-eval-envs", n_eval_envs)):
        if count > 1:
            raise UserError(
                f"RealTime in {spec.source} with {what} {count} and --vec-env dummy: the envs "
                "would be stepped one after another in one process, each sleeping its own "
                f"period, so every step would last {count} periods and overrun. Use one env "
                "(-params n_envs:1, --n-eval-envs 1) or --vec-env subproc (one process per env)."
            )


# --- gradient updates between episodes ------------------------------------------------------

#: what ``--updates-between-episodes`` sets: collect one whole episode, then update
EPISODIC_TRAIN_FREQ = [1, "episode"]


def between_episode_overrides(
    algo: AlgoSpec, overrides: Mapping[str, Any], *, option: str = "--updates-between-episodes"
) -> dict[str, Any]:
    """The ``-params`` overrides with updates moved between episodes.

    Sets ``train_freq: [1, episode]`` and, unless ``-params gradient_steps:N`` gives a
    fixed number, ``gradient_steps: -1`` (as many updates as the episode had steps: one
    per step, as with ``train_freq: 1``, except that the first episode to end after
    ``learning_starts`` gets updates for all its steps, so a run can make up to one
    episode's worth more).

    Raises:
        UserError: for an on-policy algorithm, or a ``-params train_freq`` that contradicts it.
    """
    if not algo.off_policy:
        raise UserError(
            f"{option} applies to off-policy algorithms (sac, td3, ddpg, tqc, crossq, dqn, "
            f"qrdqn), not {algo.name}: {algo.name} updates only after each rollout of n_steps "
            "steps; on a physical system whose episodes have a fixed length, choose n_steps as "
            "a multiple of it so that the updates fall between episodes."
        )
    if "train_freq" in overrides:
        raise UserError(
            f"{option} sets train_freq to [1, episode] (updates after each episode); it "
            f"contradicts -params train_freq:{overrides['train_freq']}. Drop one of the two "
            "(-params gradient_steps:N is accepted: N updates after each episode)."
        )
    merged = dict(overrides)
    merged["train_freq"] = list(EPISODIC_TRAIN_FREQ)
    merged.setdefault("gradient_steps", -1)
    return merged


def check_between_episodes(spec: RunSpec, *, option: str = "--updates-between-episodes") -> None:
    """Refuse what episodic updates cannot do: several training envs.

    Raises:
        UserError: when the run has ``n_envs > 1``.
    """
    if spec.n_envs != 1:
        raise UserError(
            f"{option} needs one training env, but {spec.source} has n_envs: {spec.n_envs}. "
            "With several envs one env's episode end would trigger updates while the others "
            "are mid-episode (Stable-Baselines3 refuses episodic training with several envs). "
            "Add -params n_envs:1."
        )
