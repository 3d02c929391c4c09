"""Checkpoints a run resumes from exactly: atomic files, an index, the whole training state.

A checkpoint at ``S`` steps is four files in the run folder (names in
:meth:`~rlzoo_real.runs.RunFolder.checkpoint_files`): the model (weights, optimizers,
step and update counters, schedule progress, last observations), the normalization
statistics, the replay buffer (off-policy; kept only with the latest checkpoint) and
the training state (:func:`capture_state`: random states, the envs themselves, the
evaluation history, how far the log files had got). Each file is written to a
temporary name, flushed to disk and renamed; ``checkpoints.yml`` is rewritten last and
lists only complete checkpoints, so a process killed while writing never leaves a
checkpoint that resume would pick.

Checkpoint files are pickles, like Stable-Baselines3's own: load only your own runs.
"""

from __future__ import annotations

import os
import random
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rlzoo_real.errors import UserError
from rlzoo_real.runs import RunFolder, read_yaml, write_yaml_atomic

__all__ = [
    "CheckpointRecord",
    "capture_state",
    "discard_after",
    "find_resumable",
    "load_state",
    "read_index",
    "restore_rng",
    "restore_vec_env",
    "save_checkpoint",
    "trim_logs",
]

STATE_VERSION = 1


@dataclass(frozen=True)
class CheckpointRecord:
    """One complete checkpoint, as listed in ``checkpoints.yml``."""

    steps: int
    files: dict[str, str]
    saved_at: str
    seconds: float
    size_bytes: int

    def path(self, run: RunFolder, role: str) -> Path | None:
        """The file of ``role`` (model, vecnormalize, replay_buffer, state), if it has one."""
        name = self.files.get(role)
        return run.path / name if name else None


