"""Checkpoints a run resumes from exactly: atomic files, an index, the whole training state.

A checkpoint at ``S`` steps is four files in the run folder (names in
:meth:`~rlzoo_real.runs.folder.RunFolder.checkpoint_files`): the model (weights, optimizers,
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rlzoo_real.errors import UserError
from rlzoo_real.runs.atomic import TMP_PREFIX, fsync_path, write_atomic
from rlzoo_real.runs.folder import RunFolder, read_yaml, write_yaml_atomic

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
    crc32: dict[str, str] | None = None  # by role; None in checkpoints of older versions

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


def file_crc32(path: Path) -> str:
    """The CRC-32 of a file, as 8 hex digits (about 2.5 GB/s here: 0.1 s for 300 MiB)."""
    import zlib

    crc = 0
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            crc = zlib.crc32(chunk, crc)
    return f"{crc:08x}"


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

    from rlzoo_real.runs.manifest import now_iso

    start = time.monotonic()
    steps = int(model.num_timesteps)
    paths = run.checkpoint_files(steps)
    written: dict[str, str] = {}
    write_atomic(paths["model"], lambda p: model.save(p))
    written["model"] = paths["model"].name
    vec_normalize = model.get_vec_normalize_env()
    if vec_normalize is not None:
        write_atomic(paths["vecnormalize"], lambda p: vec_normalize.save(str(p)))
        written["vecnormalize"] = paths["vecnormalize"].name
    if getattr(model, "replay_buffer", None) is not None:
        write_atomic(paths["replay_buffer"], lambda p: model.save_replay_buffer(p))
        written["replay_buffer"] = paths["replay_buffer"].name
    write_atomic(paths["state"], lambda p: p.write_bytes(cloudpickle.dumps(state)))
    written["state"] = paths["state"].name
    fsync_path(run.path)  # the renames themselves reach the disk

    crc = {role: file_crc32(run.path / name) for role, name in written.items()}
    record = CheckpointRecord(
        steps=steps,
        files=written,
        saved_at=now_iso(),
        seconds=round(time.monotonic() - start, 3),
        size_bytes=sum((run.path / name).stat().st_size for name in written.values()),
        crc32=crc,
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
                {k: v for k, v in r.crc32.items() if k != "replay_buffer"} if r.crc32 else r.crc32,
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
    """The latest checkpoint whose files are all there and intact, with its state.

    Every file of a candidate is checked: its CRC-32 against the one the index recorded
    (checkpoints of older versions have none), the model zip's own CRCs, and each pickle
    (normalization statistics, replay buffer, training state) loaded once.

    Returns:
        The checkpoint, its training state, and notes about newer checkpoints that were
        skipped because a file was missing or damaged (each naming the file).

    Raises:
        UserError: when no checkpoint is usable.
    """
    notes: list[str] = []
    records = read_index(run)
    for record in reversed(records):
        problem = check_checkpoint(run, record)
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


def check_checkpoint(run: RunFolder, record: CheckpointRecord) -> str | None:
    """Why the checkpoint ``record`` cannot be resumed from (naming the file), or None."""
    for role, name in record.files.items():
        path = run.path / name
        if not path.is_file() or path.stat().st_size == 0:
            return f"its {role} file {name} is missing or empty"
        expected = (record.crc32 or {}).get(role)
        if expected is not None and file_crc32(path) != expected:
            return f"its {role} file {name} is damaged (its CRC-32 differs from the recorded one)"
    name = record.files.get("model", "")
    try:
        with zipfile.ZipFile(run.path / name) as archive:
            if archive.testzip() is not None or "data" not in archive.namelist():
                return f"its model file {name} is damaged"
    except (zipfile.BadZipFile, OSError, EOFError):
        return f"its model file {name} is not a valid zip"
    for role, kind in (("vecnormalize", "VecNormalize"), ("replay_buffer", "ReplayBuffer")):
        pickled = record.path(run, role)
        if pickled is not None:
            problem = _check_pickle(pickled, kind)
            if problem is not None:
                return f"its {role} file {pickled.name} {problem}"
    return None


def _check_pickle(path: Path, kind: str) -> str | None:
    """Load the pickle at ``path`` once (a cut or garbled one fails, in any way it likes)."""
    import pickle

    from stable_baselines3.common.buffers import ReplayBuffer
    from stable_baselines3.common.vec_env import VecNormalize

    try:
        with path.open("rb") as handle:
            obj = pickle.load(handle)  # noqa: S301 - the run's own checkpoint, see the docstring
    except Exception as exc:  # noqa: BLE001 - a damaged pickle raises anything at all
        return f"does not load ({type(exc).__name__})"
    expected = VecNormalize if kind == "VecNormalize" else ReplayBuffer
    if not isinstance(obj, expected):
        return f"holds a {type(obj).__name__}, not a {kind}"
    return None


def load_state(path: Path) -> dict[str, Any]:
    """Read a training state written by :func:`save_checkpoint`."""

    import cloudpickle

    try:
        state = cloudpickle.loads(path.read_bytes())
    except Exception as exc:  # noqa: BLE001 - a damaged pickle raises anything at all
        raise UserError(
            f"its state file {path.name} does not load ({type(exc).__name__})"
        ) from None
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
    keys for SBX, see :mod:`rlzoo_real.algos.gsde`).
    """
    import numpy as np
    import torch

    from rlzoo_real.algos.gsde import capture_noise

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
            "monitor_headers": {p.name: _head(p, 2) for p in run.monitor_files()},
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
    from rlzoo_real.algos.gsde import restore_noise

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


