"""``realzoo tune``: the RL Zoo's ``-optimize``, as a command of its own."""

from __future__ import annotations

import shlex
import sys
from typing import TYPE_CHECKING, Annotated

import typer

from rlzoo_real.cli import _slurm
from rlzoo_real.cli._common import user_errors
from rlzoo_real.cli._options import opt

if TYPE_CHECKING:
    from rlzoo_real.executors.slurm import SlurmOptions
    from rlzoo_real.tuning.study import TunePlan, TuneRequest, TuneResult

__all__ = ["register", "run_study"]

_SEARCH = "Search"
_TRIAL = "Trials (each is a short realzoo train run)"
_STUDY = "Study and workers"
_WINNERS = "Seeds, objective and validation of the winners"


def tune(
    algo: Annotated[str, opt("algo")] = "",
    env: Annotated[str, opt("env")] = "",
    backend: Annotated[str, opt("backend")] = "sb3",
    n_trials: Annotated[
        int | None,
        typer.Option(
            "--n-trials",
            help="Trials this command runs, over all its workers (default 500, or unlimited "
            "with --max-total-trials; 0: only write the results).",
            rich_help_panel=_SEARCH,
        ),
    ] = None,
    max_total_trials: Annotated[
        int | None,
        typer.Option(
            "--max-total-trials",
            help="Stop when the study holds this many complete, pruned or running trials "
            "(all commands, all machines).",
            rich_help_panel=_SEARCH,
        ),
    ] = None,
    timeout: Annotated[
        float | None,
        typer.Option(
            "--timeout",
            metavar="SECONDS",
            help="Start no new trial after this long.",
            rich_help_panel=_SEARCH,
        ),
    ] = None,
    sampler: Annotated[
        str,
        typer.Option("--sampler", help="tpe, random, cmaes or gp.", rich_help_panel=_SEARCH),
    ] = "tpe",
    pruner: Annotated[
        str,
        typer.Option(
            "--pruner", help="median, halving, hyperband or none.", rich_help_panel=_SEARCH
        ),
    ] = "median",
    n_startup_trials: Annotated[
        int,
        typer.Option(
            "--n-startup-trials",
            help="Random trials before the sampler (and the median pruner) starts deciding.",
            rich_help_panel=_SEARCH,
        ),
    ] = 10,
    search_space: Annotated[
        str | None,
        typer.Option(
            "--search-space",
            metavar="FILE.yml",
            help="Narrow or extend the algorithm's search space (see --print-space).",
            rich_help_panel=_SEARCH,
        ),
    ] = None,
    print_space: Annotated[
        bool,
        typer.Option(
            "--print-space",
            help="Print the search space as YAML (a starting point for --search-space) and exit.",
            rich_help_panel=_SEARCH,
        ),
    ] = False,
    seed: Annotated[
        int | None,
        typer.Option(
            "--seed",
            help="Seed of the sampler (worker i uses seed + i) and of the trials (seed + trial "
            "number).",
            rich_help_panel=_SEARCH,
        ),
    ] = None,
    n_seeds: Annotated[
        int | None,
        typer.Option(
            "--n-seeds",
            help="Seeds per trial (default 1, the RL Zoo's way; 3 recommended): each seed is a "
            "run, the trial's value their aggregate; the pruner sees the aggregate.",
            rich_help_panel=_WINNERS,
        ),
    ] = None,
    objective: Annotated[
        str | None,
        typer.Option(
            "--objective",
            help="A run's value: last (evaluation, default), best, or auc (mean over all "
            "evaluations). Fixed for a study.",
            rich_help_panel=_WINNERS,
        ),
    ] = None,
    aggregate: Annotated[
        str | None,
        typer.Option(
            "--aggregate",
            help="Over the seeds of a trial: mean (default), median or iqm. Fixed for a study.",
            rich_help_panel=_WINNERS,
        ),
    ] = None,
    validate_top: Annotated[
        int,
        typer.Option(
            "--validate-top",
            metavar="N",
            help="After the search (or alone, with --n-trials 0), retrain the N best "
            "configurations with fresh seeds; best.yml becomes the validated winner.",
            rich_help_panel=_WINNERS,
        ),
    ] = 0,
    validate_seeds: Annotated[
        int,
        typer.Option(
            "--validate-seeds",
            metavar="M",
            help="Fresh seeds per validated configuration (the same for all).",
            rich_help_panel=_WINNERS,
        ),
    ] = 5,
    validate_timesteps: Annotated[
        int | None,
        typer.Option(
            "--validate-timesteps",
            metavar="STEPS",
            help="Steps per validation run (default: the study's steps per trial).",
            rich_help_panel=_WINNERS,
        ),
    ] = None,
    n_timesteps: Annotated[
        int | None,
        typer.Option(
            "--n-timesteps",
            "-n",
            help="Steps per trial (default: the study's, else the entry's n_timesteps).",
            rich_help_panel=_TRIAL,
        ),
    ] = None,
    n_evaluations: Annotated[
        int | None,
        typer.Option(
            "--n-evaluations",
            help="Evaluations per trial, reported to the pruner (default: n_timesteps / 10000, "
            "between 2 and 20).",
            rich_help_panel=_TRIAL,
        ),
    ] = None,
    eval_episodes: Annotated[
        int | None, opt("eval_episodes", help="Episodes per evaluation (default 5).", panel=_TRIAL)
    ] = None,
    n_eval_envs: Annotated[
        int | None, opt("n_eval_envs", help="Envs used for evaluation (default 1).", panel=_TRIAL)
    ] = None,
    hyperparams: Annotated[
        list[str] | None,
        opt(
            "hyperparams",
            help="Fixed hyperparameters (not searched), e.g. -params n_envs:4.",
            panel=_TRIAL,
        ),
    ] = None,
    conf_file: Annotated[
        str | None,
        opt(
            "conf_file",
            help="Hyperparameter file the trials start from, instead of hyperparams/<algo>.yml.",
            panel=_TRIAL,
        ),
    ] = None,
    preset: Annotated[
        str | None,
        opt(
            "preset",
            help="Trials start from hyperparams/<preset>/<algo>.yml (e.g. gsde).",
            panel=_TRIAL,
        ),
    ] = None,
    env_kwargs: Annotated[list[str] | None, opt("env_kwargs", panel=_TRIAL)] = None,
    gym_packages: Annotated[list[str] | None, opt("gym_packages", panel=_TRIAL)] = None,
    device: Annotated[str, opt("device", panel=_TRIAL)] = "auto",
    num_threads: Annotated[
        int, opt("num_threads", help="Torch threads per worker process.", panel=_TRIAL)
    ] = 1,
    study_name: Annotated[
        str | None,
        typer.Option(
            "--study-name",
            help="Name of the study (default tune_<env>); reuse it to continue or to join.",
            rich_help_panel=_STUDY,
        ),
    ] = None,
    storage: Annotated[
        str | None,
        typer.Option(
            "--storage",
            help="Journal file path (default <log-folder>/<algo>/<study>/study.log), "
            "sqlite:///file.db, postgresql://user:pw@host/db, mysql+pymysql://..., redis://...",
            rich_help_panel=_STUDY,
        ),
    ] = None,
    n_workers: Annotated[
        int,
        typer.Option(
            "--n-workers",
            "--n-jobs",
            help="Worker processes on this machine (one torch thread each).",
            rich_help_panel=_STUDY,
        ),
    ] = 1,
    heartbeat: Annotated[
        int,
        typer.Option(
            "--heartbeat",
            metavar="SECONDS",
            help="On a database storage, a trial silent for twice this long is marked failed.",
            rich_help_panel=_STUDY,
        ),
    ] = 60,
    log_folder: Annotated[str, opt("log_folder", panel=_STUDY)] = "logs",
    plots: Annotated[
        bool,
        typer.Option(
            "--plots/--no-plots",
            " /--no-optim-plots",
            help="Save plots of the study as PNG files.",
            rich_help_panel=_STUDY,
        ),
    ] = True,
    verbose: Annotated[
        int,
        typer.Option(
            "--verbose", help="0: only the start and the summary, 1: also a line per trial."
        ),
    ] = 1,
    executor: _slurm.Executor = "local",
    slurm_partition: _slurm.Partition = None,
    slurm_time: _slurm.Time = "1:00:00",
    slurm_stop_before: _slurm.StopBefore = 300,
    slurm_cpus: _slurm.Cpus = 1,
    slurm_mem: _slurm.Mem = None,
    slurm_gpus: _slurm.Gpus = None,
    slurm_parallel: _slurm.Parallel = None,
    slurm_account: _slurm.Account = None,
    slurm_qos: _slurm.Qos = None,
    slurm_sbatch_arg: _slurm.SbatchArgs = None,
    slurm_template: _slurm.Template = None,
    wait: _slurm.Wait = True,
) -> None:
    """Search hyperparameters with Optuna; each trial is a short realzoo train run."""
    from rlzoo_real.tuning.study import TuneRequest

    if print_space:
        _print_space(algo, search_space, backend)
        return
    request = TuneRequest(
        algo=algo,
        backend=backend,
        env=env,
        log_folder=log_folder,
        n_timesteps=n_timesteps,
        n_trials=n_trials,
        max_total_trials=max_total_trials,
        n_workers=n_workers,
        sampler=sampler,
        pruner=pruner,
        n_startup_trials=n_startup_trials,
        n_evaluations=n_evaluations,
        eval_episodes=eval_episodes,
        n_eval_envs=n_eval_envs,
        timeout=timeout,
        study_name=study_name,
        storage=storage,
        seed=seed,
        n_seeds=n_seeds,
        objective=objective,
        aggregate=aggregate,
        validate_top=validate_top,
        validate_seeds=validate_seeds,
        validate_timesteps=validate_timesteps,
        hyperparams=list(hyperparams or []),
        env_kwargs=list(env_kwargs or []),
        conf_file=conf_file,
        preset=preset,
        search_space=search_space,
        heartbeat=heartbeat,
        device=device,
        num_threads=num_threads,
        gym_packages=list(gym_packages or []),
        plots=plots,
        verbose=verbose,
    )
    slurm = _slurm.slurm_options(
        executor,
        partition=slurm_partition,
        time=slurm_time,
        stop_before=slurm_stop_before,
        cpus=slurm_cpus,
        mem=slurm_mem,
        gpus=slurm_gpus,
        parallel=slurm_parallel,
        account=slurm_account,
        qos=slurm_qos,
        sbatch_args=slurm_sbatch_arg,
        template=slurm_template,
        wait=wait,
    )
    run_study(request, slurm=slurm)


