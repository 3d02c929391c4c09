"""Checks of a ``realzoo tune`` request against the options' ranges and an existing study.

Used by :func:`~rlzoo_real.tuning.study.prepare_tune`; nothing here writes (but reading a
study through its storage).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from rlzoo_real.algos.registry import AlgoSpec
from rlzoo_real.errors import UserError, suggest
from rlzoo_real.tuning.folder import StudyFolder
from rlzoo_real.tuning.objectives import check_objective
from rlzoo_real.tuning.samplers import PRUNERS, SAMPLERS
from rlzoo_real.tuning.seeds import MAX_SEEDS
from rlzoo_real.tuning.spaces import SearchSpace
from rlzoo_real.tuning.storage import StorageSpec

#: a rlzoo_real.tuning.study.TuneRequest (not imported: study imports this module)
TuneRequest = Any

#: the format of the study's realzoo record
FORMAT = 1


def check_options(request: TuneRequest) -> None:
    if request.sampler not in SAMPLERS:
        raise UserError(
            f"Unknown sampler {request.sampler!r}.{suggest(request.sampler, SAMPLERS)} "
            f"--sampler takes {', '.join(SAMPLERS)}."
        )
    if request.pruner not in PRUNERS:
        raise UserError(
            f"Unknown pruner {request.pruner!r}.{suggest(request.pruner, PRUNERS)} "
            f"--pruner takes {', '.join(PRUNERS)}."
        )
    if request.sampler == "cmaes":
        import importlib.util

        if importlib.util.find_spec("cmaes") is None:
            raise UserError(
                "--sampler cmaes needs the cmaes package: pip install 'rlzoo-real[tune]'."
            )
    checks: list[tuple[str, float | None, float]] = [
        ("--n-trials", request.n_trials, 0),
        ("--max-total-trials", request.max_total_trials, 1),
        ("--n-workers", request.n_workers, 1),
        ("--n-startup-trials", request.n_startup_trials, 0),
        ("--n-evaluations", request.n_evaluations, 1),
        ("--eval-episodes", request.eval_episodes, 1),
        ("--n-eval-envs", request.n_eval_envs, 1),
        ("--heartbeat", request.heartbeat, 1),
        ("--n-seeds", request.n_seeds, 1),
        ("--validate-top", request.validate_top, 0),
        ("--validate-seeds", request.validate_seeds, 1),
        ("--validate-timesteps", request.validate_timesteps, 1),
    ]
    for flag, value, least in checks:
        if value is not None and value < least:
            raise UserError(f"{flag} must be at least {least}, got {value}.")
    if request.n_seeds is not None and request.n_seeds > MAX_SEEDS:
        raise UserError(f"--n-seeds must be at most {MAX_SEEDS}, got {request.n_seeds}.")
    check_objective(request.objective or "last", request.aggregate or "mean")
    if request.timeout is not None and request.timeout <= 0:
        raise UserError(f"--timeout must be a positive number of seconds, got {request.timeout}.")
    if request.n_timesteps is not None and request.n_timesteps == 0:
        raise UserError("-n/--n-timesteps must be positive (or -1 for the entry's budget).")
    log_folder = Path(request.log_folder)
    if log_folder.exists() and not log_folder.is_dir():
        raise UserError(f"--log-folder {request.log_folder!r} exists and is not a folder.")


def stored_settings(storage: StorageSpec, name: str) -> dict[str, Any] | None:
    """The ``realzoo`` attribute of study ``name``, or None when the storage has no such study."""
    from rlzoo_real.tuning.storage import close_storage, open_storage

    if storage.path is not None and not storage.path.exists():
        return None
    backend = open_storage(storage)
    try:
        try:
            study_id = backend.get_study_id_from_name(name)
        except KeyError:
            return None
        for _ in range(10):  # a command creating it at this moment sets the attribute next
            attrs = backend.get_study_user_attrs(study_id)
            if isinstance(attrs.get("realzoo"), dict):
                return dict(attrs["realzoo"])
            time.sleep(0.3)
    finally:
        close_storage(backend)
    raise UserError(
        f"Study {name!r} in {storage.shown} was not made by realzoo tune (it has no realzoo "
        "record), so its trials cannot be continued here. Choose another --study-name."
    )


def check_identity(
    stored: dict[str, Any], algo: str, env: str, name: str, storage: StorageSpec
) -> None:
    if stored.get("algo") != algo or stored.get("env") != env:
        raise UserError(
            f"Study {name!r} in {storage.shown} tunes {stored.get('algo')} on {stored.get('env')}, "
            f"not {algo} on {env}. Choose another --study-name (or --storage) for a new study; "
            "the existing one is left as it is."
        )
    if stored.get("format") != FORMAT:
        raise UserError(
            f"Study {name!r} in {storage.shown} was made by another version of realzoo tune "
            f"(format {stored.get('format')}). Choose another --study-name."
        )


def base_entry(
    request: TuneRequest, algo: AlgoSpec, folder: StudyFolder, stored: dict[str, Any] | None
) -> tuple[dict[str, Any], list[str], str | None]:
    """The entry every trial starts from, the env kwargs, and a notice about the entry.

    Both are checked against the study's when it exists.
    """
    from rlzoo_real.config.tables import parse_key_values
    from rlzoo_real.train.request import TrainArgs, prepare

    n_timesteps = request.n_timesteps if request.n_timesteps and request.n_timesteps > 0 else None
    given = bool(request.conf_file or request.preset or request.hyperparams)
    notice = None
    if stored is not None and not given:
        base = dict(stored["base"])
        if n_timesteps is not None:
            base["n_timesteps"] = n_timesteps
    else:
        if stored is not None and n_timesteps is None:
            n_timesteps = int(stored["base"]["n_timesteps"])
        args = TrainArgs(
            algo=algo.name,
            backend=algo.run_backend,
            env=request.env,
            log_folder=str(folder.trials),
            n_timesteps=n_timesteps or -1,
            hyperparams=list(request.hyperparams),
            env_kwargs=list(request.env_kwargs),
            conf_file=request.conf_file,
            preset=request.preset,
            gym_packages=list(request.gym_packages),
            device=request.device,
            seed=0,
        )
        prepared = prepare(args)
        notice = prepared.notice
        base = dict(prepared.spec.hyperparams)
        base["n_timesteps"] = prepared.spec.n_timesteps
    env_kwargs = list(request.env_kwargs)
    if stored is not None:
        differ = differences(stored["base"], base)
        if differ:
            raise UserError(
                f"Study {folder.path.name!r} was made with other base hyperparameters "
                f"({'; '.join(differ)}). Trials of one study must be comparable: drop -params, "
                "--conf-file and -n to continue it with its own, or choose another --study-name."
            )
        if not env_kwargs:
            env_kwargs = list(stored.get("env_kwargs") or [])
        elif parse_key_values(env_kwargs, option="--env-kwargs") != parse_key_values(
            stored.get("env_kwargs") or [], option="--env-kwargs"
        ):
            raise UserError(
                f"Study {folder.path.name!r} was made with --env-kwargs "
                f"{' '.join(stored.get('env_kwargs') or []) or '(none)'}, not "
                f"{' '.join(env_kwargs)}. Drop --env-kwargs to continue it, or choose another "
                "--study-name."
            )
    if stored is not None and not given:
        _check_base_runs(request, algo, folder, base, env_kwargs)
    return base, env_kwargs, notice


def _check_base_runs(
    request: TuneRequest,
    algo: AlgoSpec,
    folder: StudyFolder,
    base: dict[str, Any],
    env_kwargs: list[str],
) -> None:
    """The study's entry still makes a valid run here (env installed, classes importable)."""
    from rlzoo_real.config.spec import resolve_run_spec
    from rlzoo_real.envs.make import check_env_id, import_gym_packages, is_atari

    import_gym_packages(request.gym_packages)
    check_env_id(request.env)
    resolve_run_spec(
        algo,
        request.env,
        table={request.env: base},
        source=f"{folder.path.name} base entry",
        is_atari=is_atari(request.env),
    )


