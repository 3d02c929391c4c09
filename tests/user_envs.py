"""A user's own env, as a robot would be: a gymnasium.Env class (and a factory function) in a
module that registers nothing with gymnasium. The API tests train on it by import path."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np


class LineWalk(gym.Env[np.ndarray, np.int64]):
    """Walk on a line toward a goal: action 1 steps right (+1 reward), 0 steps left (-1).

    An episode ends at the goal (``length`` steps right) or after ``2 * length`` steps, so
    a good policy earns ``length`` and a random one about 0.
    """

    metadata = {"render_modes": ["rgb_array"]}

    def __init__(self, length: int = 5, render_mode: str | None = None) -> None:
        self.length = int(length)
        self.render_mode = render_mode
        self.observation_space = gym.spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)
        self.action_space = gym.spaces.Discrete(2)
        self.position = 0
        self.steps = 0

    def _obs(self) -> np.ndarray:
        return np.array([self.position / (2 * self.length)], dtype=np.float32)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        self.position, self.steps = 0, 0
        return self._obs(), {}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        move = 1 if int(action) == 1 else -1
        self.position = max(-2 * self.length, min(2 * self.length, self.position + move))
        self.steps += 1
        terminated = self.position >= self.length
        truncated = self.steps >= 2 * self.length and not terminated
        return self._obs(), float(move), terminated, truncated, {}

    def render(self) -> np.ndarray:
        return np.zeros((8, 8, 3), dtype=np.uint8)


def make_line_walk(length: int = 5) -> gym.Env[np.ndarray, np.int64]:
    """A factory function, as a robot's connection code would be."""
    return LineWalk(length=length)
