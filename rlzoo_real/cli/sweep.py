"""``realzoo sweep``: algorithms x envs x settings x seeds, in parallel processes."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Annotated

import typer

from rlzoo_real.cli import _slurm
from rlzoo_real.cli._common import user_errors
from rlzoo_real.cli._options import opt

__all__ = ["register"]

_TRAIN = "Training options (passed to every job)"


def sweep(
    algos: Annotated[
        list[str], typer.Option("--algos", metavar="ALGO ...", help="Algorithms, e.g. sac tqc.")
    ],
    envs: Annotated[
        list[str], typer.Option("--envs", metavar="ENV ...", help="Env ids, e.g. Pendulum-v1.")
    ],
    seeds: Annotated[
        list[str] | None,
        typer.Option("--seeds", metavar="SEED ...", help="Seeds and ranges: 0-4, or 0 1 2."),
    ] = None,
    n_workers: Annotated[int, opt("n_workers")] = 1,
    log_folder: Annotated[str, opt("log_folder")] = "logs",
    hyperparams: Annotated[
        list[str] | None,
        opt(
            "hyperparams",
            help="Overrides; repeat a key for a grid: -params learning_rate:1e-3 "
            "learning_rate:3e-4 n_steps:256 gives two settings.",
        ),
    ] = None,
    env_kwargs: Annotated[
        list[str] | None,
        opt("env_kwargs", help="Env keyword arguments; a repeated key is a grid, as for -params."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List the jobs (and those to skip), run nothing.")
    ] = False,
    n_timesteps: Annotated[
        int,
        typer.Option(
            "--n-timesteps", "-n", help="Steps per job (-1: the entry's).", rich_help_panel=_TRAIN
        ),
    ] = -1,
    conf_file: Annotated[str | None, opt("conf_file", panel=_TRAIN)] = None,
    eval_freq: Annotated[
        int, typer.Option("--eval-freq", help="Evaluate every N steps.", rich_help_panel=_TRAIN)
    ] = 25000,
    eval_episodes: Annotated[int, opt("eval_episodes", panel=_TRAIN)] = 5,
    n_eval_envs: Annotated[int, opt("n_eval_envs", panel=_TRAIN)] = 1,
    eval_env_kwargs: Annotated[list[str] | None, opt("eval_env_kwargs", panel=_TRAIN)] = None,
    save_freq: Annotated[
        int,
        typer.Option(
            "--save-freq",
            help="Checkpoint every N steps (0: about ten per run, so a stopped job resumes; "
            "-1: none).",
            rich_help_panel=_TRAIN,
        ),
    ] = 0,
    vec_env: Annotated[str, opt("vec_env", panel=_TRAIN)] = "dummy",
    device: Annotated[str, opt("device", panel=_TRAIN)] = "auto",
    num_threads: Annotated[
        int, opt("num_threads", help="Torch threads per job.", panel=_TRAIN)
    ] = 1,
    gym_packages: Annotated[list[str] | None, opt("gym_packages", panel=_TRAIN)] = None,
    verbose: Annotated[
        int, typer.Option("--verbose", help="Verbosity of each job's log.", rich_help_panel=_TRAIN)
    ] = 1,
    backend: Annotated[
        str,
        opt(
            "backend",
            help="sb3 (PyTorch) or sbx (JAX, the sbx extra) for every job; 'sac_sbx' in "
            "--algos picks sbx for one algorithm.",
            panel=_TRAIN,
        ),
    ] = "sb3",
    preset: Annotated[str | None, opt("preset", panel=_TRAIN)] = None,
    updates_between_episodes: Annotated[
        bool, opt("updates_between_episodes", panel=_TRAIN)
    ] = False,
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
    """Train every combination of algorithms, envs, settings and seeds; skip finished jobs.

    A grid over hyperparameters or env kwargs: repeat a key, e.g. -params learning_rate:1e-3
    learning_rate:3e-4. Each job is an ordinary run folder in the log tree; a failed job makes
    the sweep exit with status 1 and names its log.
    """
    from rlzoo_real.executors.sweep import (
        check_jobs,
        finished_runs,
        make_jobs,
        parse_seeds,
        run_sweep,
    )
    from rlzoo_real.train.request import TrainArgs

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
    template = TrainArgs(
        algo=algos[0],
        env=envs[0],
        log_folder=log_folder,
        n_timesteps=n_timesteps,
        eval_freq=eval_freq,
        eval_episodes=eval_episodes,
        n_eval_envs=n_eval_envs,
        save_freq=save_freq,
        conf_file=conf_file,
        vec_env=vec_env,
        device=device,
        num_threads=num_threads,
        eval_env_kwargs=list(eval_env_kwargs or []),
        gym_packages=list(gym_packages or []),
        verbose=verbose,
        backend=backend,
        preset=preset,
        updates_between_episodes=updates_between_episodes,
    )
    jobs = make_jobs(
        algos=algos,
        envs=envs,
        seeds=parse_seeds(seeds or ["0"]),
        hyperparams=list(hyperparams or []),
        env_kwargs=list(env_kwargs or []),
        template=template,
    )
    if slurm is not None:
        from rlzoo_real.executors.slurm_sweep import run_slurm_sweep

        raise typer.Exit(run_slurm_sweep(jobs, Path(log_folder), slurm, dry_run=dry_run))
    done = finished_runs(Path(log_folder), jobs)
    stopped = finished_runs(Path(log_folder), jobs, status="stopped")
    if dry_run:
        busy = finished_runs(Path(log_folder), jobs, status="running")
        for job in jobs:
            key = job.match_key()
            if key in done:
                typer.echo(f"skip    {job.name}  ({done[key].path})")
            elif key in busy:
                typer.echo(f"running {job.name}  ({busy[key].path}, locked by its process)")
            elif key in stopped:
                typer.echo(f"resume  {job.name}  ({stopped[key].path})")
            else:
                typer.echo(f"run     {job.name}")
        n_done = sum(1 for job in jobs if job.match_key() in done)
        typer.echo(f"{len(jobs)} job(s), {n_done} finished.")
        return
    check_jobs(
        [job for job in jobs if job.match_key() not in done and job.match_key() not in stopped]
    )
    command = shlex.join(["realzoo", *sys.argv[1:]]) if sys.argv else "realzoo sweep"
    result = run_sweep(
        jobs, log_folder=Path(log_folder), n_workers=n_workers, on_event=typer.echo, command=command
    )
    failed = result.by_status("failed")
    counts = [
        f"{len(result.by_status(status))} {status}"
        for status in ("finished", "skipped", "failed", "stopped", "running", "not started")
        if status in ("finished", "skipped", "failed") or result.by_status(status)
    ]
    typer.echo(f"Sweep done: {', '.join(counts)}. Summary: {result.summary_file}")
    if failed:
        lines = [f"{len(failed)} of {len(jobs)} sweep job(s) failed:"]
        for outcome in failed:
            why = f": {outcome.last_lines[-1]}" if outcome.last_lines else ""
            lines.append(f"  {outcome.job.name} (exit {outcome.exit_code}), log {outcome.log}{why}")
        typer.echo("\n".join(lines), err=True)
    if result.by_status("stopped") or result.by_status("not started"):
        typer.echo("Run the same sweep again to resume the stopped jobs and start the rest.")
    if result.exit_code:
        raise typer.Exit(result.exit_code)


def register(app: typer.Typer) -> None:
    """Add ``sweep`` to the ``realzoo`` app."""
    app.command("sweep")(user_errors(sweep))
