"""Tuning throughput: ``realzoo tune --n-workers 2`` against one worker and the RL Zoo.

All runs do the same small search: PPO on Pendulum-v1 (``--env``) from the shipped entry
(the same in realzoo and in the RL Zoo), ``-n`` steps per trial, two evaluations of five
episodes, random sampling (seeded) of learning_rate, gamma, gae_lambda, ent_coef and
clip_range, no pruning. None of these values changes what a trial costs, and Pendulum's
episodes always last 200 steps, so every trial does the same work and the runs compare
like with like (on CartPole-v1 a good agent's evaluations last longer than a bad one's).
The figure is completed trials per minute, as whole commands (start-up and the
results included) and over the trial phase alone (first trial started to last trial
finished). Goal (issue 4): two workers >= 1.8x one worker.

With ``--zoo-python PY`` (a Python with rl_zoo3 installed) the same search runs as
``python -m rl_zoo3.train -optimize --n-jobs 2`` (threads), its search space replaced by
the one above and everything else left at the RL Zoo's defaults (torch's thread count
included); ``--zoo-threads 1`` adds a run with ``--num-threads 1``.

    .venv/bin/python scripts/bench_tune.py [--trials 16] [-n 16384] [--zoo-python PY]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SPACE = """\
base: none
learning_rate: {low: 1.0e-4, high: 3.0e-3, scale: log}
gamma: {low: 0.95, high: 0.999, scale: one_minus_log}
gae_lambda: {low: 0.8, high: 0.99, scale: one_minus_log}
ent_coef: {low: 1.0e-8, high: 0.01, scale: log}
clip_range: {choices: [0.1, 0.2, 0.3]}
"""

#: Runs rl_zoo3.train with its PPO sampler replaced by the search above.
ZOO_SCRIPT = r"""
import sys
import rl_zoo3.hyperparams_opt as opt

def sample(trial, n_actions, n_envs, additional_args):
    return {
        "learning_rate": trial.suggest_float("learning_rate", 1e-4, 3e-3, log=True),
        "gamma": 1 - trial.suggest_float("one_minus_gamma", 1 - 0.999, 1 - 0.95, log=True),
        "gae_lambda": 1 - trial.suggest_float("one_minus_gae_lambda", 0.01, 0.2, log=True),
        "ent_coef": trial.suggest_float("ent_coef", 1e-8, 0.01, log=True),
        "clip_range": trial.suggest_categorical("clip_range", [0.1, 0.2, 0.3]),
    }

