"""The package's own hyperparameter table, read with ``-conf zoo_test_env.config``."""

hyperparams = {
    "ZooSuiteCoin-v0": {
        "policy": "MlpPolicy",
        "n_timesteps": 20000,
        "n_envs": 1,
        "n_steps": 32,
        "batch_size": 32,
        "n_epochs": 1,
    }
}
