"""``realzoo benchmark``: a suite of (algorithm, env) pairs at N seeds, against the RL Zoo."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from rlzoo_real.cli import _slurm
from rlzoo_real.cli._common import user_errors
from rlzoo_real.cli._options import opt

if TYPE_CHECKING:
    from rlzoo_real.benchmark.runner import Plan
    from rlzoo_real.plotting.views import Bootstrap

__all__ = ["register"]

_BUDGET = "Budget (default: each pair's shipped n_timesteps)"
_REPORT = "Report"


def benchmark(
    ctx: typer.Context,
    suite: Annotated[
        str,
        typer.Argument(
            metavar="SUITE",
            help="A shipped suite (classic-control, box2d, mujoco) or the path of a suite file.",
        ),
    ],
    n_seeds: Annotated[
        int, typer.Option("--n-seeds", help="Seeds per pair: 0 .. N-1 (5 or more for real CIs).")
    ] = 5,
    log_folder: Annotated[str, opt("log_folder")] = "logs",
    output: Annotated[
        str | None,
        typer.Option(
            "--output",
            "-o",
            help="Folder of the report (<suite>.md, <suite>.csv, <suite>/ figures); default "
            "<log folder>/benchmarks.",
            rich_help_panel=_REPORT,
        ),
    ] = None,
    n_timesteps: Annotated[
        int | None,
        typer.Option(
            "--n-timesteps", "-n", help="Steps per run for every pair.", rich_help_panel=_BUDGET
        ),
    ] = None,
    budget_fraction: Annotated[
        float | None,
        typer.Option(
            "--budget-fraction",
            help="Fraction of each pair's shipped n_timesteps, e.g. 0.1 for a laptop (not "
            "comparable to the RL Zoo's full-budget scores; the report says so).",
            rich_help_panel=_BUDGET,
        ),
    ] = None,
    n_evals: Annotated[
        int, typer.Option("--n-evals", help="Evaluations per run, evenly spaced.")
    ] = 10,
    eval_episodes: Annotated[
        int, typer.Option("--eval-episodes", help="Deterministic episodes per evaluation.")
    ] = 10,
    n_workers: Annotated[
        int,
        typer.Option(
            "--n-workers",
            help="Training processes at once (local; on Slurm see --slurm-parallel).",
        ),
    ] = 1,
    device: Annotated[str, opt("device")] = "auto",
    num_threads: Annotated[int, opt("num_threads", help="Torch threads per run.")] = 1,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List the runs (and those to skip), train nothing.")
    ] = False,
    report_only: Annotated[
        bool,
        typer.Option(
            "--report-only",
            help="Write the report from the runs finished so far; train nothing.",
            rich_help_panel=_REPORT,
        ),
    ] = False,
    fmt: Annotated[
        str, typer.Option("--format", help="Figures: png, pdf or svg.", rich_help_panel=_REPORT)
    ] = "png",
    reps: Annotated[int, opt("reps", panel=_REPORT)] = 2000,
    ci: Annotated[
        float, typer.Option("--ci", help="Interval coverage.", rich_help_panel=_REPORT)
    ] = 0.95,
    boot_seed: Annotated[
        int,
        typer.Option(
            "--boot-seed", help="Seed of the bootstrap intervals.", rich_help_panel=_REPORT
        ),
    ] = 0,
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
    """Train a suite's pairs at N seeds with the shipped hyperparameters, then write a report:
    realzoo's mean and bootstrap CI over seeds against the RL Zoo's published scores, and
    rliable's aggregate figures.

    Running the same command again skips finished runs and trains only what is missing; a
    failed run makes the command exit non-zero after writing the report of the others.
    With --executor slurm the runs are one Slurm job array, as realzoo sweep submits it;
    the report is written once the jobs are done (with --no-wait: by the same command run
    again later).
    """
    from rlzoo_real.benchmark.runner import (
        Budget,
        PlanOutcome,
        check_executor,
        plan_benchmark,
        run_plan,
    )
    from rlzoo_real.benchmark.suites import load_suite
    from rlzoo_real.executors.sweep import finished_runs
    from rlzoo_real.plotting.views import Bootstrap, check_format

    boot = Bootstrap(reps=reps, ci=ci, seed=boot_seed)
    boot.check()
    check_format(fmt)
    check_executor(executor)
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
    plan = plan_benchmark(
        load_suite(suite),
        n_seeds=n_seeds,
        budget=Budget(n_timesteps=n_timesteps, fraction=budget_fraction),
        log_folder=Path(log_folder),
        n_evals=n_evals,
        eval_episodes=eval_episodes,
        device=device,
        num_threads=num_threads,
    )
    out = Path(output) if output is not None else Path(log_folder) / "benchmarks"
    if dry_run:
        done = finished_runs(plan.log_folder, plan.jobs)
        for planned in plan.pairs:
            ran = sum(job.match_key() in done for job in plan.jobs_of(planned))
            typer.echo(
                f"{planned.pair.name}: {len(plan.seeds)} seed(s) x {planned.steps} steps "
                f"(shipped {planned.shipped_steps}), evaluated every {planned.eval_freq} steps; "
                f"{ran} finished"
            )
        n_done = sum(job.match_key() in done for job in plan.jobs)
        typer.echo(f"{len(plan.jobs)} run(s), {n_done} finished; the report goes to {out}.")
        if slurm is not None:  # the batch script and each task's command, as sweep shows them
            from rlzoo_real.executors.slurm_sweep import slurm_sweep

            slurm_sweep(
                list(plan.jobs), log_folder=plan.log_folder, options=slurm, dry_run=True,
                on_event=typer.echo,
            )  # fmt: skip
        return
    command = _command_line(ctx)
    outcome = PlanOutcome(0)
    if not report_only:
        outcome = run_plan(
            plan, executor=executor, n_workers=n_workers, on_event=typer.echo, command=command,
            slurm=slurm,
        )  # fmt: skip
    if outcome.waiting:
        typer.echo(
            f"{outcome.waiting} of {len(plan.jobs)} run(s) are pending or running on Slurm "
            "(--no-wait), so no report yet. Once they are done, run the same command again: it "
            "writes the report from the finished runs and submits only what is missing "
            "(--report-only writes one from the runs finished so far)."
        )
    else:
        _report(
            plan, boot=boot, out=out, fmt=fmt, command=command, ci=ci, reps=reps, seed=boot_seed
        )
    if outcome.failures:
        lines = [f"{len(outcome.failures)} run(s) failed:", *outcome.failures]
        typer.echo("\n  ".join(lines), err=True)
    if outcome.exit_code:
        raise typer.Exit(outcome.exit_code)


def _report(
    plan: Plan, *, boot: Bootstrap, out: Path, fmt: str, command: str, ci: float, reps: int,
    seed: int,
) -> None:  # fmt: skip
    """Write the report from the runs finished so far, saying which runs it leaves out."""
    from rlzoo_real.benchmark.report import build_report
    from rlzoo_real.benchmark.report_text import write_report

    report = build_report(plan, boot=boot, output=out, fmt=fmt)
    files = write_report(report, command=command, output=out, ci=ci, reps=reps, seed=seed)
    typer.echo(f"Report: {files[0]} (table: {files[1]}; figures in {out / plan.suite.name})")
    missing = sum(r.n_planned - (r.row.n_runs if r.row else 0) for r in report.pairs)
    if missing:
        typer.echo(
            f"{missing} of {len(plan.jobs)} run(s) have no finished evaluations; the report "
            "leaves them out. Run the same command again to train them.",
            err=True,
        )


def _command_line(ctx: typer.Context) -> str:
    """The command in a canonical spelling: the suite and every option that differs from its
    default (recorded in the report, so that it can be run again)."""
    words = ["realzoo", "benchmark"]
    for param in ctx.command.params:
        value = ctx.params.get(param.name or "")
        if param.param_type_name == "argument":
            words.append(str(value))
        elif param.param_type_name == "option" and value != param.default:
            flag = max(param.opts, key=len)
            if getattr(param, "is_flag", False):
                words += [flag] if value else []
            else:
                words += [flag, str(value)]
    return shlex.join(words)


def register(app: typer.Typer) -> None:
    """Add ``benchmark`` to the ``realzoo`` app."""
    app.command("benchmark")(user_errors(benchmark))
