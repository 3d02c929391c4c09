"""Runs found, labelled and their evaluations aligned (the files: :mod:`.logs`).

Runs are found through :mod:`rlzoo_real.runs.folder` (the one module that knows the log
tree), grouped into *labels* (the algorithm, plus the hyperparameters and env kwargs
that differ between its runs, so that a sweep over ``-params`` never merges two
settings into one curve), and their evaluations are aligned onto one schedule per
group. Everything a user could get wrong ends in a :class:`~rlzoo_real.errors.UserError`
that says what was searched; what is skipped along the way is reported as a note.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rlzoo_real.errors import UserError
from rlzoo_real.plotting.logs import EvalLog, read_evaluations
from rlzoo_real.runs.folder import (
    RunFolder,
    find_run_folders,
    read_run_args,
    read_run_manifest,
    run_number,
)

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "Aligned",
    "EvalGroup",
    "RunInfo",
    "align_curves",
    "collect_evaluations",
    "select_runs",
    "status_note",
]

GROUP_BY = ("config", "algo")


@dataclass(frozen=True)
class RunInfo:
    """One run folder and what identifies it: algorithm, env, seed and group label."""

    algo: str
    env_id: str
    run: RunFolder
    seed: int | None
    label: str
    status: str | None
    manifest: dict[str, Any] | None = field(default=None, compare=False, repr=False)

    @property
    def number(self) -> int:
        """The ``N`` of ``<env>_<N>``."""
        return run_number(self.run)

    @property
    def name(self) -> str:
        """``<algo>/<env>_<N>``, how a run is named in messages."""
        return f"{self.algo}/{self.run.path.name}"


@dataclass(frozen=True)
class Aligned:
    """Curves of several runs on one x grid: ``values[i, j]`` is run ``i`` at ``grid[j]``."""

    grid: np.ndarray
    values: np.ndarray
    note: str | None


@dataclass(frozen=True)
class EvalGroup:
    """The aligned evaluations of the runs of one label on one env."""

    label: str
    env_id: str
    runs: tuple[RunInfo, ...]
    timesteps: np.ndarray
    returns: np.ndarray
    logs: tuple[EvalLog, ...]
    note: str | None

    @property
    def final(self) -> np.ndarray:
        """Each run's mean return at the last common evaluation, shape ``(n_runs,)``."""
        return self.returns[:, -1]

    @property
    def best(self) -> np.ndarray:
        """Each run's best mean evaluation return, shape ``(n_runs,)``."""
        return self.returns.max(axis=1)


def select_runs(
    log_folders: Sequence[Path],
    *,
    algos: Sequence[str] = (),
    envs: Sequence[str] = (),
    group_by: str = "config",
    labels: Sequence[str] = (),
) -> list[RunInfo]:
    """Find the run folders that match, and label them.

    Args:
        log_folders: roots of log trees (``logs/``); with several, the folder name joins
            the label.
        algos: keep these algorithms (all when empty).
        envs: keep these env ids (all when empty); a name without its version suffix
            (``CartPole``) keeps every version of it (``CartPole-v0``, ``CartPole-v1``), as
            the RL Zoo's plot scripts do.
        labels: one name per log folder, put before the algorithm in the labels (the RL
            Zoo's ``-l``); default: the folder names when there are several.
        group_by: ``config``: runs of one algorithm with other ``-params``, ``--env-kwargs``
            or ``--conf-file`` get their own label; ``algo``: one label per algorithm.

    Raises:
        UserError: when a folder does not exist or no run matches; the message says what
            was searched and what the folders hold.
    """
    if group_by not in GROUP_BY:
        raise UserError(f"--group-by must be one of {', '.join(GROUP_BY)}, got {group_by!r}.")
    for folder in log_folders:
        if not folder.is_dir():
            raise UserError(f"Log folder {str(folder)!r} does not exist or is not a folder.")
    if labels and len(labels) != len(log_folders):
        raise UserError(
            f"-l/--labels: {len(labels)} label(s) for {len(log_folders)} log folder(s); give "
            "one label per -f folder, in the same order."
        )
    found: list[tuple[Path, str, RunFolder]] = []
    for folder in log_folders:
        runs = find_run_folders(folder, algos=[a.lower() for a in algos] or None)
        found.extend((folder, algo, run) for algo, run in runs if env_matches(run.env_id, envs))
    if not found:
        raise UserError(_nothing_found(log_folders, algos, envs))
    prefixes = (
        {f: f"{label}-" for f, label in zip(log_folders, labels, strict=True)}
        if labels
        else _folder_prefixes(log_folders)
    )
    infos: list[RunInfo] = []
    configs: dict[tuple[Path, str], list[dict[str, str]]] = {}
    raw: list[tuple[Path, str, RunFolder, dict[str, str], int | None, dict[str, Any] | None]] = []
    for folder, algo, run in found:
        args = read_run_args(run) or {}
        manifest = read_run_manifest(run)
        seed = args.get("seed", manifest.get("seed") if manifest else None)
        config = _config_items(args) if group_by == "config" else {}
        configs.setdefault((folder, algo), []).append(config)
        raw.append((folder, algo, run, config, seed if isinstance(seed, int) else None, manifest))
    for folder, algo, run, config, seed, manifest in raw:
        varying = _varying_keys(configs[(folder, algo)])
        parts = [f"{key}={config.get(key, '-')}" for key in varying]
        label = " ".join([prefixes[folder] + algo, *parts])
        status = manifest.get("status") if manifest else None
        infos.append(RunInfo(algo, run.env_id, run, seed, label, status, manifest))
    return infos


