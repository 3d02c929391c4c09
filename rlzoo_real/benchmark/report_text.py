"""Write a computed benchmark report as Markdown (``<suite>.md``) and CSV (``<suite>.csv``)."""

from __future__ import annotations

import csv
import io
import math
import os
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rlzoo_real.benchmark.zoo import zoo_source

if TYPE_CHECKING:
    from rlzoo_real.benchmark.report import PairResult, Report

__all__ = ["to_csv", "to_markdown", "write_report"]

CSV_COLUMNS = (
    "algo",
    "env",
    "steps",
    "shipped_steps",
    "seeds_planned",
    "seeds_finished",
    "eval_timesteps",
    "final_mean",
    "final_ci_low",
    "final_ci_high",
    "final_std",
    "best_mean",
    "zoo_env",
    "zoo_mean",
    "zoo_std",
    "zoo_steps",
    "zoo_vs_ci",
    "median_run_seconds",
)


def _num(value: float) -> str:
    if value is None or math.isnan(value):
        return "–"
    return f"{value:.2f}" if abs(value) < 10 else f"{value:.1f}"


def _seconds(value: float) -> str:
    return "–" if math.isnan(value) else f"{value:.0f}"


def _steps(value: int) -> str:
    if value >= 1_000_000 and value % 100_000 == 0:
        return f"{value / 1_000_000:g}M"
    if value >= 1_000 and value % 100 == 0:
        return f"{value / 1_000:g}k"
    return str(value)


def _median(values: Sequence[float]) -> float:
    finite = [v for v in values if not math.isnan(v)]
    return statistics.median(finite) if finite else math.nan


def _csv_row(result: PairResult) -> list[Any]:
    row, zoo, planned = result.row, result.zoo, result.planned

    def num(value: float | None) -> str:
        return "" if value is None or math.isnan(value) else repr(float(value))

    return [
        planned.pair.algo,
        planned.pair.env,
        planned.steps,
        planned.shipped_steps,
        result.n_planned,
        row.n_runs if row else 0,
        f"{row.timesteps:.0f}" if row else "",
        num(row.final_mean if row else None),
        num(row.final_ci_low if row else None),
        num(row.final_ci_high if row else None),
        num(row.final_std if row else None),
        num(row.best_mean if row else None),
        zoo.env if zoo else "",
        num(zoo.mean if zoo else None),
        num(zoo.std if zoo else None),
        zoo.n_timesteps if zoo else "",
        result.zoo_vs_ci,
        num(_median(result.seconds)),
    ]