opt.HYPERPARAMS_SAMPLER["ppo"] = sample
from rl_zoo3.train import train
sys.argv = ["rl_zoo3.train", *sys.argv[1:]]
train()
"""


def run_realzoo(folder: Path, env: str, workers: int, trials: int, steps: int) -> dict[str, float]:
    space = folder / "space.yml"
    space.write_text(SPACE)
    realzoo = str(Path(sys.executable).parent / "realzoo")
    command = [
        realzoo,
        "tune",
        "--algo",
        "ppo",
        "--env",
        env,
        "-f",
        str(folder / "logs"),
        "-n",
        str(steps),
        "--n-trials",
        str(trials),
        "--n-workers",
        str(workers),
        "--search-space",
        str(space),
        "--sampler",
        "random",
        "--pruner",
        "none",
        "--seed",
        "0",
        "--n-evaluations",
        "2",
        "--eval-episodes",
        "5",
        "--verbose",
        "0",
    ]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"realzoo tune failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    name = f"tune_{env}"
    journal = folder / "logs" / "ppo" / name / "study.log"
    study = optuna.load_study(
        study_name=name, storage=JournalStorage(JournalFileBackend(str(journal)))
    )
    finished = [t for t in study.trials if t.state.is_finished()]
    first = min(t.datetime_start for t in finished if t.datetime_start)
    last = max(t.datetime_complete for t in finished if t.datetime_complete)
    phase = (last - first).total_seconds()
    complete = sum(t.state.name == "COMPLETE" for t in finished)
    return {"trials": complete, "wall": wall, "phase": phase}


def run_zoo(
    python: str, folder: Path, env: str, trials: int, steps: int, threads: int | None
) -> dict[str, float]:
    command = [
        python,
        "-c",
        ZOO_SCRIPT,
        "--algo",
        "ppo",
        "--env",
        env,
        "-f",
        str(folder / "zoo"),
        "-n",
        str(steps),
        "-optimize",
        "--n-trials",
        str(trials),
        "--n-jobs",
        "2",
        "--sampler",
        "random",
        "--pruner",
        "none",
        "--seed",
        "0",
        "--n-evaluations",
        "2",
        "--eval-episodes",
        "5",
        "--no-optim-plots",
        "--verbose",
        "0",
    ]
    if threads is not None:
        command += ["--num-threads", str(threads)]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"rl_zoo3 failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    import csv

    reports = sorted((folder / "zoo" / "ppo").glob("report_*.csv"))
    with reports[-1].open() as handle:
        rows = list(csv.DictReader(handle))
    complete = sum(row["state"] == "COMPLETE" for row in rows)
    starts = [row["datetime_start"] for row in rows if row["datetime_start"]]
    ends = [row["datetime_complete"] for row in rows if row["datetime_complete"]]
    from datetime import datetime

    phase = datetime.fromisoformat(max(ends)) - datetime.fromisoformat(min(starts))
    return {"trials": complete, "wall": wall, "phase": phase.total_seconds()}


class OtherLoad:
    """CPU used by other processes while a run lasts (the machine must be quiet to compare)."""

    def __enter__(self) -> OtherLoad:
        self.start = (_machine_busy_s(), _children_cpu_s(), time.perf_counter())
        return self

    def __exit__(self, *exc: object) -> None:
        busy, ours, wall = (
            _machine_busy_s() - self.start[0],
            _children_cpu_s() - self.start[1],
            time.perf_counter() - self.start[2],
        )
        self.cores = max(busy - ours, 0.0) / wall


def _machine_busy_s() -> float:
    fields = [float(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0.0)
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def per_minute(result: dict[str, float], key: str) -> float:
    return 60.0 * result["trials"] / result[key]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=16, help="trials per realzoo run")
    parser.add_argument("-n", "--n-timesteps", type=int, default=16384, help="steps per trial")
    parser.add_argument("--env", default="Pendulum-v1", help="env id (PPO's entry is used)")
    parser.add_argument("--zoo-python", help="a Python interpreter with rl_zoo3 installed")
    parser.add_argument("--zoo-trials", type=int, default=6, help="trials of the RL Zoo run")
    parser.add_argument("--zoo-threads", type=int, help="also run the Zoo with --num-threads")
    args = parser.parse_args()
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for workers in (1, 2):
            folder = Path(tmp) / f"w{workers}"
            folder.mkdir()
            with OtherLoad() as load:
                result = run_realzoo(folder, args.env, workers, args.trials, args.n_timesteps)
            results[f"realzoo --n-workers {workers}"] = {**result, "other": load.cores}
            print(_line(f"realzoo --n-workers {workers}", results), flush=True)
        if args.zoo_python:
            zoo_runs: list[int | None] = [None]
            if args.zoo_threads:
                zoo_runs.append(args.zoo_threads)
            for threads in zoo_runs:
                name = "rl_zoo3 --n-jobs 2" + (f" --num-threads {threads}" if threads else "")
                folder = Path(tmp) / f"zoo{threads or ''}"
                folder.mkdir()
                with OtherLoad() as load:
                    result = run_zoo(
                        args.zoo_python,
                        folder,
                        args.env,
                        args.zoo_trials,
                        args.n_timesteps,
                        threads,
                    )
                results[name] = {**result, "other": load.cores}
                print(_line(name, results), flush=True)
    one, two = results["realzoo --n-workers 1"], results["realzoo --n-workers 2"]
    for key, label in (("wall", "whole commands"), ("phase", "trial phase")):
        ratio = per_minute(two, key) / per_minute(one, key)
        verdict = "met" if ratio >= 1.8 else "NOT met"
        print(f"2 workers / 1 worker ({label}): {ratio:.2f}x (goal >= 1.8x: {verdict})")
        for name, result in results.items():
            if name.startswith("rl_zoo3"):
                zoo_ratio = per_minute(two, key) / per_minute(result, key)
                print(f"  realzoo --n-workers 2 / {name} ({label}): {zoo_ratio:.1f}x")


def _line(name: str, results: dict[str, dict[str, float]]) -> str:
    result = results[name]
    return (
        f"{name}: {int(result['trials'])} trials in {result['wall']:.1f} s "
        f"({per_minute(result, 'wall'):.1f}/min; trial phase {result['phase']:.1f} s, "
        f"{per_minute(result, 'phase'):.1f}/min); other processes used "
        f"{result['other']:.2f} cores meanwhile"
    )


if __name__ == "__main__":
    main()
