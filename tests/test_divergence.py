"""Training that diverges (NaN or inf) stops with one paragraph, exit status 3, a failed
manifest and the last good checkpoint kept; nothing non-finite is ever saved."""

from __future__ import annotations

import torch
import yaml

from rlzoo_real.runs.folder import RunFolder
from rlzoo_real.train.stopping import EXIT_DIVERGED
from tests.conftest import run_realzoo


def _finite_parameters(model_path) -> bool:
    from stable_baselines3 import SAC

    model = SAC.load(model_path, device="cpu")
    return all(bool(torch.isfinite(p).all()) for p in model.policy.parameters())


def test_sac_with_a_huge_learning_rate_stops_at_the_first_nan(tiny_conf, tmp_path):
    result = run_realzoo(
        "train",
        "-a",
        "sac",
        "-e",
        "Pendulum-v1",
        "--conf-file",
        tiny_conf,
        "-f",
        tmp_path / "logs",
        "-n",
        "1000",
        "-params",
        "learning_rate:5.0",
        "--seed",
        "1",
        "--save-freq",
        "100",
        "--eval-freq",
        "200",
        "--eval-episodes",
        "1",
        "--verbose",
        "0",
        cwd=tmp_path,
    )
    assert result.returncode == EXIT_DIVERGED == 3, result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.stderr  # one paragraph
    message = errors[0]
    assert "Training diverged:" in message and " at step " in message
    step = int(message.split(" at step ")[1].split(".")[0])
    assert 100 < step < 1000  # after the first updates, well before the budget

    run = RunFolder(tmp_path / "logs" / "sac" / "Pendulum-v1_1", "Pendulum-v1")
    manifest = yaml.safe_load(run.manifest_file.read_text())
    assert manifest["status"] == "failed" and manifest["exit_code"] == 3
    assert manifest["failure"].startswith("Training diverged:")
    assert manifest["num_timesteps"] == step
    assert not run.final_model.exists()  # no NaN model
    index = yaml.safe_load(run.checkpoint_index.read_text())["checkpoints"]
    last = index[-1]["steps"]
    assert last < step and f"at {last} steps" in message
    assert manifest["last_checkpoint"] == last
    for entry in index:  # every checkpoint kept is a good one
        assert _finite_parameters(run.path / entry["files"]["model"])


def test_nan_observations_stop_the_run_naming_them(cli, tmp_path):
    conf = tmp_path / "nan.yml"
    conf.write_text(
        "NanAfter-v0:\n"
        "  n_timesteps: 600\n"
        "  policy: MlpPolicy\n"
        "  n_steps: 64\n"
        "  batch_size: 32\n"
        '  policy_kwargs: "dict(net_arch=[8])"\n'
    )
    result = cli(
        "train",
        "-a",
        "ppo",
        "-e",
        "NanAfter-v0",
        "--gym-packages",
        "tests.nan_envs",
        "--conf-file",
        conf,
        "-f",
        tmp_path / "logs",
        "--seed",
        "0",
        "--save-freq",
        "64",
        "--eval-freq",
        "-1",
        "--verbose",
        "0",
    )
    assert result.exit_code == 3, result.output
    assert "NaN or inf in the observations the env returned at step " in result.output
    step = int(result.output.split("returned at step ")[1].split(".")[0])
    assert 150 <= step <= 151  # the env's 150th step (151st when the env probe took one)
    run = RunFolder(tmp_path / "logs" / "ppo" / "NanAfter-v0_1", "NanAfter-v0")
    manifest = yaml.safe_load(run.manifest_file.read_text())
    assert manifest["status"] == "failed" and "observations" in manifest["failure"]
    index = yaml.safe_load(run.checkpoint_index.read_text())["checkpoints"]
    assert [c["steps"] for c in index] == [64, 128]  # none past the NaN
    assert not run.final_model.exists()