def discard_after(run: RunFolder, steps: int) -> list[str]:
    """Before resuming from ``steps``: drop what later, dead writers left behind.

    That is temporary files of interrupted writes, files of checkpoints past ``steps``
    (unlisted, or listed but unusable), their index entries, and orphans: checkpoint
    files at or before ``steps`` that no index entry names (a kill between writing a
    file and the index, or between the index and the removal of a replaced file).

    Returns:
        notes naming the orphans removed.
    """
    import re

    for path in [*run.path.glob(f"{TMP_PREFIX}*"), *run.params_dir.glob(f"{TMP_PREFIX}*")]:
        path.unlink(missing_ok=True)
    records = [r for r in read_index(run) if r.steps <= steps]
    listed = {name for r in records for name in r.files.values()}
    orphans = []
    for path in sorted(run.path.glob("rl_model_*_steps.*")):
        match = re.fullmatch(
            r"rl_model_(?:(?:vecnormalize|replay_buffer|state)_)?(\d+)_steps\.(?:zip|pkl)",
            path.name,
        )
        if match is None or path.name in listed:
            continue
        if int(match.group(1)) <= steps:
            orphans.append(path.name)
        path.unlink()
    if len(records) != len(read_index(run)):
        write_yaml_atomic(run.checkpoint_index, {"checkpoints": [r.__dict__ for r in records]})
    if not orphans:
        return []
    return [
        f"removed {len(orphans)} checkpoint file(s) that {run.checkpoint_index.name} does not "
        f"list (left by a process killed between two writes): {', '.join(orphans)}"
    ]


def _head(path: Path, lines: int) -> bytes:
    with path.open("rb") as handle:
        return b"".join(handle.readline() for _ in range(lines))


def _count_rows(path: Path) -> int:
    if not path.is_file():
        return 0
    with path.open("rb") as handle:
        return max(sum(1 for _ in handle) - 1, 0)


def trim_logs(run: RunFolder, logs: dict[str, Any]) -> list[str]:
    """Cut monitor files and ``progress.csv`` back to what they held at the checkpoint.

    A damaged log (bytes that are not UTF-8, a row with the wrong number of fields or a
    value that is not a number, a file cut short) is repaired rather than trusted: it is
    cut back to its last good row before the damage, with a note. A monitor file whose
    header lines are damaged, or that is missing, gets its header back from the copy the
    checkpoint kept; ``progress.csv`` with a damaged header is moved aside to
    ``progress.csv.damaged`` and a new one is started.

    Returns:
        notes naming each repaired file and what was dropped.

    Raises:
        UserError: a damaged or missing monitor header and a checkpoint of an older
            version that kept no copy of it.
    """
    notes = []
    headers: dict[str, bytes] = logs.get("monitor_headers") or {}
    for name, size in logs["monitor_bytes"].items():
        note = _repair_monitor(run.path / name, size, headers.get(name))
        if note:
            notes.append(note)
    note = _repair_progress(run.progress_file, logs["progress_rows"])
    if note:
        notes.append(note)
    return notes