def run_study(request: TuneRequest, *, slurm: SlurmOptions | None = None) -> None:
    """Check, announce, run and report a study: ``realzoo tune`` and ``realzoo train -optimize``."""
    from rlzoo_real.errors import UserError
    from rlzoo_real.tuning.study import prepare_tune, run_tune

    if request.sampler == "auto":
        raise UserError(
            "--sampler auto (the RL Zoo's AutoSampler) is not offered: it comes from optunahub, "
            "which downloads the sampler's code from the internet when the study starts. Use "
            "tpe (the default), random, gp or cmaes."
        )
    pool = None
    if slurm is not None:  # workers as Slurm jobs: check before the study is touched
        from rlzoo_real.executors.slurm import check_options
        from rlzoo_real.executors.slurm_tune import check_storage, slurm_pool

        check_options(slurm)
        pool = slurm_pool(slurm)
    plan = prepare_tune(request)
    if slurm is not None:
        check_storage(plan.storage.kind, plan.storage.shown)
    for note in plan.notes:
        typer.echo(f"Note: {note}", err=True)
    _announce(plan)
    command = shlex.join(["realzoo", *sys.argv[1:]]) if sys.argv else "realzoo tune"
    echo = typer.echo if request.verbose > 0 else (lambda line: None)
    result = run_tune(plan, command=command, echo=echo, pool=pool)
    _report(result)
    if result.exit_code:
        raise typer.Exit(result.exit_code)


