"""A two-action env whose episodes end on a coin flip: enough to train on, nothing to learn."""

from __future__ import annotations

from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from gymnasium import spaces


class CoinEnv(gym.Env[np.ndarray, int]):
    """Observations are two numbers in [0, 1]; reward 1 for action 1, 0 for action 0."""

    metadata: ClassVar[dict[str, Any]] = {"render_modes": []}

    def __init__(self, end_probability: float = 0.2) -> None:
        super().__init__()
        self.end_probability = end_probability
        self.action_space = spaces.Discrete(2)
        self.observation_space = spaces.Box(0.0, 1.0, shape=(2,), dtype=np.float32)

    def _observe(self) -> np.ndarray:
        return self.np_random.random(2).astype(np.float32)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        return self._observe(), {}

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        done = bool(self.np_random.random() < self.end_probability)
        return self._observe(), float(action), done, False, {}
