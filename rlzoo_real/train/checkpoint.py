"""Checkpoints a run resumes from exactly: atomic files, an index, the whole training state.

A checkpoint at ``S`` steps is four files in the run folder (names in
:meth:`~rlzoo_real.runs.folder.RunFolder.checkpoint_files`): the model (weights, optimizers,
step and update counters, schedule progress, last observations), the normalization
statistics, the replay buffer (off-policy; kept only with the latest checkpoint) and
the training state (:func:`rlzoo_real.train.state.capture_state`: random states, the
envs themselves, the evaluation history, how far the log files had got). Each file is written to a
temporary name, flushed to disk and renamed; ``checkpoints.yml`` is rewritten last and
lists only complete checkpoints, so a process killed while writing never leaves a
checkpoint that resume would pick.

Checkpoint files are pickles, like Stable-Baselines3's own: load only your own runs.
"""

from __future__ import annotations

import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rlzoo_real.errors import UserError
from rlzoo_real.runs.atomic import TMP_PREFIX, fsync_path, write_atomic
from rlzoo_real.runs.folder import RunFolder, read_yaml, write_yaml_atomic

# the training state and the log files have modules of their own; their functions are
# importable from here too, as before the split
from rlzoo_real.train.run_logs import trim_logs
from rlzoo_real.train.state import (
    STATE_VERSION,
    capture_state,
    restore_eval_callback,
    restore_rng,
    restore_vec_env,
)

__all__ = [
    "CheckpointRecord",
    "capture_state",
    "check_checkpoint",
    "discard_after",
    "file_crc32",
    "find_resumable",
    "load_state",
    "read_index",
    "restore_eval_callback",
    "restore_rng",
    "restore_vec_env",
    "save_checkpoint",
    "trim_logs",
]


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
