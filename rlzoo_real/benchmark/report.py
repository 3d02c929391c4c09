"""The benchmark report: realzoo's score per pair against the RL Zoo's, and rliable figures.

The numbers come from the plotting package, not from new statistics code:

- per pair, :func:`~rlzoo_real.plotting.tables.results_table` gives the mean over seeds of
  each run's final evaluation return (its last evaluation, ``evaluations.npz``), a
  percentile bootstrap confidence interval of that mean and the standard deviation;
- across pairs, :func:`~rlzoo_real.plotting.aggregate.aggregate` gives rliable's IQM,
  median, mean and optimality gap, the performance profile and the IQM sample-efficiency
  curve of *normalized* scores, one task per pair: 0 is the env's uniformly random policy
  (:data:`~rlzoo_real.plotting.references.REFERENCES`), 1 the RL Zoo's published agent;
- :func:`~rlzoo_real.plotting.curves.evaluation_curves` draws the evaluation curves.

Only the runs of the benchmark's own jobs are read (matched by their ``args.yml``, as the
sweep matches them), so other runs in the same log folder change nothing.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rlzoo_real.benchmark.zoo import ZooScore, zoo_score

if TYPE_CHECKING:
    from rlzoo_real.benchmark.runner import Plan, PlannedPair
    from rlzoo_real.plotting.aggregate import AggregateResult
    from rlzoo_real.plotting.data import EvalGroup
    from rlzoo_real.plotting.tables import ResultRow
    from rlzoo_real.plotting.views import Bootstrap

__all__ = ["AGGREGATE_LABEL", "PairResult", "Report", "build_report", "task_name"]

#: The one label of the aggregate figures (each pair is a task).
AGGREGATE_LABEL = "realzoo"


@dataclass(frozen=True)
class PairResult:
    """What the report says about one pair."""

    planned: PlannedPair
    n_planned: int
    row: ResultRow | None  # None: no finished run with evaluations
    zoo: ZooScore | None
    seconds: list[float] = field(default_factory=list)  # wall time of each finished run
    runs: list[Path] = field(default_factory=list)

    @property
    def zoo_vs_ci(self) -> str:
        """``inside``, ``above`` or ``below`` realzoo's interval (``-`` when either is missing)."""
        if self.row is None or self.zoo is None or math.isnan(self.row.final_ci_low):
            return "-"
        if self.zoo.mean > self.row.final_ci_high:
            return "above"
        if self.zoo.mean < self.row.final_ci_low:
            return "below"
        return "inside"


@dataclass
class Report:
    """The computed report, before it is written."""

    plan: Plan
    pairs: list[PairResult]
    aggregate: AggregateResult | None
    manifests: list[dict[str, Any]]
    notes: list[str] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)  # every figure and data file written
    figures: list[Path] = field(default_factory=list)  # the figures, to show in the report


def task_name(algo: str, env: str) -> str:
    """The name of a pair as an aggregate task: ``ppo/CartPole-v1``."""
    return f"{algo}/{env}"


def _finished_infos(plan: Plan) -> tuple[list[Any], list[dict[str, Any]]]:
    """A :class:`~rlzoo_real.plotting.data.RunInfo` per finished run of the plan's jobs."""
    from rlzoo_real.algos.registry import get_algo
    from rlzoo_real.executors.sweep import finished_runs
    from rlzoo_real.plotting.data import RunInfo
    from rlzoo_real.runs.folder import read_run_manifest

    done = finished_runs(plan.log_folder, plan.jobs)
    infos, manifests = [], []
    for job in plan.jobs:
        run = done.get(job.match_key())
        if run is None:
            continue
        manifest = read_run_manifest(run) or {}
        folder = get_algo(job.args.algo, backend=job.args.backend).folder
        infos.append(
            RunInfo(folder, job.args.env, run, job.args.seed, job.args.algo, "finished", manifest)
        )
        manifests.append(manifest)
    return infos, manifests


def _seconds(manifest: dict[str, Any] | None) -> float:
    from datetime import datetime

    try:
        start = datetime.fromisoformat(str((manifest or {})["start_time"]))
        end = datetime.fromisoformat(str((manifest or {})["end_time"]))
    except (KeyError, ValueError):
        return math.nan
    return (end - start).total_seconds()


