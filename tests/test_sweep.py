"""``realzoo sweep``: the job grid, parallel runs, skipping finished jobs, failing loudly."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from rlzoo_real.errors import UserError
from rlzoo_real.executors.sweep import expand_grid, make_jobs, parse_seeds
from rlzoo_real.runs.folder import find_run_folders, read_run_args, read_run_manifest
from rlzoo_real.train.argv import train_argv
from rlzoo_real.train.request import TrainArgs
from tests.conftest import WAIT_S, wait_for

TINY = """\
CartPole-v1:
  n_envs: 2
  n_timesteps: 256
  policy: MlpPolicy
  n_steps: 64
  batch_size: 64
  n_epochs: 1
  policy_kwargs: "dict(net_arch=[16])"
"""

#: An env that raises after ``crash_at`` steps: a job that fails in the middle of training.
CRASHING_ENV = """\
import gymnasium as gym
import numpy as np


class Crashing(gym.Env):
    observation_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
    action_space = gym.spaces.Discrete(2)

    def __init__(self, crash_at=100):
        self.crash_at, self.steps = crash_at, 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return np.zeros(2, np.float32), {}

    def step(self, action):
        self.steps += 1
        if self.steps >= self.crash_at:
            raise RuntimeError("sensor cable unplugged")
        return np.zeros(2, np.float32), 1.0, self.steps % 20 == 0, False, {}


