"""A Python hyperparameter table whose values are objects, not names: classes as the keys
of ``env_wrapper`` and ``vec_env_wrapper``, and a ready callback instance.

realzoo's counterpart of the RL Zoo's ``test_get_wrapper[env_wrapper3]``,
``test_get_vec_env_wrapper[vec_env_wrapper2]`` and ``test_get_callback[callback3]``, which pass
such objects to the Zoo's helpers. Read with ``-conf python_objects``.
"""

from rl_zoo3.wrappers import HistoryWrapper
from stable_baselines3.common.callbacks import StopTrainingOnMaxEpisodes
from stable_baselines3.common.vec_env import VecFrameStack

_TINY = {"policy": "MlpPolicy", "n_timesteps": 16, "n_steps": 16}

hyperparams = {
    "Ant-v4": {
        **_TINY,
        "env_wrapper": [{HistoryWrapper: {"horizon": 3}}, "rl_zoo3.wrappers.TimeFeatureWrapper"],
    },
    "Pendulum-v1": {**_TINY, "vec_env_wrapper": {VecFrameStack: {"n_stack": 2}}},
    "CartPole-v1": {**_TINY, "n_timesteps": 2000, "callback": [StopTrainingOnMaxEpisodes(3)]},
}
