"""Gymnasium wrappers that hyperparameter files can name (``env_wrapper``).

Every wrapper here passes ``terminated`` and ``truncated`` through unchanged, so a
time limit stays a truncation and off-policy targets still bootstrap on timeouts.
The RL Zoo's wrapper paths (``rl_zoo3.wrappers.X``) map onto these or onto
sb3-contrib's, see :data:`ZOO_ALIASES`.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

__all__ = ["ZOO_ALIASES", "HistoryWrapper"]

#: RL Zoo wrapper paths -> where realzoo finds the same wrapper.
ZOO_ALIASES: dict[str, str] = {
    "rl_zoo3.wrappers.TimeFeatureWrapper": "sb3_contrib.common.wrappers.TimeFeatureWrapper",
    "utils.wrappers.TimeFeatureWrapper": "sb3_contrib.common.wrappers.TimeFeatureWrapper",
    "rl_zoo3.wrappers.HistoryWrapper": "rlzoo_real.wrappers.HistoryWrapper",
    "utils.wrappers.HistoryWrapper": "rlzoo_real.wrappers.HistoryWrapper",
}


class HistoryWrapper(gym.Wrapper[np.ndarray, np.ndarray, np.ndarray, np.ndarray]):
    """Append the last ``horizon`` observations and actions to the observation.

    Useful for delays and for smooth control: the policy sees what it did before.
    Needs Box observation and action spaces.

    Args:
        env: the env to wrap.
        horizon: how many past steps to keep.
    """

    def __init__(self, env: gym.Env, horizon: int = 2) -> None:
        obs_space, act_space = env.observation_space, env.action_space
        if not isinstance(obs_space, gym.spaces.Box) or not isinstance(act_space, gym.spaces.Box):
            raise ValueError("HistoryWrapper needs Box observation and action spaces")
        if horizon < 1:
            raise ValueError(f"horizon must be >= 1, got {horizon}")
        super().__init__(env)
        self.horizon = horizon
        self._obs_shape = obs_space.shape
        self._obs_history = np.zeros((horizon, *obs_space.shape), dtype=np.float32)
        self._act_history = np.zeros((horizon, *act_space.shape), dtype=np.float32)
        low = np.concatenate(
            [
                np.repeat(obs_space.low[None], horizon, 0).ravel(),
                np.repeat(act_space.low[None], horizon, 0).ravel(),
            ]
        )
        high = np.concatenate(
            [
                np.repeat(obs_space.high[None], horizon, 0).ravel(),
                np.repeat(act_space.high[None], horizon, 0).ravel(),
            ]
        )
        self.observation_space = gym.spaces.Box(low=low, high=high, dtype=np.float32)

    def _observation(self) -> np.ndarray:
        return np.concatenate([self._obs_history.ravel(), self._act_history.ravel()])

    def reset(self, **kwargs: Any) -> tuple[np.ndarray, dict[str, Any]]:
        obs, info = self.env.reset(**kwargs)
        self._obs_history[:] = 0.0
        self._act_history[:] = 0.0
        self._obs_history[-1] = obs
        return self._observation(), info

    def step(self, action: np.ndarray) -> tuple[np.ndarray, Any, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        self._obs_history = np.roll(self._obs_history, -1, axis=0)
        self._obs_history[-1] = obs
        self._act_history = np.roll(self._act_history, -1, axis=0)
        self._act_history[-1] = action
        return self._observation(), reward, terminated, truncated, info