def _print_space(algo: str, search_space: str | None, backend: str = "sb3") -> None:
    from rlzoo_real.algos.registry import get_algo
    from rlzoo_real.errors import UserError
    from rlzoo_real.tuning.spaces import load_space, space_to_yaml

    if not algo:
        raise UserError("--print-space needs --algo (e.g. realzoo tune --algo ppo --print-space).")
    typer.echo(space_to_yaml(load_space(get_algo(algo, backend=backend), search_space)), nl=False)


def _announce(plan: TunePlan) -> None:
    request, settings = plan.request, plan.settings
    verb = "Continuing" if plan.exists else "Starting"
    searched = [p.name for p in plan.space.params if p.kind != "fixed"]
    budget = []
    if plan.n_trials is not None:
        budget.append(f"{plan.n_trials} trials")
    if request.max_total_trials is not None:
        budget.append(f"up to {request.max_total_trials} in the study")
    if request.timeout is not None:
        budget.append(f"for {request.timeout:g} s")
    workers = f"{request.n_workers} worker processes" if request.n_workers > 1 else "1 worker"
    typer.echo(
        f"{verb} study {plan.study_name}: {plan.algo.name} on {request.env}, {plan.n_timesteps} "
        f"steps and {settings['n_evaluations']} evaluations per trial; {', '.join(budget)}; "
        f"{workers}; sampler {request.sampler}, pruner {request.pruner}.\n"
        f"Objective: {_objective_text(settings)}.\n"
        f"Storage: {plan.storage.shown}\nSearching: {', '.join(searched)}"
    )


