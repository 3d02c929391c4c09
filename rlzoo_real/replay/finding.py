"""Finding a run folder again: by path, or by algorithm, env and run id under a log folder,
and reading its ``args.yml`` and ``config.yml`` (realzoo's plain YAML, or the RL Zoo's with
Python-object tags, read without constructing any object).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rlzoo_real.errors import UserError, suggest
from rlzoo_real.runs.folder import (
    RunFolder,
    env_folder_name,
    params_dirs,
    run_folders,
    runs_by_env,
)
from rlzoo_real.runs.safe_files import read_run_yaml

__all__ = [
    "RunRecord",
    "RunRequest",
    "algo_folders",
    "find_run",
    "read_run",
    "run_algo",
    "run_spec",
]


@dataclass(frozen=True)
class RunRequest:
    """Which run and model to load, as given on the command line of enjoy or export.

    Attributes:
        target: a run folder or a model ``.zip`` (None: use ``algo``/``env``/``exp_id``).
        algo, env: the algorithm and env id (checked against the run when both are known).
        log_folder: the root of the log tree.
        exp_id: the run id ``N`` of ``<env>_<N>``; 0 for the latest.
        load_best, load_checkpoint, load_last_checkpoint: which model of the run.
        env_kwargs: ``key:value`` words that override the run's env kwargs.
        gym_packages: modules to import that register envs (besides the run's own).
        device: torch device.
        unsafe_pickle_load: load with pickle (runs code from the files).
        allow_import: modules or dotted class paths the user allows the run's files to
            name beyond realzoo's allowlist (``--allow-import``), see :mod:`rlzoo_real.runs.trust`.
        backend: ``sb3`` or ``sbx``: which backend's runs ``algo`` names (``sac_sbx`` also does).
    """

    target: str | None = None
    algo: str | None = None
    env: str | None = None
    log_folder: str = "logs"
    exp_id: int = 0
    load_best: bool = False
    load_checkpoint: int | None = None
    load_last_checkpoint: bool = False
    env_kwargs: tuple[str, ...] = ()
    gym_packages: tuple[str, ...] = ()
    device: str = "auto"
    unsafe_pickle_load: bool = False
    backend: str = "sb3"
    allow_import: tuple[str, ...] = ()


@dataclass(frozen=True)
class RunRecord:
    """What a run folder says about itself (``args.yml``, ``config.yml``).

    Attributes:
        folder: the run's paths.
        algo: algorithm name.
        env_id: env id.
        origin: ``"realzoo"`` or ``"rl_zoo3"``.
        args: ``args.yml`` as plain data (empty when missing).
        config: ``config.yml`` as plain data, or None when missing.
        env_kwargs: the env kwargs of training, parsed.
        gym_packages: modules imported for training.
    """

    folder: RunFolder
    algo: str
    env_id: str
    origin: str
    args: Mapping[str, Any]
    config: Mapping[str, Any] | None
    env_kwargs: Mapping[str, Any]
    gym_packages: tuple[str, ...]


def find_run(request: RunRequest) -> tuple[Path, Path | None]:
    """Locate the run folder, and the model file when ``request.target`` names one.

    Raises:
        UserError: the path, log folder, algorithm folder or run id does not exist
            (the message lists what does).
    """
    if request.target:
        path = Path(request.target)
        if path.is_file():
            return path.parent, path
        if path.is_dir():
            return path, None
        parent = path.parent if path.parent.is_dir() else None
        listing = ""
        if parent is not None:
            names = sorted(p.name for p in parent.iterdir() if not p.name.startswith("."))
            listing = (
                f"{suggest(path.name, names)} {parent} holds: {', '.join(names) or '(nothing)'}."
            )
        raise UserError(
            f"{str(path)!r} does not exist; give a run folder "
            f"(e.g. logs/sac/Pendulum-v1_1) or a model file in one.{listing}"
        )
    if not request.algo or not request.env:
        raise UserError(
            "Say which run to load: a run folder or model file (realzoo enjoy logs/sac/"
            "Pendulum-v1_1), or --algo and --env (with -f LOG_FOLDER and --exp-id N)."
        )
    from rlzoo_real.algos.registry import get_algo

    algo = get_algo(request.algo, backend=request.backend).folder  # sac, or sac_sbx for JAX runs
    log_folder = Path(request.log_folder)
    if not log_folder.is_dir():
        raise UserError(f"The log folder {str(log_folder)!r} does not exist (set it with -f).")
    runs = run_folders(log_folder, algo, request.env)
    if not runs:
        raise UserError(
            f"No {algo} run on {request.env} in {str(log_folder)!r}. {_listing(log_folder, algo)}"
        )
    if request.exp_id <= 0:
        return runs[max(runs)], None
    if request.exp_id not in runs:
        ids = ", ".join(str(i) for i in runs)
        raise UserError(
            f"No run {request.exp_id} of {algo} on {request.env} in {str(log_folder / algo)!r}; "
            f"run ids there: {ids} (--exp-id 0 takes the latest)."
        )
    return runs[request.exp_id], None


def algo_folders(log_folders: list[Path], algos: list[str], backend: str | None) -> list[str]:
    """The algorithm folders of the log tree that ``--algos`` names under ``--backend``.

    As ``realzoo train`` files them: ``--algo sac --backend sbx`` trained into
    ``logs/sac_sbx/``, so ``runs``, ``plot`` (and ``enjoy``, ``export`` through
    :class:`RunRequest`) find it by the same words. Without ``backend`` the names are
    kept as given (``sac_sbx`` still names the JAX runs); with a backend and no
    algorithms, every algorithm folder of that backend in ``log_folders``.

    Raises:
        UserError: an unknown backend, an algorithm the backend does not have, or no run
            folder of the backend when no algorithm is named.
    """
    from rlzoo_real.algos.registry import BACKENDS, get_algo

    if backend is None:
        return list(algos)
    if backend not in BACKENDS:
        raise UserError(
            f"--backend {backend!r}: realzoo has the backends {', '.join(BACKENDS)} "
            "(sb3: PyTorch; sbx: JAX, whose runs are in <log-folder>/<algo>_sbx/)."
        )
    if algos:
        return [get_algo(a.lower(), backend=backend).folder for a in algos]
    names = sorted(
        {
            p.name
            for folder in log_folders
            if folder.is_dir()
            for p in folder.iterdir()
            if p.is_dir() and p.name.endswith("_sbx") == (backend == "sbx")
        }
    )
    if not names:
        where = ", ".join(str(f) for f in log_folders)
        raise UserError(f"No runs trained with --backend {backend} in {where}.")
    return names


def _listing(log_folder: Path, algo: str) -> str:
    envs = runs_by_env(log_folder, algo)
    if envs:
        shown = "; ".join(f"{env} (runs {', '.join(map(str, ids))})" for env, ids in envs.items())
        return f"Runs of {algo} there: {shown}."
    algos = sorted(
        p.name for p in log_folder.iterdir() if p.is_dir() and runs_by_env(log_folder, p.name)
    )
    if not algos:
        return "It holds no runs."
    return f"It has runs of: {', '.join(algos)}."


def read_run(run_path: Path, *, env_hint: str | None = None) -> RunRecord | None:
    """Read a run folder's ``args.yml``/``config.yml``; None when it has neither.

    Raises:
        UserError: unreadable files, or several param folders and no env to choose.
    """
    from rlzoo_real.config.tables import parse_key_values

    dirs = params_dirs(run_path)
    if not dirs:
        return None
    if len(dirs) > 1:
        wanted = [d for d in dirs if env_hint and d.name == env_folder_name(env_hint)]
        if len(wanted) != 1:
            names = ", ".join(d.name for d in dirs)
            raise UserError(f"{run_path} holds settings of several envs ({names}); pass --env.")
        dirs = wanted
    params = dirs[0]
    args_file, config_file = params / "args.yml", params / "config.yml"
    args_text = _read_text(args_file) if args_file.is_file() else None
    args = read_run_yaml(args_file, text=args_text) if args_text is not None else {}
    config = read_run_yaml(config_file) if config_file.is_file() else None
    for path, data in ((args_file, args), (config_file, config)):
        if data is not None and not isinstance(data, dict):
            raise UserError(f"{str(path)!r} is not a mapping of settings; is it a run's file?")
    origin = "rl_zoo3" if args_text is not None and "OrderedDict" in args_text[:200] else "realzoo"
    env_id = str(args.get("env") or env_hint or params.name)
    algo = str(args.get("algo") or run_path.parent.name)
    raw_kwargs = args.get("env_kwargs") or {}
    if isinstance(raw_kwargs, list):
        env_kwargs = parse_key_values(raw_kwargs, option=f"env_kwargs in {args_file}")
    elif isinstance(raw_kwargs, dict):
        env_kwargs = dict(raw_kwargs)
    else:
        raise UserError(f"{str(args_file)!r}: env_kwargs must be a list or mapping.")
    packages = tuple(str(p) for p in (args.get("gym_packages") or []))
    folder = RunFolder(run_path, env_id)
    return RunRecord(folder, algo, env_id, origin, args, config, env_kwargs, packages)


def _read_text(path: Path) -> str:
    """The file's text, read once for both its parse and its origin (the Zoo's tag)."""
    try:
        return path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"Cannot read {str(path)!r}: {exc}.") from None


def run_spec(record: RunRecord, algo: Any = None) -> Any:
    """Rebuild the run's :class:`~rlzoo_real.config.spec.RunSpec` from its ``config.yml``.

    ``algo``: the run's :class:`~rlzoo_real.algos.registry.AlgoSpec` when the caller has
    resolved it already (:func:`run_algo`).
    """
    from rlzoo_real.config.literals import contains_known_name
    from rlzoo_real.config.spec import resolve_run_spec

    config = dict(record.config or {})
    named = {k: v for k, v in config.items() if contains_known_name(v)}
    plain = {k: v for k, v in config.items() if k not in named}
    spec, _ = resolve_run_spec(
        algo if algo is not None else run_algo(record),
        record.env_id,
        table={record.env_id: plain},
        source=str(record.folder.config_file),
        overrides=named,
    )
    return spec


def run_algo(record: RunRecord) -> Any:
    """The run's :class:`~rlzoo_real.algos.registry.AlgoSpec`: its algo on its backend."""
    from rlzoo_real.algos.registry import get_algo

    return get_algo(record.algo, backend=str(record.args.get("backend") or "sb3"))
