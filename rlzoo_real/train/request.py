"""A training request: what ``realzoo train`` (or a tuning trial, a sweep job) was asked.

:class:`TrainArgs` holds the request as given; :func:`prepare` checks everything a user can
get wrong (options, hyperparameters, the env, a ``--trained-agent``) before any file exists
and returns the resolved :class:`Prepared` request that :mod:`rlzoo_real.train.run` trains.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rlzoo_real.algos.registry import AlgoSpec, get_algo
from rlzoo_real.config.spec import RunSpec
from rlzoo_real.config.tables import bundled_hyperparams_dir, load_table, parse_key_values
from rlzoo_real.errors import UserError

__all__ = [
    "Prepared",
    "TrainArgs",
    "Words",
    "as_values",
    "parse_env_kwargs",
    "prepare",
]


#: Overrides as given: ``key:value`` words from a command line, or a mapping of values.
Words = list[str] | dict[str, Any]


def as_values(given: Words | None, *, option: str) -> dict[str, Any]:
    """The overrides of ``given`` as a mapping of values, whichever form they came in.

    Words (``["learning_rate:0.001"]``, what a command line, a sweep or an old ``args.yml``
    holds) are read with the safe parser, once; a mapping (what the Python API records) is
    taken as it is.

    Raises:
        UserError: a word that is not ``key:value`` or a value the parser refuses.
    """
    if not given:
        return {}
    if isinstance(given, dict):
        return dict(given)
    return parse_key_values(given, option=option)


@dataclass(frozen=True)
class TrainArgs:
    """Everything ``realzoo train`` was asked to do; written to ``args.yml`` as is."""

    algo: str = ""
    env: str = ""
    backend: str = "sb3"  # sb3 (PyTorch) or sbx (JAX, the sbx extra)
    log_folder: str = "logs"
    n_timesteps: int = -1
    eval_freq: int = 25000
    eval_episodes: int = 5
    n_eval_envs: int = 1
    save_freq: int = 0  # 0: auto (about ten checkpoints per run), -1: none
    save_replay_buffer: bool = False
    keep_checkpoints: int = 0  # 0: keep all
    time_limit: float | None = None  # hours of wall-clock time for this process
    resume: str | None = None
    seed: int | None = None
    # overrides: "key:value" words as typed (CLI, sweeps, tuning trials, runs written before
    # the Python API) or a mapping of plain values (the API); see as_values
    hyperparams: Words = field(default_factory=list)
    env_kwargs: Words = field(default_factory=list)
    eval_env_kwargs: Words = field(default_factory=list)
    conf_file: str | None = None
    vec_env: str = "dummy"
    device: str = "auto"
    num_threads: int = 1
    trained_agent: str | None = None
    gym_packages: list[str] = field(default_factory=list)
    uuid: bool = False
    log_interval: int = -1
    tensorboard_log: str | None = None
    track: bool = False
    wandb_project_name: str = "realzoo"
    wandb_entity: str | None = None
    wandb_tags: list[str] = field(default_factory=list)
    wandb_group: str | None = None
    progress: bool = False
    verbose: int = 1
    updates_between_episodes: bool = False  # off-policy: gradient updates only after episodes
    preset: str | None = None  # hyperparams/<preset>/<algo>.yml, e.g. gsde
    truncate_last_trajectory: bool = True  # -i with a HER replay buffer: drop its last episode


@dataclass(frozen=True)
class Prepared:
    """A checked request: the resolved spec and parsed options, before any file is written."""

    args: TrainArgs
    algo: AlgoSpec
    spec: RunSpec
    env_kwargs: dict[str, Any]
    eval_env_kwargs: dict[str, Any]
    seed: int
    notice: str | None


def prepare(args: TrainArgs) -> Prepared:
    """Check a request without writing anything: names, files, hyperparameters, env kwargs."""
    from rlzoo_real.config.spec import resolve_run_spec
    from rlzoo_real.envs.make import (
        check_class_refs,
        check_env_id,
        import_gym_packages,
        is_atari,
    )
    from rlzoo_real.envs.probe import probe_run_envs
    from rlzoo_real.runs.trust import check_model_kwargs

    check_options(args)
    if not args.algo or not args.env:
        raise UserError(
            "realzoo train needs --algo and --env (e.g. --algo sac --env Pendulum-v1), "
            "or --resume RUN_FOLDER to continue a run."
        )
    algo = get_algo(args.algo, backend=args.backend)
    args = dataclasses.replace(args, algo=algo.name, backend=algo.run_backend)  # sac_sbx -> sac
    import_gym_packages(args.gym_packages)
    check_env_id(args.env)
    if args.preset:
        from rlzoo_real.config.presets import preset_file

        path = preset_file(args.preset, algo.name, conf_file=args.conf_file)
        table, source = load_table(path), f"hyperparams/{args.preset}/{algo.name}.yml"
    elif args.conf_file:
        table, source = load_table(args.conf_file), args.conf_file
    else:
        path = bundled_hyperparams_dir() / f"{algo.name}.yml"
        table, source = load_table(path), f"hyperparams/{algo.name}.yml"
    overrides = as_values(args.hyperparams, option="-params")
    if args.updates_between_episodes:
        from rlzoo_real.envs.realtime import between_episode_overrides

        overrides = between_episode_overrides(algo, overrides)
    spec, notice = resolve_run_spec(
        algo,
        args.env,
        table=table,
        source=source,
        overrides=overrides,
        n_timesteps=args.n_timesteps,
        is_atari=is_atari(args.env),
    )
    if args.updates_between_episodes:
        from rlzoo_real.envs.realtime import check_between_episodes

        check_between_episodes(spec)
    env_kwargs, eval_env_kwargs = parse_env_kwargs(args, spec)
    check_class_refs(spec.env_wrappers, kind="env_wrapper", leading=1, where=spec.source)
    # ONE env for every env check (kwargs, action space, wrapper values, openloop's joints)
    probe_run_envs(algo, spec, env_kwargs, eval_env_kwargs)
    _check_policy(algo, spec)
    if algo.run_backend == "sbx":  # torch-only keys refused before any run folder exists
        from rlzoo_real.algos.sbx import adapt_model_kwargs

        adapt_model_kwargs(dict(spec.model_kwargs), algo=algo.name, where=spec.source)
    if spec.env_wrappers:
        from rlzoo_real.envs.realtime import check_realtime_envs

        check_realtime_envs(spec, vec_env=args.vec_env, n_eval_envs=args.n_eval_envs)
    check_class_refs(spec.vec_env_wrappers, kind="vec_env_wrapper", leading=1, where=spec.source)
    check_class_refs(spec.callbacks, kind="callback", leading=0, where=spec.source)
    check_model_kwargs(spec.model_kwargs, where=spec.source)
    if args.trained_agent:
        from rlzoo_real.replay.warmstart import check_warm_start_files

        _check_trained_agent(Path(args.trained_agent), algo)
        check_warm_start_files(Path(args.trained_agent), off_policy=algo.off_policy)
    seed = args.seed if args.seed is not None else int.from_bytes(os.urandom(4), "little") >> 1
    return Prepared(args, algo, spec, env_kwargs, eval_env_kwargs, seed, notice)


def parse_env_kwargs(
    args: TrainArgs, spec: RunSpec | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The env kwargs of training and evaluation (evaluation defaults to training's).

    With ``spec``, the entry's ``env_kwargs`` apply unless ``--env-kwargs`` replaces them
    (the RL Zoo's rule, see :func:`rlzoo_real.config.spec.effective_env_kwargs`).
    """
    from rlzoo_real.config.spec import effective_env_kwargs

    env_kwargs = as_values(args.env_kwargs, option="--env-kwargs")
    eval_env_kwargs = as_values(args.eval_env_kwargs, option="--eval-env-kwargs")
    if spec is not None:
        return effective_env_kwargs(spec, env_kwargs, eval_env_kwargs)
    if not args.eval_env_kwargs:
        return env_kwargs, env_kwargs
    return env_kwargs, eval_env_kwargs


