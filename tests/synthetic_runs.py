"""Synthetic run folders, for tests, benchmarks and trying the plots without training.

Each folder has what ``realzoo train`` leaves for the plots: monitor files,
``evaluations.npz``, ``<env>/args.yml`` and ``<env>/manifest.yml`` (plus a short
``progress.csv``), with returns that rise from the env's random reference towards its
expert reference along a noisy learning curve fixed by the seed.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Sequence
from pathlib import Path

from rlzoo_real.runs.folder import RunFolder, create_run_folder, write_yaml_atomic

__all__ = ["make_synthetic_logs", "make_synthetic_run"]


def make_synthetic_run(
    log_folder: Path,
    algo: str,
    env_id: str,
    *,
    seed: int,
    n_timesteps: int = 20_000,
    eval_freq: int = 1_000,
    eval_episodes: int = 5,
    n_envs: int = 2,
    episode_length: int = 200,
    skill: float = 0.8,
    hyperparams: Sequence[str] = (),
    status: str = "finished",
) -> RunFolder:
    """Write one synthetic run folder ``<log_folder>/<algo>/<env>_<N>/`` and return it.

    Args:
        skill: the fraction of the way from random to expert reached at the end.
        hyperparams: ``key:value`` overrides recorded in ``args.yml`` (they label runs).
        status: the manifest's status.
    """
    import numpy as np

    from rlzoo_real.plotting.references import REFERENCES

    ref = REFERENCES.get(env_id)
    low, high = (ref.random, ref.expert) if ref else (0.0, 100.0)
    key = zlib.crc32(f"{algo}|{env_id}|{'|'.join(hyperparams)}".encode())
    rng = np.random.default_rng([seed, key])
    speed = rng.uniform(2.0, 5.0)
    skill = float(np.clip(skill * rng.normal(1.0, 0.12), 0.0, 1.1))

    def curve(steps: np.ndarray) -> np.ndarray:
        progress = 1.0 - np.exp(-speed * steps / n_timesteps)
        return low + (high - low) * skill * progress

    run = create_run_folder(log_folder, algo, env_id)
    spread = 0.05 * abs(high - low)
    # monitor files: episodes of each env, in its own time
    t_start = 1_700_000_000.0 + seed
    per_env = n_timesteps // n_envs
    for env_index in range(n_envs):
        n_episodes = max(per_env // episode_length, 1)
        ends = (np.arange(1, n_episodes + 1) * episode_length * n_envs).astype(float)
        returns = curve(ends) + rng.normal(0.0, spread, n_episodes)
        times = np.arange(1, n_episodes + 1) * episode_length * 1e-3 + rng.uniform(0, 1e-3)
        lines = [
            "#" + json.dumps({"t_start": t_start + 0.01 * env_index, "env_id": env_id}),
            "r,l,t",
            *(f"{r:.6f},{episode_length},{t:.6f}" for r, t in zip(returns, times, strict=True)),
        ]
        (run.path / f"{env_index}.monitor.csv").write_text("\r\n".join(lines) + "\r\n")
    timesteps = np.arange(eval_freq, n_timesteps + 1, eval_freq)
    results = curve(timesteps)[:, None] + rng.normal(0.0, spread, (len(timesteps), eval_episodes))
    ep_lengths = np.full(results.shape, episode_length)
    np.savez(run.evaluations, timesteps=timesteps, results=results, ep_lengths=ep_lengths)
    write_yaml_atomic(
        run.args_file,
        {
            "algo": algo,
            "env": env_id,
            "log_folder": str(log_folder),
            "n_timesteps": n_timesteps,
            "eval_freq": eval_freq,
            "eval_episodes": eval_episodes,
            "seed": seed,
            "hyperparams": list(hyperparams),
            "env_kwargs": [],
            "conf_file": None,
        },
    )
    write_yaml_atomic(
        run.manifest_file,
        {
            "status": status,
            "seed": seed,
            "start_time": "2026-01-01T00:00:00+00:00",
            "end_time": "2026-01-01T00:10:00+00:00" if status != "running" else None,
            "exit_code": 0 if status == "finished" else None,
            "num_timesteps": n_timesteps if status == "finished" else 0,
        },
    )
    rows = ["time/total_timesteps,rollout/ep_rew_mean"]
    rows += [f"{t},{v:.4f}" for t, v in zip(timesteps, results.mean(axis=1), strict=True)]
    (run.path / "progress.csv").write_text("\n".join(rows) + "\n")
    return run


def make_synthetic_logs(
    log_folder: Path,
    *,
    algos: Sequence[str],
    envs: Sequence[str],
    seeds: Sequence[int],
    n_timesteps: int = 20_000,
    eval_freq: int = 1_000,
    eval_episodes: int = 5,
) -> list[RunFolder]:
    """One synthetic run per algorithm, env and seed; each algorithm with its own skill."""
    runs = []
    for a, algo in enumerate(algos):
        for env_id in envs:
            for seed in seeds:
                runs.append(
                    make_synthetic_run(
                        log_folder,
                        algo,
                        env_id,
                        seed=seed,
                        n_timesteps=n_timesteps,
                        eval_freq=eval_freq,
                        eval_episodes=eval_episodes,
                        skill=0.5 + 0.4 * (a + 1) / len(algos),
                    )
                )
    return runs