def read_index(run: RunFolder) -> list[CheckpointRecord]:
    """The complete checkpoints of ``run``, oldest first (empty when there is no index)."""
    if not run.checkpoint_index.is_file():
        return []
    import yaml

    try:
        raw = read_yaml(run.checkpoint_index)
    except (yaml.YAMLError, UnicodeDecodeError):
        raise UserError(
            f"{run.checkpoint_index} is corrupt (not YAML). realzoo writes it atomically, so "
            "something else changed it; restore it, or start the run anew."
        ) from None
    entries = raw.get("checkpoints", []) if isinstance(raw, dict) else []
    try:
        return [CheckpointRecord(**entry) for entry in entries]
    except TypeError:  # an entry with missing or unknown fields, or not a mapping
        raise UserError(
            f"{run.checkpoint_index} is corrupt (an entry is not a checkpoint record). realzoo "
            "writes it atomically, so something else changed it; restore it, or start the run "
            "anew."
        ) from None


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_atomic(path: Path, writer: Callable[[Path], object]) -> None:
    tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
    try:
        writer(tmp)
        _fsync(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def save_checkpoint(
    run: RunFolder,
    model: Any,
    state: dict[str, Any],
    *,
    keep: int = 0,
    keep_buffers: bool = False,
) -> CheckpointRecord:
    """Write a complete checkpoint of ``model`` and ``state`` and list it in the index.

    Args:
        run: the run folder.
        model: the algorithm, at a rollout boundary.
        state: the training state from :func:`capture_state`.
        keep: how many checkpoints to keep (0: all).
        keep_buffers: keep the replay buffer with every kept checkpoint, not only the latest.
    """
    import cloudpickle

    from rlzoo_real.provenance import now_iso

    start = time.monotonic()
    steps = int(model.num_timesteps)
    paths = run.checkpoint_files(steps)
    written: dict[str, str] = {}
    _write_atomic(paths["model"], lambda p: model.save(p))
    written["model"] = paths["model"].name
    vec_normalize = model.get_vec_normalize_env()
    if vec_normalize is not None:
        _write_atomic(paths["vecnormalize"], lambda p: vec_normalize.save(str(p)))
        written["vecnormalize"] = paths["vecnormalize"].name
    if getattr(model, "replay_buffer", None) is not None:
        _write_atomic(paths["replay_buffer"], lambda p: model.save_replay_buffer(p))
        written["replay_buffer"] = paths["replay_buffer"].name
    _write_atomic(paths["state"], lambda p: p.write_bytes(cloudpickle.dumps(state)))
    written["state"] = paths["state"].name
    _fsync(run.path)  # the renames themselves reach the disk

    record = CheckpointRecord(
        steps=steps,
        files=written,
        saved_at=now_iso(),
        seconds=round(time.monotonic() - start, 3),
        size_bytes=sum((run.path / name).stat().st_size for name in written.values()),
    )
    previous = [r for r in read_index(run) if r.steps != steps]
    kept = previous[-(keep - 1) :] if keep > 1 else ([] if keep == 1 else previous)
    dropped = [r for r in previous if r not in kept]
    stale_buffers = (
        []
        if keep_buffers
        else [r.files["replay_buffer"] for r in kept if "replay_buffer" in r.files]
    )
    kept = (
        kept
        if keep_buffers
        else [
            CheckpointRecord(
                r.steps,
                {k: v for k, v in r.files.items() if k != "replay_buffer"},
                r.saved_at,
                r.seconds,
                r.size_bytes,
            )
            for r in kept
        ]
    )
    entries = [*kept, record]
    write_yaml_atomic(run.checkpoint_index, {"checkpoints": [r.__dict__ for r in entries]})
    # Only now that the index no longer names them may old files go.
    for name in stale_buffers + [n for r in dropped for n in r.files.values()]:
        (run.path / name).unlink(missing_ok=True)
    return record


def find_resumable(run: RunFolder) -> tuple[CheckpointRecord, dict[str, Any], list[str]]:
    """The latest checkpoint whose files are all there and readable, with its state.

    Returns:
        The checkpoint, its training state, and notes about newer checkpoints that were
        skipped because a file was missing or corrupt.

    Raises:
        UserError: when no checkpoint is usable.
    """
    notes: list[str] = []
    records = read_index(run)
    for record in reversed(records):
        problem = _check_files(run, record)
        if problem is None:
            try:
                state = load_state(record.path(run, "state"))  # type: ignore[arg-type]
            except UserError as exc:
                problem = str(exc)
            else:
                return record, state, notes
        notes.append(
            f"the checkpoint at {record.steps} steps is unusable ({problem}); "
            "falling back to the one before"
        )
    if not records:
        raise UserError(
            f"{run.path} has no checkpoint to resume from (no {run.checkpoint_index.name}). "
            "Runs write checkpoints every --save-freq steps and when stopped by Ctrl-C, SIGTERM "
            "or --time-limit; a run started with --save-freq -1 and killed cannot be resumed."
        )
    raise UserError(f"{run.path}: no usable checkpoint is left: " + "; ".join(notes) + ".")


def _check_files(run: RunFolder, record: CheckpointRecord) -> str | None:
    for role, name in record.files.items():
        path = run.path / name
        if not path.is_file() or path.stat().st_size == 0:
            return f"its {role} file {name} is missing or empty"
    model = record.path(run, "model")
    try:
        with zipfile.ZipFile(model) as archive:  # type: ignore[arg-type]
            if archive.testzip() is not None or "data" not in archive.namelist():
                return f"{record.files['model']} is corrupt"
    except zipfile.BadZipFile:
        return f"{record.files['model']} is not a valid zip"
    return None


def load_state(path: Path) -> dict[str, Any]:
    """Read a training state written by :func:`save_checkpoint`."""
    import pickle

    import cloudpickle

    try:
        state = cloudpickle.loads(path.read_bytes())
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError) as exc:
        raise UserError(f"{path.name} is corrupt ({type(exc).__name__})") from None
    if not isinstance(state, dict) or state.get("version") != STATE_VERSION:
        raise UserError(f"{path.name} is not a realzoo training state of version {STATE_VERSION}")
    return state


# --- the training state -------------------------------------------------------------------


def capture_state(
    model: Any, *, eval_callback: Any, run: RunFolder, at_rollout_start: bool = False
) -> dict[str, Any]:
    """Everything beyond the model files that an exact continuation needs.

    ``at_rollout_start``: taken in a callback's rollout start, right after
    Stable-Baselines3 drew the rollout's gSDE noise (kept then, matrices for torch, JAX
    keys for SBX, see :mod:`rlzoo_real.gsde`).
    """
    import numpy as np
    import torch

    from rlzoo_real.gsde import capture_noise

    state: dict[str, Any] = {
        "version": STATE_VERSION,
        "num_timesteps": int(model.num_timesteps),
        "rng": {
            "python": random.getstate(),
            "numpy": np.random.get_state(),
            "torch": torch.get_rng_state(),
            "action_space": _space_rng(model.action_space),
            "sde_noise": capture_noise(model) if at_rollout_start else None,
        },
        "train_env": _capture_vec_env(model.get_env()),
        "eval": None,
        "logs": {
            "monitor_bytes": {p.name: p.stat().st_size for p in run.monitor_files()},
            "progress_rows": _count_rows(run.progress_file),
        },
    }
    if eval_callback is not None:
        state["eval"] = {
            "env": _capture_vec_env(eval_callback.eval_env),
            "n_calls": eval_callback.n_calls,
            "timesteps": list(eval_callback.evaluations_timesteps),
            "results": [list(map(float, r)) for r in eval_callback.evaluations_results],
            "lengths": [list(map(int, r)) for r in eval_callback.evaluations_length],
            "successes": [list(r) for r in eval_callback.evaluations_successes],
            "best_mean_reward": float(eval_callback.best_mean_reward),
            "last_mean_reward": float(eval_callback.last_mean_reward),
        }
    return state


