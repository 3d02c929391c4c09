"""``realzoo benchmark``: suites, the RL Zoo's numbers, bad input, and the report's numbers."""

from __future__ import annotations

import csv
import dataclasses
import io
from pathlib import Path

import numpy as np
import pytest

from rlzoo_real.benchmark.runner import Budget, plan_benchmark
from rlzoo_real.benchmark.suites import Pair, known_suites, load_suite, shipped_steps
from rlzoo_real.benchmark.zoo import parse_steps, zoo_score, zoo_source
from rlzoo_real.runs.folder import write_yaml_atomic
from tests.conftest import run_realzoo
from tests.synthetic_runs import make_synthetic_run

REPO = Path(__file__).resolve().parents[1]


def _csv(path: Path) -> dict[tuple[str, str], dict[str, str]]:
    rows = csv.DictReader(io.StringIO(path.read_text()))
    return {(r["algo"], r["env"]): r for r in rows}


def _final_returns(run: Path) -> np.ndarray:
    """Each evaluation's mean return, straight from the run's evaluations.npz."""
    with np.load(run / "evaluations.npz") as data:
        return np.asarray(data["results"]).mean(axis=1)


# --- suites and the Zoo's numbers -------------------------------------------------------


def test_the_shipped_suites_have_hyperparameters_and_a_zoo_score_for_every_pair():
    assert known_suites() == ["box2d", "classic-control", "mujoco"]
    sizes = {}
    for name in known_suites():
        suite = load_suite(name)  # raises on a pair without its own hyperparameter entry
        sizes[name] = len(suite.pairs)
        for pair in suite.pairs:
            assert shipped_steps(pair) >= 1000, pair
            assert zoo_score(pair.algo, pair.env) is not None, pair
    assert sizes == {"classic-control": 10, "box2d": 11, "mujoco": 23}
    classic = load_suite("classic-control")
    assert Pair("sac", "Pendulum-v1") in classic.pairs
    assert classic.envs[0] == "CartPole-v1"


def test_the_zoo_numbers_are_the_published_ones():
    """Spot checks against benchmark.md as published (and its source recorded)."""
    ppo = zoo_score("ppo", "CartPole-v1")
    assert (ppo.mean, ppo.std, ppo.n_timesteps, ppo.eval_episodes) == (500.0, 0.0, 100_000, 300)
    sac = zoo_score("sac", "Pendulum-v1")
    assert (sac.mean, sac.std, sac.n_timesteps_text) == (-156.995, 88.714, "20k")
    tqc = zoo_score("tqc", "HalfCheetah-v5")  # the Zoo ran -v3: matched by name
    assert (tqc.env, tqc.mean, tqc.n_timesteps) == ("HalfCheetah-v3", 12089.939, 1_000_000)
    assert zoo_score("dqn", "LunarLander-v3").env == "LunarLander-v2"
    assert zoo_score("dqn", "Pendulum-v1") is None
    assert zoo_score("ppo", "Humanoid-v5") is None  # the Zoo has no PPO Humanoid agent
    source = zoo_source()
    assert "DLR-RM/rl-baselines3-zoo" in source.url and source.url.endswith("benchmark.md")
    assert len(source.commit) == 40 and source.read_on.startswith("20")
    assert [parse_steps(t) for t in ("500k", "1M", "75M", 20000)] == [
        500_000,
        1_000_000,
        75_000_000,
        20_000,
    ]


