"""SAC environment steps per second: Stable-Baselines3 (PyTorch) against SBX (JAX).

Both train SAC with the same hyperparameters (a fixed common set: two hidden layers
of 256, batch 256, one gradient step per env step, ``learning_starts`` random steps),
one env, seed 0. Each measurement is a fresh process (imports and JAX compilation
included in its start-up), which first trains ``learning_starts + 100`` steps
(the *warm-up*: random steps, then the first updates, where JAX compiles; reported
separately) and then times ``--steps`` more steps: the steps per second reported.
Backends are run alternately, ``--repeats`` times each; the figures are medians and
the ratio SBX / SB3 is of medians measured in the same run.

Threads: SB3 runs with one torch thread (realzoo's default). SBX runs with one XLA
thread (what ``realzoo train --backend sbx`` sets for ``--num-threads 1``) and, as
``sbx-xla-default``, with XLA's own default thread pool.

    .venv/bin/python scripts/bench_sbx.py [--envs Pendulum-v1 HalfCheetah-v5] [--steps 1000]
        [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VARIANTS = ("sb3", "sbx", "sbx-xla-default")
COMMON = {"batch_size": 256, "buffer_size": 100_000, "train_freq": 1, "gradient_steps": 1}


def _worker(variant: str, env_id: str, steps: int, learning_starts: int) -> None:
    """Train in this process and print one JSON line with the timings."""
    start = time.perf_counter()
    import torch

    torch.set_num_threads(1)
    if variant == "sb3":
        from stable_baselines3 import SAC
    else:
        if variant == "sbx":
            from rlzoo_real.algos.sbx import configure_threads

            configure_threads(1)
        from rlzoo_real.algos.sbx import SAC  # type: ignore[assignment]
    imported = time.perf_counter()
    model = SAC(
        "MlpPolicy",
        env_id,
        seed=0,
        learning_starts=learning_starts,
        policy_kwargs={"net_arch": [256, 256]},
        **COMMON,  # type: ignore[arg-type]
    )
    warm_steps = learning_starts + 100
    t0 = time.perf_counter()
    model.learn(warm_steps)
    t1 = time.perf_counter()
    model.learn(steps, reset_num_timesteps=False)
    t2 = time.perf_counter()
    print(
        json.dumps(
            {
                "variant": variant,
                "env": env_id,
                "import_s": imported - start,
                "warmup_s": t1 - t0,
                "steps_per_s": steps / (t2 - t1),
            }
        )
    )


def _measure(variant: str, env_id: str, steps: int, learning_starts: int) -> dict[str, float]:
    env = dict(os.environ)
    env.pop("XLA_FLAGS", None)
    done = subprocess.run(
        [sys.executable, __file__, "--worker", variant, env_id, str(steps), str(learning_starts)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    """Run the benchmark and print a table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--envs", nargs="+", default=["Pendulum-v1", "HalfCheetah-v5"])
    parser.add_argument("--steps", type=int, default=1000, help="timed steps per run")
    parser.add_argument("--learning-starts", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    parser.add_argument("--worker", nargs=4, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.worker:
        variant, env_id, steps, starts = options.worker
        _worker(variant, env_id, int(steps), int(starts))
        return

    results: dict[tuple[str, str], list[dict[str, float]]] = {}
    for env_id in options.envs:
        for repeat in range(options.repeats):
            order = options.variants if repeat % 2 == 0 else options.variants[::-1]
            for variant in order:
                result = _measure(variant, env_id, options.steps, options.learning_starts)
                results.setdefault((env_id, variant), []).append(result)
                print(
                    f"  {env_id:15s} {variant:16s} run {repeat + 1}: "
                    f"{result['steps_per_s']:7.1f} steps/s, warm-up {result['warmup_s']:5.1f} s",
                    flush=True,
                )
    print(
        f"\nSAC, {options.steps} timed steps after {options.learning_starts} learning_starts "
        f"(+100 warm-up updates), medians of {options.repeats} alternated runs, "
        f"{os.cpu_count()} CPUs"
    )
    print(f"{'env':15s} {'variant':16s} {'steps/s':>8s} {'warm-up s':>10s} {'vs sb3':>7s}")
    for env_id in options.envs:
        sb3 = results.get((env_id, "sb3"))
        base = statistics.median(r["steps_per_s"] for r in sb3) if sb3 else None
        for variant in options.variants:
            runs = results[(env_id, variant)]
            speed = statistics.median(r["steps_per_s"] for r in runs)
            warm = statistics.median(r["warmup_s"] for r in runs)
            ratio = f"{speed / base:6.2f}x" if base else "      -"
            print(f"{env_id:15s} {variant:16s} {speed:8.1f} {warm:10.1f} {ratio:>7s}")


if __name__ == "__main__":
    main()
