"""The continuity cost: how much a policy's actions jump from one step to the next.

For an episode of ``T`` steps with actions ``a_1 .. a_T`` (Box action spaces), the
continuity cost is ``mean_t mean_i |a_t,i - a_t-1,i|`` over the ``T - 1`` changes and
the action dimensions: 0 for a constant action, large for bang-bang control. It is
measured on the action the env itself receives, after every safety wrapper, by
:class:`ContinuityCost`, which sits right inside the ``Monitor`` (so ``monitor.csv`` gets
a ``continuity_cost`` column next to ``r``, ``l``, ``t``). Envs with other action spaces
(Discrete, MultiDiscrete, ...) are not measured: no column, no logged value.

Training logs ``rollout/continuity_cost`` (over the same last episodes as
``rollout/ep_rew_mean``) with :class:`ContinuityLogger`, and evaluations log
``eval/continuity_cost`` (over the evaluation's episodes) with
:class:`ContinuityEvalCallback`.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3.common.callbacks import BaseCallback, EvalCallback

__all__ = [
    "KEY",
    "ContinuityCost",
    "ContinuityEvalCallback",
    "ContinuityLogger",
    "episode_cost",
    "measurable",
]

#: The info key, monitor column and logger suffix of the measure.
KEY = "continuity_cost"


def measurable(space: Any) -> bool:
    """True for action spaces the continuity cost is measured on (Box)."""
    return isinstance(space, gym.spaces.Box)


def episode_cost(info: dict[str, Any]) -> float | None:
    """The continuity cost of the episode that ended with ``info`` (Monitor's episode
    record), or None when it was not measured."""
    episode = info.get("episode")
    if not isinstance(episode, dict) or KEY not in episode:
        return None
    return float(episode[KEY])


def _mean(values: Any) -> float:
    finite = [v for v in values if not math.isnan(v)]
    return float(np.mean(finite)) if finite else float("nan")


class ContinuityCost(gym.Wrapper[Any, Any, Any, Any]):
    """Measure the continuity cost of each episode; ``info["continuity_cost"]`` at its end.

    An episode of one step has no change to measure: its cost is NaN. Observations,
    rewards, ``terminated`` and ``truncated`` pass through unchanged.
    """

    def __init__(self, env: gym.Env) -> None:
        if not measurable(env.action_space):
            raise ValueError(f"the continuity cost needs Box actions, got {env.action_space}")
        super().__init__(env)
        self._previous: np.ndarray | None = None
        self._total = 0.0
        self._changes = 0

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        self._previous, self._total, self._changes = None, 0.0, 0
        return self.env.reset(**kwargs)

    def step(self, action: Any) -> tuple[Any, Any, bool, bool, dict[str, Any]]:
        current = np.asarray(action, dtype=np.float64).ravel()
        if self._previous is not None:
            self._total += float(np.mean(np.abs(current - self._previous)))
            self._changes += 1
        self._previous = current.copy()
        obs, reward, terminated, truncated, info = self.env.step(action)
        if terminated or truncated:
            cost = self._total / self._changes if self._changes else float("nan")
            info = {**info, KEY: round(cost, 6)}
        return obs, reward, terminated, truncated, info


class ContinuityLogger(BaseCallback):
    """Record ``rollout/continuity_cost``: the mean over the last finished training episodes.

    The window is the model's ``stats_window_size`` (100 by default), the same episodes
    as ``rollout/ep_rew_mean``. Nothing is recorded for envs that are not measured.
    """

    def __init__(self) -> None:
        super().__init__()
        self._costs: deque[float] = deque(maxlen=100)
        self._mean: float | None = None

    def _on_training_start(self) -> None:
        size = int(getattr(self.model, "_stats_window_size", 100))
        # Episodes already in the model's buffer (a resumed run) count as they do there.
        past = [episode_cost({"episode": e}) for e in (self.model.ep_info_buffer or [])]
        self._costs = deque([c for c in past if c is not None], maxlen=size)
        self._mean = _mean(self._costs) if self._costs else None

    def _on_step(self) -> bool:
        costs = [episode_cost(info) for info in self.locals.get("infos", ())]
        new = [c for c in costs if c is not None]
        if new:
            self._costs.extend(new)
            self._mean = _mean(self._costs)
        if self._mean is not None:
            self.logger.record(f"rollout/{KEY}", self._mean)
        return True


class ContinuityEvalCallback(EvalCallback):
    """SB3's ``EvalCallback`` that also records ``eval/continuity_cost``.

    The mean is over the episodes the evaluation counts (as ``eval/mean_reward``), taken
    from their Monitor records; it is written in the same log row.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._continuity: list[float] = []

    def _log_success_callback(self, locals_: dict[str, Any], globals_: dict[str, Any]) -> None:
        super()._log_success_callback(locals_, globals_)
        if locals_["done"]:
            cost = episode_cost(locals_["info"])
            if cost is not None:
                self._continuity.append(cost)
                self.logger.record(f"eval/{KEY}", _mean(self._continuity))

    def _on_step(self) -> bool:
        if self.eval_freq > 0 and self.n_calls % self.eval_freq == 0:
            self._continuity = []
        return bool(super()._on_step())