def env_matches(env_id: str, wanted: Sequence[str]) -> bool:
    """Whether a run on ``env_id`` is asked for by ``wanted`` (every env when empty).

    A wanted name matches its env id exactly (``/`` and ``:`` may be written as in the run
    folder's name), or, when it has no version suffix, any version of that env:
    ``CartPole`` matches ``CartPole-v1``. Unlike the RL Zoo's substring test, ``Pendulum``
    does not match ``InvertedPendulum-v4``.
    """
    if not wanted:
        return True
    from rlzoo_real.runs.folder import env_folder_name

    names = {env_id, env_folder_name(env_id)}
    unversioned = {_VERSION.sub("", name) for name in names}
    for name in wanted:
        if name in names or env_folder_name(name) in names:
            return True
        if not _VERSION.search(name) and (
            name in unversioned or env_folder_name(name) in unversioned
        ):
            return True
    return False


_VERSION = re.compile(r"-v\d+$")


def _nothing_found(log_folders: Sequence[Path], algos: Sequence[str], envs: Sequence[str]) -> str:
    searched = ", ".join(str(f) for f in log_folders)
    what = []
    if algos:
        what.append(f"--algos {' '.join(algos)}")
    if envs:
        what.append(f"--envs {' '.join(envs)}")
    asked = f" for {' '.join(what)}" if what else ""
    held = []
    for folder in log_folders:
        for algo, run in find_run_folders(folder):
            held.append(f"{algo}/{run.env_id}")
    if held:
        counts: dict[str, int] = {}
        for name in held:
            counts[name] = counts.get(name, 0) + 1
        listing = ", ".join(f"{name} ({n})" for name, n in sorted(counts.items()))
        tail = f" The folders hold runs of: {listing}."
    else:
        tail = " The folders hold no run folders at all."
    return (
        f"No runs found{asked} under {searched} (run folders are <log-folder>/<algo>/<env>_<N>/)."
        + tail
    )


def _folder_prefixes(log_folders: Sequence[Path]) -> dict[Path, str]:
    if len(log_folders) < 2:
        return dict.fromkeys(log_folders, "")
    names = [f.name or str(f) for f in log_folders]
    if len(set(names)) < len(names):
        names = [str(f) for f in log_folders]
    return {f: f"{name}/" for f, name in zip(log_folders, names, strict=True)}


def _config_items(args: dict[str, Any]) -> dict[str, str]:
    """What sets one configuration of an algorithm apart: overrides, env kwargs, conf file."""
    items: dict[str, str] = {}
    for prefix, key in (("", "hyperparams"), ("env.", "env_kwargs")):
        for word in args.get(key) or []:
            name, _, value = str(word).partition(":")
            items[prefix + name] = value
    if args.get("conf_file"):
        items["conf"] = Path(str(args["conf_file"])).name
    return items


def _varying_keys(configs: list[dict[str, str]]) -> list[str]:
    keys = sorted({key for config in configs for key in config})
    return [key for key in keys if len({config.get(key) for config in configs}) > 1]


def status_note(runs: Sequence[RunInfo]) -> str | None:
    """A note naming the runs whose manifest does not say ``finished`` (None when all do)."""
    unfinished = [
        f"{info.name} ({info.status})" for info in runs if info.status not in (None, "finished")
    ]
    if not unfinished:
        return None
    return (
        f"included {len(unfinished)} run(s) that did not finish: {', '.join(unfinished)} "
        "(--min-timesteps leaves short runs out)"
    )


def _describe_schedule(timesteps: np.ndarray) -> str:
    import numpy as np

    if len(timesteps) < 2:
        return f"one evaluation at {timesteps[0]:g} steps" if len(timesteps) else "none"
    step = float(np.median(np.diff(timesteps)))
    return f"every {step:g} steps"


