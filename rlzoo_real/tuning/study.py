"""``realzoo tune``: an Optuna study whose trials are short ``realzoo train`` runs.

:func:`prepare_tune` checks a request without writing anything (names, budget, search
space, storage URL, and an existing study's algorithm, env and settings); :func:`run_tune`
creates or continues the study, runs the trials in one process or in ``--n-workers``
worker processes (:mod:`~rlzoo_real.executors.pool`), and writes the results
(:mod:`~rlzoo_real.tuning.results`).

The study records what its trials are (user attribute ``realzoo``): algorithm, env, the
base hyperparameter entry (the algorithm's entry or ``--conf-file``, with ``-params`` and
``-n`` applied), env kwargs, evaluation settings and the search space. A command that
continues a study, on this machine or another, takes these from the study when it does
not give them, and is refused when it gives other ones, so every trial of a study is
comparable. Trials run with ``--conf-file <study>/base.yml`` (that entry) and the
sampled values as ``-params``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rlzoo_real.algos.registry import AlgoSpec, get_algo
from rlzoo_real.errors import UserError, suggest
from rlzoo_real.tuning.samplers import PRUNERS, SAMPLERS
from rlzoo_real.tuning.spaces import SearchSpace
from rlzoo_real.tuning.storage import StorageSpec, StudyFolder

__all__ = [
    "PRUNERS",
    "SAMPLERS",
    "TunePlan",
    "TuneRequest",
    "TuneResult",
    "prepare_tune",
    "run_tune",
]

#: --n-trials when neither it nor --max-total-trials is given (the RL Zoo's default)
DEFAULT_N_TRIALS = 500
_FORMAT = 1


@dataclass(frozen=True)
class TuneRequest:
    """Everything ``realzoo tune`` was asked to do (None: not given; the study's or a default)."""

    algo: str = ""
    env: str = ""
    backend: str = "sb3"
    log_folder: str = "logs"
    n_timesteps: int | None = None
    n_trials: int | None = None
    max_total_trials: int | None = None
    n_workers: int = 1
    sampler: str = "tpe"
    pruner: str = "median"
    n_startup_trials: int = 10
    n_evaluations: int | None = None
    eval_episodes: int | None = None
    n_eval_envs: int | None = None
    timeout: float | None = None
    study_name: str | None = None
    storage: str | None = None
    seed: int | None = None
    hyperparams: list[str] = field(default_factory=list)
    env_kwargs: list[str] = field(default_factory=list)
    conf_file: str | None = None
    preset: str | None = None  # hyperparams/<preset>/<algo>.yml, e.g. gsde
    search_space: str | None = None
    heartbeat: int = 60
    device: str = "auto"
    num_threads: int = 1
    gym_packages: list[str] = field(default_factory=list)
    plots: bool = True
    verbose: int = 1


@dataclass(frozen=True)
class TunePlan:
    """A checked request (see :func:`prepare_tune`); nothing has been written yet.

    Attributes:
        settings: what the study records about its trials (user attribute ``realzoo``).
        exists: whether the study is already in the storage.
        notes: things to tell the user before the study starts.
    """

    request: TuneRequest
    algo: AlgoSpec
    study_name: str
    folder: StudyFolder
    storage: StorageSpec
    exists: bool
    settings: dict[str, Any]
    space: SearchSpace
    n_trials: int | None
    notes: list[str] = field(default_factory=list)

    @property
    def n_timesteps(self) -> int:
        return int(self.settings["base"]["n_timesteps"])


@dataclass(frozen=True)
class TuneResult:
    """What a ``realzoo tune`` command did and left behind."""

    plan: TunePlan
    status: str  # finished, stopped
    exit_code: int
    stop_reason: str | None
    counts: dict[str, int]  # state -> trials of the whole study
    ran: int  # trials this command started
    best: Any  # the study's best FrozenTrial, or None
    files: list[Path]
    notes: list[str]
    problems: list[str]  # crashed workers, all trials failed, ...


def prepare_tune(request: TuneRequest) -> TunePlan:
    """Check a request without writing anything (but repairing a journal file's torn last
    record, which it must do to read the study).

    Raises:
        UserError: unknown sampler or pruner, bad numbers, an invalid search space or
            storage URL, an unreachable server, or a study of that name made for another
            algorithm, env or setting.
    """
    from rlzoo_real.tuning.spaces import load_space
    from rlzoo_real.tuning.storage import default_study_name, parse_storage, study_folder

    _check_options(request)
    algo = get_algo(request.algo, backend=request.backend)
    if not request.env:
        raise UserError("realzoo tune needs --algo and --env (e.g. --algo ppo --env CartPole-v1).")
    name = request.study_name or default_study_name(request.env)
    folder = study_folder(Path(request.log_folder), algo.folder, name)  # sac or sac_sbx
    storage = parse_storage(request.storage, default_journal=folder.journal)
    if request.n_workers > 1 and not storage.several_writers:
        raise UserError(
            f"--storage {storage.shown}: SQLite does not take several writers at once "
            f"('database is locked'), so it cannot serve --n-workers {request.n_workers}. Use "
            "the default journal file (no --storage), a .log path, or postgresql://."
        )
    notes: list[str] = []
    if storage.kind == "journal" and storage.path is not None:
        from rlzoo_real.tuning.journal import repair_journal

        note = repair_journal(storage.path)  # a torn last record: cut off before Optuna reads
        if note is not None:
            notes.append(note)
    stored = _stored_settings(storage, name)
    if stored is not None:
        _check_identity(stored, algo.name, request.env, name, storage)
    base, env_kwargs, notice = _base_entry(request, algo, folder, stored)
    if notice:
        notes.append(notice)
    settings = _evaluation_settings(request, stored, int(base["n_timesteps"]))
    space = load_space(algo, request.search_space, base=stored["space"] if stored else None)
    space, dropped = _without_fixed(space, request.hyperparams, base)
    if dropped:
        notes.append(f"not searched, fixed by -params: {', '.join(dropped)}")
    if not any(p.kind != "fixed" for p in space.params):
        raise UserError(
            f"The search space for {algo.name} has nothing left to search"
            f"{' (everything is fixed by -params)' if dropped else ''}; give ranges in "
            "--search-space or fix fewer hyperparameters."
        )
    _dry_check(space, algo, request.env, base)
    if stored is not None and stored.get("space") != space.to_dict():
        notes.append(
            "the search space differs from the study's: this command samples from the new one "
            "(and records it); earlier trials stay as they are"
        )
    seed = stored.get("trial_seed") if stored else None
    if not isinstance(seed, int):
        seed = request.seed if request.seed is not None else int.from_bytes(os.urandom(3), "little")
    settings.update(
        format=_FORMAT,
        algo=algo.name,
        env=request.env,
        base=base,
        env_kwargs=env_kwargs,
        space=space.to_dict(),
        trial_seed=seed,
    )
    n_trials = request.n_trials
    if n_trials is None and request.max_total_trials is None:
        n_trials = DEFAULT_N_TRIALS
    return TunePlan(
        request, algo, name, folder, storage, stored is not None, settings, space, n_trials, notes
    )


def _check_options(request: TuneRequest) -> None:
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
    ]
    for flag, value, least in checks:
        if value is not None and value < least:
            raise UserError(f"{flag} must be at least {least}, got {value}.")
    if request.timeout is not None and request.timeout <= 0:
        raise UserError(f"--timeout must be a positive number of seconds, got {request.timeout}.")
    if request.n_timesteps is not None and request.n_timesteps == 0:
        raise UserError("-n/--n-timesteps must be positive (or -1 for the entry's budget).")
    log_folder = Path(request.log_folder)
    if log_folder.exists() and not log_folder.is_dir():
        raise UserError(f"--log-folder {request.log_folder!r} exists and is not a folder.")


