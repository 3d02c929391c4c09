"""Finding a run again and loading its model, without running code from its files.

``enjoy`` and ``export`` go through :func:`open_run`: it finds the run folder (by
path, or by algorithm, env and run id under a log folder), reads ``args.yml`` and
``config.yml`` (realzoo's plain YAML, or the RL Zoo's with Python-object tags, read
without constructing any object), picks the model (final, best, a checkpoint),
rebuilds the env exactly as training did and the model from the run's config, then
loads the weights alone.

Nothing is unpickled by default: the model is rebuilt from ``config.yml`` and
``model.set_parameters`` reads only the weight files of the zip (``torch.load`` with
``weights_only=True``); ``args.yml``, ``config.yml``, the zip's ``data`` and
``vecnormalize.pkl`` are read by the safe readers of :mod:`rlzoo_real.runs.safe_files`.
``--unsafe-pickle-load`` switches to plain pickle (``Algo.load``) for files one trusts.
"""

from __future__ import annotations

import dataclasses
import pickle
import re
import warnings
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rlzoo_real.errors import UserError, suggest
from rlzoo_real.runs.folder import (
    RunFolder,
    checkpoint_vecnormalize_file,
    env_folder_name,
    params_dirs,
    run_folders,
    runs_by_env,
)
from rlzoo_real.runs.safe_files import (
    UNSAFE_FLAG,
    ModelFileInfo,
    apply_normalization,
    inspect_model_file,
    read_normalization,
    read_run_yaml,
)

__all__ = [
    "LoadedRun",
    "ModelChoice",
    "RunRecord",
    "RunRequest",
    "check_warm_start_files",
    "choose_model",
    "find_run",
    "inside_run",
    "open_run",
    "read_run",
    "run_spec",
    "saved_policy_kwargs",
    "warm_start",
]

_WEIGHT_ERRORS = (
    ValueError,
    RuntimeError,
    KeyError,
    OSError,
    EOFError,
    zipfile.BadZipFile,
    pickle.UnpicklingError,
)
# Replay never samples from a replay buffer: build the model with the smallest one.
_REPLAY_BUFFER_SIZE = 1


# -- the run folder ----------------------------------------------------------------------------


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
    from rlzoo_real.config.spec import parse_key_values

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
    args = read_run_yaml(args_file) if args_file.is_file() else {}
    config = read_run_yaml(config_file) if config_file.is_file() else None
    for path, data in ((args_file, args), (config_file, config)):
        if data is not None and not isinstance(data, dict):
            raise UserError(f"{str(path)!r} is not a mapping of settings; is it a run's file?")
    origin = "rl_zoo3" if args_file.is_file() and "OrderedDict" in _head(args_file) else "realzoo"
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


def _head(path: Path) -> str:
    with path.open() as handle:
        return handle.read(200)


def run_spec(record: RunRecord) -> Any:
    """Rebuild the run's :class:`~rlzoo_real.config.spec.RunSpec` from its ``config.yml``."""
    from rlzoo_real.algos.registry import get_algo
    from rlzoo_real.config.literals import contains_known_name
    from rlzoo_real.config.spec import resolve_run_spec

    config = dict(record.config or {})
    named = {k: v for k, v in config.items() if contains_known_name(v)}
    plain = {k: v for k, v in config.items() if k not in named}
    spec, _ = resolve_run_spec(
        get_algo(record.algo, backend=str(record.args.get("backend") or "sb3")),
        record.env_id,
        table={record.env_id: plain},
        source=str(record.folder.config_file),
        overrides=named,
    )
    return spec


# -- choosing the model ------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelChoice:
    """One model of a run and the normalization statistics that go with it.

    Attributes:
        path: the model ``.zip``.
        label: for people, e.g. ``final model``, ``checkpoint at 400 steps``.
        slug: for file names, e.g. ``final-model``, ``checkpoint-400``.
        vecnormalize: the statistics file to use, or None when there is none.
        note: a remark to show (e.g. which statistics stand in for missing ones).
    """

    path: Path
    label: str
    slug: str
    vecnormalize: Path | None
    note: str | None = None


