"""The log tree: where every file of a run lives, and how run ids are taken.

``train``, ``enjoy``, ``plot`` and ``tune`` all go through this module, so they
agree on the layout (compatible with the RL Zoo)::

    logs/<algo>/<env>_<N>/
        0.monitor.csv ...  evaluations.npz  best_model.zip  <env>.zip
        rl_model_<steps>_steps.zip ...
        <env>/args.yml  <env>/config.yml  <env>/command.txt
        <env>/vecnormalize.pkl  <env>/manifest.yml
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rlzoo_real.runs.atomic import write_text_atomic, write_yaml_atomic
from rlzoo_real.runs.yaml_io import read_plain_yaml, read_yaml

if TYPE_CHECKING:
    from rlzoo_real.runs.locks import RunLock

__all__ = [
    "RunFolder",
    "create_locked_run_folder",
    "create_run_folder",
    "env_folder_name",
    "find_run_folders",
    "latest_run_id",
    "read_run_args",
    "read_plain_yaml",
    "read_run_manifest",
    "read_yaml",
    "run_number",
    "write_text_atomic",
    "write_yaml_atomic",
]


def env_folder_name(env_id: str) -> str:
    """The env id as used in folder and file names (``ALE/Pong-v5`` -> ``ALE-Pong-v5``)."""
    return env_id.replace("/", "-").replace(":", "-")


@dataclass(frozen=True)
class RunFolder:
    """The paths of one run folder ``<log_folder>/<algo>/<env>_<N>[_<uuid>]``."""

    path: Path
    env_id: str

    @property
    def name(self) -> str:
        return env_folder_name(self.env_id)

    @property
    def params_dir(self) -> Path:
        """``<run>/<env>/``: args, config, command, manifest and normalization stats."""
        return self.path / self.name

    @property
    def args_file(self) -> Path:
        return self.params_dir / "args.yml"

    @property
    def config_file(self) -> Path:
        return self.params_dir / "config.yml"

    @property
    def command_file(self) -> Path:
        return self.params_dir / "command.txt"

    @property
    def manifest_file(self) -> Path:
        return self.params_dir / "manifest.yml"

    @property
    def vecnormalize_file(self) -> Path:
        return self.params_dir / "vecnormalize.pkl"

    @property
    def best_vecnormalize_file(self) -> Path:
        return self.params_dir / "vecnormalize_best.pkl"

    @property
    def final_model(self) -> Path:
        return self.path / f"{self.name}.zip"

    @property
    def best_model(self) -> Path:
        return self.path / "best_model.zip"

    @property
    def evaluations(self) -> Path:
        return self.path / "evaluations.npz"

    def checkpoints(self) -> dict[int, Path]:
        """Checkpoint models by step, ``rl_model_<steps>_steps.zip``."""
        found = {}
        for path in self.path.glob("rl_model_*_steps.zip"):
            match = re.fullmatch(r"rl_model_(\d+)_steps\.zip", path.name)
            if match:
                found[int(match.group(1))] = path
        return dict(sorted(found.items()))

    @property
    def checkpoint_index(self) -> Path:
        """``checkpoints.yml``: which checkpoints are complete (written last, atomically)."""
        return self.path / "checkpoints.yml"

    def checkpoint_files(self, steps: int) -> dict[str, Path]:
        """The files of the checkpoint at ``steps``, by role (model, vecnormalize, ...)."""
        return {
            "model": self.path / f"rl_model_{steps}_steps.zip",
            "vecnormalize": self.path / f"rl_model_vecnormalize_{steps}_steps.pkl",
            "replay_buffer": self.path / f"rl_model_replay_buffer_{steps}_steps.pkl",
            "state": self.path / f"rl_model_state_{steps}_steps.pkl",
        }

    def monitor_files(self) -> list[Path]:
        """The training envs' monitor files, ``<i>.monitor.csv``, in env order."""
        files = [p for p in self.path.glob("*.monitor.csv") if p.name.split(".")[0].isdigit()]
        return sorted(files, key=lambda p: int(p.name.split(".")[0]))

    @property
    def lock_file(self) -> Path:
        """``run.lock``: held by the process writing in the folder (:mod:`~.runs.locks`)."""
        from rlzoo_real.runs.locks import lock_file_of

        return lock_file_of(self.path)

    @property
    def progress_file(self) -> Path:
        """``progress.csv``: every value the training logger recorded."""
        return self.path / "progress.csv"


