"""Measure the mean return of a uniformly random policy on the reference envs.

The ``random`` column of ``rlzoo_real/plotting/references.py`` comes from this
script (seed 0)::

    python scripts/measure_random_scores.py --episodes 50 > random_scores.yml
"""

from __future__ import annotations

import argparse
import time

import numpy as np

ENVS = [
    "CartPole-v1",
    "Acrobot-v1",
    "MountainCar-v0",
    "MountainCarContinuous-v0",
    "Pendulum-v1",
    "LunarLander-v3",
    "LunarLanderContinuous-v3",
    "BipedalWalker-v3",
    "BipedalWalkerHardcore-v3",
    "CarRacing-v3",
    "Ant-v5",
    "HalfCheetah-v5",
    "Hopper-v5",
    "Humanoid-v5",
    "HumanoidStandup-v5",
    "InvertedDoublePendulum-v5",
    "InvertedPendulum-v5",
    "Pusher-v5",
    "Reacher-v5",
    "Swimmer-v5",
    "Walker2d-v5",
]


def random_return(env_id: str, episodes: int, seed: int) -> tuple[float, float]:
    """Mean and standard deviation of the return of uniform random actions over ``episodes``."""
    import gymnasium as gym

    env = gym.make(env_id)
    env.action_space.seed(seed)
    returns = []
    for episode in range(episodes):
        env.reset(seed=seed + episode)
        total, done = 0.0, False
        while not done:
            _, reward, terminated, truncated, _ = env.step(env.action_space.sample())
            total += float(reward)
            done = terminated or truncated
        returns.append(total)
    env.close()
    return float(np.mean(returns)), float(np.std(returns))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--envs", nargs="+", default=ENVS)
    args = parser.parse_args()
    for env_id in args.envs:
        start = time.perf_counter()
        episodes = min(args.episodes, 10) if env_id.startswith("CarRacing") else args.episodes
        mean, std = random_return(env_id, episodes, args.seed)
        took = time.perf_counter() - start
        print(
            f"{env_id}: {{random: {mean:.1f}, std: {std:.1f}, episodes: {episodes}}}"
            f"  # {took:.0f} s"
        )


if __name__ == "__main__":
    main()
