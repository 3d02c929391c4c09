"""--n-seeds K: each trial is K ordinary runs, its value their aggregate, shared by workers."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from rlzoo_real.tuning.objectives import running_values
from rlzoo_real.tuning.seeds import search_seed
from tests.conftest import WAIT_S, wait_for
from tests.tune_helpers import TINY_PPO, load_trials, make_tiny, realzoo, start_realzoo, tune_args


@pytest.fixture
def tiny(tmp_path: Path) -> dict[str, Path]:
    return make_tiny(tmp_path)


def _runs(trial) -> list[Path]:
    return [Path(p) for p in trial.user_attrs["seed_runs"]]


def _curve(run: Path) -> list[float]:
    import numpy as np

    with np.load(run / "evaluations.npz") as data:
        return [float(v) for v in data["results"].mean(axis=1)]


def test_three_seeds_per_trial_with_two_workers(tiny, cli):
    folder = tiny["logs"] / "ppo" / "tune_CartPole-v1"
    args = tune_args(tiny, "--n-trials", "2", "--n-seeds", "3", "--n-workers", "2", "--seed", "5")
    result = cli(*args, "--objective", "best", "--aggregate", "median", "--pruner", "none")
    assert result.exit_code == 0, result.output
    assert "the best evaluation, median over 3 seeds" in result.output
    trials = sorted(load_trials(folder), key=lambda t: t.number)
    assert [t.state.name for t in trials] == ["COMPLETE", "COMPLETE"]
    rows = list(csv.DictReader((folder / "trials.csv").read_text().splitlines()))
    for trial, row in zip(trials, rows, strict=True):
        seeds = [search_seed(5, trial.number, i) for i in range(3)]
        assert trial.user_attrs["seeds"] == seeds  # derived from --seed, recorded
        runs = _runs(trial)
        assert len(set(runs)) == 3  # three ordinary run folders under the trial
        assert all(run.parent.parent.name == f"trial_{trial.number:04d}" for run in runs)
        args_seeds = sorted(int(_seed_of(run)) for run in runs)
        assert args_seeds == sorted(seeds)
        per_seed = [max(_curve(run)) for run in runs]  # the best evaluation of each seed
        assert trial.user_attrs["seed_values"] == pytest.approx(per_seed, abs=1e-4)
        assert trial.value == pytest.approx(sorted(per_seed)[1], abs=1e-4)  # median of 3
        # the pruner was shown the median over seeds of the running best at each evaluation
        curves = [_curve(run) for run in runs]
        for step in (1, 2):
            shown = sorted(running_values(c, "best")[step - 1] for c in curves)[1]
            assert trial.intermediate_values[step] == pytest.approx(shown, abs=1e-4)
        assert row["n_seeds"] == "3" and row["seeds"] == " ".join(map(str, seeds))
        assert [float(v) for v in row["seed_values"].split()] == pytest.approx(per_seed, rel=1e-5)

    # continued (here, or on another machine): new trial numbers, so never a seed used before
    again = cli(*tune_args(tiny, "--n-trials", "1", "--pruner", "none"))
    assert again.exit_code == 0, again.output
    seeds = [s for t in load_trials(folder) for s in t.user_attrs["seeds"]]
    assert len(seeds) == 9 == len(set(seeds))


def _seed_of(run: Path) -> str:
    import yaml

    return str(yaml.safe_load((run / "CartPole-v1" / "args.yml").read_text())["seed"])


def test_a_failed_seed_fails_its_trial_with_the_reason(tiny, cli):
    # FailBySeed breaks the run whose seed % 3 == 1: with --seed 0, trial 0's seeds are 0
    # (trains) and 2**20 (2**20 % 3 == 1: diverges)
    tiny["conf"].write_text(
        TINY_PPO + "  callback:\n    - tests.tune_helpers.FailBySeed: {nan_at: 1, raise_at: 5}\n"
    )
    folder = tiny["logs"] / "ppo" / "tune_CartPole-v1"
    result = cli(*tune_args(tiny, "--n-trials", "1", "--n-seeds", "2", "--seed", "0"))
    assert result.exit_code == 1, result.output  # every trial of the run failed
    (trial,) = load_trials(folder)
    assert trial.state.name == "FAIL"
    reason = trial.user_attrs["fail_reason"]
    assert reason.startswith(f"seed 1 (seed {search_seed(0, 0, 1)}) failed: diverged"), reason
    assert "Trial 0 failed" in result.output
    assert "seed 1 (seed 1048576) failed" in (folder / "trials.csv").read_text()


def _in_memory_study(pruner):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    return optuna.create_study(direction="maximize", pruner=pruner)


def test_the_pruner_sees_the_aggregate_over_seeds_and_stops_the_trial(tmp_path):
    import optuna

    from rlzoo_real.tuning.multiseed import run_seed_loop

    study = _in_memory_study(optuna.pruners.ThresholdPruner(lower=50.0))
    study.enqueue_trial({"x": 0.9})
    study.enqueue_trial({"x": 0.1})
    config = {"objective": "auc", "aggregate": "mean", "n_seeds": 3, "trial_seed": 0,
              "workers_dir": str(tmp_path), "session": "s", "deadline": None}  # fmt: skip
    budget = [2]
    trained: dict[tuple[int, int], int] = {}

    def take_trial() -> bool:
        budget[0] -= 1
        return budget[0] >= 0

    def start_trial(trial):
        return [f"x:{trial.suggest_float('x', 0, 1)}"]

    def train_seed(job, adapter, cancelled):
        x = float(job.words[0].split(":")[1])
        for step in range(1, 5):  # seed i of a trial returns 100 * x + i at every evaluation
            trained[job.number, job.index] = step
            adapter.report(100 * x + job.index, step)
            if step < 4 and adapter.should_prune():
                return "pruned", str(step), "", step, 0.0
        return "done", "", "", 4, 0.0

    lines: list[str] = []
    started = run_seed_loop(config, study, study._storage, take_trial=take_trial,
                            start_trial=start_trial, train_seed=train_seed,
                            keep_going=lambda: True, say=lines.append)  # fmt: skip
    assert started == 2
    first, second = study.get_trials()
    assert first.state.name == "COMPLETE" and first.value == pytest.approx(91.0)  # mean of 90..92
    assert first.intermediate_values == pytest.approx({1: 91.0, 2: 91.0, 3: 91.0, 4: 91.0})
    assert second.state.name == "PRUNED"
    assert second.intermediate_values == pytest.approx({1: 11.0})  # the mean of 10, 11, 12
    assert trained[1, 2] == 1  # the seed that completed evaluation 1 stopped there
    assert lines[-1].startswith("Trial 1 pruned at evaluation 1")


def test_a_seed_whose_worker_died_fails_its_trial(tmp_path):
    import optuna

    from rlzoo_real.tuning.multiseed import SeedBoard, close_board, conclude

    study = _in_memory_study(optuna.pruners.NopPruner())
    trial = study.ask()
    board = SeedBoard(tmp_path, "s")
    job = board.post(trial.number, trial._trial_id, [7, 8, 9], [], ("last", "mean"))
    taken, _ = board.take()
    assert taken is not None and taken.index == 1  # the next open seed
    assert not board.stopping(0)
    state = board.read()
    state["0"]["pids"][1] = [2**22 + 12345, None]  # a pid no process has: its worker died
    board.path.write_text(json.dumps(state))
    assert board.stopping(0)  # the trial's other seeds stop at their next look at the board
    nothing, over = board.take()  # the next look at the board finds it, and cancels seed 2
    assert nothing is None and over == []
    over = board.finish(job, "done")
    assert [frozen.number for frozen in conclude(study, over, "last", "mean")] == [0]
    (frozen,) = study.get_trials()
    assert frozen.state.name == "FAIL"
    assert frozen.user_attrs["fail_reason"].startswith("seed 1 (seed 8) failed: its worker process")
    close_board(study, tmp_path, "s", "last", "mean")  # nothing left to do: no error


def _both_seeds_training(folder: Path) -> tuple[int, int] | None:
    """(trial number, pid of its seed 0's worker) once both seeds of a trial have evaluated."""
    for board in (folder / "workers").glob("*.seeds.json"):
        try:
            state = json.loads(board.read_text())
        except (OSError, ValueError):
            return None
        for key, entry in state.items():
            if entry["status"] == ["running", "running"] and all(entry["values"]):
                return int(key), int(entry["pids"][0][0])
    return None


@pytest.mark.slow  # three worker processes and a few seconds of training per seed
def test_a_worker_killed_in_the_middle_of_a_seed(tiny, processes):
    import os
    import re
    import signal

    # long enough seeds (4 evaluations, some seconds each) to be killed in the middle
    tiny["conf"].write_text(TINY_PPO.replace("n_timesteps: 512", "n_timesteps: 3000"))
    folder = tiny["logs"] / "ppo" / "tune_CartPole-v1"
    args = tune_args(tiny, "--n-trials", "4", "--n-seeds", "2", "--n-workers", "2", "--seed", "7")
    args[args.index("--n-evaluations") + 1] = "4"
    tune = start_realzoo(processes, *args, "--pruner", "none")
    number, pid = wait_for(lambda: _both_seeds_training(folder), "two seeds training",
                           process=tune, interval=0.1)  # fmt: skip
    os.kill(pid, signal.SIGKILL)  # the worker running seed 0 (the one that asked for the trial)
    out, err = tune.communicate(timeout=WAIT_S)
    assert tune.returncode == 1, out + err  # the command says that something went wrong
    assert "Traceback" not in out + err
    # the pool saw its worker die; it names the signal, the worker's log, and sets the status
    assert re.search(r"Worker \d died \(killed by SIGKILL\).*\. Log: .*_w\d\.log", out), out
    assert re.search(rf"Problem: worker \d \(pid {pid}\) died, killed by SIGKILL", err), err
    trials = {t.number: t for t in load_trials(folder)}
    killed = trials[number]
    assert killed.state.name == "FAIL"
    # failed by whoever saw it first: the pool (with the signal), or the other seed's worker
    # (with the seed), when it looked at the seed board
    reason = killed.user_attrs["fail_reason"]
    assert f"its worker process (pid {pid}" in reason and "died" in reason, reason
    assert f"Trial {number} failed in" in out and reason.splitlines()[0] in out
    # the study went on (the first trial whose two seeds ran at once is one of 0, 1, 2): the
    # budget was spent, the trials after the killed one complete
    assert sorted(trials) == [0, 1, 2, 3] and number < 3
    assert all(t.state.name == "COMPLETE" for n, t in trials.items() if n != number)
    assert f"pid {pid}" in (folder / "trials.csv").read_text()
    # the other seed of the trial stopped when its partner's worker died, without an error
    for log in (folder / "workers").glob("*_w*.log"):
        assert "Traceback" not in log.read_text(), log.read_text()
    board = json.loads(next((folder / "workers").glob("*.seeds.json")).read_text())
    assert board[str(number)]["status"] in (["failed", "cancelled"], ["failed", "done"])

    # continued: new trials, new seeds; none of the killed trial's seeds is used again
    args[args.index("--n-trials") + 1] = "1"
    again = realzoo(*args, "--n-workers", "1", "--pruner", "none")
    assert again.returncode == 0, again.stdout + again.stderr
    seeds = [s for t in load_trials(folder) for s in t.user_attrs["seeds"]]
    assert len(seeds) == 10 == len(set(seeds))