def latest_run_id(log_path: Path, env_id: str) -> int:
    """The highest ``N`` among ``<log_path>/<env>_<N>[_<uuid>]`` folders, 0 when there are none."""
    prefix = env_folder_name(env_id)
    pattern = re.compile(rf"{re.escape(prefix)}_(\d+)(_[0-9a-f\-]{{36}})?")
    best = 0
    if log_path.is_dir():
        for child in log_path.iterdir():
            match = pattern.fullmatch(child.name)
            if match and child.is_dir():
                best = max(best, int(match.group(1)))
    return best


def create_run_folder(log_folder: Path, algo: str, env_id: str, *, suffix: str = "") -> RunFolder:
    """Create a new run folder and return it (unlocked: for folders no process trains in).

    The id ``N`` is taken atomically: ``os.mkdir`` fails when the folder exists, so
    processes started at the same moment each end up with their own ``N``.
    """
    return _create(log_folder, algo, env_id, suffix, lock=False)[0]


def create_locked_run_folder(
    log_folder: Path, algo: str, env_id: str, *, suffix: str = ""
) -> tuple[RunFolder, RunLock]:
    """Create a new run folder as :func:`create_run_folder` does, and lock it for this process
    (:func:`rlzoo_real.runs.locks.acquire_run_lock`) before anything else is written in it."""
    run, lock = _create(log_folder, algo, env_id, suffix, lock=True)
    assert lock is not None
    return run, lock


def _create(
    log_folder: Path, algo: str, env_id: str, suffix: str, *, lock: bool
) -> tuple[RunFolder, RunLock | None]:
    log_path = log_folder / algo
    log_path.mkdir(parents=True, exist_ok=True)
    run_id = latest_run_id(log_path, env_id) + 1
    while True:
        path = log_path / f"{env_folder_name(env_id)}_{run_id}{suffix}"
        try:
            path.mkdir(parents=True)  # parents: a failed run beside it may remove an empty log_path
        except FileExistsError:
            run_id += 1
            continue
        held = None
        if lock:
            from rlzoo_real.runs.locks import acquire_run_lock

            try:
                held = acquire_run_lock(path)  # nobody else can know this folder yet
            except BaseException:
                import shutil

                shutil.rmtree(path, ignore_errors=True)
                raise
        run = RunFolder(path, env_id)
        run.params_dir.mkdir()
        return run, held


_RUN_DIR_PATTERN = re.compile(r"(?P<env>.+)_(?P<n>\d+)(?P<uuid>_[0-9a-f\-]{36})?")


def run_number(run: RunFolder) -> int:
    """The ``N`` of ``<env>_<N>[_<uuid>]`` (0 when the folder is not named that way)."""
    match = _RUN_DIR_PATTERN.fullmatch(run.path.name)
    return int(match.group("n")) if match else 0


def read_run_args(run: RunFolder) -> dict[str, Any] | None:
    """``args.yml`` as a dict, or None when it is missing or not plain YAML (the RL Zoo's
    ``args.yml`` carries Python tags that a safe loader refuses)."""
    return read_plain_yaml(run.args_file)


def read_run_manifest(run: RunFolder) -> dict[str, Any] | None:
    """``manifest.yml`` as a dict, or None when the run has none (e.g. an RL Zoo run)."""
    return read_plain_yaml(run.manifest_file)


def find_run_folders(
    log_folder: Path,
    *,
    algos: Collection[str] | None = None,
    envs: Collection[str] | None = None,
) -> list[tuple[str, RunFolder]]:
    """The run folders ``<log_folder>/<algo>/<env>_<N>[_<uuid>]/``, as ``(algo, run)`` pairs.

    A folder counts as a run when it has its ``<env>/`` parameter folder, an
    ``evaluations.npz`` or a monitor file. The env id is read from ``args.yml`` when it
    is there (``ALE/Pong-v5`` lives in ``ALE-Pong-v5_1``), else taken from the name.

    Args:
        log_folder: the root of the log tree.
        algos: keep only these algorithms (all when None).
        envs: keep only these env ids (all when None).

    Returns:
        The runs sorted by algorithm, env id and ``N``.
    """
    wanted_envs = {env_folder_name(e) for e in envs} if envs is not None else None
    found: list[tuple[str, RunFolder, int]] = []
    if not log_folder.is_dir():
        return []
    for algo_dir in sorted(log_folder.iterdir()):
        if not algo_dir.is_dir() or (algos is not None and algo_dir.name not in algos):
            continue
        for path in algo_dir.iterdir():
            match = _RUN_DIR_PATTERN.fullmatch(path.name)
            if match is None or not path.is_dir():
                continue
            name = match.group("env")
            if wanted_envs is not None and name not in wanted_envs:
                continue
            if not (
                (path / name).is_dir()
                or (path / "evaluations.npz").is_file()
                or any(path.glob("*.monitor.csv"))
            ):
                continue
            run = RunFolder(path, name)
            args = read_run_args(run)
            env_id = args.get("env") if args else None
            if isinstance(env_id, str) and env_folder_name(env_id) == name:
                run = RunFolder(path, env_id)
            found.append((algo_dir.name, run, int(match.group("n"))))
    found.sort(key=lambda item: (item[0], item[1].env_id, item[2], item[1].path.name))
    return [(algo, run) for algo, run, _ in found]