def restore_rng(model: Any, rng: dict[str, Any]) -> list[str]:
    """Put the random states back; call it last, right before ``learn``.

    Returns:
        notes on what could not be put back (the resumed run is then not bit-exact).
    """
    import numpy as np
    import torch

    random.setstate(rng["python"])
    np.random.set_state(rng["numpy"])
    torch.set_rng_state(rng["torch"])
    if rng.get("action_space") is not None:
        model.action_space.np_random.bit_generator.state = rng["action_space"]
    if not getattr(model, "use_sde", False):
        return []
    from rlzoo_real.gsde import restore_noise

    saved = rng.get("sde_noise")
    if saved is not None and restore_noise(model, saved):
        return []
    return [
        "the gSDE noise could not be restored from this checkpoint (it was not taken "
        "at a rollout start, or the policy's gSDE layout differs from the saved one): the "
        "resumed run explores with new noise, so it is not bit-exact"
    ]


def restore_eval_callback(callback: Any, saved: dict[str, Any]) -> str | None:
    """Give a fresh EvalCallback the history, best score and env state of the checkpoint."""
    import numpy as np

    callback.n_calls = saved["n_calls"]
    callback.evaluations_timesteps = list(saved["timesteps"])
    callback.evaluations_results = [np.array(r) for r in saved["results"]]
    callback.evaluations_length = [np.array(r) for r in saved["lengths"]]
    callback.evaluations_successes = [list(r) for r in saved["successes"]]
    callback.best_mean_reward = saved["best_mean_reward"]
    callback.last_mean_reward = saved["last_mean_reward"]
    return restore_vec_env(callback.eval_env, saved["env"])


def _space_rng(space: Any) -> Any:
    generator = getattr(space, "_np_random", None)
    return generator.bit_generator.state if generator is not None else None


def _base_vec_env(venv: Any) -> Any:
    from stable_baselines3.common.vec_env import VecEnvWrapper

    while isinstance(venv, VecEnvWrapper):
        venv = venv.venv
    return venv


def _frame_stack(venv: Any) -> Any:
    from stable_baselines3.common.vec_env import VecEnvWrapper, VecFrameStack

    while isinstance(venv, VecEnvWrapper):
        if isinstance(venv, VecFrameStack):
            return venv
        venv = venv.venv
    return None


def _monitor(env: Any) -> Any:
    from stable_baselines3.common.monitor import Monitor

    while env is not None:
        if isinstance(env, Monitor):
            return env
        env = getattr(env, "env", None)
    return None


def _capture_vec_env(venv: Any) -> dict[str, Any]:
    import cloudpickle
    from stable_baselines3.common.vec_env import DummyVecEnv

    base = _base_vec_env(venv)
    stack = _frame_stack(venv)
    captured: dict[str, Any] = {
        "envs": None,
        "reason": None,
        "frame_stack": stack.stacked_obs.stacked_obs.copy() if stack is not None else None,
    }
    if not isinstance(base, DummyVecEnv):
        captured["reason"] = "subprocess envs keep their state in other processes"
        return captured
    captured["seeds"] = list(base._seeds)
    captured["options"] = [dict(o) if o else o for o in base._options]
    blobs = []
    for env in base.envs:
        try:
            inner = _inner_state(env.unwrapped)
        except _NotSaveable as exc:
            captured["reason"] = str(exc)
            return captured
        monitor = _monitor(env)
        writer = monitor.results_writer if monitor is not None else None
        if monitor is not None:
            monitor.results_writer = None  # an open file does not pickle
        try:
            blobs.append((cloudpickle.dumps(env), inner))
        except Exception as exc:  # noqa: BLE001 - any env may refuse to pickle, in any way
            captured["reason"] = f"the env could not be saved ({type(exc).__name__}: {exc})"
            return captured
        finally:
            if monitor is not None:
                monitor.results_writer = writer
    captured["envs"] = blobs
    return captured


