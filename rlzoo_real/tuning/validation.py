"""Validation of a study's winners: the top N configurations retrained with M fresh seeds.

``realzoo tune ... --validate-top N [--validate-seeds M] [--validate-timesteps T]`` runs it
after the search, or alone on an existing study with ``--n-trials 0``. Each configuration
is trained with the same M seeds (never used by the search, :mod:`~rlzoo_real.tuning.seeds`)
as ordinary ``realzoo train`` runs under ``<study>/validation/round_<R>/trial_<N>/seed_<S>/``,
up to ``--n-workers`` at a time, and valued by the study's objective and aggregate.

It writes ``validation.csv`` and ``validation.md`` (search value against validation value,
mean and 95% bootstrap interval, and how far the search-best fell), ``plots/validation.png``,
and records the round in the study (user attribute ``realzoo_validations``), so that
``best.yml`` is the validated winner from then on; ``best_search.yml`` keeps the search-best.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rlzoo_real.errors import UserError
from rlzoo_real.tuning.folder import StudyFolder
from rlzoo_real.tuning.storage import StorageSpec

__all__ = ["ValidationResult", "check_validation", "validate_study"]

#: study user attributes: the rounds so far, and how many validation seeds they used
ROUNDS_ATTR = "realzoo_validations"
SEEDS_ATTR = "realzoo_validation_seeds"
_POLL_S = 0.3


@dataclass
class ValidationResult:
    """One validation round: its table rows (best validated first) and what it wrote."""

    round: int
    rows: list[dict[str, Any]]
    winner: int | None  # trial number
    search_best: int
    seeds: list[int]
    files: list[Path] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    summary: str = ""


def check_validation(storage: StorageSpec, name: str, top: int) -> None:
    """Refuse a validation the study cannot give (no complete trial, fewer than ``top``)."""
    from rlzoo_real.tuning.storage import close_storage, open_storage

    backend = open_storage(storage)
    try:
        study_id = backend.get_study_id_from_name(name)
        trials = backend.get_all_trials(study_id, deepcopy=False)
    finally:
        close_storage(backend)
    _check_count(trials, top, name)


def _check_count(trials: Sequence[Any], top: int, name: str) -> list[Any]:
    complete = [t for t in trials if t.state.name == "COMPLETE" and t.value is not None]
    if not complete:
        raise UserError(
            f"--validate-top {top}: study {name!r} has no complete trial to validate "
            f"({len(trials)} trials, none complete). Run a search first (--n-trials N)."
        )
    if top > len(complete):
        raise UserError(
            f"--validate-top {top}: study {name!r} holds only {len(complete)} complete "
            f"trial{'s' if len(complete) != 1 else ''}; ask for at most {len(complete)}."
        )
    return sorted(complete, key=lambda t: (-t.value, t.number))[:top]


def validate_study(
    study: Any,
    folder: StudyFolder,
    settings: dict[str, Any],
    *,
    top: int,
    n_seeds: int,
    n_timesteps: int | None,
    n_workers: int = 1,
    backend: str = "sb3",
    algo_folder: str | None = None,
    device: str = "auto",
    num_threads: int = 1,
    gym_packages: Sequence[str] = (),
    echo: Callable[[str], None] = print,
) -> ValidationResult:
    """Retrain the top ``top`` complete trials with ``n_seeds`` fresh seeds each.

    Args:
        study: the study (its trials and user attributes are read and updated).
        folder: the study folder (``base.yml`` must be there).
        settings: the study's ``realzoo`` record.
        top: how many configurations, best search value first.
        n_seeds: seeds per configuration (the same seeds for all).
        n_timesteps: steps per run (None: the study's).
        n_workers: runs at a time (one process each).
        echo: where a line per finished configuration goes.

    Raises:
        UserError: no complete trial, or fewer than ``top``.
    """
    from rlzoo_real.tuning.seeds import validation_seeds

    chosen = _check_count(study.get_trials(deepcopy=False), top, study.study_name)
    steps = int(n_timesteps or settings["base"]["n_timesteps"])
    if settings["n_evaluations"] > steps:
        raise UserError(
            f"--validate-timesteps {steps} is fewer than the study's {settings['n_evaluations']} "
            "evaluations per run."
        )
    used = int(study.user_attrs.get(SEEDS_ATTR, 0))
    seeds = validation_seeds(settings["trial_seed"], used, n_seeds)
    study.set_user_attr(SEEDS_ATTR, used + n_seeds)  # before any run: never used twice
    rounds = list(study.user_attrs.get(ROUNDS_ATTR) or [])
    number = len(rounds) + 1
    where = folder.path / "validation" / f"round_{number}"
    echo(
        f"Validating the top {top} configurations (trials "
        f"{', '.join(str(t.number) for t in chosen)}) with {n_seeds} fresh seeds each "
        f"({', '.join(map(str, seeds))}), {steps} steps per run: {where}"
    )
    jobs = [
        _job(
            trial, seed, where, folder, settings, steps, backend, device, num_threads, gym_packages
        )
        for trial in chosen
        for seed in seeds
    ]
    failures = _run_jobs(jobs, n_workers)
    result = _tabulate(chosen, jobs, settings, seeds, steps, number, algo_folder)
    result.problems = failures
    record = {
        "round": number,
        "seeds": seeds,
        "n_timesteps": steps,
        "top": top,
        "winner": result.winner,
        "search_best": result.search_best,
        "rows": [{k: row[k] for k in _RECORD_KEYS} for row in result.rows],
    }
    study.set_user_attr(ROUNDS_ATTR, [*rounds, record])
    result.files = _write(folder, where, result, settings)
    return result


_RECORD_KEYS = ("trial", "search_value", "validation", "validation_mean", "ci_low", "ci_high")


@dataclass
class _Job:
    trial: int
    seed: int
    folder: Path
    command: list[str]
    log: Path
    error: str = ""


def _job(
    trial: Any,
    seed: int,
    where: Path,
    folder: StudyFolder,
    settings: dict[str, Any],
    steps: int,
    backend: str,
    device: str,
    num_threads: int,
    gym_packages: Sequence[str],
) -> _Job:
    run_folder = where / f"trial_{trial.number:04d}" / f"seed_{seed}"
    words = [str(w) for w in trial.user_attrs.get("hyperparams") or []]
    command = [
        "train", "--algo", settings["algo"], "--backend", backend, "--env", settings["env"],
        "-f", str(run_folder), "--conf-file", str(folder.base_file.absolute()), "-n", str(steps),
        "--eval-freq", str(max(steps // int(settings["n_evaluations"]), 1)),
        "--eval-episodes", str(settings["eval_episodes"]),
        "--n-eval-envs", str(settings["n_eval_envs"]), "--save-freq", "-1",
        "--seed", str(seed), "--device", device, "--num-threads", str(num_threads),
        "--verbose", "0",
    ]  # fmt: skip
    for word in words:
        command += ["-params", word]
    for word in settings.get("env_kwargs") or []:
        command += ["--env-kwargs", str(word)]
    for package in gym_packages:
        command += ["--gym-packages", package]
    return _Job(
        trial.number, seed, run_folder, command, where / "logs" / f"{trial.number}_{seed}.log"
    )


def _run_jobs(jobs: list[_Job], n_workers: int) -> list[str]:
    """Run the jobs as ``realzoo train`` processes, ``n_workers`` at a time; returns failures."""
    env = dict(os.environ)
    for variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env.setdefault(variable, "1")
    waiting = list(jobs)
    running: list[tuple[_Job, subprocess.Popen[bytes], Any]] = []
    failures = []
    try:
        while waiting or running:
            while waiting and len(running) < max(n_workers, 1):
                job = waiting.pop(0)
                job.log.parent.mkdir(parents=True, exist_ok=True)
                handle = job.log.open("wb")
                process = subprocess.Popen(
                    [sys.executable, "-m", "rlzoo_real", *job.command],
                    stdout=handle,
                    stderr=subprocess.STDOUT,
                    env=env,
                )
                running.append((job, process, handle))
            time.sleep(_POLL_S)
            for item in list(running):
                job, process, handle = item
                code = process.poll()
                if code is None:
                    continue
                running.remove(item)
                handle.close()
                if code != 0:
                    job.error = f"exit {code}; log {job.log}"
                    failures.append(
                        f"validation run of trial {job.trial}, seed {job.seed}: {job.error}"
                    )
    finally:
        for _, process, handle in running:  # interrupted: leave no run behind
            with contextlib.suppress(ProcessLookupError):
                process.terminate()
            process.wait()
            handle.close()
    return failures


def _curve(job: _Job) -> list[float] | None:
    import numpy as np

    found = sorted(job.folder.glob("*/*/evaluations.npz"))
    if job.error or not found:
        return None
    with np.load(found[0]) as data:
        return [float(r) for r in np.asarray(data["results"], dtype=float).mean(axis=1)]


def _tabulate(
    chosen: list[Any],
    jobs: list[_Job],
    settings: dict[str, Any],
    seeds: list[int],
    steps: int,
    number: int,
    algo_folder: str | None,
) -> ValidationResult:
    import numpy as np

    from rlzoo_real.tuning.objectives import aggregate, bootstrap_ci, curve_value

    objective, how = settings.get("objective", "last"), settings.get("aggregate", "mean")
    rows = []
    for search_rank, trial in enumerate(chosen, start=1):
        values = []
        for job in (j for j in jobs if j.trial == trial.number):
            curve = _curve(job)
            values.append(curve_value(curve, objective) if curve else None)
        ok = [v for v in values if v is not None]
        complete = len(ok) == len(seeds)
        rng = np.random.default_rng([int(settings["trial_seed"]), number, trial.number])
        low, high = bootstrap_ci(ok, rng) if ok else (float("nan"), float("nan"))
        mean = float(np.mean(ok)) if ok else float("nan")
        rows.append(
            {
                "validation_rank": 0,
                "trial": trial.number,
                "search_rank": search_rank,
                "search_value": round(float(trial.value), 4),
                "search_seeds": len(trial.user_attrs.get("seeds") or [1]),
                "validation": round(aggregate(ok, how), 4) if complete else None,
                "validation_mean": round(mean, 4),
                "ci_low": round(low, 4),
                "ci_high": round(high, 4),
                "gap": round(mean - float(trial.value), 4),
                "seed_values": " ".join("failed" if v is None else f"{v:.4g}" for v in values),
                "hyperparams": " ".join(trial.user_attrs.get("hyperparams") or []),
            }
        )
    ranked = sorted(
        rows, key=lambda r: (r["validation"] is None, -(r["validation"] or 0.0), r["search_rank"])
    )
    for rank, row in enumerate(ranked, start=1):
        row["validation_rank"] = rank if row["validation"] is not None else None
    winner = ranked[0]["trial"] if ranked and ranked[0]["validation"] is not None else None
    result = ValidationResult(number, ranked, winner, chosen[0].number, seeds)
    result.summary = _summary(result, settings, steps, how)
    return result


def _summary(result: ValidationResult, settings: dict[str, Any], steps: int, how: str) -> str:
    from rlzoo_real.tuning.objectives import describe_objective

    best = next(r for r in result.rows if r["trial"] == result.search_best)
    objective = describe_objective(settings.get("objective", "last"), how, 1)
    lines = [
        f"Validation round {result.round}: {len(result.rows)} configurations x "
        f"{len(result.seeds)} fresh seeds ({', '.join(map(str, result.seeds))}), {steps} steps "
        f"per run; value: {objective}, {how} over the seeds.",
    ]
    if best["validation"] is None:
        lines.append(f"The search-best (trial {best['trial']}) has failed validation runs.")
    else:
        fell = best["search_value"] - best["validation"]
        lines.append(
            f"The search-best (trial {best['trial']}, search value {best['search_value']:.4g}) "
            f"validated at {best['validation']:.4g} (mean {best['validation_mean']:.4g}, 95% CI "
            f"[{best['ci_low']:.4g}, {best['ci_high']:.4g}]): it "
            f"{'fell' if fell >= 0 else 'rose'} by {abs(fell):.4g} and ranks "
            f"{best['validation_rank']} of {len(result.rows)} in validation."
        )
    if result.winner is not None:
        win = next(r for r in result.rows if r["trial"] == result.winner)
        lines.append(
            f"Validated winner: trial {win['trial']} ({win['validation']:.4g}; search rank "
            f"{win['search_rank']}); best.yml holds it, best_search.yml the search-best."
        )
    else:
        lines.append("No configuration validated without failures: best.yml is unchanged.")
    return "\n".join(lines)


def _write(
    folder: StudyFolder, where: Path, result: ValidationResult, settings: dict[str, Any]
) -> list[Path]:
    from rlzoo_real.runs.folder import write_text_atomic

    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(result.rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(result.rows)
    table = buffer.getvalue()
    markdown = _markdown(result)
    written = []
    for base in (folder.path, where):
        base.mkdir(parents=True, exist_ok=True)
        write_text_atomic(base / "validation.csv", table)
        write_text_atomic(base / "validation.md", markdown)
        written += [base / "validation.csv", base / "validation.md"]
    figure = _figure(result, folder.plots / "validation.png", settings)
    if figure is not None:
        written.append(figure)
    return written


def _markdown(result: ValidationResult) -> str:
    columns = [
        ("validation_rank", "val. rank"),
        ("trial", "trial"),
        ("search_rank", "search rank"),
        ("search_value", "search value"),
        ("validation", "validation"),
        ("validation_mean", "val. mean"),
        ("ci_low", "95% CI low"),
        ("ci_high", "95% CI high"),
        ("gap", "val. mean - search"),
        ("seed_values", "per seed"),
    ]
    lines = [f"# Validation round {result.round}", "", *result.summary.splitlines(), ""]
    lines.append("| " + " | ".join(title for _, title in columns) + " |")
    lines.append("|" + "---|" * len(columns))
    for row in result.rows:
        cells = ["" if row[key] is None else str(row[key]) for key, _ in columns]
        lines.append("| " + " | ".join(cells) + " |")
    if result.problems:
        lines += ["", "Failed runs:", *[f"- {p}" for p in result.problems]]
    return "\n".join(lines) + "\n"


def _figure(result: ValidationResult, path: Path, settings: dict[str, Any]) -> Path | None:
    import matplotlib

    if "matplotlib.pyplot" not in sys.modules:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = sorted(result.rows, key=lambda r: r["search_rank"])
    x = list(range(len(rows)))
    figure, axes = plt.subplots(figsize=(max(4.0, 1.2 * len(rows) + 2), 3.5))
    axes.scatter(x, [r["search_value"] for r in rows], marker="x", color="tab:red", label="search")
    means = [r["validation_mean"] for r in rows]
    errors = [
        [max(m - r["ci_low"], 0.0) for m, r in zip(means, rows, strict=True)],
        [max(r["ci_high"] - m, 0.0) for m, r in zip(means, rows, strict=True)],
    ]
    axes.errorbar(x, means, yerr=errors, fmt="o", color="tab:blue", capsize=4,
                  label=f"validation mean, 95% CI ({len(result.seeds)} seeds)")  # fmt: skip
    axes.set_xticks(x, [f"trial {r['trial']}" for r in rows])
    axes.set_xlabel("configurations, best search value first")
    axes.set_ylabel("return")
    axes.set_title(f"{settings['algo']} on {settings['env']}: search vs validation")
    axes.legend(fontsize="small")
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(figure)
    return path
