"""--track with Weights & Biases in offline mode: config and metrics reach the run file."""

import json

import yaml

from tests.conftest import wait_for
from tests.wandb_records import read_records


def test_track_logs_config_and_metrics_offline(cli, tiny_conf, tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    result = cli(
        "train",
        "-a",
        "ppo",
        "-e",
        "CartPole-v1",
        "--conf-file",
        tiny_conf,
        "-f",
        tmp_path,
        "--seed",
        "2",
        "--eval-freq",
        "256",
        "--verbose",
        "0",
        "--track",
        "--wandb-project-name",
        "zoo-test",
        "--wandb-tags",
        "t1",
        "t2",
    )
    assert result.exit_code == 0, result.output
    run_dir = tmp_path / "ppo" / "CartPole-v1_1"
    files = list(run_dir.glob("wandb/offline-run-*/run-*.wandb"))
    assert len(files) == 1

    def finished() -> list:
        records = read_records(files[0])
        return records if any(r.WhichOneof("record_type") == "exit" for r in records) else []

    # W&B's writer is a process of its own: on a busy machine the file may still be growing
    # when train returns (seen under load: no run record yet), so wait for its exit record.
    records = wait_for(finished, "the exit record of the offline W&B file", timeout=120)
    runs = [r.run for r in records if r.WhichOneof("record_type") == "run"]
    assert runs and list(runs[0].tags) == ["t1", "t2"] and runs[0].project == "zoo-test"

    config = {u.key: json.loads(u.value_json) for u in runs[0].config.update}
    assert config["algo"] == "ppo" and config["seed"] == 2
    assert config["hyperparams"]["n_steps"] == 64  # the resolved entry
    assert config["overrides"] == []

    history = [
        {
            item.key or "/".join(item.nested_key): json.loads(item.value_json)
            for item in r.history.item
        }
        for r in records
        if r.WhichOneof("record_type") == "history"
    ]
    evals = [h for h in history if "eval/mean_reward" in h]
    assert [h["global_step"] for h in evals] == [256, 512]
    assert any("train/loss" in h for h in history)

    manifest = yaml.safe_load((run_dir / "CartPole-v1" / "manifest.yml").read_text())
    assert manifest["wandb_run_id"] == runs[0].run_id
