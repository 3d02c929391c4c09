"""A hyperparameter table written in Python instead of YAML, as the RL Zoo allows.

realzoo's counterpart of the RL Zoo's ``hyperparams/python/ppo_config_example.py``: the
values are Python objects (a class for the activation, a float step budget), not strings
for a parser. Used by ``tests/test_zoosuite_train.py`` with ``-conf``.
"""

from torch import nn

hyperparams = {
    "MountainCarContinuous-v0": {
        "policy": "MlpPolicy",
        "n_timesteps": 5000.0,
        "n_envs": 1,
        "normalize": True,
        # short episodes, so that a few hundred steps see several of them
        "env_wrapper": [{"gymnasium.wrappers.TimeLimit": {"max_episode_steps": 50}}],
        "n_steps": 16,
        "batch_size": 16,
        "n_epochs": 1,
        "gamma": 0.99,
        "learning_rate": 1e-4,
        "use_sde": True,
        "policy_kwargs": {"net_arch": [16], "activation_fn": nn.Tanh, "log_std_init": -2.0},
    },
}
