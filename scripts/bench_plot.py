"""Benchmark ``realzoo plot`` on 200 synthetic run folders, against the RL Zoo's plot scripts.

    python scripts/bench_plot.py                                  # realzoo only
    python scripts/bench_plot.py --zoo-python /tmp/zoovenv/bin/python

The run folders (4 algorithms x 5 envs x 10 seeds; 200k steps each: ~1000 training
episodes in 2 monitor files, 40 evaluations of 10 episodes) are written by
``tests.synthetic_runs``. Every command runs as a fresh process, as a user
runs it, so import time counts. Where the Zoo has a counterpart the ratio is given:

- eval curves + table: ``realzoo plot eval`` + ``realzoo plot table`` vs
  ``python -m rl_zoo3.plots.all_plots`` (which draws the curves but saves no figure);
- aggregate (rliable): ``realzoo plot aggregate`` vs ``all_plots -o`` followed by
  ``plot_from_file --rliable --versus --iqm`` (the Zoo goes through its pickle file);
- training curves: ``realzoo plot train`` vs ``plot_train`` once per algorithm;
- everything: ``realzoo plot all`` vs all of the above.

The Zoo's scripts need seaborn, scipy, pytablewriter and rliable in that Python, and
MPLBACKEND=Agg (set here) so that ``plt.show()`` returns at once.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ALGOS = ["a2c", "ppo", "sac", "td3"]
ENVS = ["CartPole-v1", "Pendulum-v1", "LunarLander-v3", "Hopper-v5", "HalfCheetah-v5"]
SEEDS = range(10)


def make_runs(root: Path) -> Path:
    """Write the 200 synthetic run folders under ``root/logs`` and return that folder."""
    from tests.synthetic_runs import make_synthetic_logs

    logs = root / "logs"
    if logs.exists():
        sys.exit(f"{logs} exists: remove it or pick another --dir (runs would be added to it).")
    make_synthetic_logs(
        logs,
        algos=ALGOS,
        envs=ENVS,
        seeds=SEEDS,
        n_timesteps=200_000,
        eval_freq=5_000,
        eval_episodes=10,
    )
    return logs


def timed(argv: list[str], repeat: int, cwd: Path) -> float:
    """Median wall time of ``argv`` over ``repeat`` runs; exits loudly when it fails."""
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONWARNINGS": "ignore"}
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, check=False)
        times.append(time.perf_counter() - start)
        if done.returncode != 0:
            sys.exit(f"failed ({done.returncode}): {' '.join(argv)}\n{done.stderr[-3000:]}")
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description="Benchmark realzoo plot on 200 run folders.")
    parser.add_argument("--zoo-python", help="A Python with rl_zoo3 (and its plot extras).")
    parser.add_argument("--repeat", type=int, default=1, help="Runs per command (median).")
    parser.add_argument("--dir", help="Work folder (default: a temporary one, removed after).")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(args.dir or tmp)
        root.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        logs = make_runs(root)
        print(f"Wrote {4 * 5 * 10} run folders in {time.perf_counter() - start:.1f} s: {logs}")
        rz = [sys.executable, "-m", "rlzoo_real", "plot"]
        sel = ["-f", str(logs)]
        ours = {
            "train": timed([*rz, "train", *sel, "-o", "rz"], args.repeat, root),
            "eval": timed([*rz, "eval", *sel, "-o", "rz"], args.repeat, root),
            "table": timed([*rz, "table", *sel, "-o", "rz"], args.repeat, root),
            "aggregate": timed([*rz, "aggregate", *sel, "-o", "rz"], args.repeat, root),
            "all": timed([*rz, "all", *sel, "-o", "rz_all"], args.repeat, root),
        }
        rows = [
            ("training curves (realzoo plot train)", ours["train"], None),
            ("eval curves + table (plot eval + plot table)", ours["eval"] + ours["table"], None),
            ("aggregate, rliable (plot aggregate)", ours["aggregate"], None),
            ("all views, one process (plot all)", ours["all"], None),
        ]
        if args.zoo_python:
            zp = [args.zoo_python, "-m"]
            zoo_sel = ["-a", *ALGOS, "-e", *ENVS, "-f", str(logs), "--no-display"]
            all_plots = timed([*zp, "rl_zoo3.plots.all_plots", *zoo_sel], args.repeat, root)
            with_pickle = timed(
                [*zp, "rl_zoo3.plots.all_plots", *zoo_sel, "-o", "zoo_results"], args.repeat, root
            )
            from_file = timed(
                [*zp, "rl_zoo3.plots.plot_from_file", "-i", "zoo_results", "--rliable",
                 "--versus", "--iqm", "-o", "zoo_fig", "--format", "png"],
                args.repeat,
                root,
            )  # fmt: skip
            train = sum(
                timed(
                    [*zp, "rl_zoo3.plots.plot_train", "-a", algo, "-e", *ENVS, "-f", str(logs)],
                    args.repeat,
                    root,
                )
                for algo in ALGOS
            )
            zoo = [train, all_plots, with_pickle + from_file, train + with_pickle + from_file]
            rows = [(name, t, z) for (name, t, _), z in zip(rows, zoo, strict=True)]
        print(f"\n200 run folders, wall time per command (median of {args.repeat}):\n")
        print(f"{'view':48} {'realzoo':>9} {'rl_zoo3':>9} {'speed-up':>9}")
        for name, t, z in rows:
            zoo_text = f"{z:8.2f}s" if z is not None else f"{'-':>9}"
            ratio = f"{z / t:8.1f}x" if z is not None else f"{'-':>9}"
            print(f"{name:48} {t:8.2f}s {zoo_text} {ratio}")


if __name__ == "__main__":
    main()