def differences(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    import json

    def norm(value: Any) -> Any:
        value = json.loads(json.dumps(value))
        if isinstance(value, float) and value.is_integer():
            return int(value)
        return value

    keys = sorted(set(old) | set(new))
    return [
        f"{k}: {old.get(k, '(unset)')!r} in the study, {new.get(k, '(unset)')!r} now"
        for k in keys
        if norm(old.get(k)) != norm(new.get(k))
    ]


def evaluation_settings(
    request: TuneRequest, stored: dict[str, Any] | None, n_timesteps: int
) -> dict[str, Any]:
    default_evaluations = max(2, min(20, n_timesteps // 10_000))
    values = {
        "n_evaluations": (request.n_evaluations, default_evaluations, "--n-evaluations"),
        "eval_episodes": (request.eval_episodes, 5, "--eval-episodes"),
        "n_eval_envs": (request.n_eval_envs, 1, "--n-eval-envs"),
        "n_seeds": (request.n_seeds, 1, "--n-seeds"),
        "objective": (request.objective, "last", "--objective"),
        "aggregate": (request.aggregate, "mean", "--aggregate"),
    }
    settings: dict[str, Any] = {}
    for key, (given, default, flag) in values.items():
        old = stored.get(key) if stored else None
        if stored is not None and old is None and key in ("n_seeds", "objective", "aggregate"):
            old = default  # a study made before these settings existed
        if given is not None and old is not None and given != old:
            raise UserError(
                f"The study was made with {flag} {old}, not {given}. Drop {flag} to continue it, "
                "or choose another --study-name."
            )
        settings[key] = given if given is not None else (old if old is not None else default)
    if settings["n_evaluations"] > n_timesteps:
        raise UserError(
            f"--n-evaluations {settings['n_evaluations']} is more than the {n_timesteps} steps "
            "of a trial."
        )
    return settings


def without_fixed(
    space: SearchSpace, words: list[str], base: dict[str, Any]
) -> tuple[SearchSpace, list[str]]:
    """Drop the parameters that ``-params`` fixes (and policy_kwargs keys it sets)."""
    from rlzoo_real.config.tables import parse_key_values

    fixed = parse_key_values(words, option="-params")
    policy_kwargs = fixed.get("policy_kwargs")
    fixed_policy = set(policy_kwargs) if isinstance(policy_kwargs, dict) else set()
    dropped = []
    for param in space.params:
        name = param.name
        key = name.partition(".")[2] if name.startswith("policy_kwargs.") else name
        in_policy = name in ("net_arch", "activation_fn") or name.startswith("policy_kwargs.")
        if (in_policy and key in fixed_policy) or (not in_policy and name in fixed):
            dropped.append(name)
    return space.without(set(dropped)), dropped


def dry_check(space: SearchSpace, algo: AlgoSpec, env: str, base: dict[str, Any]) -> None:
    """Resolve the space's corners against the base entry, so bad names fail before any trial."""
    from rlzoo_real.config.spec import resolve_run_spec
    from rlzoo_real.config.tables import parse_key_values
    from rlzoo_real.tuning.values import overrides, resolve_values

    for corner in (0, -1):
        values = {}
        for param in space.params:
            if param.kind in ("fixed", "categorical"):
                values[param.name] = param.choices[corner]
            else:
                values[param.name] = param.value_of(
                    _corner_value(param, param.low if corner == 0 else param.high)
                )
        words = overrides(resolve_values(algo, values, base))
        resolve_run_spec(
            algo,
            env,
            table={env: base},
            source="--search-space",
            overrides=parse_key_values(words, option="--search-space"),
        )


def _corner_value(param: Any, bound: Any) -> Any:
    import math

    if param.scale == "pow2":
        return int(math.log2(bound))
    if param.scale == "one_minus_log":
        return 1.0 - bound
    return bound