def align_curves(
    curves: Sequence[tuple[np.ndarray, np.ndarray]], *, names: Sequence[str]
) -> Aligned | None:
    """Put curves ``(x, y)`` of several runs on one x grid, and say how.

    - Same x everywhere: kept as is.
    - Same schedule, different lengths: cut where the shortest run ends.
    - Different schedules: each curve is interpolated linearly onto the coarsest
      schedule, within the range that every run covers.

    Returns:
        The aligned curves, or None when the runs share no x range at all.
    """
    import numpy as np

    xs = [np.asarray(x, dtype=float) for x, _ in curves]
    ys = [np.asarray(y, dtype=float) for _, y in curves]
    first = xs[0]
    if all(len(x) == len(first) and np.array_equal(x, first) for x in xs):
        return Aligned(first, np.vstack(ys), None)
    longest = max(xs, key=len)
    if all(np.array_equal(x, longest[: len(x)]) for x in xs):
        n = min(len(x) for x in xs)
        short = names[int(np.argmin([len(x) for x in xs]))]
        note = (
            f"runs have {n} to {len(longest)} evaluations; curves cut at {longest[n - 1]:g} "
            f"steps, where the shortest run ({short}) ends (--min-timesteps leaves short "
            "runs out)"
        )
        return Aligned(longest[:n], np.vstack([y[:n] for y in ys]), note)
    lo, hi = max(float(x[0]) for x in xs), min(float(x[-1]) for x in xs)
    if lo > hi:
        return None
    inside = [x[(x >= lo) & (x <= hi)] for x in xs]
    grid = min(inside, key=len)
    if len(grid) == 0:
        grid = np.array([hi])
    values = np.vstack([np.interp(grid, x, y) for x, y in zip(xs, ys, strict=True)])
    schedules: dict[str, int] = {}
    for x in xs:
        key = _describe_schedule(x)
        schedules[key] = schedules.get(key, 0) + 1
    listing = "; ".join(f"{key}: {n} run(s)" for key, n in schedules.items())
    note = (
        f"runs have different evaluation schedules ({listing}); their mean returns were "
        f"interpolated linearly onto the coarsest one, {len(grid)} points from {grid[0]:g} "
        f"to {grid[-1]:g} steps (the range all runs cover)"
    )
    return Aligned(grid, values, note)


def collect_evaluations(
    runs: Sequence[RunInfo],
    *,
    min_timesteps: int = 0,
    max_timesteps: int | None = None,
) -> tuple[list[EvalGroup], list[str]]:
    """Read every run's evaluations and align them per label and env.

    Args:
        runs: from :func:`select_runs`.
        min_timesteps: leave out runs whose last evaluation is before this step.
        max_timesteps: ignore evaluations after this step.

    Returns:
        The groups (sorted by env, then label) and notes on what was left out or aligned.

    Raises:
        UserError: when no run has usable evaluations.
    """
    notes: list[str] = [note] if (note := status_note(runs)) else []
    by_group: dict[tuple[str, str], list[tuple[RunInfo, EvalLog]]] = {}
    skipped: list[str] = []
    for info in runs:
        log, why = read_evaluations(info.run)
        if log is not None and max_timesteps is not None:
            keep = log.timesteps <= max_timesteps
            log = EvalLog(log.timesteps[keep], log.mean_returns[keep], log.n_episodes)
            if not len(log.timesteps):
                log, why = None, f"no evaluation before --max-timesteps {max_timesteps}"
        if log is not None and log.timesteps[-1] < min_timesteps:
            why = f"last evaluation at {log.timesteps[-1]:g} < --min-timesteps {min_timesteps}"
            log = None
        if log is None:
            skipped.append(f"{info.name} ({why})")
            continue
        by_group.setdefault((info.env_id, info.label), []).append((info, log))
    if skipped:
        notes.append(f"left out {len(skipped)} run(s): " + "; ".join(skipped))
    if not by_group:
        raise UserError(
            f"None of the {len(runs)} run(s) found has evaluations to draw: "
            + "; ".join(skipped)
            + ". Evaluations come from training with --eval-freq N (evaluations.npz)."
        )
    groups: list[EvalGroup] = []
    for (env_id, label), members in sorted(by_group.items()):
        members.sort(key=lambda m: (m[0].seed if m[0].seed is not None else -1, m[0].number))
        names = [m[0].name for m in members]
        aligned = align_curves([(m[1].timesteps, m[1].mean_returns) for m in members], names=names)
        if aligned is None:
            notes.append(f"{label} on {env_id}: left out, its runs share no range of steps")
            continue
        if aligned.note:
            notes.append(f"{label} on {env_id}: {aligned.note}")
        groups.append(
            EvalGroup(
                label=label,
                env_id=env_id,
                runs=tuple(m[0] for m in members),
                timesteps=aligned.grid,
                returns=aligned.values,
                logs=tuple(m[1] for m in members),
                note=aligned.note,
            )
        )
    if not groups:
        raise UserError("No group of runs shares a range of steps: " + "; ".join(notes))
    return groups, notes
