"""``realzoo benchmark``: a suite of (algorithm, env) pairs at N seeds, against the RL Zoo."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Annotated

import typer

from rlzoo_real.cli._common import user_errors
from rlzoo_real.cli._options import opt

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
    n_workers: Annotated[int, opt("n_workers")] = 1,
    executor: Annotated[
        str, typer.Option("--executor", help="Where the runs go: local (processes here).")
    ] = "local",
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
) -> None:
    """Train a suite's pairs at N seeds with the shipped hyperparameters, then write a report:
    realzoo's mean and bootstrap CI over seeds against the RL Zoo's published scores, and
    rliable's aggregate figures.

    Running the same command again skips finished runs and trains only what is missing; a
    failed run makes the command exit non-zero after writing the report of the others.
    """
    from rlzoo_real.benchmark.report import build_report
    from rlzoo_real.benchmark.report_text import write_report
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
        return
    command = _command_line(ctx)
    outcome = PlanOutcome(0)
    if not report_only:
        outcome = run_plan(
            plan, executor=executor, n_workers=n_workers, on_event=typer.echo, command=command
        )
    report = build_report(plan, boot=boot, output=out, fmt=fmt)
    files = write_report(report, command=command, output=out, ci=ci, reps=reps, seed=boot_seed)
    typer.echo(f"Report: {files[0]} (table: {files[1]}; figures in {out / plan.suite.name})")
    missing = sum(r.n_planned - (r.row.n_runs if r.row else 0) for r in report.pairs)
    if missing:
        typer.echo(
            f"{missing} of {len(plan.jobs)} run(s) have no finished evaluations; the report "
            "leaves them out. Run the same command again to train them.",
            err=True,
        )
    if outcome.failures:
        lines = [f"{len(outcome.failures)} run(s) failed:", *outcome.failures]
        typer.echo("\n  ".join(lines), err=True)
    if outcome.exit_code:
        raise typer.Exit(outcome.exit_code)


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
