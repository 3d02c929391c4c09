"""Every registered algorithm trains through ``realzoo train`` with its shipped entry,
and the special keys of the Zoo format (frame_stack, env_wrapper, callback, HER,
subprocess envs) work end to end."""

import numpy as np
import pytest
import yaml

from rlzoo_real.algos.registry import ALGOS
from rlzoo_real.runs.folder import RunFolder


@pytest.mark.parametrize("algo", sorted(ALGOS))
def test_every_algorithm_trains_with_its_shipped_entry(cli, tmp_path, algo):
    env = "CartPole-v1" if "Discrete" in ALGOS[algo].action_spaces else "Pendulum-v1"
    if algo == "openloop":  # drives MuJoCo joints: refuses Pendulum (tests/test_openloop.py)
        env = "Swimmer-v5"
    result = cli(
        "train",
        "-a",
        algo,
        "-e",
        env,
        "-f",
        tmp_path,
        "-n",
        "256",
        "--seed",
        "0",
        "--eval-freq",
        "128",
        "--eval-episodes",
        "1",
        "--verbose",
        "0",
    )
    assert result.exit_code == 0, result.output
    run = RunFolder(tmp_path / algo / f"{env}_1", env)
    assert run.final_model.is_file()
    with np.load(run.evaluations) as data:
        assert len(data["timesteps"]) >= 1
    assert yaml.safe_load(run.manifest_file.read_text())["num_timesteps"] >= 256


def test_frame_stack_wrappers_and_subprocess_envs(cli, tmp_path):
    conf = tmp_path / "ppo.yml"
    conf.write_text(
        yaml.safe_dump(
            {
                "CartPole-v1": {
                    "n_envs": 2,
                    "n_timesteps": 256,
                    "n_steps": 64,
                    "batch_size": 64,
                    "n_epochs": 1,
                    "frame_stack": 3,
                    "normalize": True,
                    "env_wrapper": [
                        {"sb3_contrib.common.wrappers.TimeFeatureWrapper": {"max_steps": 500}}
                    ],
                }
            }
        )
    )
    result = cli(
        "train",
        "-a",
        "ppo",
        "-e",
        "CartPole-v1",
        "--conf-file",
        conf,
        "-f",
        tmp_path,
        "--vec-env",
        "subproc",
        "--eval-freq",
        "128",
        "--eval-episodes",
        "1",
        "--verbose",
        "0",
        "--seed",
        "0",
    )
    assert result.exit_code == 0, result.output
    from stable_baselines3 import PPO

    run = RunFolder(tmp_path / "ppo" / "CartPole-v1_1", "CartPole-v1")
    model = PPO.load(run.final_model, device="cpu")
    assert model.observation_space.shape == ((4 + 1) * 3,)  # time feature, stacked 3 times
    assert run.vecnormalize_file.is_file() and (run.path / "1.monitor.csv").is_file()


def test_callback_from_the_entry_stops_training(cli, tmp_path):
    conf = tmp_path / "sac.yml"
    conf.write_text(
        yaml.safe_dump(
            {
                "Pendulum-v1": {
                    "n_timesteps": 100000,
                    "learning_starts": 50,
                    "batch_size": 16,
                    "policy_kwargs": "dict(net_arch=[8])",
                    "callback": [
                        {
                            "stable_baselines3.common.callbacks.StopTrainingOnMaxEpisodes": {
                                "max_episodes": 2
                            }
                        }
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
        "--eval-freq",
        "-1",
        "--verbose",
        "0",
        "--seed",
        "0",
    )
    assert result.exit_code == 0, result.output
    manifest = RunFolder(tmp_path / "sac" / "Pendulum-v1_1", "Pendulum-v1").manifest_file
    assert yaml.safe_load(manifest.read_text())["num_timesteps"] == 400  # two 200-step episodes


def test_her_through_the_hyperparameter_file(cli, tmp_path):
    conf = tmp_path / "sac.yml"
    conf.write_text(
        "BitFlipContinuous-v0:\n"
        "  n_timesteps: 150\n"
        "  policy: 'MultiInputPolicy'\n"
        "  learning_starts: 50\n"
        "  batch_size: 16\n"
        "  replay_buffer_class: HerReplayBuffer\n"
        "  replay_buffer_kwargs: \"dict(n_sampled_goal=4, goal_selection_strategy='future')\"\n"
        '  policy_kwargs: "dict(net_arch=[16])"\n'
    )
    result = cli(
        "train",
        "-a",
        "sac",
        "-e",
        "BitFlipContinuous-v0",
        "--gym-packages",
        "tests.goal_envs",
        "--conf-file",
        conf,
        "-f",
        tmp_path,
        "--eval-freq",
        "100",
        "--eval-episodes",
        "2",
        "--verbose",
        "0",
        "--seed",
        "0",
        "--save-replay-buffer",
    )
    assert result.exit_code == 0, result.output
    from stable_baselines3.common.save_util import load_from_pkl

    run = tmp_path / "sac" / "BitFlipContinuous-v0_1"
    buffer = load_from_pkl(run / "replay_buffer.pkl")
    assert type(buffer).__name__ == "HerReplayBuffer" and buffer.n_sampled_goal == 4