def choose_model(
    run: RunFolder,
    *,
    model_file: Path | None = None,
    best: bool = False,
    checkpoint: int | None = None,
    last_checkpoint: bool = False,
) -> ModelChoice:
    """Pick the model to load: a given file, the best, a checkpoint, or the final model.

    Raises:
        UserError: conflicting choices, or a model that does not exist (with what does).
    """
    flags = (
        ("--load-best", best),
        ("--load-checkpoint", checkpoint is not None),
        ("--load-last-checkpoint", last_checkpoint),
    )
    chosen = [flag for flag, on in flags if on]
    if model_file is not None and chosen:
        raise UserError(f"Give a model file or {chosen[0]}, not both.")
    if len(chosen) > 1:
        raise UserError(f"{' and '.join(chosen)} exclude each other; choose one.")
    checkpoints = run.checkpoints()
    if model_file is not None:
        match = re.fullmatch(r"rl_model_(\d+)_steps\.zip", model_file.name)
        if match and model_file.parent.resolve() == run.path.resolve():
            checkpoint = int(match.group(1))
        elif model_file.resolve() == run.best_model.resolve():
            best = True
        elif model_file.resolve() != run.final_model.resolve():
            stats = run.vecnormalize_file if run.vecnormalize_file.is_file() else None
            return ModelChoice(model_file, f"model {model_file.name}", model_file.stem, stats)
    if last_checkpoint:
        if not checkpoints:
            raise UserError(f"{run.path} has no checkpoints. {_available(run)}")
        checkpoint = max(checkpoints)
    if checkpoint is not None:
        if checkpoint not in checkpoints:
            steps = ", ".join(map(str, checkpoints)) or "none (train with --save-freq N)"
            raise UserError(
                f"{run.path} has no checkpoint at {checkpoint} steps; checkpoints there: {steps}."
            )
        own = checkpoint_vecnormalize_file(run, checkpoint)
        label = f"checkpoint at {checkpoint} steps"
        return _with_stats(checkpoints[checkpoint], label, f"checkpoint-{checkpoint}", own, run)
    if best:
        if not run.best_model.is_file():
            raise UserError(
                f"{run.path} has no best_model.zip (it is written when training evaluates: "
                f"--eval-freq). {_available(run)}"
            )
        return _with_stats(
            run.best_model, "best model", "best-model", run.best_vecnormalize_file, run
        )
    if not run.final_model.is_file():
        raise UserError(
            f"{run.path} has no final model {run.final_model.name} (did training stop early?). "
            f"{_available(run)}"
        )
    stats = run.vecnormalize_file if run.vecnormalize_file.is_file() else None
    return ModelChoice(run.final_model, "final model", "final-model", stats)


def _with_stats(path: Path, label: str, slug: str, own: Path, run: RunFolder) -> ModelChoice:
    if own.is_file():
        return ModelChoice(path, label, slug, own)
    if run.vecnormalize_file.is_file():
        note = (
            f"no normalization statistics saved with the {label}; using the final ones "
            f"({run.name}/{run.vecnormalize_file.name})"
        )
        return ModelChoice(path, label, slug, run.vecnormalize_file, note)
    return ModelChoice(path, label, slug, None)


def _available(run: RunFolder) -> str:
    found = []
    if run.final_model.is_file():
        found.append(f"the final model ({run.final_model.name})")
    if run.best_model.is_file():
        found.append("the best model (--load-best)")
    checkpoints = run.checkpoints()
    if checkpoints:
        steps = ", ".join(map(str, checkpoints))
        found.append(f"checkpoints at {steps} steps (--load-checkpoint STEPS)")
    return f"Models there: {'; '.join(found)}." if found else "It holds no model."


def _check_model_fits(info: ModelFileInfo, path: Path, algo: Any, env: Any, env_id: str) -> None:
    cls = algo.load_class()
    accepted = {c.__module__ for c in getattr(cls, "policy_aliases", {}).values()}
    if info.policy_module and accepted and info.policy_module not in accepted:
        other = _algo_of_module(info.policy_module)
        raise UserError(
            f"{str(path)!r} is a model of another algorithm ({other}), not {algo.name}. "
            f"Use --algo {other} or pick a model trained with {algo.name}."
        )
    shape = tuple(env.observation_space.shape or ())
    if info.observation_shape is not None and shape and info.observation_shape != shape:
        raise UserError(
            f"{str(path)!r} was trained on observations of shape {info.observation_shape}, but "
            f"{env_id} as this run builds it gives {shape}: a model of another env, or of other "
            "wrappers or frame stacking."
        )


