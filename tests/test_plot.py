"""``realzoo plot``: figures, saved numbers, tables and their numbers, seeds, bad input."""

from __future__ import annotations

import csv
import json
import shutil
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from rlzoo_real.cli import app
from rlzoo_real.cli._argv import expand_multi_value_options
from rlzoo_real.runs.folder import RunFolder, find_run_folders
from tests.synthetic_runs import make_synthetic_logs, make_synthetic_run

CONFS = {
    "ppo": """\
CartPole-v1:
  n_envs: 2
  n_timesteps: 512
  policy: MlpPolicy
  n_steps: 64
  batch_size: 64
  n_epochs: 2
  policy_kwargs: "dict(net_arch=[16], activation_fn=nn.Tanh)"
""",
    "a2c": """\
CartPole-v1:
  n_envs: 2
  n_timesteps: 512
  policy: MlpPolicy
  n_steps: 8
  learning_rate: 0.001
  policy_kwargs: "dict(net_arch=[16])"
""",
}


def invoke(*args: object) -> object:
    """``realzoo`` in-process, Zoo-style argv included."""
    words = expand_multi_value_options([str(a) for a in args])
    return CliRunner().invoke(app, words)


def assert_user_error(result: object, *needles: str) -> None:
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    assert "Error:" in result.output
    for needle in needles:
        assert needle in result.output, result.output


