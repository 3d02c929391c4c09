"""Our wrappers keep time limits as truncations, so off-policy targets bootstrap on timeouts.

Pendulum-v1 episodes only ever end by its 200-step time limit: with correct handling
no transition in the replay buffer counts as terminal.
"""

import gymnasium as gym
import numpy as np
import pytest
import yaml

from rlzoo_real.envs.wrappers import HistoryWrapper

WRAPPERS = [
    "rlzoo_real.envs.wrappers.HistoryWrapper",
    "rl_zoo3.wrappers.TimeFeatureWrapper",
]


@pytest.mark.parametrize("wrapper", WRAPPERS)
def test_wrapped_pendulum_ends_by_truncation_only(wrapper):
    from rlzoo_real.envs.make import resolve_class

    env = resolve_class(wrapper, kind="env_wrapper")(gym.make("Pendulum-v1"))
    env.reset(seed=0)
    env.action_space.seed(0)
    for step in range(1, 201):
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        assert not terminated
        assert truncated == (step == 200)
    env.close()


def test_history_wrapper_observation():
    env = HistoryWrapper(gym.make("Pendulum-v1"), horizon=2)
    obs, _ = env.reset(seed=0)
    assert obs.shape == (2 * 3 + 2 * 1,) and env.observation_space.contains(obs)
    obs2, *_ = env.step(np.array([0.5], dtype=np.float32))
    assert obs2[-1] == pytest.approx(0.5) and obs2[:3] == pytest.approx(obs[3:6])


def test_replay_buffer_bootstraps_on_timeouts(cli, tmp_path):
    conf = tmp_path / "sac.yml"
    conf.write_text(
        yaml.safe_dump(
            {
                "Pendulum-v1": {
                    "n_timesteps": 600,
                    "learning_starts": 100,
                    "batch_size": 32,
                    "buffer_size": 1000,
                    "policy_kwargs": "dict(net_arch=[16])",
                    "env_wrapper": [
                        {"rlzoo_real.envs.wrappers.HistoryWrapper": {"horizon": 2}},
                        "rl_zoo3.wrappers.TimeFeatureWrapper",
                    ],
                }
            }
        )
    )
    result = cli(
        "train",
        "-a",
        "sac",
        "-e",
        "Pendulum-v1",
        "--conf-file",
        conf,
        "-f",
        tmp_path,
        "--seed",
        "0",
        "--eval-freq",
        "-1",
        "--verbose",
        "0",
        "--save-replay-buffer",
    )
    assert result.exit_code == 0, result.output
    from stable_baselines3.common.save_util import load_from_pkl

    buffer = load_from_pkl(tmp_path / "sac" / "Pendulum-v1_1" / "replay_buffer.pkl")
    n = buffer.size()
    dones, timeouts = buffer.dones[:n, 0], buffer.timeouts[:n, 0]
    assert n == 600 and dones.sum() == 3  # three 200-step episodes ended
    assert np.array_equal(dones.astype(bool), timeouts.astype(bool))
    assert (dones * (1 - timeouts)).sum() == 0  # no transition is treated as terminal
