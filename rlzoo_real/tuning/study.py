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
from rlzoo_real.errors import UserError
from rlzoo_real.tuning.checks import (
    FORMAT,
    base_entry,
    check_identity,
    check_options,
    differences,
    dry_check,
    evaluation_settings,
    stored_settings,
    without_fixed,
)
from rlzoo_real.tuning.folder import StudyFolder
from rlzoo_real.tuning.samplers import PRUNERS, SAMPLERS
from rlzoo_real.tuning.spaces import SearchSpace
from rlzoo_real.tuning.storage import StorageSpec

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
    # several seeds per trial, the objective, validation of the winners (issue 14)
    n_seeds: int | None = None  # None: the study's, else 1
    objective: str | None = None  # last, best, auc; None: the study's, else last
    aggregate: str | None = None  # mean, median, iqm over seeds; None: the study's, else mean
    validate_top: int = 0  # retrain the top N configurations after the search (0: no)
    validate_seeds: int = 5  # with M fresh seeds each
    validate_timesteps: int | None = None  # at this budget (None: the study's n_timesteps)


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
    validation: Any = None  # a ValidationResult when --validate-top ran


def prepare_tune(request: TuneRequest) -> TunePlan:
    """Check a request without writing anything (but repairing a journal file's torn last
    record, which it must do to read the study).

    Raises:
        UserError: unknown sampler or pruner, bad numbers, an invalid search space or
            storage URL, an unreachable server, or a study of that name made for another
            algorithm, env or setting.
    """
    from rlzoo_real.tuning.folder import study_folder
    from rlzoo_real.tuning.spaces import load_space
    from rlzoo_real.tuning.storage import default_study_name, parse_storage

    check_options(request)
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
    stored = stored_settings(storage, name)
    if stored is not None:
        check_identity(stored, algo.name, request.env, name, storage)
    base, env_kwargs, notice = base_entry(request, algo, folder, stored)
    if notice:
        notes.append(notice)
    settings = evaluation_settings(request, stored, int(base["n_timesteps"]))
    space = load_space(algo, request.search_space, base=stored["space"] if stored else None)
    space, dropped = without_fixed(space, request.hyperparams, base)
    if dropped:
        notes.append(f"not searched, fixed by -params: {', '.join(dropped)}")
    if not any(p.kind != "fixed" for p in space.params):
        raise UserError(
            f"The search space for {algo.name} has nothing left to search"
            f"{' (everything is fixed by -params)' if dropped else ''}; give ranges in "
            "--search-space or fix fewer hyperparameters."
        )
    dry_check(space, algo, request.env, base)
    if stored is not None and stored.get("space") != space.to_dict():
        notes.append(
            "the search space differs from the study's: this command samples from the new one "
            "(and records it); earlier trials stay as they are"
        )
    seed = stored.get("trial_seed") if stored else None
    if not isinstance(seed, int):
        seed = request.seed if request.seed is not None else int.from_bytes(os.urandom(3), "little")
    settings.update(
        format=FORMAT,
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
    if request.validate_top and n_trials == 0:  # validation only: check before writing anything
        from rlzoo_real.tuning.validation import check_validation

        if stored is None:
            raise UserError(
                f"--validate-top {request.validate_top}: there is no study {name!r} in "
                f"{storage.shown} to validate. Give the --study-name (and --storage) it was made "
                "with, and the same -f."
            )
        check_validation(storage, name, request.validate_top)
    return TunePlan(
        request, algo, name, folder, storage, stored is not None, settings, space, n_trials, notes
    )


def run_tune(
    plan: TunePlan,
    *,
    command: str = "",
    echo: Callable[[str], None] = print,
    pool: Callable[..., Any] | None = None,
) -> TuneResult:
    """Create or continue the study, run its trials, write the results.

    Args:
        plan: a checked request (:func:`prepare_tune`).
        command: the command line as typed, appended to ``command.txt``.
        echo: where progress lines go (one per finished trial).
        pool: runs the workers instead of :func:`~rlzoo_real.executors.pool.run_pool`
            (``--executor slurm``: :func:`~rlzoo_real.executors.slurm_tune.slurm_pool`).
    """
    import optuna

    from rlzoo_real.tuning.storage import close_storage, open_storage

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    storage = open_storage(plan.storage)
    try:
        return _run(plan, storage, command, echo, pool)
    finally:
        close_storage(storage)


def _run(
    plan: TunePlan,
    storage: Any,
    command: str,
    echo: Callable[[str], None],
    runner: Callable[..., Any] | None = None,
) -> TuneResult:
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
            if runner is not None:
                out = runner(config, request.n_workers, study=study, storage=storage, echo=echo)
                stop_reason, exit_code, problems = out.stop_reason, out.exit_code, out.problems
            elif request.n_workers == 1:
                outcome = run_worker(config, 0, echo=echo, in_process=True)
                stop_reason, exit_code = outcome.stop_reason, outcome.exit_code
            else:
                pool = run_pool(config, request.n_workers, study=study, storage=storage, echo=echo)
                stop_reason, exit_code, problems = pool.stop_reason, pool.exit_code, pool.problems
        finally:
            claims.unlink(missing_ok=True)
            if int(settings["n_seeds"]) > 1:
                from rlzoo_real.tuning.multiseed import close_board

                close_board(
                    study, folder.workers, session, settings["objective"], settings["aggregate"]
                )
    trials = study.get_trials(deepcopy=False)
    mine = [t for t in trials if t.user_attrs.get("session") == session]
    if mine and all(t.state.name == "FAIL" for t in mine) and stop_reason is None:
        problems.append(f"all {len(mine)} trials of this run failed")
    files, result_notes = write_results(
        study, folder, settings=settings, space=plan.space, plots=request.plots
    )
    notes.extend(result_notes)
    validation = None
    if request.validate_top and stop_reason is None:
        from rlzoo_real.tuning.validation import validate_study

        validation = validate_study(
            study,
            folder,
            study.user_attrs["realzoo"],
            top=request.validate_top,
            n_seeds=request.validate_seeds,
            n_timesteps=request.validate_timesteps,
            n_workers=request.n_workers,
            backend=plan.algo.run_backend,
            device=request.device,
            num_threads=request.num_threads,
            gym_packages=request.gym_packages,
            echo=echo,
        )
        problems.extend(validation.problems)
        more, _ = write_results(study, folder, settings=settings, space=plan.space, plots=False)
        files.extend(f for f in more if f not in files)
        files.extend(validation.files)
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
        validation=validation,
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
        stored = stored_settings(plan.storage, name)
        assert stored is not None
        check_identity(stored, plan.algo.name, plan.request.env, name, plan.storage)
        if differences(stored["base"], plan.settings["base"]):
            raise UserError(
                f"Study {name!r} was just created by another command with other settings."
            )
    study = optuna.load_study(study_name=name, storage=storage)
    stored = study.user_attrs.get("realzoo", {})
    update = {
        key: plan.settings[key]
        for key in ("space", "n_seeds", "objective", "aggregate")
        if stored.get(key) != plan.settings[key]
    }
    if update:  # a new space, or the seeds and objective of a study made before they existed
        study.set_user_attr("realzoo", {**stored, **update})
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
        "n_seeds": settings["n_seeds"],
        "objective": settings["objective"],
        "aggregate": settings["aggregate"],
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