@pytest.fixture(scope="module")
def real_logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """ppo and a2c on CartPole-v1, seeds 0-2, trained for real (512 steps each)."""
    root = tmp_path_factory.mktemp("real")
    logs = root / "logs"
    for algo, text in CONFS.items():
        conf = root / f"{algo}.yml"
        conf.write_text(text)
        for seed in range(3):
            result = invoke(
                "train",
                "-a",
                algo,
                "-e",
                "CartPole-v1",
                "-f",
                logs,
                "--conf-file",
                conf,
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
    return logs


@pytest.fixture(scope="module")
def synthetic_logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    logs = tmp_path_factory.mktemp("synthetic") / "logs"
    make_synthetic_logs(
        logs, algos=["ppo", "sac"], envs=["Pendulum-v1", "CartPole-v1"], seeds=range(4)
    )
    return logs


def assert_png(path: Path) -> None:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", path
    assert len(data) > 5000, path


def assert_pdf(path: Path) -> None:
    data = path.read_bytes()
    assert data.startswith(b"%PDF-") and b"%%EOF" in data[-64:], path


def assert_svg(path: Path) -> None:
    root = ET.parse(path).getroot()
    assert root.tag.endswith("svg"), root.tag
    assert b"Date" not in path.read_bytes()  # reproducible: no creation date


def test_plot_all_from_real_runs(real_logs, tmp_path):
    out = tmp_path / "out"
    result = invoke("plot", "all", "-f", real_logs, "-o", out, "--reps", 300)
    assert result.exit_code == 0, result.output
    for name in (
        "train_curves",
        "eval_curves",
        "aggregate_metrics",
        "performance_profile",
        "sample_efficiency",
        "probability_of_improvement",
    ):
        assert_png(out / f"{name}.png")
    for name in ("train_curves.npz", "eval_curves.npz", "aggregate.npz"):
        with np.load(out / name, allow_pickle=False) as data:  # no pickle anywhere
            assert "meta" in data.files
    summary = json.loads((out / "aggregate.json").read_text())
    assert set(summary["metrics"]) == {"a2c", "ppo"}
    assert summary["runs_per_env"] == {"a2c": 3, "ppo": 3}
    assert "P(a2c > ppo)" in summary["probability_of_improvement"]
    assert "IQM" in result.output


def test_results_table_numbers_match_the_npz_files(real_logs, tmp_path):
    out = tmp_path / "tables"
    result = invoke("plot", "table", "-f", real_logs, "-o", out, "--reps", 500)
    assert result.exit_code == 0, result.output
    rows = {
        row["label"]: row for row in csv.DictReader((out / "results.csv").read_text().splitlines())
    }
    assert set(rows) == {"a2c", "ppo"}
    for algo, row in rows.items():
        finals, bests = [], []
        for _, run in find_run_folders(real_logs, algos=[algo]):
            with np.load(run.evaluations) as data:
                means = data["results"].mean(axis=1)
                timesteps = data["timesteps"]
            finals.append(means[-1])
            bests.append(means.max())
        assert int(row["n_runs"]) == 3
        assert int(row["timesteps"]) == int(timesteps[-1])
        assert float(row["final_mean"]) == pytest.approx(np.mean(finals), abs=1e-9)
        assert float(row["best_mean"]) == pytest.approx(np.mean(bests), abs=1e-9)
        assert float(row["final_std"]) == pytest.approx(np.std(finals, ddof=1), abs=1e-9)
        assert min(finals) <= float(row["final_ci_low"]) <= float(row["final_mean"])
        assert float(row["final_mean"]) <= float(row["final_ci_high"]) <= max(finals)
    markdown = (out / "results.md").read_text()
    assert "| CartPole-v1 |" in markdown and "**" in markdown
    latex = (out / "results.tex").read_text()
    assert "\\toprule" in latex and "\\textbf{" in latex and "CartPole-v1 &" in latex


@pytest.mark.parametrize("fmt,check", [("pdf", assert_pdf), ("svg", assert_svg)])
def test_figure_formats(synthetic_logs, tmp_path, fmt, check):
    out = tmp_path / "out"
    for view in ("train", "eval", "aggregate"):
        result = invoke(
            "plot", view, "-f", synthetic_logs, "-o", out, "--format", fmt, "--reps", 100
        )
        assert result.exit_code == 0, result.output
    for name in (
        "train_curves",
        "eval_curves",
        "aggregate_metrics",
        "performance_profile",
        "sample_efficiency",
        "probability_of_improvement",
    ):
        check(out / f"{name}.{fmt}")


def _aggregate_numbers(logs: Path, out: Path, seed: int) -> dict:
    result = invoke("plot", "aggregate", "-f", logs, "-o", out, "--reps", 200, "--seed", seed)
    assert result.exit_code == 0, result.output
    return json.loads((out / "aggregate.json").read_text())


def test_same_seed_same_intervals_other_seed_other_intervals(synthetic_logs, tmp_path):
    first = _aggregate_numbers(synthetic_logs, tmp_path / "a", 0)
    again = _aggregate_numbers(synthetic_logs, tmp_path / "b", 0)
    other = _aggregate_numbers(synthetic_logs, tmp_path / "c", 1)
    assert first["metrics"] == again["metrics"]
    assert first["probability_of_improvement"] == again["probability_of_improvement"]
    assert first["metrics"] != other["metrics"]
    # point estimates do not depend on the seed, only the intervals do
    for label, metrics in first["metrics"].items():
        for name, value in metrics.items():
            assert value["point"] == other["metrics"][label][name]["point"]


def test_fast_bootstrap_draws_what_rliable_draws():
    from rlzoo_real.plotting.aggregate import ScoreTable, aggregate

    rng = np.random.default_rng(0)
    labels = ["a", "b"]
    final = {"a": rng.normal(0.5, 0.3, (5, 3)), "b": rng.normal(0.6, 0.3, (4, 3))}
    curves = {k: rng.normal(0.5, 0.3, (v.shape[0], 3, 6)) for k, v in final.items()}
    scores = ScoreTable(
        labels, ["x", "y", "z"], final, curves, np.arange(6.0), "Timesteps", True, {}, []
    )
    state = np.random.get_state()
    fast = aggregate(scores, reps=200, seed=5, engine="fast")
    slow = aggregate(scores, reps=200, seed=5, engine="rliable")
    after = np.random.get_state()
    assert all(np.array_equal(a, b) for a, b in zip(state[1:2], after[1:2], strict=True))
    for name in ("metrics", "profile", "poi", "iqm"):
        for suffix in ("", "_low", "_high"):
            np.testing.assert_allclose(
                getattr(fast, name + suffix), getattr(slow, name + suffix), atol=1e-12
            )
    # the IQM point estimate is rliable's own
    from rliable import metrics

    assert fast.metrics[0, 1] == metrics.aggregate_iqm(final["a"])


def test_redraw_from_saved_numbers_without_logs(synthetic_logs, tmp_path):
    logs = tmp_path / "logs"
    shutil.copytree(synthetic_logs, logs)
    out = tmp_path / "out"
    for view in ("train", "eval", "aggregate"):
        assert invoke("plot", view, "-f", logs, "-o", out, "--reps", 100).exit_code == 0
    shutil.rmtree(logs)
    again = tmp_path / "again"
    result = invoke(
        "plot", "eval", "--data", out / "eval_curves.npz", "-o", again, "--format", "svg"
    )
    assert result.exit_code == 0, result.output
    assert_svg(again / "eval_curves.svg")
    result = invoke(
        "plot",
        "eval",
        "--data",
        out / "eval_curves.npz",
        "-o",
        again,
        "--algos",
        "sac",
        "--envs",
        "Pendulum-v1",
    )
    assert result.exit_code == 0, result.output
    result = invoke(
        "plot", "aggregate", "--data", out / "aggregate.npz", "-o", again, "--format", "pdf"
    )
    assert result.exit_code == 0, result.output
    assert_pdf(again / "aggregate_metrics.pdf")
    assert invoke("plot", "train", "--data", out / "train_curves.npz", "-o", again).exit_code == 0
    assert_user_error(
        invoke("plot", "train", "--data", out / "aggregate.npz", "-o", again),
        "realzoo plot aggregate --data",
    )
    assert_user_error(
        invoke("plot", "eval", "--data", out / "eval_curves.npz", "-o", again, "--algos", "dqn"),
        "no curves",
    )


def test_a_hyperparameter_grid_gets_one_label_per_setting(tmp_path):
    logs = tmp_path / "logs"
    for lr in ("0.001", "0.0003"):
        for seed in range(2):
            make_synthetic_run(
                logs,
                "ppo",
                "CartPole-v1",
                seed=seed,
                hyperparams=[f"learning_rate:{lr}", "n_steps:64"],
            )
    out = tmp_path / "out"
    assert invoke("plot", "eval", "-f", logs, "-o", out).exit_code == 0
    from rlzoo_real.plotting.store import load_data

    curves = load_data(out / "eval_curves.npz")
    assert sorted(curves.labels) == ["ppo learning_rate=0.0003", "ppo learning_rate=0.001"]
    assert all(s.n_runs == 2 for s in curves.series)
    assert invoke("plot", "eval", "-f", logs, "-o", out, "--group-by", "algo").exit_code == 0
    assert load_data(out / "eval_curves.npz").labels == ["ppo"]


def test_different_evaluation_schedules_are_aligned_and_said(tmp_path):
    logs = tmp_path / "logs"
    make_synthetic_run(logs, "ppo", "CartPole-v1", seed=0, eval_freq=1000)
    make_synthetic_run(logs, "ppo", "CartPole-v1", seed=1, eval_freq=500)
    out = tmp_path / "out"
    result = invoke("plot", "eval", "-f", logs, "-o", out)
    assert result.exit_code == 0, result.output
    assert "different evaluation schedules" in result.output
    assert "every 1000 steps: 1 run(s); every 500 steps: 1 run(s)" in result.output
    assert "interpolated linearly" in result.output
    from rlzoo_real.plotting.data import collect_evaluations, select_runs

    (group,), _ = collect_evaluations(select_runs([logs]))
    np.testing.assert_array_equal(group.timesteps, np.arange(1000, 20001, 1000))
    with np.load(logs / "ppo" / "CartPole-v1_2" / "evaluations.npz") as data:
        fine = data["results"].mean(axis=1)
    np.testing.assert_allclose(group.returns[1], fine[1::2])  # 1000, 2000, ... lie on the fine grid


def test_runs_of_different_lengths_are_cut_where_the_shortest_ends(tmp_path):
    logs = tmp_path / "logs"
    make_synthetic_run(logs, "ppo", "CartPole-v1", seed=0, n_timesteps=20_000)
    make_synthetic_run(logs, "ppo", "CartPole-v1", seed=1, n_timesteps=8_000, status="failed")
    result = invoke("plot", "table", "-f", logs, "-o", tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert "curves cut at 8000 steps" in result.output
    assert "1 run(s) that did not finish: ppo/CartPole-v1_2 (failed)" in result.output
    row = next(csv.DictReader((tmp_path / "out" / "results.csv").read_text().splitlines()))
    assert row["timesteps"] == "8000"
    result = invoke("plot", "table", "-f", logs, "-o", tmp_path / "out", "--min-timesteps", 10000)
    assert result.exit_code == 0, result.output
    assert "--min-timesteps" in result.output
    row = next(csv.DictReader((tmp_path / "out" / "results.csv").read_text().splitlines()))
    assert row["n_runs"] == "1" and row["timesteps"] == "20000"


def test_empty_and_truncated_monitor_files(tmp_path):
    logs = tmp_path / "logs"
    empty = make_synthetic_run(logs, "ppo", "CartPole-v1", seed=0)
    cut = make_synthetic_run(logs, "ppo", "CartPole-v1", seed=1)
    for path in empty.monitor_files():
        path.write_text("")
    monitor = cut.path / "0.monitor.csv"
    text = monitor.read_text()
    monitor.write_text(text[: len(text) - 7])  # killed in the middle of a line
    out = tmp_path / "out"
    result = invoke("plot", "train", "-f", logs, "-o", out, "--per-run")
    assert result.exit_code == 0, result.output
    assert "left out 1 run(s): ppo/CartPole-v1_1 (0.monitor.csv: empty file" in result.output
    assert "truncated last line left out" in result.output
    assert_png(out / "train_curves.png")
    from rlzoo_real.plotting.logs import read_monitor

    log, _ = read_monitor(cut)
    first = len(text.strip().splitlines()) - 2  # episodes below the two header lines
    second = len((cut.path / "1.monitor.csv").read_text().strip().splitlines()) - 2
    assert len(log.returns) == first - 1 + second  # all but the cut line
    for path in cut.monitor_files():
        path.write_text('#{"t_start": 1.0')
    assert_user_error(
        invoke("plot", "train", "-f", logs, "-o", out), "has a complete training episode"
    )


def test_unreadable_evaluations_are_left_out_with_a_note(tmp_path):
    logs = tmp_path / "logs"
    make_synthetic_run(logs, "ppo", "CartPole-v1", seed=0)
    broken = make_synthetic_run(logs, "ppo", "CartPole-v1", seed=1)
    broken.evaluations.write_bytes(b"PK\x03\x04 not a zip")
    result = invoke("plot", "eval", "-f", logs, "-o", tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert "unreadable evaluations.npz" in result.output
    broken.evaluations.unlink()
    (logs / "ppo" / "CartPole-v1_1" / "evaluations.npz").unlink()
    assert_user_error(
        invoke("plot", "eval", "-f", logs, "-o", tmp_path / "out"),
        "no evaluations.npz",
        "--eval-freq",
    )


def test_no_runs_match_says_what_was_searched(synthetic_logs, tmp_path):
    assert_user_error(
        invoke("plot", "eval", "-f", synthetic_logs, "--algos", "td3", "--envs", "Hopper-v5"),
        "No runs found for --algos td3 --envs Hopper-v5",
        str(synthetic_logs),
        "ppo/CartPole-v1 (4)",
    )
    assert_user_error(invoke("plot", "table", "-f", tmp_path / "nowhere"), "does not exist")


def test_references_missing_extended_and_malformed(tmp_path):
    logs = tmp_path / "logs"
    make_synthetic_logs(logs, algos=["ppo"], envs=["MyRobot-v0"], seeds=range(3))
    out = tmp_path / "out"
    assert_user_error(
        invoke("plot", "aggregate", "-f", logs, "-o", out),
        "No reference score",
        "MyRobot-v0",
        "--references",
        "--normalize none",
    )
    refs = tmp_path / "refs.yml"
    refs.write_text("MyRobot-v0: {random: 0.0, expert: 100.0}\n")
    result = invoke("plot", "aggregate", "-f", logs, "-o", out, "--references", refs, "--reps", 100)
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "aggregate.json").read_text())
    assert summary["references"] == {"MyRobot-v0": [0.0, 100.0]}
    result = invoke(
        "plot", "aggregate", "-f", logs, "-o", out, "--normalize", "none", "--reps", 100
    )
    assert result.exit_code == 0, result.output
    assert (
        "Optimality gap" not in json.loads((out / "aggregate.json").read_text())["metrics"]["ppo"]
    )
    refs.write_text("MyRobot-v0: {random: 0.0}\n")
    assert_user_error(
        invoke("plot", "aggregate", "-f", logs, "-o", out, "--references", refs), "'expert'"
    )
    refs.write_text("MyRobot-v0: [unclosed\n")
    assert_user_error(
        invoke("plot", "aggregate", "-f", logs, "-o", out, "--references", refs), "not valid YAML"
    )


def test_bad_options_are_user_errors(synthetic_logs, tmp_path):
    out = tmp_path / "out"
    assert_user_error(
        invoke("plot", "eval", "-f", synthetic_logs, "--format", "jpg"), "png, pdf, svg"
    )
    assert_user_error(invoke("plot", "train", "-f", synthetic_logs, "-x", "days"), "--x-axis")
    assert_user_error(invoke("plot", "eval", "-f", synthetic_logs, "-o", out, "--ci", 95), "--ci")
    assert_user_error(
        invoke("plot", "aggregate", "-f", synthetic_logs, "-o", out, "--bootstrap", "magic"),
        "--bootstrap",
    )
    assert not out.exists() or not any(out.iterdir())


def test_a_missing_optional_dependency_names_the_extra(synthetic_logs, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "rliable", None)
    monkeypatch.setitem(sys.modules, "rliable.metrics", None)
    assert_user_error(
        invoke("plot", "aggregate", "-f", synthetic_logs, "-o", tmp_path / "a"),
        "rlzoo-real[plots]",
    )
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    assert_user_error(
        invoke("plot", "eval", "-f", synthetic_logs, "-o", tmp_path / "b"), "rlzoo-real[plots]"
    )


def test_envs_not_run_by_every_label_are_left_out_of_the_aggregate(tmp_path):
    logs = tmp_path / "logs"
    make_synthetic_logs(logs, algos=["ppo", "sac"], envs=["CartPole-v1"], seeds=range(3))
    make_synthetic_logs(logs, algos=["ppo"], envs=["Pendulum-v1"], seeds=range(3))
    result = invoke("plot", "aggregate", "-f", logs, "-o", tmp_path / "out", "--reps", 100)
    assert result.exit_code == 0, result.output
    assert "left out env(s) Pendulum-v1: not run by every label" in result.output
    assert json.loads((tmp_path / "out" / "aggregate.json").read_text())["envs"] == ["CartPole-v1"]


def test_latex_escapes_and_rl_zoo_folders(tmp_path):
    from rlzoo_real.plotting.tables import ResultRow, to_latex

    row = ResultRow(
        "ppo_lstm",
        "My_Env-v0",
        1,
        100.0,
        1.5,
        float("nan"),
        float("nan"),
        float("nan"),
        2.0,
        float("nan"),
        float("nan"),
        float("nan"),
    )
    latex = to_latex([row])
    assert "ppo\\_lstm" in latex and "My\\_Env-v0" in latex
    # an RL Zoo run: args.yml with Python tags that safe_load refuses
    logs = tmp_path / "logs"
    run = make_synthetic_run(logs, "ppo", "CartPole-v1", seed=0)
    run.args_file.write_text("!!python/object/apply:collections.OrderedDict\n- - - env\n")
    run.manifest_file.unlink()
    assert find_run_folders(logs) == [("ppo", RunFolder(run.path, "CartPole-v1"))]
    assert invoke("plot", "table", "-f", logs, "-o", tmp_path / "out").exit_code == 0


def test_help_stays_light():
    import subprocess

    code = (
        "import sys, rlzoo_real.cli; "
        "print(sorted(m for m in ('matplotlib', 'rliable', 'scipy', 'pandas') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
