"""The RL Zoo's ``tests/test_train.py``, translated command for command into realzoo.

Each test runs the Zoo test's ``python train.py ...`` line as ``realzoo train ...`` (the Zoo's
flag spellings; through the app in the test's process, isolated as a new process would be,
or as a real process in the slow test), then checks what a user would look at: the exit
status, the run folder and the files in it. realzoo reads its own ``hyperparams/<algo>.yml`` where
the Zoo's ``train.py`` reads the Zoo's; ``-conf`` tests read the installed Zoo's own files.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import yaml

from tests.zoo_examples import ok, zoo_command, zoo_hyperparams_dir

N_STEPS = 100

EXPERIMENTS = {
    "ppo-CartPole-v1": ("ppo", "CartPole-v1"),
    "a2c-CartPole-v1": ("a2c", "CartPole-v1"),
    "dqn-CartPole-v1": ("dqn", "CartPole-v1"),
    "sac-Pendulum-v1": ("sac", "Pendulum-v1"),
    "td3-Pendulum-v1": ("td3", "Pendulum-v1"),
    "ddpg-Pendulum-v1": ("ddpg", "Pendulum-v1"),
}


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_train(tmp_path, experiment):
    """tests/test_train.py::test_train (every experiment but BipedalWalkerHardcore, below)."""
    algo, env_id = EXPERIMENTS[experiment]
    cmd = f"realzoo train -n {N_STEPS} --algo {algo} --env {env_id} --log-folder {tmp_path} "
    ok(zoo_command(cmd, cwd=tmp_path))
    run = tmp_path / algo / f"{env_id}_1"
    assert (run / f"{env_id}.zip").is_file()
    assert (run / env_id / "config.yml").is_file()


@pytest.mark.slow
def test_train_bipedal_walker_hardcore(tmp_path):
    """tests/test_train.py::test_train[ppo-BipedalWalkerHardcore-v3] (normalize, 16 envs).

    Slow: the entry's first rollout alone is 16 envs x 2048 steps, as in the Zoo.
    """
    env_id = "BipedalWalkerHardcore-v3"
    cmd = f"realzoo train -n {N_STEPS} --algo ppo --env {env_id} --log-folder {tmp_path} "
    ok(zoo_command(cmd, cwd=tmp_path, process=True))
    run = tmp_path / "ppo" / f"{env_id}_1"
    assert (run / f"{env_id}.zip").is_file()
    assert (run / env_id / "vecnormalize.pkl").is_file()


def _zoo_model(tmp_path: Path) -> Path:
    """A model trained by the RL Zoo itself (rl_zoo3.train), standing in for rl-trained-agents."""
    pytest.importorskip("rl_zoo3")
    import subprocess
    import sys

    logs = tmp_path / "zoo_logs"
    done = subprocess.run(
        [sys.executable, "-m", "rl_zoo3.train", "--algo", "a2c", "--env", "CartPole-v1"]
        + ["-n", "64", "-f", str(logs), "--seed", "3", "--eval-freq", "-1"]
        + ["--num-threads", "1", "-params", "n_envs:2"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return logs / "a2c" / "CartPole-v1_1" / "CartPole-v1.zip"


def test_continue_training(tmp_path):
    """tests/test_train.py::test_continue_training.

    The Zoo warm-starts from its published rl-trained-agents/a2c/CartPole-v1_1; that
    repository is not here, so the model comes from the installed RL Zoo, trained first.
    """
    model = _zoo_model(tmp_path)
    cmd = (
        f"realzoo train -n {N_STEPS} --algo a2c --env CartPole-v1 --log-folder {tmp_path} "
        f"-i {model}"
    )
    ok(zoo_command(cmd, cwd=tmp_path))
    assert (tmp_path / "a2c" / "CartPole-v1_1" / "CartPole-v1.zip").is_file()


def test_save_load_replay_buffer(tmp_path):
    """tests/test_train.py::test_save_load_replay_buffer."""
    cmd = (
        f"realzoo train -n {N_STEPS} --algo sac --env Pendulum-v1 --log-folder {tmp_path} "
        "--save-replay-buffer -params buffer_size:1000 --env-kwargs g:8.0 --eval-env-kwargs g:5.0 "
    )
    ok(zoo_command(cmd, cwd=tmp_path))
    first = tmp_path / "sac" / "Pendulum-v1_1"
    assert (first / "replay_buffer.pkl").is_file()

    cmd += f"-i {first / 'Pendulum-v1.zip'}"
    ok(zoo_command(cmd, cwd=tmp_path))
    # the warm start loaded the first run's buffer (replay_buffer.pkl next to the model):
    # the second run's buffer holds both runs' transitions
    with open(tmp_path / "sac" / "Pendulum-v1_2" / "replay_buffer.pkl", "rb") as file:
        buffer = pickle.load(file)  # noqa: S301 - a file this test just wrote
    assert buffer.size() == 2 * N_STEPS


def test_parallel_train(tmp_path):
    """tests/test_train.py::test_parallel_train (monitor_kwargs, ParallelTrainCallback)."""
    cmd = (
        f"realzoo train -n 1000 --algo sac --env Pendulum-v1 --log-folder {tmp_path} "
        "-params monitor_kwargs:'dict(info_keywords=(\"TimeLimit.truncated\",))' "
        "callback:\"'rl_zoo3.callbacks.ParallelTrainCallback'\""
    )
    ok(zoo_command(cmd, cwd=tmp_path))
    monitor = (tmp_path / "sac" / "Pendulum-v1_1" / "0.monitor.csv").read_text().splitlines()
    header = monitor[1].split(",")
    assert "TimeLimit.truncated" in header
    column = header.index("TimeLimit.truncated")  # realzoo's continuity_cost column may follow
    # Pendulum episodes end only by the time limit: 1000 steps are five truncated episodes
    assert [line.split(",")[column] for line in monitor[2:]] == ["True"] * 5


def test_custom_yaml(tmp_path):
    """tests/test_train.py::test_custom_yaml: the Zoo's own a2c.yml read for ppo."""
    zoo = zoo_hyperparams_dir()
    if zoo is None:
        pytest.skip("rl_zoo3 (the zoo extra) is not installed")
    cmd = (
        f"realzoo train -n {N_STEPS} --algo ppo --env CartPole-v1 --log-folder {tmp_path} "
        f"-conf {zoo / 'a2c.yml'} "
        "-params n_envs:2 n_steps:50 n_epochs:2 batch_size:4 "
        "policy:\"'stable_baselines3.ppo.MlpPolicy'\""
    )
    ok(zoo_command(cmd, cwd=tmp_path))
    config = yaml.safe_load(
        (tmp_path / "ppo" / "CartPole-v1_1" / "CartPole-v1" / "config.yml").read_text()
    )
    assert config["ent_coef"] == 0.0 and config["n_envs"] == 2