def test_budgets_and_evaluation_schedule(tmp_path):
    suite = load_suite("classic-control")
    plan = plan_benchmark(
        suite, n_seeds=2, budget=Budget(fraction=0.1), log_folder=tmp_path, n_evals=5
    )
    by_pair = {(p.pair.algo, p.pair.env): p for p in plan.pairs}
    a2c = by_pair[("a2c", "CartPole-v1")]
    assert (a2c.shipped_steps, a2c.steps, a2c.eval_freq) == (500_000, 50_000, 10_000)
    assert len(plan.jobs) == 2 * len(suite.pairs)
    assert {job.args.seed for job in plan.jobs} == {0, 1}
    job = plan.jobs_of(a2c)[0]
    assert (job.args.n_timesteps, job.args.eval_freq, job.args.eval_episodes) == (
        50_000,
        10_000,
        10,
    )
    # the budget ends before TD3's learning_starts (10000): flagged, hyperparameters unchanged
    td3 = by_pair[("td3", "Pendulum-v1")]
    assert (td3.steps, td3.learning_starts, td3.untrained) == (2000, 10_000, True)
    assert not a2c.untrained and not by_pair[("dqn", "CartPole-v1")].untrained
    fixed = plan_benchmark(suite, n_seeds=1, budget=Budget(n_timesteps=300), log_folder=tmp_path)
    assert {p.steps for p in fixed.pairs} == {300}
    full = plan_benchmark(suite, n_seeds=1, budget=Budget(), log_folder=tmp_path)
    assert by_pair[("sac", "Pendulum-v1")].shipped_steps == 20_000
    assert {p.steps for p in full.pairs} == {p.shipped_steps for p in full.pairs}


# --- bad input --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["classic"], "Unknown benchmark suite 'classic'. Known suites: box2d, classic-control, "),
        (["classic-control", "--n-seeds", "0"], "--n-seeds must be at least 1"),
        (["classic-control", "--budget-fraction", "0"], "--budget-fraction must be in (0, 1]"),
        (["classic-control", "--budget-fraction", "1.5"], "--budget-fraction must be in (0, 1]"),
        (["classic-control", "-n", "0"], "--n-timesteps must be at least 1"),
        (["classic-control", "-n", "100", "--budget-fraction", "0.5"], "not both"),
        (
            ["classic-control", "--executor", "slurmm"],
            "--executor takes local or slurm, got 'slurmm'",
        ),
        (["classic-control", "--n-evals", "0"], "--n-evals must be at least 1"),
        (["classic-control", "--format", "gif"], "--format must be one of png, pdf, svg"),
    ],
)
def test_bad_input_is_one_clear_message_and_nothing_on_disk(cli, tmp_path, args, message):
    logs = tmp_path / "logs"
    result = cli("benchmark", *args, "-f", logs)
    assert result.exit_code != 0
    assert result.exception is None or isinstance(result.exception, SystemExit)
    text = " ".join(result.output.split())
    assert message in text, text
    assert "Traceback" not in result.output
    assert not logs.exists()


def test_a_pair_without_shipped_hyperparameters_is_refused(cli, tmp_path):
    suite = tmp_path / "mine.yml"
    suite.write_text("envs:\n  CartPole-v1: [ppo]\n  Pendulum-v1: [dqn]\n")
    result = cli("benchmark", suite, "-f", tmp_path / "logs", "--dry-run")
    assert result.exit_code != 0
    text = " ".join(result.output.split())
    assert "dqn on Pendulum-v1 has no shipped hyperparameters" in text, text
    suite.write_text("envs:\n  CartPole-v1: [sac]\n")
    text = " ".join(cli("benchmark", suite, "-f", tmp_path / "logs").output.split())
    assert "hyperparams/sac.yml has no entry for CartPole-v1" in text, text
    assert "Algorithms with an entry for CartPole-v1: a2c, ars, dqn, ppo" in text, text
    suite.write_text("CartPole-v1: [ppo]\n")
    text = " ".join(cli("benchmark", suite, "-f", tmp_path / "logs").output.split())
    assert "must have an 'envs' mapping" in text, text
    assert not (tmp_path / "logs").exists()