def _algo_of_module(module: str) -> str:
    from rlzoo_real.algos.registry import ALGOS

    package = module.rsplit(".", 1)[0].rsplit(".", 1)[-1]  # stable_baselines3.sac.policies -> sac
    names = {spec.name for spec in ALGOS.values()}
    if package in names:
        return package
    if package == "ppo_recurrent":
        return "ppo_lstm"
    return module


# -- normalization statistics ------------------------------------------------------------------


# -- loading it all ----------------------------------------------------------------------------


@dataclass
class LoadedRun:
    """A run loaded for replay or export: its spec, the chosen model, the env as trained.

    Attributes:
        record: what the run folder says (None for a lone model file loaded unsafely).
        spec: the run's resolved hyperparameters.
        choice: the model that was loaded.
        info: the model file's own description.
        model: the algorithm with the weights loaded.
        env: the vectorized env, normalization loaded and frozen.
        notes: remarks for the user (fallbacks taken).
    """

    record: RunRecord | None
    spec: Any
    choice: ModelChoice
    info: ModelFileInfo
    model: Any
    env: Any
    notes: list[str] = field(default_factory=list)

    @property
    def algo(self) -> str:
        return str(self.spec.algo)

    @property
    def env_id(self) -> str:
        return str(self.spec.env_id)

    def close(self) -> None:
        """Close the env."""
        self.env.close()


def open_run(
    request: RunRequest,
    *,
    n_envs: int = 1,
    seed: int = 0,
    render_mode: str | None = None,
) -> LoadedRun:
    """Find the run and model of ``request``, rebuild env and model, and load the weights.

    Args:
        request: which run and model.
        n_envs: number of envs to build.
        seed: seed of the first env (env ``i`` gets ``seed + i``) and of the model.
        render_mode: passed to ``gymnasium.make`` (``"human"``, ``"rgb_array"``, None).

    Everything the run's files name is resolved inside :func:`rlzoo_real.runs.trust.opening`:
    classes from the allowlist only (or those ``request.allow_import`` allows), no
    ``gym_packages`` of the run imported unless the request names them.

    Raises:
        UserError: anything about the request, the run's files or the model that is wrong.
    """
    from rlzoo_real.runs.trust import opening

    with opening(request.allow_import):
        return _open_run(request, n_envs=n_envs, seed=seed, render_mode=render_mode)


def _open_run(request: RunRequest, *, n_envs: int, seed: int, render_mode: str | None) -> LoadedRun:
    from rlzoo_real.algos.registry import get_algo
    from rlzoo_real.config.spec import parse_key_values
    from rlzoo_real.envs.make import check_env_id, import_gym_packages, resolve_class
    from rlzoo_real.runs.trust import allows, check_env_id_imports, check_gym_packages

    if n_envs < 1:
        raise UserError(f"--n-envs must be at least 1, got {n_envs}.")
    run_path, model_file = find_run(request)
    record = read_run(run_path, env_hint=request.env)
    notes: list[str] = []
    if record is None:
        spec, folder = _lone_model_spec(request, run_path, model_file)
        notes.append(
            "no config.yml beside the model: the env is built without the run's wrappers, "
            "frame stack or normalization"
        )
        base_kwargs: dict[str, Any] = {}
        packages: tuple[str, ...] = ()
    else:
        _check_request_matches(request, record)
        if record.config is None:
            raise UserError(
                f"{run_path} has no {record.folder.name}/config.yml: realzoo rebuilds the env and "
                "the model from it."
            )
        for path in (
            record.folder.params_dir / "args.yml",
            record.folder.params_dir / "config.yml",
        ):
            inside_run(path, run_path)
        args_file = str(record.folder.params_dir / "args.yml")
        check_gym_packages(record.gym_packages, request.gym_packages, where=args_file)
        check_env_id_imports(record.env_id, where=args_file)
        spec, folder = run_spec(record), record.folder
        base_kwargs, packages = dict(record.env_kwargs), record.gym_packages
    algo = get_algo(spec.algo, backend=spec.backend)
    choice = choose_model(
        folder,
        model_file=model_file,
        best=request.load_best,
        checkpoint=request.load_checkpoint,
        last_checkpoint=request.load_last_checkpoint,
    )
    if choice.note:
        notes.append(choice.note)
    if model_file is None or choice.path != model_file:  # a file the user did not name
        inside_run(choice.path, run_path)
    if choice.vecnormalize is not None:
        inside_run(choice.vecnormalize, run_path)
    for ref in spec.callbacks:  # not called here, but a run naming a stranger's is refused
        resolve_class(ref.path, kind="callback", where=str(spec.source))
    info = inspect_model_file(choice.path)
    wanted = [p for p in packages if p in request.gym_packages or allows(p)]  # checked above
    import_gym_packages(dict.fromkeys([*wanted, *request.gym_packages]))
    check_env_id_imports(spec.env_id, where=str(spec.source))
    if ":" not in spec.env_id:
        check_env_id(spec.env_id)
    env_kwargs = {**base_kwargs, **parse_key_values(request.env_kwargs, option="--env-kwargs")}
    if render_mode is not None:
        env_kwargs["render_mode"] = render_mode
    env = _make_env(spec, choice, request, n_envs=n_envs, seed=seed, env_kwargs=env_kwargs)
    try:
        kind = type(env.action_space).__name__
        if kind not in algo.action_spaces:
            raise UserError(
                f"{algo.name} does not handle the {kind} actions of {spec.env_id}; is the run of "
                "another algorithm?"
            )
        _check_model_fits(info, choice.path, algo, env, spec.env_id)
        model = _load_model(spec, choice.path, env, request, seed=seed)
    except BaseException:
        env.close()
        raise
    return LoadedRun(record, spec, choice, info, model, env, notes)


