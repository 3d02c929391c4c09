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
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rlzoo_real.errors import UserError
from rlzoo_real.replay.finding import RunRecord, RunRequest, find_run, read_run, run_algo, run_spec
from rlzoo_real.replay.warmstart import spaces_only_env
from rlzoo_real.runs.folder import (
    RunFolder,
    checkpoint_vecnormalize_file,
)
from rlzoo_real.runs.safe_files import (
    UNSAFE_FLAG,
    WEIGHT_ERRORS,
    ModelFileInfo,
    apply_normalization,
    inside_run,
    inspect_model_file,
    read_normalization,
)

__all__ = [
    "LoadedRun",
    "ModelChoice",
    "RunRecord",
    "RunRequest",
    "choose_model",
    "find_run",
    "open_run",
    "read_run",
    "run_spec",
]

# Replay never samples from a replay buffer: build the model with the smallest one.
_REPLAY_BUFFER_SIZE = 1


# -- the run folder ----------------------------------------------------------------------------


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
    from rlzoo_real.config.tables import parse_key_values
    from rlzoo_real.envs.make import check_env_id, import_gym_packages, resolve_class
    from rlzoo_real.runs.trust import allows, check_env_id_imports, check_gym_packages

    if n_envs < 1:
        raise UserError(f"--n-envs must be at least 1, got {n_envs}.")
    run_path, model_file = find_run(request)
    record = read_run(run_path, env_hint=request.env)
    notes: list[str] = []
    if record is None:
        algo, spec, folder = _lone_model_spec(request, run_path, model_file)
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
        algo = run_algo(record)  # resolved once: the spec and the model are built with it
        spec, folder = run_spec(record, algo), record.folder
        base_kwargs, packages = dict(record.env_kwargs), record.gym_packages
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
        model = _load_model(spec, algo, choice.path, env, request, seed=seed)
    except BaseException:
        env.close()
        raise
    return LoadedRun(record, spec, choice, info, model, env, notes)


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
) -> tuple[Any, Any, RunFolder]:
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
    return algo, spec, RunFolder(run_path, request.env)


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


def _load_model(
    spec: Any, algo: Any, path: Path, env: Any, request: RunRequest, *, seed: int
) -> Any:
    from rlzoo_real.algos.build import build_model

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
    stand_in = spaces_only_env(spec.n_envs, env.observation_space, env.action_space)
    with warnings.catch_warnings():
        # Warnings about training settings (PPO's batch size against n_steps * n_envs, the
        # replay buffer's memory) were shown when the run trained; replay does not train.
        warnings.simplefilter("ignore", category=UserWarning)
        model = build_model(
            dataclasses.replace(spec, model_kwargs=kwargs),
            stand_in,
            seed=seed,
            device=request.device,
            algo=algo,
        )
    try:
        model.set_parameters(str(path), exact_match=True, device=request.device)
    except WEIGHT_ERRORS as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
        raise UserError(
            f"The weights in {str(path)!r} do not fit the model that {spec.source} describes "
            f"({type(exc).__name__}: {first}). Is it a model of another run, or corrupt?"
        ) from None
    model.env = None  # the stand-in only gave the spaces; replay feeds observations itself
    return model
