"""Size and save/load time of a full resumable checkpoint: SAC on a MuJoCo task with a
1e6-transition replay buffer (filled with real transitions' shapes and random values).

    .venv/bin/python scripts/bench_checkpoint.py [--env HalfCheetah-v5] [--buffer 1000000]

Reports the bytes of each checkpoint file, the time to write the whole checkpoint
(atomic writes with fsync included) and the time to find and read it back, next to the
time of a bare ``model.save`` + ``save_replay_buffer`` (no fsync, no rename) as baseline.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="HalfCheetah-v5")
    parser.add_argument("--buffer", type=int, default=1_000_000)
    args = parser.parse_args()

    import numpy as np
    import torch
    from stable_baselines3 import SAC
    from stable_baselines3.common.env_util import make_vec_env

    from rlzoo_real.runs.folder import RunFolder
    from rlzoo_real.train.checkpoint import find_resumable, save_checkpoint
    from rlzoo_real.train.state import capture_state

    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        run = RunFolder(Path(tmp) / "run", args.env)
        run.params_dir.mkdir(parents=True)
        env = make_vec_env(args.env, n_envs=1, seed=0, monitor_dir=str(run.path))
        model = SAC("MlpPolicy", env, buffer_size=args.buffer, learning_starts=100, seed=0)
        model.learn(200)  # a real model state: optimizers, counters, last observation
        buffer = model.replay_buffer
        rng = np.random.default_rng(0)
        for name in ("observations", "next_observations", "actions", "rewards"):
            array = getattr(buffer, name)
            array[...] = rng.standard_normal(array.shape).astype(array.dtype)
        buffer.full, buffer.pos = True, 0

        start = time.perf_counter()
        model.save(Path(tmp) / "bare.zip")
        model.save_replay_buffer(Path(tmp) / "bare.pkl")
        bare = time.perf_counter() - start

        state = capture_state(model, eval_callback=None, run=run)
        start = time.perf_counter()
        record = save_checkpoint(run, model, state)
        write = time.perf_counter() - start

        start = time.perf_counter()
        found, _, _ = find_resumable(run)
        loaded = SAC.load(found.path(run, "model"), env=env, force_reset=False)
        loaded.load_replay_buffer(found.path(run, "replay_buffer"))
        read = time.perf_counter() - start

    print(f"SAC on {args.env}, replay buffer of {args.buffer:,} transitions (full)")
    for role, name in record.files.items():
        print(f"  {role:<14} {name}")
    print(f"  checkpoint size: {record.size_bytes / 2**20:,.1f} MiB")
    print(
        f"  write (atomic, fsync): {write:.2f} s; bare save without fsync/rename: {bare:.2f} s "
        f"(ratio {write / bare:.2f})"
    )
    print(f"  find + load model and buffer: {read:.2f} s")


if __name__ == "__main__":
    main()
