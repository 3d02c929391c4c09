"""A gym package as the RL Zoo's ``--gym-packages`` expects one: importing it registers an env.

realzoo's counterpart of the RL Zoo's ``tests/dummy_env/test_env`` package.
"""

from gymnasium.envs.registration import register

register(id="ZooSuiteCoin-v0", entry_point="zoo_test_env.coin_env:CoinEnv", max_episode_steps=50)
