"""The default search space of every algorithm ``realzoo train`` offers, as data.

Each table is written as a ``--search-space`` file would be (see
:mod:`~rlzoo_real.tuning.spaces` for the format and the differences from the RL Zoo's
``hyperparams_opt.py``), so ``realzoo tune --print-space`` shows exactly what is here.
``net_arch`` names stand for the architectures below, per family of algorithms.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ACTIVATIONS", "CROSSQ_ARCHS", "OFF_POLICY_ARCHS", "ON_POLICY_ARCHS", "SPACES"]

_GAMMA = {"low": 0.97, "high": 0.9999, "scale": "one_minus_log"}
_GAE_LAMBDA = {"low": 0.9, "high": 0.9999, "scale": "one_minus_log"}
_LR = {"low": 1e-5, "high": 2e-3, "scale": "log"}
_ACTIVATION = {"choices": ["tanh", "relu"]}
_TAU = {"low": 0.001, "high": 0.08, "scale": "log"}

_PPO = {
    "n_steps": {"low": 32, "high": 4096, "scale": "pow2"},
    "batch_size": {"low": 8, "high": 1024, "scale": "pow2"},
    "gamma": _GAMMA,
    "gae_lambda": _GAE_LAMBDA,
    "learning_rate": _LR,
    "ent_coef": {"low": 1e-8, "high": 0.1, "scale": "log"},
    "clip_range": {"choices": [0.1, 0.2, 0.3, 0.4]},
    "n_epochs": {"choices": [1, 5, 10, 20]},
    "max_grad_norm": {"low": 0.3, "high": 2.0},
    "net_arch": {"choices": ["tiny", "small", "medium"]},
    "activation_fn": _ACTIVATION,
}
_SAC = {
    "gamma": _GAMMA,
    "learning_rate": _LR,
    "batch_size": {"low": 32, "high": 2048, "scale": "pow2"},
    "train_freq": {"low": 1, "high": 10},
    "gradient_steps": -1,
    "tau": _TAU,
    "net_arch": {"choices": ["small", "medium", "big"]},
}
_DQN = {
    "gamma": _GAMMA,
    "learning_rate": _LR,
    "batch_size": {"low": 16, "high": 1024, "scale": "pow2"},
    "train_freq": {"low": 1, "high": 16, "scale": "log"},
    "gradient_steps": -1,
    "exploration_fraction": {"low": 0.0, "high": 0.5},
    "exploration_final_eps": {"low": 0.0, "high": 0.2},
    "target_update_interval": {"low": 1, "high": 20000, "scale": "log"},
    "net_arch": {"choices": ["small", "medium", "big"]},
}
_TD3 = {
    **{k: v for k, v in _SAC.items()},
    "noise_type": {"choices": ["normal", "ornstein-uhlenbeck", "none"]},
    "noise_std": {"low": 0.0, "high": 0.5},
}

#: The default search space of every algorithm realzoo trains.
SPACES: dict[str, dict[str, Any]] = {
    "ppo": _PPO,
    "a2c": {
        "n_steps": {"low": 8, "high": 2048, "scale": "pow2"},
        "gamma": _GAMMA,
        "gae_lambda": _GAE_LAMBDA,
        "learning_rate": _LR,
        "ent_coef": {"low": 1e-8, "high": 0.1, "scale": "log"},
        "max_grad_norm": {"low": 0.3, "high": 2.0},
        "net_arch": {"choices": ["small", "medium"]},
        "activation_fn": _ACTIVATION,
    },
    "trpo": {
        "n_steps": {"low": 32, "high": 4096, "scale": "pow2"},
        "batch_size": {"low": 8, "high": 1024, "scale": "pow2"},
        "gamma": _GAMMA,
        "gae_lambda": _GAE_LAMBDA,
        "learning_rate": _LR,
        "n_critic_updates": {"low": 5, "high": 30},
        "cg_max_steps": {"low": 5, "high": 30},
        "target_kl": {"low": 0.001, "high": 0.1, "scale": "log"},
        "net_arch": {"choices": ["small", "medium"]},
        "activation_fn": _ACTIVATION,
    },
    "ppo_lstm": {
        **_PPO,
        "policy_kwargs.lstm_hidden_size": {"choices": [32, 64, 128, 256]},
        "policy_kwargs.enable_critic_lstm": {"choices": [True, False]},
    },
    "sac": _SAC,
    "tqc": {
        **_SAC,
        "policy_kwargs.n_quantiles": {"low": 5, "high": 50},
        "top_quantiles_to_drop_per_net": {"low": 0, "high": 5},
    },
    "crossq": {
        "gamma": _GAMMA,
        "learning_rate": {"low": 1e-4, "high": 3e-3, "scale": "log"},
        "batch_size": {"low": 64, "high": 512, "scale": "pow2"},
        "train_freq": {"low": 1, "high": 4},
        "gradient_steps": -1,
        "policy_delay": {"choices": [1, 3]},
        "net_arch": {"choices": ["small", "medium"]},
    },
    "droq": {
        "gamma": _GAMMA,
        "learning_rate": _LR,
        "batch_size": {"low": 64, "high": 512, "scale": "pow2"},
        "gradient_steps": {"choices": [5, 10, 20]},  # the update-to-data ratio
        "tau": _TAU,
        "policy_kwargs.dropout_rate": {"low": 0.001, "high": 0.1, "scale": "log"},
        "net_arch": {"choices": ["small", "medium"]},
    },
    "td3": _TD3,
    "ddpg": _TD3,
    "dqn": _DQN,
    "qrdqn": {**_DQN, "policy_kwargs.n_quantiles": {"low": 5, "high": 200}},
    "ars": {
        "n_delta": {"low": 4, "high": 64, "scale": "pow2"},
        "learning_rate": _LR,
        "delta_std": {"low": 0.01, "high": 0.3},
        "top_frac_size": {"low": 0.05, "high": 1.0},
    },
    # openloop: a trial is a whole oscillator search (CMA-ES inside); the tuner picks the
    # PD gains and the frequency band it searches (see docs/robots/openloop.md).
    "openloop": {
        "kp": {"low": 1.0, "high": 30.0, "scale": "log"},
        "kd": {"low": 0.05, "high": 2.0, "scale": "log"},
        "max_frequency": {"low": 1.0, "high": 4.0},
        "swing_stance": {"choices": [True, False]},
    },
}

ON_POLICY_ARCHS = {
    "tiny": "dict(pi=[64], vf=[64])",
    "small": "dict(pi=[64, 64], vf=[64, 64])",
    "medium": "dict(pi=[256, 256], vf=[256, 256])",
}
OFF_POLICY_ARCHS = {
    "small": "[64, 64]",
    "medium": "[256, 256]",
    "big": "[400, 300]",
    "large": "[256, 256, 256]",
    "verybig": "[512, 512, 512]",
}
CROSSQ_ARCHS = {
    "small": "dict(pi=[256, 256], qf=[256, 256])",
    "medium": "dict(pi=[256, 256], qf=[1024, 1024])",
    "large": "dict(pi=[256, 256], qf=[2048, 2048])",
}
ACTIVATIONS = {
    "tanh": "nn.Tanh",
    "relu": "nn.ReLU",
    "elu": "nn.ELU",
    "leaky_relu": "nn.LeakyReLU",
    "silu": "nn.SiLU",
    "gelu": "nn.GELU",
}
#: Names that are not keyword arguments of the algorithm, and what they set.