def inside_run(path: Path, run_path: Path) -> None:
    """Refuse a run's file that is (or links to) a file outside the run folder.

    A run folder from someone else could hold ``vecnormalize.pkl -> ~/.ssh/...`` or a
    model linked to another run's; realzoo reads a run's files from inside it only.

    Raises:
        UserError: naming the file and where it leads.
    """
    if not path.exists() and not path.is_symlink():
        return
    root = run_path.resolve()
    target = path.resolve()
    if target != root and root not in target.parents:
        raise UserError(
            f"{str(path)!r} leads to {str(target)!r}, outside the run folder {str(run_path)!r} "
            "(a symbolic link or a path with '..'). realzoo reads a run's files only from "
            "inside its folder; copy the file in if you mean to use it."
        )


def _check_request_matches(request: RunRequest, record: RunRecord) -> None:
    from rlzoo_real.algos.registry import get_algo

    if request.algo and get_algo(request.algo, backend=request.backend).name != record.algo:
        raise UserError(
            f"{record.folder.path} is a run of {record.algo}, not {request.algo} "
            f"(its args.yml says algo: {record.algo}). Drop --algo or use --algo {record.algo}."
        )
    if request.env and request.env != record.env_id:
        raise UserError(
            f"{record.folder.path} is a run on {record.env_id}, not {request.env}. Drop --env or "
            f"use --env {record.env_id}."
        )


def _lone_model_spec(
    request: RunRequest, run_path: Path, model_file: Path | None
) -> tuple[Any, RunFolder]:
    from rlzoo_real.algos.registry import get_algo
    from rlzoo_real.config.spec import resolve_run_spec

    if model_file is None or not request.unsafe_pickle_load:
        raise UserError(
            f"{run_path} is not a run folder: it has no <env>/args.yml or <env>/config.yml, from "
            "which realzoo rebuilds the env and the model. Give a folder made by realzoo train or "
            f"rl_zoo3, or (for a lone model file you trust) {UNSAFE_FLAG} with --algo and --env."
        )
    if not request.algo or not request.env:
        raise UserError(f"A lone model file needs --algo and --env to be replayed ({model_file}).")
    algo = get_algo(request.algo, backend=request.backend)
    spec, _ = resolve_run_spec(
        algo, request.env, table={request.env: {"n_timesteps": 1}}, source=str(model_file)
    )
    return spec, RunFolder(run_path, request.env)


def _make_env(
    spec: Any,
    choice: ModelChoice,
    request: RunRequest,
    *,
    n_envs: int,
    seed: int,
    env_kwargs: dict[str, Any],
) -> Any:
    from rlzoo_real.envs.make import make_vec_env_for

    stats = None
    if spec.normalize is not None:
        if choice.vecnormalize is None:
            raise UserError(
                f"The run normalizes observations, but no statistics were saved for the "
                f"{choice.label} ({choice.path.name}); the policy would see observations on "
                "another scale. Expected <env>/vecnormalize.pkl in the run folder."
            )
        stats = read_normalization(choice.vecnormalize, unsafe=request.unsafe_pickle_load)
    try:
        env = make_vec_env_for(spec, n_envs=n_envs, seed=seed, env_kwargs=env_kwargs, for_eval=True)
    except (ValueError, AssertionError) as exc:
        raise UserError(f"Could not create {spec.env_id} with {env_kwargs}: {exc}") from None
    if stats is not None and choice.vecnormalize is not None:
        try:
            apply_normalization(env, stats, choice.vecnormalize)
        except BaseException:
            env.close()
            raise
    return env