class _NotSaveable(Exception):
    pass


def _inner_state(env: Any) -> dict[str, Any] | None:
    """State that pickling loses: EzPickle envs pickle as their constructor arguments.

    MuJoCo envs keep everything in their MjData and random generator, which are saved
    here; other EzPickle envs (Box2D) cannot be saved.
    """
    from gymnasium.utils import EzPickle

    if not isinstance(env, EzPickle):
        return None
    model, data = getattr(env, "model", None), getattr(env, "data", None)
    if type(data).__name__ != "MjData":
        raise _NotSaveable(
            f"{type(env).__name__} pickles as its constructor arguments, losing its state"
        )
    import mujoco
    import numpy as np

    spec = mujoco.mjtState.mjSTATE_INTEGRATION
    physics = np.empty(mujoco.mj_stateSize(model, spec))
    mujoco.mj_getState(model, data, physics, spec)
    generator: Any = getattr(env, "np_random")  # noqa: B009 - EzPickle hides the env's type
    return {"mujoco": physics, "np_random": generator.bit_generator.state}


def _restore_inner_state(env: Any, inner: dict[str, Any] | None) -> None:
    if inner is None:
        return
    import mujoco

    mujoco.mj_setState(env.model, env.data, inner["mujoco"], mujoco.mjtState.mjSTATE_INTEGRATION)
    mujoco.mj_forward(env.model, env.data)
    env.np_random.bit_generator.state = inner["np_random"]


def restore_vec_env(venv: Any, saved: dict[str, Any]) -> str | None:
    """Swap the saved envs into a freshly built vectorized env.

    Returns:
        None when the state was restored, else why not (the caller then starts new
        episodes and tells the user the continuation is not exact).
    """
    import cloudpickle

    if saved["envs"] is None:
        return saved["reason"]
    base = _base_vec_env(venv)
    if len(base.envs) != len(saved["envs"]):
        return f"the run had {len(saved['envs'])} envs, now {len(base.envs)}"
    for i, (blob, inner) in enumerate(saved["envs"]):
        fresh = base.envs[i]
        restored = cloudpickle.loads(blob)
        _restore_inner_state(restored.unwrapped, inner)
        fresh_monitor, restored_monitor = _monitor(fresh), _monitor(restored)
        if restored_monitor is not None and fresh_monitor is not None:
            restored_monitor.results_writer = fresh_monitor.results_writer  # append to the file
            fresh_monitor.results_writer = None
        fresh.close()
        base.envs[i] = restored
    base._seeds = list(saved["seeds"])
    base._options = list(saved["options"])
    stack = _frame_stack(venv)
    if stack is not None and saved["frame_stack"] is not None:
        stack.stacked_obs.stacked_obs[...] = saved["frame_stack"]
    return None


def discard_after(run: RunFolder, steps: int) -> None:
    """Before resuming from ``steps``: drop what later, dead writers left behind.

    That is temporary files of interrupted writes, files of checkpoints past ``steps``
    (unlisted, or listed but unusable), and their index entries.
    """
    import re

    for path in [*run.path.glob(".tmp-*"), *run.params_dir.glob(".tmp-*")]:
        path.unlink(missing_ok=True)
    for path in run.path.glob("rl_model_*_steps.*"):
        match = re.search(r"_(\d+)_steps\.", path.name)
        if match and int(match.group(1)) > steps:
            path.unlink()
    records = read_index(run)
    if any(r.steps > steps for r in records):
        write_yaml_atomic(
            run.checkpoint_index,
            {"checkpoints": [r.__dict__ for r in records if r.steps <= steps]},
        )


def _count_rows(path: Path) -> int:
    if not path.is_file():
        return 0
    with path.open("rb") as handle:
        return max(sum(1 for _ in handle) - 1, 0)


def trim_logs(run: RunFolder, logs: dict[str, Any]) -> None:
    """Cut monitor files and ``progress.csv`` back to what they held at the checkpoint."""
    for name, size in logs["monitor_bytes"].items():
        path = run.path / name
        if path.is_file() and path.stat().st_size > size:
            with path.open("r+b") as handle:
                handle.truncate(size)
    progress = run.progress_file
    if progress.is_file():
        lines = progress.read_text().splitlines(keepends=True)
        keep = lines[: 1 + logs["progress_rows"]] if logs["progress_rows"] else lines[:1]
        progress.write_text("".join(keep))
