"""Runs that survive crashes: a run killed after a checkpoint and resumed ends exactly as
the same run left alone; checkpoints are complete or ignored; bad requests change nothing."""

from __future__ import annotations

import hashlib
import importlib.util
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from rlzoo_real.runs.folder import RunFolder
from tests.conftest import WAIT_S, quiet_train, run_realzoo, wait_for


def _train_command(
    algo: str,
    env: str,
    conf: Path,
    folder: Path,
    n: int,
    save_freq: int,
    eval_freq: int,
    *extra: str,
) -> list[str]:
    return [
        sys.executable,
        "-m",
        "rlzoo_real",
        "train",
        "-a",
        algo,
        "-e",
        env,
        "--conf-file",
        str(conf),
        "-f",
        str(folder),
        "-n",
        str(n),
        "--seed",
        "5",
        "--save-freq",
        str(save_freq),
        "--eval-freq",
        str(eval_freq),
        "--eval-episodes",
        "2",
        "--verbose",
        "0",
        *extra,
    ]


def _kill_after_checkpoint(command: list[str], run: RunFolder, steps: int) -> None:
    """Start ``command``; SIGKILL it as soon as the index lists a checkpoint at >= ``steps``."""

    def checkpointed() -> bool:
        if not run.checkpoint_index.is_file():
            return False
        index = yaml.safe_load(run.checkpoint_index.read_text())
        return any(c["steps"] >= steps for c in index["checkpoints"])

    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:  # reaped even when the wait fails
        wait_for(checkpointed, f"a checkpoint at {steps} steps", process=proc, interval=0.02)
    finally:
        proc.kill()
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL


def _params(model_path: Path, algo: str) -> dict:
    from rlzoo_real.algos.registry import get_algo

    model = get_algo(algo).load_class().load(model_path, device="cpu")
    return {k: v.clone() for k, v in model.policy.state_dict().items()}


def _monitor_rows(run: RunFolder) -> list[list[str]]:
    rows = []
    for path in run.monitor_files():
        for line in path.read_text().splitlines()[2:]:
            reward, length, _wall_time, *continuity = line.split(",")
            rows.append([reward, length, *continuity])
    return rows


