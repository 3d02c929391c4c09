"""Measure the RealTime wrapper: period accuracy, and overruns with SAC updates placed
between control steps vs between episodes.

    .venv/bin/python scripts/bench_realtime.py [--steps 500] [--hz 50 100 200]

Part 1 steps Pendulum-v1 with random actions under RealTime at each frequency and
prints the measured period (mean, 99th percentile, max) and the overruns. Part 2 runs
``realzoo train`` twice on Pendulum-v1 at 200 Hz with SAC updates that cost more than a
period (batch 512, [256, 256]): once with ``train_freq 1`` (an update after every step)
and once with ``--updates-between-episodes``, and prints the overruns from each run's
``progress.csv`` and the number of updates from each final model.
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import gymnasium as gym
import numpy as np

from rlzoo_real.envs.realtime import STEP_KEY, RealTime

HEAVY_SAC = """\
Pendulum-v1:
  n_timesteps: {n}
  policy: MlpPolicy
  learning_starts: 100
  batch_size: 512
  buffer_size: 5000
  policy_kwargs: "dict(net_arch=[256, 256])"
  env_wrapper:
    - rlzoo_real.envs.realtime.RealTime: {{frequency_hz: 200, tolerance_s: 0.002}}
"""


def period_accuracy(hz: float, steps: int) -> None:
    env = RealTime(gym.make("Pendulum-v1"), frequency_hz=hz)
    env.reset(seed=0)
    env.action_space.seed(0)
    periods = []
    start = time.perf_counter()
    for _ in range(steps):
        *_, terminated, truncated, info = env.step(env.action_space.sample())
        if info[STEP_KEY]["period_s"] is not None:
            periods.append(info[STEP_KEY]["period_s"])
        if terminated or truncated:
            env.reset()
    elapsed = time.perf_counter() - start
    ms = 1000 * np.array(periods)
    print(
        f"{hz:6.0f} Hz: {steps} steps in {elapsed:.3f} s (ideal {steps / hz:.3f} s); period "
        f"mean {ms.mean():.3f} ms, p99 {np.percentile(ms, 99):.3f} ms, max {ms.max():.3f} ms; "
        f"overruns {env.total_overruns}"
    )
    env.close()


def _train(folder: Path, conf: Path, *extra: str) -> Path:
    subprocess.run(
        [sys.executable, "-m", "rlzoo_real", "train", "-a", "sac", "-e", "Pendulum-v1",
         "--conf-file", str(conf), "-f", str(folder), "--eval-freq", "-1", "--seed", "0",
         "--env-kwargs", "max_episode_steps:100", "--log-interval", "1", "--verbose", "0",
         "--device", "cpu", *extra],
        check=True,
    )  # fmt: skip
    return sorted((folder / "sac").glob("Pendulum-v1_*"))[-1]


def placement(steps: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        conf = Path(tmp) / "heavy.yml"
        conf.write_text(HEAVY_SAC.format(n=steps))
        for label, extra in (
            ("between steps", ()),
            ("between episodes", ("--updates-between-episodes",)),
        ):
            start = time.perf_counter()
            run = _train(Path(tmp) / "logs", conf, *extra)
            wall = time.perf_counter() - start
            with (run / "progress.csv").open() as handle:
                row = list(csv.DictReader(handle))[-1]
            with zipfile.ZipFile(run / "Pendulum-v1.zip") as archive:
                updates = json.loads(archive.read("data"))["_n_updates"]
            print(
                f"updates {label:17s}: {updates} updates, "
                f"{int(float(row['rollout/overruns']))} overruns in {steps} steps, mean period "
                f"{float(row['time/control_period_ms']):.2f} ms, worst lateness "
                f"{float(row['time/worst_lateness_ms']):.1f} ms, {wall:.1f} s"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--hz", type=float, nargs="+", default=[50.0, 100.0, 200.0])
    options = parser.parse_args()
    for hz in options.hz:
        period_accuracy(hz, options.steps)
    placement(options.steps)


if __name__ == "__main__":
    main()
