"""Registers an env that goes bad for tests (imported with --gym-packages tests.nan_envs)."""

import gymnasium as gym
import numpy as np


class NanAfter(gym.Env):
    """A 2-d point that returns NaN observations from step ``bad_from`` of its life on."""

    metadata = {"render_modes": ["rgb_array"]}

    def __init__(self, bad_from: int = 150, render_mode: str | None = None) -> None:
        self.render_mode = render_mode
        self.observation_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)
        self.bad_from = bad_from
        self.steps = 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return np.zeros(2, np.float32), {}

    def step(self, action):
        self.steps += 1
        obs = np.full(2, np.nan if self.steps >= self.bad_from else 0.5, np.float32)
        return obs, -float(np.square(action).sum()), False, False, {}

    def render(self):
        return np.zeros((8, 8, 3), np.uint8)


if "NanAfter-v0" not in gym.registry:
    gym.register("NanAfter-v0", entry_point=NanAfter, max_episode_steps=50)
