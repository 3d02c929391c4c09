"""Per-action latency of an exported ONNX policy against ``model.predict``, one observation.

A real-time controller calls the policy once per control step with one observation,
so this is the number that matters on a robot. The policy is SAC's actor for
Pendulum-v1 with the shipped hyperparameters (hyperparams/sac.yml: 256x256 MLP),
trained for a few hundred steps with observation normalization on, then exported
with ``realzoo export``. Timed, each on the same real observations, one at a time:

- onnxruntime, 1 thread: normalization + actor + rescaling, all in the graph;
- ``model.predict(obs, deterministic=True)``: the actor and rescaling (what the issue
  compares against);
- ``VecNormalize.normalize_obs`` + ``model.predict``: the full SB3 path the ONNX file
  replaces.

Goal (issue 5): ONNX at least 5x faster than ``model.predict``. Prints medians in
microseconds and the ratios.

    .venv/bin/python scripts/bench_export_latency.py [--repeats 3000]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def median_us(call: Callable[[Any], Any], observations: list[Any], repeats: int) -> float:
    """Median wall time of ``call(obs)`` in microseconds, cycling through ``observations``."""
    for obs in observations[:50]:  # warm-up
        call(obs)
    times = []
    for i in range(repeats):
        obs = observations[i % len(observations)]
        start = time.perf_counter_ns()
        call(obs)
        times.append(time.perf_counter_ns() - start)
    return statistics.median(times) / 1000.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3000)
    parser.add_argument("--train-steps", type=int, default=300)
    args = parser.parse_args()

    import numpy as np
    import onnxruntime as ort
    import torch

    from rlzoo_real.replay.export import export_onnx
    from rlzoo_real.replay.loading import RunRequest, open_run
    from rlzoo_real.train.request import TrainArgs
    from rlzoo_real.train.run import train

    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        logs = Path(tmp) / "logs"
        result = train(
            TrainArgs(
                algo="sac",
                env="Pendulum-v1",
                log_folder=str(logs),
                n_timesteps=args.train_steps,
                eval_freq=-1,
                seed=0,
                hyperparams=["normalize:dict(norm_obs=True, norm_reward=False)"],
                verbose=0,
            )
        )
        loaded = open_run(RunRequest(target=str(result.run.path), device="cpu"), seed=0)
        exported = export_onnx(loaded, path=Path(tmp) / "policy.onnx")
        vec_normalize = loaded.env  # the run's frozen VecNormalize
        model = loaded.model

        raw = []
        obs = loaded.env.reset()
        for _ in range(256):
            raw.append(vec_normalize.get_original_obs()[0].astype(np.float32))
            action, _ = model.predict(obs, deterministic=True)
            obs, _, _, _ = loaded.env.step(action)
        normalized = [vec_normalize.normalize_obs(o).astype(np.float32) for o in raw]
        batched = [o[None] for o in raw]

        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        session = ort.InferenceSession(
            str(exported.path), options, providers=["CPUExecutionProvider"]
        )

        rows = {
            "onnxruntime (normalize + actor + rescale)": median_us(
                lambda o: session.run(None, {"obs": o}), batched, args.repeats
            ),
            "model.predict (actor + rescale)": median_us(
                lambda o: model.predict(o, deterministic=True), normalized, args.repeats
            ),
            "normalize_obs + model.predict": median_us(
                lambda o: model.predict(vec_normalize.normalize_obs(o), deterministic=True),
                raw,
                args.repeats,
            ),
        }
        loaded.close()

    onnx = rows["onnxruntime (normalize + actor + rescale)"]
    print(
        f"SAC actor for Pendulum-v1 (hyperparams/sac.yml, 256x256), one observation, median of "
        f"{args.repeats} calls, torch and onnxruntime on 1 thread"
    )
    print(f"  parity checked at export: max |difference| {exported.max_diff:.2e}")
    for name, micros in rows.items():
        ratio = "" if micros == onnx else f"   {micros / onnx:5.1f}x the ONNX latency"
        print(f"  {name:<44} {micros:8.1f} us{ratio}")
    speedup = rows["model.predict (actor + rescale)"] / onnx
    print(
        f"goal >= 5x faster than model.predict: {'met' if speedup >= 5 else 'NOT met'} "
        f"({speedup:.1f}x)"
    )


if __name__ == "__main__":
    main()