def _good_rows(lines: list[bytes], n_fields: int, numeric: int) -> int:
    """How many of ``lines`` are complete CSV rows of ``n_fields`` fields (the first
    ``numeric`` of them numbers) before the first one that is not."""
    import csv

    for i, line in enumerate(lines):
        try:
            if not line.endswith(b"\n") or b"\0" in line:
                return i
            (fields,) = list(csv.reader([line.decode("utf-8").rstrip("\r\n")]))
            if len(fields) != n_fields:
                return i
            for value in fields[:numeric]:
                float(value)
        except (UnicodeDecodeError, ValueError, csv.Error):
            return i
    return len(lines)


def _repair_monitor(path: Path, size: int, header: bytes | None) -> str | None:
    import json

    if not path.is_file():
        if header is None:
            raise UserError(
                f"{path} is missing, and this checkpoint (of an older realzoo) kept no copy of "
                "its header; restore the file, or start the run anew."
            )
        path.write_bytes(header)
        return (
            f"{path.name} was missing: started again with its header (its earlier episode "
            "rows are lost)"
        )
    data = path.read_bytes()
    cut = data[:size]
    lines = cut.splitlines(keepends=True)
    head, rows = b"".join(lines[:2]), lines[2:]
    note = None
    try:
        ok = head.startswith(b"#") and isinstance(json.loads(lines[0][1:]), dict)
        columns = lines[1].decode("utf-8").strip().split(",")
        ok = ok and columns[:3] == ["r", "l", "t"]
    except (IndexError, ValueError, UnicodeDecodeError):
        ok = False
    if header is not None and head != header:
        ok = False
    if not ok:
        if header is None:
            raise UserError(
                f"{path}: its header lines are damaged, and this checkpoint (of an older realzoo) "
                "kept no copy of them; restore the file, or start the run anew."
            )
        head = header
        columns = header.splitlines()[1].decode("utf-8").strip().split(",")
        note = f"{path.name}: its header lines were damaged; restored from the checkpoint's copy"
    good = _good_rows(rows, len(columns), 3)
    if good < len(rows) or len(data) < size:
        lost = len(rows) - good
        note = (note + "; " if note else f"{path.name}: ") + (
            f"line {good + 3} is damaged, so the file was cut back to the {good} good episode "
            f"rows before it ({lost} row(s) dropped)"
            if good < len(rows)
            else f"it is shorter than at the checkpoint; kept its {good} complete episode rows"
        )
    repaired = head + b"".join(rows[:good])
    if repaired != data:
        with path.open("r+b") as handle:  # the same file: the env's Monitor appends to it
            handle.seek(0)
            handle.write(repaired)
            handle.truncate(len(repaired))
    return note


def _repair_progress(path: Path, rows_at_checkpoint: int) -> str | None:
    if not path.is_file():
        if rows_at_checkpoint:
            return f"{path.name} is missing: a new one starts with the resumed run"
        return None
    lines = path.read_bytes().splitlines(keepends=True)
    if not lines:
        return None  # nothing logged yet: the logger writes the header with its first row
    header = lines[0]
    try:
        columns = header.decode("utf-8").strip().split(",")
        ok = header.endswith(b"\n") and b"\0" not in header and all(columns)
    except UnicodeDecodeError:
        ok = False
    if not ok:
        aside = path.with_name(path.name + ".damaged")
        os.replace(path, aside)
        return (
            f"{path.name}: its header line is damaged; moved aside to {aside.name}, and a new "
            "progress.csv starts with the resumed run"
        )
    rows = lines[1 : 1 + rows_at_checkpoint]
    good = _good_rows(rows, len(columns), 0)
    path.write_bytes(header + b"".join(rows[:good]))
    if good < len(rows):
        return (
            f"{path.name}: line {good + 2} is damaged, so the file was cut back to the {good} "
            f"good rows before it ({len(rows) - good} row(s) dropped)"
        )
    return None