gym.register("Crashing-v0", entry_point=Crashing, max_episode_steps=50)
"""


def test_seeds_ranges_and_lists():
    assert parse_seeds(["0-4"]) == [0, 1, 2, 3, 4]
    assert parse_seeds(["0", "1", "7"]) == [0, 1, 7]
    assert parse_seeds(["0-2", "1", "5"]) == [0, 1, 2, 5]
    for bad in (["4-0"], ["a"], ["-1"], ["1-"]):
        with pytest.raises(UserError, match="--seeds"):
            parse_seeds(bad)


def test_a_repeated_key_is_a_grid():
    assert expand_grid(["lr:1", "lr:2", "n:3"], option="-params") == [
        ("lr:1", "n:3"),
        ("lr:2", "n:3"),
    ]
    assert expand_grid([], option="-params") == [()]
    assert len(expand_grid(["a:1", "a:2", "b:1", "b:2", "b:3"], option="-params")) == 6
    with pytest.raises(UserError, match="key:value"):
        expand_grid(["lr"], option="-params")
    template = TrainArgs(algo="ppo", env="CartPole-v1", n_timesteps=1000)
    jobs = make_jobs(
        algos=["ppo", "a2c"],
        envs=["CartPole-v1"],
        seeds=[0, 1, 2],
        hyperparams=["gamma:0.9", "gamma:0.99"],
        template=template,
    )
    assert len(jobs) == 2 * 2 * 3
    assert len({job.slug for job in jobs}) == len(jobs)
    assert len({job.match_key() for job in jobs}) == len(jobs)
    argv = train_argv(jobs[0].args)
    assert argv[:5] == ["train", "--algo", "ppo", "--env", "CartPole-v1"]
    assert argv[argv.index("--seed") : argv.index("--seed") + 2] == ["--seed", "0"]
    assert argv[argv.index("-params") : argv.index("-params") + 2] == ["-params", "gamma:0.9"]
    assert argv[argv.index("-n") : argv.index("-n") + 2] == ["-n", "1000"]


def _runs(logs: Path) -> list:
    return find_run_folders(logs)


def test_sweep_runs_in_parallel_then_skips_finished_jobs(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tiny.yml").write_text(TINY)
    common = [
        "sweep",
        "--algos",
        "ppo",
        "--envs",
        "CartPole-v1",
        "-f",
        "logs",
        "--conf-file",
        "tiny.yml",
        "--eval-freq",
        128,
        "--eval-episodes",
        2,
    ]
    result = cli(*common, "--seeds", "0-1", "--n-workers", 2)
    assert result.exit_code == 0, result.output
    runs = _runs(tmp_path / "logs")
    assert len(runs) == 2
    seeds = sorted(read_run_args(run)["seed"] for _, run in runs)
    assert seeds == [0, 1]
    for _, run in runs:
        assert read_run_manifest(run)["status"] == "finished"
        assert run.evaluations.is_file()
    assert "2 finished, 0 skipped, 0 failed" in result.output
    logs = sorted((tmp_path / "logs" / "sweep_logs").glob("*.log"))
    assert [p.name for p in logs] == ["ppo_CartPole-v1_seed0.log", "ppo_CartPole-v1_seed1.log"]

    again = cli(*common, "--seeds", "0", "1")
    assert again.exit_code == 0, again.output
    assert "2 already finished (skipped), nothing to run" in again.output
    assert len(_runs(tmp_path / "logs")) == 2

    more = cli(*common, "--seeds", "0-2", "--dry-run")
    assert more.exit_code == 0, more.output
    assert more.output.count("skip    ") == 2 and "run     ppo CartPole-v1 seed 2" in more.output
    assert len(_runs(tmp_path / "logs")) == 2

    other = cli(*common, "--seeds", "0", "-n", 128)  # another budget: another job
    assert other.exit_code == 0, other.output
    assert "0 already finished" in other.output
    assert len(_runs(tmp_path / "logs")) == 3


def test_a_failed_job_fails_the_sweep_and_names_its_log(cli, tmp_path, monkeypatch):
    (tmp_path / "crashing_envs.py").write_text(CRASHING_ENV)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tiny.yml").write_text(TINY.replace("CartPole-v1", "Crashing-v0"))
    common = [
        "sweep",
        "--algos",
        "ppo",
        "--envs",
        "Crashing-v0",
        "-f",
        "logs",
        "--seeds",
        "0",
        "--conf-file",
        "tiny.yml",
        "--gym-packages",
        "crashing_envs",
        "--eval-freq",
        -1,
        "--env-kwargs",
        "crash_at:100",
        "crash_at:100000",
        "--n-workers",
        2,
    ]
    result = cli(*common)
    assert result.exit_code == 1, result.output
    assert "1 finished, 0 skipped, 1 failed" in result.output
    assert "1 of 2 sweep job(s) failed:" in result.output
    assert "ppo Crashing-v0 seed 0 crash_at:100 (exit 1), log " in result.output
    failed_log = next(
        line.split(", log ")[1].split(":")[0]
        for line in result.output.splitlines()
        if "crash_at:100 (exit 1), log " in line
    )
    assert Path(failed_log).is_file()
    assert "sensor cable unplugged" in Path(failed_log).read_text()
    statuses = sorted(read_run_manifest(run)["status"] for _, run in _runs(tmp_path / "logs"))
    assert statuses == ["failed", "finished"]

    again = cli(*common)  # the finished job is skipped, the failed one tried again
    assert again.exit_code == 1, again.output
    assert "1 already finished (skipped), 1 to run" in again.output
    assert len(_runs(tmp_path / "logs")) == 3


def test_sweep_mistakes_are_caught_before_any_job_starts(cli, tmp_path):
    logs = tmp_path / "logs"
    result = cli("sweep", "--algos", "ppo", "--envs", "CartPole-v1", "--seeds", "3-1", "-f", logs)
    assert result.exit_code == 2 and "--seeds" in result.output, result.output
    result = cli(
        "sweep", "--algos", "ppo", "--envs", "CartPole-v1", "-f", logs, "-params", "no_such_key:1"
    )
    assert result.exit_code == 2, result.output
    assert "Sweep job 'ppo CartPole-v1 seed 0 no_such_key:1'" in result.output
    assert "Traceback" not in result.output
    result = cli("sweep", "--algos", "ppo", "--envs", "CartPole-v1", "-f", logs, "--n-workers", 0)
    assert result.exit_code == 2 and "--n-workers" in result.output, result.output
    assert not list(logs.glob("*/*_*"))


def test_sweep_help_lists_the_grid_syntax(cli):
    result = cli("sweep", "--help")
    assert result.exit_code == 0
    assert "A grid over hyperparameters or env kwargs: repeat a key" in " ".join(
        result.output.split()
    )


@pytest.mark.slow  # two sweeps as processes, paced to 10 s of wall-clock time
def test_ctrl_c_stops_the_jobs_and_the_next_sweep_resumes_them(tmp_path, processes):
    import signal
    import subprocess
    import sys

    # Paced by RealTime (one env, each step 1/100 s of wall-clock time): the job lasts at least
    # 1024 / 100 = 10 s however fast or busy the machine is, so the Ctrl-C below always lands
    # mid-training (unpaced, a busy machine once saw the job finish before the signal).
    paced = TINY.replace("n_envs: 2", "n_envs: 1") + (
        "  env_wrapper:\n    - rlzoo_real.envs.realtime.RealTime: {frequency_hz: 100}\n"
    )
    (tmp_path / "tiny.yml").write_text(paced)
    argv = [sys.executable, "-m", "rlzoo_real", "sweep", "--algos", "ppo", "--envs", "CartPole-v1",
            "--seeds", "0", "-f", "logs", "--conf-file", "tiny.yml", "-n", "1024",
            "--eval-freq", "-1", "--save-freq", "256"]  # fmt: skip
    sweep = processes.start(argv, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    log = tmp_path / "logs" / "sweep_logs" / "ppo_CartPole-v1_seed0.log"
    wait_for(
        lambda: log.is_file() and "total_timesteps" in log.read_text(),
        "the job's first training output",
        process=sweep,
    )
    sweep.send_signal(signal.SIGINT)
    output = sweep.communicate(timeout=WAIT_S)[0].decode()
    assert sweep.returncode == 130, output
    assert "STOPPED ppo CartPole-v1 seed 0 (exit 130)" in output
    assert "Run the same sweep again to resume" in output
    ((_, run),) = _runs(tmp_path / "logs")
    assert read_run_manifest(run)["status"] == "stopped"

    again = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert again.returncode == 0, again.stdout + again.stderr
    assert (
        f"resume ppo CartPole-v1 seed 0 from {Path('logs') / 'ppo' / 'CartPole-v1_1'}"
        in again.stdout
    )
    ((_, resumed),) = _runs(tmp_path / "logs")
    assert resumed.path == run.path
    manifest = read_run_manifest(run)
    assert manifest["status"] == "finished" and manifest["num_timesteps"] >= 1024
    assert log.read_text().count("=== ") == 2  # both attempts in the job's log


PENDULUM = """\
Pendulum-v1:
  n_timesteps: 400
  policy: MlpPolicy
  learning_starts: 100
  batch_size: 32
  buffer_size: 2000
  policy_kwargs: "dict(net_arch=[16])"
