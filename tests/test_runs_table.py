"""``realzoo runs``: one line per run folder, numbers taken from the files."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from rlzoo_real.runs.folder import find_run_folders
from tests.synthetic_runs import make_synthetic_run


def test_runs_lists_real_and_odd_runs(cli, tiny_conf, tmp_path):
    logs = tmp_path / "logs"
    for seed in (4, 5):
        result = cli(
            "train",
            "-a",
            "ppo",
            "-e",
            "CartPole-v1",
            "-f",
            logs,
            "--conf-file",
            tiny_conf,
            "--seed",
            seed,
            "--eval-freq",
            128,
            "--eval-episodes",
            2,
            "--verbose",
            0,
        )
        assert result.exit_code == 0, result.output
    make_synthetic_run(logs, "sac", "Pendulum-v1", seed=9, status="running")
    zoo = make_synthetic_run(logs, "td3", "Pendulum-v1", seed=1)
    zoo.manifest_file.unlink()  # as the RL Zoo leaves it
    result = cli("runs", "-f", logs)
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert lines[0].split() == [
        "algo",
        "env",
        "id",
        "seed",
        "steps",
        "best",
        "eval",
        "last",
        "eval",
        "status",
        "wall",
        "time",
    ]
    assert lines[-1] == "4 runs: 2 finished, 1 running, 1 unknown"
    ppo = [line.split() for line in lines if line.startswith("ppo")]
    assert [row[:4] for row in ppo] == [
        ["ppo", "CartPole-v1", "1", "4"],
        ["ppo", "CartPole-v1", "2", "5"],
    ]
    assert all(row[4] == "512" and row[7] == "finished" for row in ppo)

    table = cli("runs", "-f", logs, "--csv")
    assert table.exit_code == 0, table.output
    rows = list(csv.DictReader(table.output.splitlines()))
    by_algo = {row["algo"]: row for row in rows if row["algo"] != "ppo"}
    assert by_algo["sac"]["status"] == "running" and by_algo["sac"]["steps"] == "20000"
    assert by_algo["td3"]["status"] == "unknown" and by_algo["td3"]["wall_time_s"] == ""
    for row in rows:
        run_path = Path(row["path"])
        with np.load(run_path / "evaluations.npz") as data:
            means = data["results"].mean(axis=1)
        assert float(row["best_eval"]) == means.max()
        assert float(row["last_eval"]) == means[-1]
    assert len(rows) == len(find_run_folders(logs))

    only = cli("runs", "-f", logs, "--algos", "sac", "td3", "--envs", "Pendulum-v1")
    assert only.exit_code == 0 and only.output.strip().endswith("2 runs: 1 running, 1 unknown")


def test_runs_errors(cli, tmp_path):
    result = cli("runs", "-f", tmp_path / "nowhere")
    assert result.exit_code == 2 and "does not exist" in result.output
    (tmp_path / "logs").mkdir()
    result = cli("runs", "-f", tmp_path / "logs", "--algos", "ppo")
    assert result.exit_code == 2, result.output
    assert "No run folders for --algos ppo" in result.output
    assert "Traceback" not in result.output