@pytest.mark.parametrize(
    ("algo", "env", "n", "save_freq", "eval_freq"),
    [
        ("sac", "Pendulum-v1", 800, 200, 200),
        # on-policy: 12800 steps so that the kill lands well before the end (slow: 3 processes)
        pytest.param("ppo", "CartPole-v1", 12800, 2048, 1024, marks=pytest.mark.slow),
    ],
)
def test_killed_run_resumes_exactly(tiny_conf, tmp_path, algo, env, n, save_freq, eval_freq):
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    done = subprocess.run(
        _train_command(algo, env, tiny_conf, whole, n, save_freq, eval_freq),
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stderr

    run = RunFolder(killed / algo / f"{env}_1", env)
    _kill_after_checkpoint(
        _train_command(algo, env, tiny_conf, killed, n, save_freq, eval_freq), run, save_freq
    )
    manifest = yaml.safe_load(run.manifest_file.read_text())
    assert manifest["status"] == "running"  # killed: nobody could say otherwise
    resumed = run_realzoo("train", "--resume", run.path, cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert "Resuming" in resumed.stdout

    reference = RunFolder(whole / algo / f"{env}_1", env)
    expected, got = _params(reference.final_model, algo), _params(run.final_model, algo)
    assert expected.keys() == got.keys()
    for key in expected:
        assert np.array_equal(expected[key].numpy(), got[key].numpy()), key
    with np.load(reference.evaluations) as a, np.load(run.evaluations) as b:
        for key in ("timesteps", "results", "ep_lengths"):
            np.testing.assert_array_equal(a[key], b[key])
    assert _monitor_rows(run) == _monitor_rows(reference)  # appended, not restarted
    manifest = yaml.safe_load(run.manifest_file.read_text())
    assert manifest["status"] == "finished" and manifest["num_timesteps"] >= n
    assert len(manifest["resumes"]) == 1
    assert run.command_file.read_text().count("\n") == 2


@pytest.mark.slow  # end to end with several processes (see the commit)
def test_kill_during_a_checkpoint_write_falls_back_to_the_previous_one(tmp_path):
    conf = tmp_path / "sac.yml"
    conf.write_text(
        yaml.safe_dump(
            {
                "Pendulum-v1": {
                    "n_timesteps": 100000,
                    "learning_starts": 100,
                    "batch_size": 16,
                    "buffer_size": 3_000_000,  # a large buffer: writing it takes a while
                    "policy_kwargs": "dict(net_arch=[8])",
                }
            }
        )
    )
    folder = tmp_path / "logs"
    run = RunFolder(folder / "sac" / "Pendulum-v1_1", "Pendulum-v1")
    proc = subprocess.Popen(
        _train_command("sac", "Pendulum-v1", conf, folder, 100000, 300, -1),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    # SIGKILL it while it writes the second checkpoint's replay buffer
    deadline = time.monotonic() + WAIT_S
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            partial = (
                [p for p in run.path.glob(".tmp-*replay_buffer_600*")] if run.path.is_dir() else []
            )
            if partial:
                break
            time.sleep(0.001)
        proc.kill()
    finally:
        proc.wait(timeout=60)
    assert partial, "the writer was never caught mid-write"
    index = yaml.safe_load(run.checkpoint_index.read_text())
    assert [c["steps"] for c in index["checkpoints"]] == [300]

    resumed = run_realzoo(
        "train", "--resume", run.path, "-n", "700", "--save-freq", "-1", cwd=tmp_path
    )
    assert resumed.returncode == 0, resumed.stderr
    assert not list(run.path.glob(".tmp-*")), "stale temporary files were not cleaned up"
    manifest = yaml.safe_load(run.manifest_file.read_text())
    assert manifest["resumes"][0]["from_step"] == 300 and manifest["num_timesteps"] == 700


def test_corrupt_checkpoint_falls_back_and_says_so(cli, tiny_conf, tmp_path):
    base = quiet_train("sac", "Pendulum-v1", tiny_conf, tmp_path, "--seed", "1")
    assert cli(*base, "-n", "400", "--save-freq", "200").exit_code == 0
    run = RunFolder(tmp_path / "sac" / "Pendulum-v1_1", "Pendulum-v1")
    newest = run.checkpoint_files(400)["model"]
    newest.write_bytes(newest.read_bytes()[:100])  # a torn file
    result = cli("train", "--resume", run.path, "-n", "600", "--verbose", "0")
    assert result.exit_code == 0, result.output
    assert "checkpoint at 400 steps is unusable" in result.output
    manifest = yaml.safe_load(run.manifest_file.read_text())
    assert manifest["resumes"][-1]["from_step"] == 200 and manifest["num_timesteps"] == 600


def test_time_limit_stops_cleanly_and_resume_finishes(cli, tiny_conf, tmp_path):
    result = cli(
        *quiet_train("sac", "Pendulum-v1", tiny_conf, tmp_path, "-n", "100000", "--seed", "2"),
        "--time-limit",
        "0.003",  # 10.8 s, start-up included: some steps even on a busy machine, far from 1e5
    )
    assert result.exit_code == 75, result.output
    run = RunFolder(tmp_path / "sac" / "Pendulum-v1_1", "Pendulum-v1")
    assert f"realzoo train --resume {run.path}" in result.output
    manifest = yaml.safe_load(run.manifest_file.read_text())
    assert manifest["status"] == "stopped" and manifest["stop_reason"] == "time limit"
    stopped_at = manifest["num_timesteps"]
    assert 0 < stopped_at < 100000 and manifest["last_checkpoint"] == stopped_at
    result = cli(
        "train",
        "--resume",
        "latest",
        "-a",
        "sac",
        "-e",
        "Pendulum-v1",
        "-f",
        tmp_path,
        "-n",
        str(stopped_at + 200),
        "--verbose",
        "0",
    )
    assert result.exit_code == 0, result.output
    assert yaml.safe_load(run.manifest_file.read_text())["num_timesteps"] == stopped_at + 200


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def finished_run(cli, tiny_conf, tmp_path) -> RunFolder:
    result = cli(*quiet_train("ppo", "CartPole-v1", tiny_conf, tmp_path, "--seed", "3"))
    assert result.exit_code == 0, result.output
    return RunFolder(tmp_path / "ppo" / "CartPole-v1_1", "CartPole-v1")


@pytest.mark.parametrize(
    ("extra", "fragments"),
    [
        ([], ["already finished", "-n 1024"]),
        (["-n", "2048", "-params", "n_epochs:5"], ["contradict the saved run", "--hyperparams"]),
        (["-n", "2048", "--seed", "4"], ["contradict", "seed is 3"]),
        (["-n", "2048", "-a", "a2c"], ["contradict", "the run is ppo"]),
        pytest.param(
            ["-n", "2048", "-a", "ppo_sbx"],
            ["contradict", "--algo ppo_sbx (the run's backend is sb3)"],
            marks=pytest.mark.skipif(
                importlib.util.find_spec("sbx") is None, reason="needs the sbx extra"
            ),
        ),
    ],
)
def test_bad_resume_requests_change_nothing(cli, finished_run, extra, fragments):
    before = _digest(finished_run.path)
    result = cli("train", "--resume", finished_run.path, *extra, "--verbose", "0")
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in result.output
    assert _digest(finished_run.path) == before


def test_finished_run_can_be_extended(cli, finished_run):
    result = cli("train", "--resume", finished_run.path, "-n", "1024", "--verbose", "0")
    assert result.exit_code == 0, result.output
    manifest = yaml.safe_load(finished_run.manifest_file.read_text())
    assert manifest["status"] == "finished" and manifest["num_timesteps"] == 1024


def test_resume_what_does_not_exist(cli, tiny_conf, tmp_path):
    (tmp_path / "ppo" / "CartPole-v1_1").mkdir(parents=True)
    result = cli("train", "--resume", tmp_path / "ppo" / "CartPole-v1_7")
    assert result.exit_code == 2 and "no run folder" in result.output
    assert "CartPole-v1_1" in result.output  # lists what exists
    result = cli("train", "--resume", tmp_path / "ppo" / "CartPole-v1_1")
    assert result.exit_code == 2 and "not a realzoo run folder" in result.output
    result = cli("train", "--resume", "latest", "-a", "ppo", "-e", "Acrobot-v1", "-f", tmp_path)
    assert result.exit_code == 2 and "No run of ppo on Acrobot-v1" in result.output
    assert (
        cli(
            "train",
            "-a",
            "ppo",
            "-e",
            "CartPole-v1",
            "--conf-file",
            tiny_conf,
            "-f",
            tmp_path,
            "--save-freq",
            "-1",
            "--eval-freq",
            "-1",
            "--verbose",
            "0",
        ).exit_code
        == 0
    )
    run = tmp_path / "ppo" / "CartPole-v1_2"
    result = cli("train", "--resume", run, "-n", "5000")
    assert result.exit_code == 2 and "no checkpoint to resume from" in result.output


def test_keep_checkpoints_and_buffer_only_with_the_latest(cli, tiny_conf, tmp_path):
    extra = ("-n", "1000", "--save-freq", "200", "--keep-checkpoints", "2", "--seed", "0")
    result = cli(*quiet_train("sac", "Pendulum-v1", tiny_conf, tmp_path, *extra))
    assert result.exit_code == 0, result.output
    run = RunFolder(tmp_path / "sac" / "Pendulum-v1_1", "Pendulum-v1")
    index = yaml.safe_load(run.checkpoint_index.read_text())["checkpoints"]
    assert [c["steps"] for c in index] == [800, 1000]
    assert sorted(run.checkpoints()) == [800, 1000]
    buffers = sorted(p.name for p in run.path.glob("rl_model_replay_buffer_*"))
    assert buffers == ["rl_model_replay_buffer_1000_steps.pkl"]
    assert "replay_buffer" not in index[0]["files"] and "replay_buffer" in index[1]["files"]


def test_resume_says_when_it_cannot_be_exact(cli, tiny_conf, tmp_path):
    extra = ("--vec-env", "subproc", "--seed", "0")
    result = cli(*quiet_train("ppo", "CartPole-v1", tiny_conf, tmp_path, *extra))
    assert result.exit_code == 0, result.output
    run = tmp_path / "ppo" / "CartPole-v1_1"
    result = cli("train", "--resume", run, "-n", "1024", "--verbose", "0")
    assert result.exit_code == 0, result.output
    assert "training env state not restored (subprocess envs" in result.output
    assert "new episodes start" in result.output


def test_mujoco_env_state_is_saved_and_restored(tmp_path):
    from stable_baselines3.common.env_util import make_vec_env

    from rlzoo_real.train.state import _capture_vec_env, restore_vec_env

    env = make_vec_env("Hopper-v5", n_envs=1, seed=0, monitor_dir=str(tmp_path))
    env.reset()
    for _ in range(5):
        env.step(np.zeros((1, 3), dtype=np.float32))
    saved = _capture_vec_env(env)
    assert saved["envs"] is not None, saved["reason"]
    expected = [env.step(np.full((1, 3), 0.3, dtype=np.float32))[0] for _ in range(3)]
    fresh = make_vec_env("Hopper-v5", n_envs=1, seed=0, monitor_dir=str(tmp_path / "b"))
    assert restore_vec_env(fresh, saved) is None
    got = [fresh.step(np.full((1, 3), 0.3, dtype=np.float32))[0] for _ in range(3)]
    np.testing.assert_array_equal(np.array(expected), np.array(got))
    np.testing.assert_array_equal(
        fresh.envs[0].unwrapped.data.qpos, env.envs[0].unwrapped.data.qpos
    )
    env.close()
    fresh.close()


def test_runs_table_tells_killed_runs_from_running_ones(tiny_conf, tmp_path):
    from rlzoo_real.runs.folder import read_run_manifest, run_status

    run = RunFolder(tmp_path / "sac" / "Pendulum-v1_1", "Pendulum-v1")
    command = _train_command("sac", "Pendulum-v1", tiny_conf, tmp_path, 100000, 200, -1)
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(run.checkpoint_index.is_file, "the first checkpoint", process=proc)
        status, steps = run_status(run, read_run_manifest(run))
        assert status == "running" and steps is not None and steps >= 200
    finally:
        proc.kill()
        proc.wait(timeout=60)
    status, steps = run_status(run, read_run_manifest(run))
    assert status == "stopped" and steps is not None and steps >= 200
    table = run_realzoo("runs", "-f", tmp_path, cwd=tmp_path)
    assert table.returncode == 0, table.stderr
    assert "stopped" in table.stdout


@pytest.mark.parametrize(
    "index",
    ["checkpoints: [\n", "checkpoints:\n- {steps: 512, surprise: 1}\n", "checkpoints: [7]\n"],
)
def test_a_damaged_checkpoint_index_is_named_and_left_alone(cli, finished_run, index):
    finished_run.checkpoint_index.write_text(index)
    before = _digest(finished_run.path)
    result = cli("train", "--resume", finished_run.path, "-n", "2048", "--verbose", "0")
    assert result.exit_code == 2, result.output
    assert "checkpoints.yml is corrupt" in " ".join(result.output.split())
    assert "Traceback" not in result.output
    assert _digest(finished_run.path) == before


class _Clock:
    """Stands in for the ``time`` module of :mod:`rlzoo_real.train.stopping`: once
    :attr:`spent` is set, its clock is far past any deadline (the time limit ran out)."""

    spent = False

    @classmethod
    def monotonic(cls) -> float:
        return time.monotonic() + (1e9 if cls.spent else 0.0)


def _spend_time_limit_at(moment: str):  # a callback class: SB3 is imported lazily
    from stable_baselines3.common.callbacks import BaseCallback

    class SpendTimeLimit(BaseCallback):
        """The time limit runs out on the step that reaches -n, or during the last update."""

        def _on_step(self) -> bool:
            if moment == "step" and self.num_timesteps >= self.model._total_timesteps:
                _Clock.spent = True
            return True

        def _on_rollout_end(self) -> None:
            if moment == "update" and self.num_timesteps >= self.model._total_timesteps:
                _Clock.spent = True

    return SpendTimeLimit()


@pytest.mark.parametrize("moment", ["step", "update"])
def test_time_limit_on_the_last_rollout_finishes_the_run(
    cli, tiny_conf, tmp_path, monkeypatch, moment
):
    from rlzoo_real.train import stopping
    from rlzoo_real.train.request import TrainArgs
    from rlzoo_real.train.run import train

    def request(folder: str, time_limit: float | None) -> TrainArgs:
        return TrainArgs(algo="ppo", env="CartPole-v1", conf_file=str(tiny_conf),
                         log_folder=str(tmp_path / folder), n_timesteps=384, seed=5,
                         eval_freq=-1, save_freq=128, verbose=0, time_limit=time_limit,
                         hyperparams={"learning_rate": 0.001})  # fmt: skip
        # (a constant learning rate: the table's lin_0.001 makes the last update a no-op)

    whole = train(request("whole", None))
    assert whole.status == "finished" and whole.num_timesteps == 384
    monkeypatch.setattr(_Clock, "spent", False)
    monkeypatch.setattr(stopping, "time", _Clock)
    result = train(request("limited", 1.0), extra_callbacks=[_spend_time_limit_at(moment)])
    assert _Clock.spent  # the limit did run out, on the last rollout
    run = result.run
    manifest = yaml.safe_load(run.manifest_file.read_text())
    assert (result.status, result.exit_code) == ("finished", 0)
    assert manifest["status"] == "finished" and manifest["num_timesteps"] == 384
    assert manifest["exit_code"] == 0
    # the last rollout and its update were not cut short: the same model as the run left alone
    expected, got = _params(whole.run.final_model, "ppo"), _params(run.final_model, "ppo")
    for key in expected:
        assert np.array_equal(expected[key].numpy(), got[key].numpy()), key
    again = cli("train", "--resume", run.path, "--verbose", "0")
    assert again.exit_code == 2 and "already finished" in again.output


def test_resume_of_a_run_stopped_at_its_budget_finishes_it(cli, tiny_conf, tmp_path):
    """What a time limit on the last rollout left before it counted as finished (or a kill
    between the last checkpoint and the final model): a checkpoint at -n, status stopped."""
    result = cli(*quiet_train("ppo", "CartPole-v1", tiny_conf, tmp_path, "-n", "384",
                              "--seed", "5", "--save-freq", "128"))  # fmt: skip
    assert result.exit_code == 0, result.output
    run = RunFolder(tmp_path / "ppo" / "CartPole-v1_1", "CartPole-v1")
    expected = _params(run.final_model, "ppo")
    manifest = yaml.safe_load(run.manifest_file.read_text())
    manifest.update(status="stopped", stop_reason="time limit", exit_code=75)
    run.manifest_file.write_text(yaml.safe_dump(manifest))
    run.final_model.unlink()

    result = cli("train", "--resume", run.path, "--verbose", "0")
    assert result.exit_code == 0, result.output
    assert "already reached its budget" in result.output
    manifest = yaml.safe_load(run.manifest_file.read_text())
    assert manifest["status"] == "finished" and manifest["exit_code"] == 0
    assert manifest["num_timesteps"] == 384 and manifest["resumes"][-1]["from_step"] == 384
    got = _params(run.final_model, "ppo")  # written again, from the checkpoint at 384
    for key in expected:
        assert np.array_equal(expected[key].numpy(), got[key].numpy()), key
    again = cli("train", "--resume", run.path, "--verbose", "0")
    assert again.exit_code == 2 and "already finished" in again.output


def test_resume_with_a_total_below_the_checkpoint_is_refused(cli, tiny_conf, tmp_path):
    """-n is the total: a -n below what the run already trained is a mistake (the user
    meant the steps to add), not a request to finish early."""
    result = cli(*quiet_train("ppo", "CartPole-v1", tiny_conf, tmp_path, "-n", "512",
                              "--seed", "5", "--save-freq", "128"))  # fmt: skip
    assert result.exit_code == 0, result.output
    run = RunFolder(tmp_path / "ppo" / "CartPole-v1_1", "CartPole-v1")
    manifest = yaml.safe_load(run.manifest_file.read_text())
    manifest.update(status="stopped", stop_reason="signal", exit_code=130)
    run.manifest_file.write_text(yaml.safe_dump(manifest))
    run.final_model.unlink()
    before = {p: p.read_bytes() for p in run.path.rglob("*") if p.is_file()}

    result = cli("train", "--resume", run.path, "-n", "256", "--verbose", "0")
    assert result.exit_code == 2, result.output
    assert "-n is the total" in " ".join(result.output.split())
    assert "Traceback" not in result.output
    assert {p: p.read_bytes() for p in run.path.rglob("*") if p.is_file()} == before