def to_csv(report: Report) -> str:
    """One line per pair, every number (empty where undefined)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for result in report.pairs:
        writer.writerow(_csv_row(result))
    return out.getvalue()


def _provenance(manifests: Sequence[dict[str, Any]]) -> list[str]:
    """Versions, commit and hosts, as the run manifests record them."""
    lines = []
    versions: dict[str, set[str]] = {}
    commits: set[str] = set()
    hosts: set[str] = set()
    for manifest in manifests:
        for name, version in (manifest.get("versions") or {}).items():
            versions.setdefault(str(name), set()).add(str(version))
        git = manifest.get("git") or {}
        if git.get("commit"):
            commits.add(
                str(git["commit"])[:10] + (" (uncommitted changes)" if git.get("dirty") else "")
            )
        if manifest.get("host"):
            hosts.add(str(manifest["host"]))
    if versions:
        listing = ", ".join(f"{k} {'/'.join(sorted(v))}" for k, v in sorted(versions.items()))
        lines.append(f"- Versions (from the run manifests): {listing}")
    if commits:
        lines.append(f"- realzoo git commit of the runs: {', '.join(sorted(commits))}")
    if hosts:
        lines.append(f"- Host(s): {', '.join(sorted(hosts))}")
    return lines


def _relative(path: Path, start: Path) -> str:
    return Path(os.path.relpath(path, start)).as_posix()


def to_markdown(
    report: Report, *, command: str, output: Path, ci: float, reps: int, seed: int
) -> str:
    """The report as Markdown: setup, the table against the Zoo, the aggregate, the method."""
    plan = report.plan
    source = zoo_source()
    total = len(plan.jobs)
    finished = sum(r.row.n_runs if r.row else 0 for r in report.pairs)
    seconds = [s for r in report.pairs for s in r.seconds if not math.isnan(s)]
    parts = [f"# realzoo benchmark: {plan.suite.name}", ""]
    if plan.suite.description:
        parts += [plan.suite.description, ""]
    parts += ["Made with:", "", "```", command, "```", ""]
    parts += [
        f"- Pairs: {len(plan.pairs)}; seeds {', '.join(map(str, plan.seeds))} "
        f"({len(plan.seeds)} per pair); runs with evaluations: {finished} of {total}",
        f"- Budget: {plan.budget.describe()}",
        f"- Evaluation: {plan.n_evals} evaluations per run, {plan.eval_episodes} deterministic "
        "episodes each, on a separate env (`evaluations.npz`)",
    ]
    if seconds:
        parts.append(
            f"- Training wall time: {sum(seconds) / 60:.1f} min summed over runs, median "
            f"{statistics.median(seconds):.0f} s per run (from the run manifests)"
        )
    parts += _provenance(report.manifests)
    parts.append("")
    if not plan.budget.full:
        parts += [
            "> **Reduced budget: not comparable to the RL Zoo.** These runs trained for less than "
            "the shipped `n_timesteps` (see the Steps column); the RL Zoo's agents trained for "
            "their full budget. A gap below says how far a short run gets, not whether realzoo "
            "reproduces the Zoo. Run without --budget-fraction/--n-timesteps for that.",
            "",
        ]
    parts += [
        f"## Final return against the RL Zoo's published agents ({ci:.0%} CI)",
        "",
        "| Algo | Env | Steps (shipped) | Seeds | realzoo: mean [CI] | std | "
        "RL Zoo: mean ± std (env, steps) | Zoo vs CI | s/run |",
        "|---|---|---:|---:|---:|---:|---:|:---:|---:|",
    ]
    for r in report.pairs:
        p = r.planned
        steps = _steps(p.steps) + (
            f" ({_steps(p.shipped_steps)})" if p.steps != p.shipped_steps else ""
        )
        seeds = f"{r.row.n_runs}/{r.n_planned}" if r.row else f"0/{r.n_planned}"
        if r.row:
            ours = _num(r.row.final_mean)
            if not math.isnan(r.row.final_ci_low):
                ours += f" [{_num(r.row.final_ci_low)}, {_num(r.row.final_ci_high)}]"
            std = _num(r.row.final_std)
        else:
            ours, std = "no finished run", "–"
        zoo = (
            f"{_num(r.zoo.mean)} ± {_num(r.zoo.std)} ({r.zoo.env}, {r.zoo.n_timesteps_text})"
            if r.zoo
            else "–"
        )
        parts.append(
            f"| {p.pair.algo} | {p.pair.env} | {steps} | {seeds} | {ours} | {std} | {zoo} | "
            f"{r.zoo_vs_ci} | {_seconds(_median(r.seconds))} |"
        )
    parts.append("")
    untrained = [r.planned for r in report.pairs if r.planned.untrained]
    if untrained:
        listing = "; ".join(
            f"{p.pair.name} ({_steps(p.steps)} steps, learning_starts {p.learning_starts})"
            for p in untrained
        )
        parts += [
            f"**Never trained:** {listing}. The budget ends before the shipped entry's "
            "`learning_starts`, so these policies made no gradient step: their numbers are "
            "those of the initial policy (the shipped hyperparameters are not scaled with the "
            "budget).",
            "",
        ]
    parts += _aggregate_section(report, output, ci)
    parts += [
        "## How the numbers are made",
        "",
        "- **realzoo**: each run's *final return* is its mean return over the evaluation "
        "episodes of its last evaluation (the last one all seeds of the pair share). The table "
        "gives the mean over seeds, a percentile bootstrap interval of that mean "
        f"({reps} resamples of the seeds, seed {seed}) and the standard deviation over seeds.",
        "- **RL Zoo**: one trained agent per pair, its deterministic policy run for about "
        "150k steps; the ± is the standard deviation over those *episodes*, not over seeds, so "
        "it is not comparable with realzoo's spread. *Zoo vs CI* says where the Zoo's mean lies "
        "against realzoo's interval. The Zoo's table used older env versions (LunarLander-v2, "
        "MuJoCo -v3) and sometimes another budget (its steps are shown).",
        f"- Source of the Zoo's numbers: {source.url} (commit {source.commit[:10]}), read on "
        f"{source.read_on}; shipped in `rlzoo_real/benchmark/zoo_benchmark.yml`.",
        "",
    ]
    if report.notes:
        parts += ["## Notes", "", *[f"- {note}" for note in report.notes], ""]
    return "\n".join(parts)


def _aggregate_section(report: Report, output: Path, ci: float) -> list[str]:
    result = report.aggregate
    parts = []
    if result is not None:
        n_runs = result.scores.final[result.scores.labels[0]].shape[0]
        parts += [
            f"## Aggregate over the {len(result.scores.envs)} pairs (rliable, {ci:.0%} stratified "
            "bootstrap CI)",
            "",
            "Normalized score of a run: (final return − uniformly random policy's return) / "
            "(the RL Zoo's score − random's): 0 is random, 1 is the Zoo's published agent. "
            f"Each pair is a task with {n_runs} run(s).",
            "",
            "| " + " | ".join(result.metric_names) + " |",
            "|" + "---:|" * len(result.metric_names),
            "| "
            + " | ".join(
                f"{result.metrics[0, j]:.3f} [{result.metrics_low[0, j]:.3f}, "
                f"{result.metrics_high[0, j]:.3f}]"
                for j in range(len(result.metric_names))
            )
            + " |",
            "",
        ]
    for path in report.figures:
        title = _TITLES.get(path.stem, path.stem.replace("_", " ").capitalize())
        parts += [f"![{title}]({_relative(path, output)})", ""]
    return parts


_TITLES = {
    "eval_curves": "Evaluation curves (mean over seeds, bootstrap CI)",
    "aggregate_metrics": "Aggregate metrics",
    "performance_profile": "Performance profile",
    "sample_efficiency": "Sample efficiency (IQM)",
}


def write_report(
    report: Report, *, command: str, output: Path, ci: float, reps: int, seed: int
) -> list[Path]:
    """Write ``<output>/<suite>.md`` and ``<output>/<suite>.csv``; return every file written."""
    from rlzoo_real.plotting.store import write_output

    name = report.plan.suite.name
    text = to_markdown(report, command=command, output=output, ci=ci, reps=reps, seed=seed)
    files = [
        write_output(output / f"{name}.md", text),
        write_output(output / f"{name}.csv", to_csv(report)),
    ]
    return files + report.files