def build_report(plan: Plan, *, boot: Bootstrap, output: Path, fmt: str = "png") -> Report:
    """Read the plan's finished runs, compute the table and the aggregate, draw figures into
    ``output / <suite>``, and return the report (written by
    :func:`rlzoo_real.benchmark.report_text.write_report`)."""
    from rlzoo_real.plotting.data import collect_evaluations
    from rlzoo_real.plotting.tables import results_table

    infos, manifests = _finished_infos(plan)
    notes: list[str] = []
    groups: list[EvalGroup] = []
    if infos:
        groups, found_notes = collect_evaluations(infos)
        notes += found_notes
    rows = {
        (r.label, r.env): r
        for r in results_table(groups, reps=boot.reps, ci=boot.ci, seed=boot.seed)
    }
    by_group = {(g.label, g.env_id): g for g in groups}
    pairs = []
    for planned in plan.pairs:
        key = (planned.pair.algo, planned.pair.env)
        group = by_group.get(key)
        pairs.append(
            PairResult(
                planned,
                n_planned=len(plan.seeds),
                row=rows.get(key),
                zoo=zoo_score(*key),
                seconds=[_seconds(info.manifest) for info in group.runs] if group else [],
                runs=[info.run.path for info in group.runs] if group else [],
            )
        )
    report = Report(plan, pairs, None, manifests, notes)
    figures = output / plan.suite.name
    if groups:
        report.figures += _draw_curves(groups, figures, fmt, boot)
        report.files += report.figures
        report.aggregate = _aggregate(report, groups, figures, fmt, boot)
    return report


def _draw_curves(groups: list[EvalGroup], folder: Path, fmt: str, boot: Bootstrap) -> list[Path]:
    from rlzoo_real.plotting.curves import evaluation_curves
    from rlzoo_real.plotting.figures import draw_curves
    from rlzoo_real.plotting.views import check_format

    check_format(fmt)
    curves = evaluation_curves(groups, band="ci", ci=boot.ci, reps=boot.reps, seed=boot.seed)
    folder.mkdir(parents=True, exist_ok=True)
    return [draw_curves(curves, folder / f"eval_curves.{fmt}")]


def _aggregate(
    report: Report, groups: list[EvalGroup], folder: Path, fmt: str, boot: Bootstrap
) -> AggregateResult | None:
    """rliable's aggregate over the pairs (tasks), normalized by random and the Zoo's score."""
    import json

    from rlzoo_real.errors import UserError
    from rlzoo_real.plotting.aggregate import aggregate, require_rliable, score_table
    from rlzoo_real.plotting.figures import draw_aggregate
    from rlzoo_real.plotting.references import REFERENCES, Reference
    from rlzoo_real.plotting.store import aggregate_summary, save_aggregate, write_output

    try:
        require_rliable()
    except UserError as exc:
        report.notes.append(f"no aggregate figures: {exc}")
        return None
    tasks, references, left_out = [], {}, []
    for group in groups:
        zoo = zoo_score(group.label, group.env_id)
        random = REFERENCES.get(group.env_id)
        if zoo is None or random is None or zoo.mean == random.random:
            why = "no RL Zoo score" if zoo is None else "no random-policy reference"
            left_out.append(f"{task_name(group.label, group.env_id)} ({why})")
            continue
        name = task_name(group.label, group.env_id)
        references[name] = Reference(random.random, zoo.mean, "RL Zoo benchmark.md")
        tasks.append(dataclasses.replace(group, label=AGGREGATE_LABEL, env_id=name))
    if left_out:
        report.notes.append("left out of the aggregate: " + "; ".join(left_out))
    if not tasks:
        return None
    scores = score_table(tasks, references=references)
    report.notes += scores.notes
    result = aggregate(scores, reps=boot.reps, ci=boot.ci, seed=boot.seed)
    folder.mkdir(parents=True, exist_ok=True)
    save_aggregate(result, folder / "aggregate.npz")
    summary = folder / "aggregate.json"
    write_output(summary, json.dumps(aggregate_summary(result), indent=2) + "\n")
    drawn = draw_aggregate(result, folder, fmt)
    report.figures += drawn
    report.files += [*drawn, folder / "aggregate.npz", summary]
    return result