# -- finding runs again (enjoy, export) ---------------------------------------------------------


def run_folders(log_folder: Path, algo: str, env_id: str) -> dict[int, Path]:
    """The run folders of ``algo`` on ``env_id`` under ``log_folder``, by run id ``N``."""
    runs = find_run_folders(log_folder, algos=[algo], envs=[env_id])
    return {run_number(run): run.path for _, run in runs}


def runs_by_env(log_folder: Path, algo: str) -> dict[str, list[int]]:
    """The env ids with runs under ``<log_folder>/<algo>`` and their run ids, for listings."""
    found: dict[str, list[int]] = {}
    for _, run in find_run_folders(log_folder, algos=[algo]):
        found.setdefault(run.env_id, []).append(run_number(run))
    return found


def params_dirs(run_path: Path) -> list[Path]:
    """Sub-folders of a run folder that hold an ``args.yml`` or ``config.yml`` (one, normally)."""
    if not run_path.is_dir():
        return []
    return sorted(
        child
        for child in run_path.iterdir()
        if child.is_dir() and ((child / "args.yml").is_file() or (child / "config.yml").is_file())
    )


def checkpoint_vecnormalize_file(run: RunFolder, steps: int) -> Path:
    """Normalization statistics saved with checkpoint ``steps``."""
    return run.path / f"rl_model_vecnormalize_{steps}_steps.pkl"


__all__ += ["checkpoint_vecnormalize_file", "params_dirs", "run_folders", "runs_by_env"]


def run_status(run: RunFolder, manifest: dict[str, Any] | None) -> tuple[str, int | None]:
    """How a run stands and at which step: finished, running, stopped, failed or unknown.

    A run is ``running`` while a process holds its lock (:mod:`rlzoo_real.runs.locks`), whatever
    its manifest says (a resume that has not rewritten it yet). A manifest that still says
    ``running`` while nobody holds the lock means the run was killed: it is reported
    ``stopped`` at its latest checkpoint, from which ``realzoo train --resume`` continues
    it. A folder without a lock file (made before locks) falls back on the manifest's pid.
    """
    import socket

    from rlzoo_real.runs.locks import lock_state

    lock = lock_state(run.path)
    if lock == "held":
        steps = latest_checkpoint_steps(run)
        if steps is None and manifest:
            steps = manifest.get("num_timesteps")
        return "running", int(steps) if isinstance(steps, (int, float)) else None
    if not manifest:
        return "unknown", None
    status = str(manifest.get("status", "unknown"))
    steps = manifest.get("num_timesteps")
    if status == "running":
        last = latest_checkpoint_steps(run)
        steps = last if last is not None else steps
        if lock == "free":
            status = "stopped"
        else:
            pid = manifest.get("pid")
            here = manifest.get("host") == socket.gethostname()
            from rlzoo_real.runs.processes import process_is_alive

            if here and isinstance(pid, int) and not process_is_alive(pid):
                status = "stopped"
    return status, int(steps) if isinstance(steps, (int, float)) else None


def latest_checkpoint_steps(run: RunFolder) -> int | None:
    """The step count of the latest checkpoint listed in the run's ``checkpoints.yml``.

    Read as plain YAML, without checking the checkpoint's files (for tables and progress:
    :func:`rlzoo_real.train.checkpoint.find_resumable` is what resume trusts).

    Returns:
        None when the run has no index or the index lists no checkpoint.
    """
    index = read_plain_yaml(run.checkpoint_index)
    entries = index.get("checkpoints") if index else None
    if not entries:
        return None
    return max(int(entry["steps"]) for entry in entries)


__all__ += ["latest_checkpoint_steps", "run_status"]