"""


def test_sweep_passes_on_the_robot_options_and_matches_them(cli, tmp_path, monkeypatch):
    """--updates-between-episodes reaches each job, and a finished job is matched with it."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pendulum.yml").write_text(PENDULUM)
    common = ["sweep", "--algos", "sac", "--envs", "Pendulum-v1", "-f", "logs"]
    common += ["--conf-file", "pendulum.yml", "--eval-freq", 200, "--eval-episodes", 1]
    result = cli(*common, "--seeds", "0", "--updates-between-episodes")
    assert result.exit_code == 0, result.output
    (_, run), *others = _runs(tmp_path / "logs")
    assert not others
    assert read_run_args(run)["updates_between_episodes"] is True
    config = dict(yaml.safe_load(run.config_file.read_text()))
    assert config["train_freq"] == [1, "episode"] and config["gradient_steps"] == -1
    again = cli(*common, "--seeds", "0", "--updates-between-episodes", "--dry-run")
    assert again.exit_code == 0 and again.output.count("skip    ") == 1, again.output
    plain = cli(*common, "--seeds", "0", "--dry-run")  # without the option: another job
    assert plain.exit_code == 0 and "run     sac Pendulum-v1 seed 0" in plain.output


def test_sbx_algorithm_names_become_the_backend_in_sweep_jobs():
    pytest.importorskip("sbx")
    template = TrainArgs(algo="sac", env="Pendulum-v1", n_timesteps=300)
    jobs = make_jobs(algos=["sac", "sac_sbx"], envs=["Pendulum-v1"], seeds=[0], template=template)
    assert [(j.args.algo, j.args.backend) for j in jobs] == [("sac", "sb3"), ("sac", "sbx")]
    assert jobs[0].slug != jobs[1].slug and jobs[1].slug.startswith("sac_sbx_")
    argv = train_argv(jobs[1].args)
    assert argv[argv.index("--backend") + 1] == "sbx" and "--backend" not in train_argv(
        jobs[0].args
    )