def _objective_text(settings: dict[str, object]) -> str:
    from rlzoo_real.tuning.objectives import describe_objective

    n_seeds = int(str(settings["n_seeds"]))
    text = describe_objective(str(settings["objective"]), str(settings["aggregate"]), n_seeds)
    return text + ("" if n_seeds > 1 else ", 1 seed per trial")


def _report(result: TuneResult) -> None:
    plan, counts = result.plan, result.counts
    total = sum(counts.values())
    states = ", ".join(
        f"{n} {state.lower()}" for state, n in counts.items() if n or state in ("COMPLETE", "FAIL")
    )
    typer.echo(f"Ran {result.ran} trials; the study has {total}: {states}.")
    best = result.best
    folder = plan.folder
    if best is not None:
        typer.echo(f"Best trial {best.number}: {best.value:.2f}")
        for word in best.user_attrs.get("hyperparams") or []:
            key, _, value = word.partition(":")
            typer.echo(f"  {key}: {value}")
        typer.echo(
            f"Best hyperparameters: {folder.best_file}\n  realzoo train --algo {plan.algo.name} "
            f"--env {plan.request.env} --backend {plan.algo.run_backend} "
            f"--conf-file {folder.best_file}"
        )
    plots = [p for p in result.files if p.suffix == ".png"]
    typer.echo(
        f"All trials: {folder.trials_csv}"
        + (f"; plots: {folder.plots} ({len(plots)})" if plots else "")
    )
    typer.echo(f"Dashboard: optuna-dashboard {plan.storage.dashboard_argument}")
    _report_validation(result)
    for note in result.notes:
        typer.echo(f"Note: {note}", err=True)
    if result.status == "stopped":
        typer.echo(
            f"Stopped ({result.stop_reason}): finished trials are kept. The same command "
            "continues the study.",
            err=True,
        )
    for problem in result.problems:
        typer.echo(f"Problem: {problem}", err=True)


def _report_validation(result: TuneResult) -> None:
    validation = result.validation
    if validation is None:
        return
    typer.echo(validation.summary)
    folder = result.plan.folder.path
    typer.echo(f"Validation table: {folder / 'validation.md'} (and .csv); figure: "
               f"{result.plan.folder.plots / 'validation.png'}")  # fmt: skip


def register(app: typer.Typer) -> None:
    """Add ``tune`` to the ``realzoo`` app."""
    app.command("tune")(user_errors(tune))
