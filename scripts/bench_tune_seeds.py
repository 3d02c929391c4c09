"""Do tuning winners hold up? One seed per trial against three, at the same env-step budget.

Two real studies of the same algorithm and env (random sampler, no pruning, the same
``--seed``), with the same total number of training steps:

- arm "1 seed":  ``--n-trials T --n-seeds 1``
- arm "3 seeds": ``--n-trials T/3 --n-seeds 3``

Each arm's search-best configuration is then validated (``--validate-top 1``) with the
same M fresh seeds (the same ``--seed`` gives both studies the same validation seeds).
The script prints and writes, for each arm, the search value, the validation mean and
95% CI, the gap between them, and which winner validates better; with budget and time.

    python scripts/bench_tune_seeds.py --out bench_out --trials 15 --steps 20000 \\
        --validate-seeds 8 --workers 2

Results: ``<out>/results.json`` and ``<out>/results.md``; the studies under ``<out>/logs``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import shlex
import subprocess
import sys
import time
from pathlib import Path

SPACE = """\
base: none
learning_rate: {low: 1e-4, high: 3e-3, scale: log}
gamma: {low: 0.95, high: 0.999, scale: one_minus_log}
n_epochs: {choices: [4, 10]}
ent_coef: {low: 1e-6, high: 0.05, scale: log}
"""


def _tune(out: Path, name: str, *extra: str) -> float:
    args = parse_args()
    command = [
        sys.executable, "-m", "rlzoo_real", "tune", "--algo", args.algo, "--env", args.env,
        "-f", str(out / "logs"), "--study-name", name, "--search-space", str(out / "space.yml"),
        "--sampler", "random", "--pruner", "none", "--seed", str(args.seed),
        "-n", str(args.steps), "--n-evaluations", str(args.evaluations),
        "--eval-episodes", str(args.eval_episodes), "--n-workers", str(args.workers),
        "--no-plots", "--verbose", "0", *extra,
    ]  # fmt: skip
    print("$", shlex.join(command[2:]), flush=True)
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    took = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{name} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return took


def _arm(out: Path, name: str, n_trials: int, n_seeds: int) -> dict[str, object]:
    args = parse_args()
    search_s = _tune(out, name, "--n-trials", str(n_trials), "--n-seeds", str(n_seeds))
    validate_s = _tune(
        out, name, "--n-trials", "0", "--validate-top", "1",
        "--validate-seeds", str(args.validate_seeds),
    )  # fmt: skip
    folder = out / "logs" / args.algo / name
    trials = list(csv.DictReader((folder / "trials.csv").read_text().splitlines()))
    (row,) = list(csv.DictReader((folder / "validation.csv").read_text().splitlines()))
    steps = sum(int(t["num_timesteps"] or 0) for t in trials)
    search, validated = float(row["search_value"]), float(row["validation_mean"])
    return {
        "arm": f"{n_seeds} seed{'s' if n_seeds > 1 else ''} per trial",
        "n_trials": n_trials,
        "n_seeds": n_seeds,
        "search_env_steps": steps,
        "winner_trial": int(row["trial"]),
        "winner_hyperparams": row["hyperparams"],
        "search_value": search,
        "validation_mean": validated,
        "ci_low": float(row["ci_low"]),
        "ci_high": float(row["ci_high"]),
        "validation_seed_values": row["seed_values"],
        "gap": round(validated - search, 3),
        "search_s": round(search_s, 1),
        "validate_s": round(validate_s, 1),
    }


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True, help="folder for the studies and the results")
    parser.add_argument("--algo", default="ppo")
    parser.add_argument("--env", default="CartPole-v1")
    parser.add_argument("--trials", type=int, default=15, help="trials of the 1-seed arm")
    parser.add_argument("--steps", type=int, default=20000, help="steps per run")
    parser.add_argument("--evaluations", type=int, default=4, help="evaluations per run")
    parser.add_argument("--eval-episodes", type=int, default=5)
    parser.add_argument("--validate-seeds", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if args.trials < 3 or args.trials % 3:
        sys.exit("--trials must be a multiple of 3 (the 3-seed arm runs trials / 3 trials)")
    out = Path(args.out)
    if (out / "logs").exists():
        sys.exit(f"{out}/logs exists: give a new --out folder")
    out.mkdir(parents=True, exist_ok=True)
    (out / "space.yml").write_text(SPACE)
    start = time.perf_counter()
    arms = [_arm(out, "one_seed", args.trials, 1), _arm(out, "three_seeds", args.trials // 3, 3)]
    one, three = arms
    wall = time.perf_counter() - start
    better = max(arms, key=lambda a: float(a["validation_mean"]))  # type: ignore[arg-type]
    if one["validation_mean"] == three["validation_mean"]:  # the same winner, or a tie
        better = {"arm": "neither (a tie)"}
    result = {
        "command": shlex.join(["python", "scripts/bench_tune_seeds.py", *sys.argv[1:]]),
        "algo": args.algo,
        "env": args.env,
        "steps_per_run": args.steps,
        "validation_seeds": args.validate_seeds,
        "workers": args.workers,
        "machine": f"{platform.node()} ({os.cpu_count()} CPUs, {platform.machine()})",
        "wall_s": round(wall, 1),
        "arms": arms,
        "better_when_validated": better["arm"],
    }
    (out / "results.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = [
        f"# Tuning winners: 1 seed per trial vs 3 ({args.algo} on {args.env})",
        "",
        f"Command: `{result['command']}`",
        "",
        f"Budget: {args.steps} steps per run; {args.trials} trials x 1 seed vs "
        f"{args.trials // 3} trials x 3 seeds (random sampler, no pruning, --seed {args.seed}); "
        f"each search-best validated with the same {args.validate_seeds} fresh seeds at "
        f"{args.steps} steps. Value: the last evaluation ({args.eval_episodes} episodes). "
        f"{args.workers} worker processes on {result['machine']}; wall time {wall / 60:.1f} min "
        "in all.",
        "",
        "| arm | search env steps | winner | search value | validation mean | 95% CI | "
        "validation - search | search time | validation time |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for arm in arms:
        lines.append(
            f"| {arm['arm']} | {arm['search_env_steps']} | trial {arm['winner_trial']} | "
            f"{arm['search_value']:.1f} | {arm['validation_mean']:.1f} | "
            f"[{arm['ci_low']:.1f}, {arm['ci_high']:.1f}] | {arm['gap']:+.1f} | "
            f"{arm['search_s']:.0f} s | {arm['validate_s']:.0f} s |"
        )
    lines += [
        "",
        f"Better when validated: **{better['arm']}** "
        f"({one['validation_mean']:.1f} for 1 seed vs {three['validation_mean']:.1f} for 3 seeds).",
        "",
        "Winners' hyperparameters:",
        *[f"- {a['arm']}: `{a['winner_hyperparams']}`" for a in arms],
        "",
        "Per validation seed:",
        *[f"- {a['arm']}: {a['validation_seed_values']}" for a in arms],
    ]
    (out / "results.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