def check_options(args: TrainArgs) -> None:
    """Options whose mistakes would otherwise surface late, as a traceback."""
    if args.n_timesteps == 0 or args.n_timesteps < -1:  # -1: the entry's (or the run's) budget
        raise UserError(
            f"-n/--n-timesteps must be a positive number of steps, or -1 for the "
            f"hyperparameter entry's n_timesteps (a resumed run: its own budget); got "
            f"{args.n_timesteps}."
        )
    if args.time_limit is not None and args.time_limit <= 0:
        raise UserError(f"--time-limit must be a positive number of hours, got {args.time_limit}.")
    if args.keep_checkpoints < 0:
        raise UserError(f"--keep-checkpoints must be 0 (all) or more, got {args.keep_checkpoints}.")
    if args.vec_env not in ("dummy", "subproc"):
        raise UserError(f"--vec-env must be 'dummy' or 'subproc', got {args.vec_env!r}.")
    for flag, value in (
        ("--eval-episodes", args.eval_episodes),
        ("--n-eval-envs", args.n_eval_envs),
    ):
        if value < 1:
            raise UserError(f"{flag} must be at least 1, got {value}.")
    log_folder = Path(args.log_folder)
    if log_folder.exists() and not log_folder.is_dir():
        raise UserError(f"--log-folder {args.log_folder!r} exists and is not a folder.")
    if args.device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise UserError(
                f"--device {args.device}: no CUDA device is available on this machine; "
                "use --device cpu or --device auto."
            )
    elif args.device not in ("auto", "cpu") and not args.device.startswith("mps"):
        raise UserError(f"--device must be auto, cpu or cuda[:N], got {args.device!r}.")


