"""Training overhead of ``realzoo train`` against a bare Stable-Baselines3 script.

Both train PPO on CartPole-v1 for the shipped entry's ``n_timesteps`` with the same
hyperparameters (read from ``hyperparams/ppo.yml``), one torch thread, the same
seed, evaluation every 25000 steps over 5 episodes and Monitor files: the work a
careful SB3 user's script does. The two are run alternately, ``--repeats`` times each,
as whole processes (imports included); the figure is the ratio of the medians.
Goal (issue 2): realzoo / bare <= 1.05. With ``--zoo-python`` the RL Zoo's own
``python -m rl_zoo3.train`` runs the same job with its defaults, for reference.

    .venv/bin/python scripts/bench_overhead.py [--repeats 3] [--zoo-python PY]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

BARE_SCRIPT = r"""
import sys, torch
torch.set_num_threads(1)
from stable_baselines3 import PPO
from stable_baselines3.common.callbacks import EvalCallback
from stable_baselines3.common.env_util import make_vec_env
from rlzoo_real.algos.registry import get_algo
from rlzoo_real.config.spec import resolve_run_spec
from rlzoo_real.config.tables import bundled_hyperparams_dir, load_table
from rlzoo_real.config.literals import materialize

spec, _ = resolve_run_spec(get_algo("ppo"), "CartPole-v1", source="ppo.yml",
                           table=load_table(bundled_hyperparams_dir() / "ppo.yml"))
log = sys.argv[1]
env = make_vec_env("CartPole-v1", n_envs=spec.n_envs, seed=0, monitor_dir=log)
eval_env = make_vec_env("CartPole-v1", n_envs=1, seed=10000)
model = PPO(spec.policy, env, seed=0, verbose=0, **materialize(dict(spec.model_kwargs)))
callback = EvalCallback(eval_env, eval_freq=max(25000 // spec.n_envs, 1), n_eval_episodes=5,
                        log_path=log, best_model_save_path=log, verbose=0)
model.learn(spec.n_timesteps, callback=callback)
model.save(f"{log}/final.zip")
"""


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--zoo-python", help="a Python interpreter with rl_zoo3 installed")
    args = parser.parse_args()
    realzoo = str(Path(sys.executable).parent / "realzoo")
    bare, ours = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeats):
            bare.append(timed([sys.executable, "-c", BARE_SCRIPT, f"{tmp}/bare{i}"]))
            ours.append(
                timed(
                    [
                        realzoo,
                        "train",
                        "--algo",
                        "ppo",
                        "--env",
                        "CartPole-v1",
                        "-f",
                        f"{tmp}/logs",
                        "--seed",
                        "0",
                        "--verbose",
                        "0",
                    ]
                )
            )
            print(f"run {i + 1}: bare SB3 {bare[-1]:.1f} s, realzoo {ours[-1]:.1f} s", flush=True)
        zoo = None
        if args.zoo_python:
            zoo = timed(
                [
                    args.zoo_python,
                    "-m",
                    "rl_zoo3.train",
                    "--algo",
                    "ppo",
                    "--env",
                    "CartPole-v1",
                    "-f",
                    f"{tmp}/zoo",
                    "--seed",
                    "0",
                    "--verbose",
                    "0",
                ]
            )
    b, o = statistics.median(bare), statistics.median(ours)
    print(f"median bare SB3 script: {b:.1f} s")
    print(f"median realzoo train:   {o:.1f} s")
    print(f"realzoo / bare = {o / b:.3f} (goal <= 1.05: {'met' if o / b <= 1.05 else 'NOT met'})")
    if zoo is not None:
        print(f"rl_zoo3.train with its defaults: {zoo:.1f} s; rl_zoo3 / realzoo = {zoo / o:.1f}x")


if __name__ == "__main__":
    main()