def _stored_settings(storage: StorageSpec, name: str) -> dict[str, Any] | None:
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


def _check_identity(
    stored: dict[str, Any], algo: str, env: str, name: str, storage: StorageSpec
) -> None:
    if stored.get("algo") != algo or stored.get("env") != env:
        raise UserError(
            f"Study {name!r} in {storage.shown} tunes {stored.get('algo')} on {stored.get('env')}, "
            f"not {algo} on {env}. Choose another --study-name (or --storage) for a new study; "
            "the existing one is left as it is."
        )
    if stored.get("format") != _FORMAT:
        raise UserError(
            f"Study {name!r} in {storage.shown} was made by another version of realzoo tune "
            f"(format {stored.get('format')}). Choose another --study-name."
        )


def _base_entry(
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
        differ = _differences(stored["base"], base)
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


def _differences(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
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


def _evaluation_settings(
    request: TuneRequest, stored: dict[str, Any] | None, n_timesteps: int
) -> dict[str, Any]:
    default_evaluations = max(2, min(20, n_timesteps // 10_000))
    values = {
        "n_evaluations": (request.n_evaluations, default_evaluations, "--n-evaluations"),
        "eval_episodes": (request.eval_episodes, 5, "--eval-episodes"),
        "n_eval_envs": (request.n_eval_envs, 1, "--n-eval-envs"),
    }
    settings: dict[str, Any] = {}
    for key, (given, default, flag) in values.items():
        old = stored.get(key) if stored else None
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


def _without_fixed(
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


def _dry_check(space: SearchSpace, algo: AlgoSpec, env: str, base: dict[str, Any]) -> None:
    """Resolve the space's corners against the base entry, so bad names fail before any trial."""
    from rlzoo_real.config.spec import resolve_run_spec
    from rlzoo_real.config.tables import parse_key_values
    from rlzoo_real.tuning.spaces import overrides, resolve_values

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


def run_tune(
    plan: TunePlan, *, command: str = "", echo: Callable[[str], None] = print
) -> TuneResult:
    """Create or continue the study, run its trials, write the results.

    Args:
        plan: a checked request (:func:`prepare_tune`).
        command: the command line as typed, appended to ``command.txt``.
        echo: where progress lines go (one per finished trial).
    """
    import optuna

    from rlzoo_real.tuning.storage import close_storage, open_storage

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    storage = open_storage(plan.storage)
    try:
        return _run(plan, storage, command, echo)
    finally:
        close_storage(storage)


def _run(plan: TunePlan, storage: Any, command: str, echo: Callable[[str], None]) -> TuneResult:
    from rlzoo_real.executors.pool import run_pool
    from rlzoo_real.runs.folder import write_text_atomic, write_yaml_atomic
    from rlzoo_real.tuning.results import count_states, find_best, write_results
    from rlzoo_real.tuning.storage import fail_dead_trials, mask_password
    from rlzoo_real.tuning.worker import run_worker

    request, folder, settings = plan.request, plan.folder, plan.settings
    study = _create_or_load(plan, storage)
    folder.trials.mkdir(parents=True, exist_ok=True)
    write_yaml_atomic(folder.base_file, {request.env: settings["base"]})
    notes = list(plan.notes)
    write_yaml_atomic(folder.request_file, _request_record(plan))
    old = folder.command_file.read_text() if folder.command_file.is_file() else ""
    typed = mask_password(command or "realzoo tune")
    write_text_atomic(folder.command_file, old + typed + "\n")
    recovered = fail_dead_trials(study, storage)
    if recovered:
        notes.append(
            "trials left running by a worker that is gone were marked failed: "
            + ", ".join(map(str, recovered))
        )
    session = f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
    config = _worker_config(plan, session)
    config["trial_seed"] = study.user_attrs["realzoo"].get("trial_seed", config["trial_seed"])
    problems: list[str] = []
    stop_reason, exit_code = None, 0
    claims = Path(config["claims"])
    if plan.n_trials != 0:
        folder.workers.mkdir(parents=True, exist_ok=True)
        claims.touch()
        try:
            if request.n_workers == 1:
                outcome = run_worker(config, 0, echo=echo, in_process=True)
                stop_reason, exit_code = outcome.stop_reason, outcome.exit_code
            else:
                pool = run_pool(config, request.n_workers, study=study, storage=storage, echo=echo)
                stop_reason, exit_code, problems = pool.stop_reason, pool.exit_code, pool.problems
        finally:
            claims.unlink(missing_ok=True)
    trials = study.get_trials(deepcopy=False)
    mine = [t for t in trials if t.user_attrs.get("session") == session]
    if mine and all(t.state.name == "FAIL" for t in mine) and stop_reason is None:
        problems.append(f"all {len(mine)} trials of this run failed")
    files, result_notes = write_results(
        study, folder, settings=settings, space=plan.space, plots=request.plots
    )
    notes.extend(result_notes)
    if problems and exit_code == 0:
        exit_code = 1
    return TuneResult(
        plan=plan,
        status="stopped" if stop_reason else "finished",
        exit_code=exit_code,
        stop_reason=stop_reason,
        counts=count_states(trials),
        ran=len(mine),
        best=find_best(trials),
        files=files,
        notes=notes,
        problems=problems,
    )


def _create_or_load(plan: TunePlan, storage: Any) -> Any:
    import optuna

    name = plan.study_name
    if not plan.exists:
        try:
            study = optuna.create_study(storage=storage, study_name=name, direction="maximize")
        except optuna.exceptions.DuplicatedStudyError:
            pass  # another command created it a moment ago: check it as an existing study
        else:
            study.set_user_attr("realzoo", plan.settings)
            return study
        stored = _stored_settings(plan.storage, name)
        assert stored is not None
        _check_identity(stored, plan.algo.name, plan.request.env, name, plan.storage)
        if _differences(stored["base"], plan.settings["base"]):
            raise UserError(
                f"Study {name!r} was just created by another command with other settings."
            )
    study = optuna.load_study(study_name=name, storage=storage)
    stored = study.user_attrs.get("realzoo", {})
    if stored.get("space") != plan.settings["space"]:
        study.set_user_attr("realzoo", {**stored, "space": plan.settings["space"]})
    return study


def _request_record(plan: TunePlan) -> dict[str, Any]:
    import dataclasses

    from rlzoo_real.runs.manifest import now_iso

    request = dataclasses.asdict(plan.request)
    request["storage"] = plan.storage.shown
    return {
        "study_name": plan.study_name,
        "storage": plan.storage.shown,
        "algo": plan.algo.name,
        "env": plan.request.env,
        "n_timesteps": plan.n_timesteps,
        "updated": now_iso(),
        "request": request,
        "settings": plan.settings,
    }


def _worker_config(plan: TunePlan, session: str) -> dict[str, Any]:
    request, settings = plan.request, plan.settings
    deadline = time.time() + request.timeout if request.timeout else None
    return {
        "session": session,
        "study_name": plan.study_name,
        "storage": [plan.storage.kind, plan.storage.url, plan.storage.shown],
        "algo": plan.algo.name,
        "backend": plan.algo.run_backend,
        "env": request.env,
        "conf_file": str(plan.folder.base_file.absolute()),
        "trials_dir": str(plan.folder.trials.absolute()),
        "claims": str((plan.folder.workers / f"{session}.claims").absolute()),
        "workers_dir": str(plan.folder.workers.absolute()),
        "n_timesteps": plan.n_timesteps,
        "n_evaluations": settings["n_evaluations"],
        "eval_episodes": settings["eval_episodes"],
        "n_eval_envs": settings["n_eval_envs"],
        "env_kwargs": settings["env_kwargs"],
        "base": settings["base"],
        "space": settings["space"],
        "trial_seed": settings["trial_seed"],
        "sampler": request.sampler,
        "pruner": request.pruner,
        "n_startup_trials": request.n_startup_trials,
        "seed": request.seed,
        "n_trials": plan.n_trials,
        "max_total_trials": request.max_total_trials,
        "deadline": deadline,
        "heartbeat": request.heartbeat,
        "gym_packages": request.gym_packages,
        "device": request.device,
        "num_threads": request.num_threads,
        "verbose": request.verbose,
    }