def _load_model(spec: Any, path: Path, env: Any, request: RunRequest, *, seed: int) -> Any:
    from rlzoo_real.algos.registry import get_algo
    from rlzoo_real.train.request import build_model

    algo = get_algo(spec.algo, backend=spec.backend)
    if request.unsafe_pickle_load:
        try:
            return algo.load_class().load(str(path), device=request.device)
        except Exception as exc:  # anything from unpickling someone else's objects
            raise UserError(f"Could not load {str(path)!r} with pickle: {exc!r}.") from None
    from rlzoo_real.runs.trust import check_model_kwargs

    check_model_kwargs(spec.model_kwargs, where=str(spec.source))
    kwargs = dict(spec.model_kwargs)
    if "buffer_size" in algo.init_parameters():
        kwargs["buffer_size"] = _REPLAY_BUFFER_SIZE
    stand_in = _spaces_only_env(spec.n_envs, env.observation_space, env.action_space)
    with warnings.catch_warnings():
        # Warnings about training settings (PPO's batch size against n_steps * n_envs, the
        # replay buffer's memory) were shown when the run trained; replay does not train.
        warnings.simplefilter("ignore", category=UserWarning)
        model = build_model(
            dataclasses.replace(spec, model_kwargs=kwargs),
            stand_in,
            seed=seed,
            device=request.device,
        )
    try:
        model.set_parameters(str(path), exact_match=True, device=request.device)
    except _WEIGHT_ERRORS as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
        raise UserError(
            f"The weights in {str(path)!r} do not fit the model that {spec.source} describes "
            f"({type(exc).__name__}: {first}). Is it a model of another run, or corrupt?"
        ) from None
    model.env = None  # the stand-in only gave the spaces; replay feeds observations itself
    return model


def check_warm_start_files(path: Path, *, off_policy: bool) -> None:
    """Read what ``train -i`` will take from another run, before any run folder exists.

    The model's description, its normalization statistics and (off-policy) replay
    buffer, each by the readers that unpickle no object.

    Raises:
        UserError: a file that is not what it should be, or one that leads out of its run.
    """
    from rlzoo_real.runs.folder import params_dirs
    from rlzoo_real.runs.safe_files import read_replay_buffer

    inspect_model_file(path)
    for params in params_dirs(path.parent):
        stats = params / "vecnormalize.pkl"
        if stats.is_file() or stats.is_symlink():
            inside_run(stats, path.parent)
            read_normalization(stats)
    buffer_file = path.parent / "replay_buffer.pkl"
    if off_policy and (buffer_file.is_file() or buffer_file.is_symlink()):
        inside_run(buffer_file, path.parent)
        read_replay_buffer(buffer_file)


def saved_policy_kwargs(path: Path) -> dict[str, Any]:
    """The ``policy_kwargs`` a model was trained with, read from its zip's ``data`` as JSON.

    As the RL Zoo's warm start does, ``train -i`` keeps the policy of the model it
    continues. SB3 stores ``policy_kwargs`` as a cloudpickle blob plus a readable copy
    of each value; only the readable copy is used: plain values as they are, classes
    (``"<class 'torch.nn.modules.activation.ReLU'>"``) as the names realzoo knows.

    Raises:
        UserError: a class realzoo does not know (the model needs ``--unsafe-pickle-load``
            elsewhere, or training from scratch).
    """
    import json

    from rlzoo_real.runs.safe_files import known_name_for

    inspect_model_file(path)  # sizes checked before reading
    with zipfile.ZipFile(path) as archive:
        data = json.loads(archive.read("data"))
    saved = data.get("policy_kwargs") if isinstance(data, dict) else None
    if not isinstance(saved, dict):
        return {}
    out: dict[str, Any] = {}
    for key, value in saved.items():
        if key.startswith(":"):
            continue
        match = re.fullmatch(r"<class '([\w.]+)'>", value) if isinstance(value, str) else None
        if match:
            name = known_name_for(match.group(1))
            if name is None:
                raise UserError(
                    f"-i {str(path)!r}: its policy_kwargs name {key}={match.group(1)}, a class "
                    "realzoo does not load from a model file. Train from scratch, or give a "
                    "model whose policy uses torch.nn / torch.optim classes."
                )
            from rlzoo_real.config.literals import KnownName

            value = KnownName(name)
        out[key] = value
    return out