def test_python_config_file_module(tmp_path):
    """tests/test_train.py::test_python_config_file[hyperparams.python.ppo_config_example]."""
    cmd = (
        f"realzoo train -n {N_STEPS} --algo ppo --env MountainCarContinuous-v0 "
        f"--log-folder {tmp_path} -conf ppo_config_example "
    )
    ok(zoo_command(cmd, cwd=tmp_path, examples_on_path=True))
    run = tmp_path / "ppo" / "MountainCarContinuous-v0_1"
    config = yaml.safe_load((run / "MountainCarContinuous-v0" / "config.yml").read_text())
    assert config["use_sde"] is True
    assert (run / "MountainCarContinuous-v0" / "vecnormalize.pkl").is_file()


def test_python_config_file_path(tmp_path):
    """tests/test_train.py::test_python_config_file[hyperparams/python/ppo_config_example.py]."""
    example = Path(__file__).parent / "zoo_examples" / "ppo_config_example.py"
    cmd = (
        f"realzoo train -n {N_STEPS} --algo ppo --env MountainCarContinuous-v0 "
        f"--log-folder {tmp_path} -conf {example} "
    )
    ok(zoo_command(cmd, cwd=tmp_path))
    assert (
        tmp_path / "ppo" / "MountainCarContinuous-v0_1" / "MountainCarContinuous-v0.zip"
    ).is_file()


def test_default_hyperparameters(tmp_path):
    """tests/test_train.py::test_default_hyperparameters, first half: the 'default' entry."""
    config_path = tmp_path / "default_hyperparams.yml"
    config_path.write_text("default:\n  policy: 'MlpPolicy'\n  n_timesteps: 200\n  n_steps: 32\n")
    cmd = (
        f"realzoo train -n {N_STEPS} --algo ppo --env CartPole-v1 --log-folder {tmp_path} "
        f"-conf {config_path} "
    )
    ok(zoo_command(cmd, cwd=tmp_path))
    config = yaml.safe_load(
        (tmp_path / "ppo" / "CartPole-v1_1" / "CartPole-v1" / "config.yml").read_text()
    )
    assert config["n_steps"] == 32


def test_default_hyperparameters_missing(tmp_path):
    """tests/test_train.py::test_default_hyperparameters, second half: no entry, no default.

    Differs on purpose: the Zoo exits 1 (a ValueError traceback); realzoo exits 2, the
    status of every user mistake, with the entries the file has and no run folder.
    """
    config_path = tmp_path / "missing_default_hyperparams.yml"
    config_path.write_text("CartPole-v1:\n  policy: 'MlpPolicy'\n  n_timesteps: 200\n")
    cmd = (
        f"realzoo train -n {N_STEPS} --algo ppo --env Pendulum-v1 --log-folder {tmp_path} "
        f"-conf {config_path} "
    )
    done = zoo_command(cmd, cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert "Pendulum-v1" in done.stderr and "CartPole-v1" in done.stderr
    assert not (tmp_path / "ppo").exists()


def test_gym_packages(tmp_path):
    """tests/test_train.py::test_gym_packages (a package registering its env, its own table)."""
    cmd = (
        f"realzoo train -n {N_STEPS} --algo ppo --env ZooSuiteCoin-v0 --log-folder {tmp_path} "
        "--gym-packages zoo_test_env --conf-file zoo_test_env.config "
    )
    ok(zoo_command(cmd, cwd=tmp_path, examples_on_path=True))
    run = tmp_path / "ppo" / "ZooSuiteCoin-v0_1"
    config = yaml.safe_load((run / "ZooSuiteCoin-v0" / "config.yml").read_text())
    assert config["n_steps"] == 32  # from the package's own table, not realzoo's files
    assert (run / "ZooSuiteCoin-v0.zip").is_file()
