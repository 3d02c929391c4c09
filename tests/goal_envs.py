"""Registers small goal-conditioned envs for tests (imported with --gym-packages)."""

import gymnasium as gym
from stable_baselines3.common.envs import BitFlippingEnv


class BitFlip(BitFlippingEnv):
    """SB3's bit-flipping goal env, with the render modes it really has declared."""

    metadata = {"render_modes": ["human", "rgb_array"]}


if "BitFlipContinuous-v0" not in gym.registry:
    gym.register(
        "BitFlipContinuous-v0",
        entry_point=BitFlip,
        kwargs={"n_bits": 4, "continuous": True, "max_steps": 4},
        max_episode_steps=4,
    )