def test_dry_run_lists_the_runs_and_trains_nothing(cli, tmp_path):
    result = cli(
        "benchmark", "classic-control", "--n-seeds", "2", "--budget-fraction", "0.1", "-f",
        tmp_path / "logs", "--dry-run",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "a2c on CartPole-v1: 2 seed(s) x 50000 steps (shipped 500000)" in result.output
    assert "20 run(s), 0 finished" in result.output
    assert not (tmp_path / "logs").exists()


# --- the report -------------------------------------------------------------------------


def test_report_numbers_come_from_the_runs_evaluations(cli, tmp_path):
    """--report-only on finished (synthetic) runs: the table's mean and CI are those of the
    runs' evaluations.npz; runs of other settings in the same folder are not read."""
    logs, out = tmp_path / "logs", tmp_path / "report"
    suite_file = tmp_path / "two.yml"
    suite_file.write_text("envs:\n  CartPole-v1: [ppo]\n  Pendulum-v1: [sac]\n")
    options = ["--n-seeds", "3", "-n", "2000", "--n-evals", "4", "--eval-episodes", "3"]
    plan = plan_benchmark(
        load_suite(str(suite_file)),
        n_seeds=3,
        budget=Budget(n_timesteps=2000),
        log_folder=logs,
        n_evals=4,
        eval_episodes=3,
    )
    runs: dict[tuple[str, str], list[Path]] = {}
    for job in plan.jobs:
        run = make_synthetic_run(
            logs, job.args.algo, job.args.env, seed=job.args.seed, n_timesteps=2000,
            eval_freq=500, eval_episodes=3,
        )  # fmt: skip
        write_yaml_atomic(run.args_file, dataclasses.asdict(job.args))
        runs.setdefault((job.args.algo, job.args.env), []).append(run.path)
    # a finished run of another budget: not part of this benchmark
    stray = make_synthetic_run(logs, "ppo", "CartPole-v1", seed=0, n_timesteps=2000, skill=0.0)
    write_yaml_atomic(
        stray.args_file, dataclasses.asdict(dataclasses.replace(plan.jobs[0].args, n_timesteps=9))
    )
    result = cli("benchmark", suite_file, *options, "-f", logs, "-o", out, "--report-only")
    assert result.exit_code == 0, result.output
    table = _csv(out / "two.csv")
    for key, paths in runs.items():
        finals = np.array([_final_returns(p)[-1] for p in paths])
        row = table[key]
        assert row["seeds_finished"] == "3" and row["steps"] == "2000"
        assert float(row["final_mean"]) == pytest.approx(finals.mean(), rel=1e-9)
        assert float(row["final_std"]) == pytest.approx(finals.std(ddof=1), rel=1e-9)
        low, high = float(row["final_ci_low"]), float(row["final_ci_high"])
        assert finals.min() - 1e-9 <= low <= finals.mean() <= high <= finals.max() + 1e-9
    assert float(table[("ppo", "CartPole-v1")]["zoo_mean"]) == 500.0
    assert float(table[("sac", "Pendulum-v1")]["zoo_mean"]) == -156.995
    report = (out / "two.md").read_text()
    assert "realzoo benchmark" in report and "--report-only" in report
    assert "Reduced budget: not comparable to the RL Zoo" in report
    mean = np.mean([_final_returns(p)[-1] for p in runs[("sac", "Pendulum-v1")]])
    assert f"| sac | Pendulum-v1 | 2k (20k) | 3/3 | {mean:.1f} [" in report
    for figure in ("eval_curves", "aggregate_metrics", "performance_profile", "sample_efficiency"):
        assert (out / "two" / f"{figure}.png").is_file()
        assert f"(two/{figure}.png)" in report


def test_report_of_missing_runs_says_so(cli, tmp_path):
    suite_file = tmp_path / "one.yml"
    suite_file.write_text("envs:\n  CartPole-v1: [ppo]\n  Pendulum-v1: [td3]\n")
    out = tmp_path / "report"
    result = cli("benchmark", suite_file, "-f", tmp_path, "-o", out, "--report-only", "-n", "500")
    assert result.exit_code == 0, result.output
    assert "10 of 10 run(s) have no finished evaluations" in result.output
    report = " ".join((out / "one.md").read_text().split())
    assert "| ppo | CartPole-v1 | 500 (100k) | 0/5 | no finished run |" in report
    assert "**Never trained:** td3 on Pendulum-v1 (500 steps, learning_starts 10000)" in report
    assert "ppo on CartPole-v1 (" not in report
    assert _csv(out / "one.csv")[("ppo", "CartPole-v1")]["seeds_finished"] == "0"


@pytest.mark.slow
def test_a_tiny_suite_end_to_end_and_a_rerun_skips_finished_runs(tmp_path):
    """Two pairs, two seeds, a few hundred steps, through the real command; the report's
    numbers are those of the runs' evaluations.npz; the same command again trains nothing."""
    suite_file = tmp_path / "tiny.yml"
    suite_file.write_text("envs:\n  CartPole-v1: [ppo, a2c]\n")
    args = [
        "benchmark", suite_file, "--n-seeds", "2", "-n", "400", "--n-evals", "2",
        "--eval-episodes", "2", "--n-workers", "2", "-f", tmp_path / "logs", "-o",
        tmp_path / "out", "--reps", "200",
    ]  # fmt: skip
    done = run_realzoo(*args, cwd=REPO)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "4 to run with 2 worker(s)" in done.stdout
    table = _csv(tmp_path / "out" / "tiny.csv")
    for algo in ("ppo", "a2c"):
        folders = sorted((tmp_path / "logs" / algo).glob("CartPole-v1_*"))
        assert len(folders) == 2
        finals = np.array([_final_returns(f)[-1] for f in folders])
        row = table[(algo, "CartPole-v1")]
        assert row["seeds_finished"] == "2"
        assert float(row["final_mean"]) == pytest.approx(finals.mean(), rel=1e-9)
        assert float(row["eval_timesteps"]) >= 400
    again = run_realzoo(*args, cwd=REPO)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "4 already finished (skipped)" in again.stdout
    assert len(list((tmp_path / "logs").glob("*/CartPole-v1_*"))) == 4
    assert _csv(tmp_path / "out" / "tiny.csv") == table


def test_a_failed_run_exits_non_zero_after_writing_the_report_of_the_others(
    cli, tmp_path, monkeypatch
):
    """The sweep reports one failed job (its log named); the other runs are finished: the
    report shows them, the missing seed is counted, and the exit status is the sweep's."""
    from rlzoo_real.executors import sweep

    logs, out = tmp_path / "logs", tmp_path / "out"
    suite_file = tmp_path / "one.yml"
    suite_file.write_text("envs:\n  CartPole-v1: [ppo]\n")
    plan = plan_benchmark(
        load_suite(str(suite_file)), n_seeds=2, budget=Budget(n_timesteps=2000), log_folder=logs
    )
    finished, failing = plan.jobs
    run = make_synthetic_run(logs, "ppo", "CartPole-v1", seed=0, n_timesteps=2000, eval_freq=200)
    write_yaml_atomic(run.args_file, dataclasses.asdict(finished.args))
    log = logs / "sweep_logs" / f"{failing.slug}.log"

    def fake_sweep(jobs, **kwargs):
        assert [j.match_key() for j in jobs] == [j.match_key() for j in plan.jobs]
        return sweep.SweepResult(
            [
                sweep.JobOutcome(finished, "skipped", None, run.path),
                sweep.JobOutcome(failing, "failed", log, None, 1, 1.0, ("Error: boom",)),
            ]
        )

    monkeypatch.setattr(sweep, "run_sweep", fake_sweep)
    result = cli("benchmark", suite_file, "--n-seeds", "2", "-n", "2000", "-f", logs, "-o", out)
    assert result.exit_code == 1, result.output
    text = " ".join(result.output.split())
    assert f"1 run(s) failed: ppo CartPole-v1 seed 1 (exit 1), log {log}: Error: boom" in text
    assert "1 of 2 run(s) have no finished evaluations" in text
    row = _csv(out / "one.csv")[("ppo", "CartPole-v1")]
    assert row["seeds_finished"] == "1"
    assert float(row["final_mean"]) == pytest.approx(_final_returns(run.path)[-1], rel=1e-9)
    assert "| ppo | CartPole-v1 | 2k (100k) | 1/2 |" in (out / "one.md").read_text()