def warm_start(
    model: Any,
    path: Path,
    *,
    off_policy: bool,
    device: str = "auto",
    truncate_last_trajectory: bool = True,
) -> None:
    """Continue from another run's model (``train -i``) without unpickling its files.

    The model is built from the user's hyperparameters; the other run gives its weights
    (``set_parameters``: the zip's weight files only, never its pickled ``data``), its
    step count (read as JSON) and, off-policy, its ``replay_buffer.pkl`` (arrays read by
    a restricted unpickler). Its ``vecnormalize.pkl`` is read the same way by the caller.
    With a HER buffer, ``truncate_last_trajectory`` ends its last, unfinished episode, as
    SB3's ``load_replay_buffer(truncate_last_traj=...)`` does.

    Raises:
        UserError: a file that is not what it should be, or weights of another shape.
    """
    import numpy as np

    from rlzoo_real.runs.safe_files import BUFFER_FIELDS, HER_FIELDS, read_replay_buffer

    info = inspect_model_file(path)
    try:
        model.set_parameters(str(path), exact_match=True, device=device)
    except _WEIGHT_ERRORS as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
        raise UserError(
            f"-i {str(path)!r}: its weights do not fit the model these hyperparameters describe "
            f"({type(exc).__name__}: {first}). Warm start needs the same policy (net_arch, "
            "policy_kwargs) as the model was trained with."
        ) from None
    if info.num_timesteps is not None:
        model.num_timesteps = info.num_timesteps
    buffer_file = path.parent / "replay_buffer.pkl"
    if not off_policy or not buffer_file.is_file():
        return
    inside_run(buffer_file, path.parent)
    saved = read_replay_buffer(buffer_file)
    buffer = model.replay_buffer
    for key in (*BUFFER_FIELDS, *HER_FIELDS):
        if key not in saved or not hasattr(buffer, key):
            continue
        target, value = getattr(buffer, key), saved[key]
        pairs = (
            [(target[k], value.get(k)) for k in target]
            if isinstance(target, dict) and isinstance(value, dict)
            else [(target, value)]
        )
        for t, v in pairs:
            if t is None and v is None:
                continue
            if not isinstance(v, np.ndarray) or t is None or v.shape != t.shape:
                raise UserError(
                    f"-i: the replay buffer {str(buffer_file)!r} holds {key} of shape "
                    f"{getattr(v, 'shape', None)}, but this run's buffer needs "
                    f"{getattr(t, 'shape', None)} (give the same buffer_size, or remove the file)."
                )
            t[...] = v
    buffer.pos, buffer.full = saved["pos"], saved["full"]
    if truncate_last_trajectory and hasattr(buffer, "truncate_last_trajectory"):  # HER
        buffer.truncate_last_trajectory()


def _spaces_only_env(n_envs: int, observation_space: Any, action_space: Any) -> Any:
    """A VecEnv with the right spaces and number of envs that cannot step (to build a model)."""
    from stable_baselines3.common.vec_env import VecEnv

    class SpacesOnlyVecEnv(VecEnv):
        def reset(self) -> Any:
            raise RuntimeError("a stand-in env cannot be reset")

        def step_async(self, actions: Any) -> None:
            raise RuntimeError("a stand-in env cannot step")

        def step_wait(self) -> Any:
            raise RuntimeError("a stand-in env cannot step")

        def close(self) -> None:
            return None

        def get_attr(self, attr_name: str, indices: Any = None) -> list[Any]:
            return [None] * self.num_envs

        def set_attr(self, attr_name: str, value: Any, indices: Any = None) -> None:
            return None

        def env_method(
            self, method_name: str, *args: Any, indices: Any = None, **kwargs: Any
        ) -> Any:
            return [None] * self.num_envs

        def env_is_wrapped(self, wrapper_class: Any, indices: Any = None) -> list[bool]:
            return [False] * self.num_envs

    return SpacesOnlyVecEnv(n_envs, observation_space, action_space)