def _check_policy(algo: AlgoSpec, spec: RunSpec) -> None:
    """The entry's ``policy`` must be one of the algorithm's names (SimbaPolicy: some sbx ones)."""
    aliases = sorted(getattr(algo.load_class(), "policy_aliases", {}) or {})
    if aliases and spec.policy not in aliases:
        backend = " with --backend sbx" if algo.run_backend == "sbx" else ""
        raise UserError(
            f"{spec.source}: policy {spec.policy!r} is not a policy of {algo.name}{backend}. "
            f"Its policies: {', '.join(aliases)}."
        )


def _check_trained_agent(path: Path, algo: AlgoSpec) -> None:
    import json
    import zipfile

    if not path.is_file() or path.suffix != ".zip":
        raise UserError(
            f"--trained-agent {str(path)!r} is not an existing .zip model file "
            "(e.g. logs/sac/Pendulum-v1_1/Pendulum-v1.zip)."
        )
    from rlzoo_real.runs.safe_files import inspect_model_file

    inspect_model_file(path)  # a zip bomb or another kind of file, refused unopened
    try:
        with zipfile.ZipFile(path) as archive:
            data = json.loads(archive.read("data"))
    except (zipfile.BadZipFile, KeyError, ValueError):
        raise UserError(
            f"--trained-agent {str(path)!r} is not a Stable-Baselines3 model (corrupt zip)."
        ) from None
    policy_module = str(data.get("policy_class", {}).get("__module__", ""))
    cls = algo.load_class()
    accepted = {c.__module__ for c in getattr(cls, "policy_aliases", {}).values()}
    from rlzoo_real.runs.folder import params_dirs, read_plain_yaml

    dirs = params_dirs(path.parent)  # the model sits in a run folder (realzoo's or the Zoo's)
    saved = read_plain_yaml(dirs[0] / "args.yml") if dirs else None  # None: the Zoo's tags
    saved_algo = saved.get("algo") if saved else None
    if (saved_algo and saved_algo != algo.name) or (accepted and policy_module not in accepted):
        other = saved_algo or policy_module
        raise UserError(
            f"--trained-agent {str(path)!r} was trained with another algorithm ({other}), not "
            f"{algo.name}. Pass a model trained with {algo.name}, or use --algo to match the model."
        )
