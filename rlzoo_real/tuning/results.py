"""What a study leaves in its folder: every trial as CSV, the best entry as YAML, plots.

- ``trials.csv``: one row per trial (state, value, duration, the sampled values, the
  hyperparameters as ``-params`` words, run folder, worker, failure reason).
- ``best.yml``: the best trial's full hyperparameter entry keyed by env id, which
  ``realzoo train --conf-file best.yml`` takes as it is.
- ``plots/*.png``: optimization history, parameter importances, parallel coordinates
  and intermediate values (``optuna.visualization.matplotlib``, Agg backend).

Everything is read back from the storage, so the files cover trials run on other
machines as well.
"""

from __future__ import annotations

import csv
import io
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rlzoo_real.tuning.folder import StudyFolder
from rlzoo_real.tuning.spaces import SearchSpace

__all__ = [
    "PLOTS",
    "best_yaml",
    "count_states",
    "describe_trial",
    "fail_reason",
    "find_best",
    "trial_overrides",
    "trial_rows",
    "write_results",
]

#: Plot file name -> optuna.visualization.matplotlib function.
PLOTS = {
    "optimization_history": "plot_optimization_history",
    "param_importances": "plot_param_importances",
    "parallel_coordinate": "plot_parallel_coordinate",
    "intermediate_values": "plot_intermediate_values",
}
_STATES = ("COMPLETE", "PRUNED", "FAIL", "RUNNING", "WAITING")


def count_states(trials: Sequence[Any]) -> dict[str, int]:
    """Number of trials in each state (COMPLETE, PRUNED, FAIL, RUNNING, WAITING)."""
    counts = dict.fromkeys(_STATES, 0)
    for trial in trials:
        counts[trial.state.name] = counts.get(trial.state.name, 0) + 1
    return counts


def find_best(trials: Sequence[Any]) -> Any:
    """The complete trial with the highest value (the lowest number on ties), or None."""
    complete = [t for t in trials if t.state.name == "COMPLETE" and t.value is not None]
    if not complete:
        return None
    return max(complete, key=lambda t: (t.value, -t.number))


def fail_reason(trial: Any) -> str:
    """Why a failed trial failed, as recorded (or what the storage's heartbeat implies)."""
    reason = trial.user_attrs.get("fail_reason")
    if reason:
        return str(reason)
    return "no heartbeat from its worker (killed, crashed or cut off), or stopped by Optuna"


def describe_trial(trial: Any, trials: Sequence[Any]) -> str:
    """One line about a finished trial, for progress output (best: as of its completion)."""
    duration = trial.duration.total_seconds() if trial.duration is not None else None
    took = f" in {duration:.1f} s" if duration is not None else ""
    state = trial.state.name
    if state == "COMPLETE":
        end = trial.datetime_complete
        earlier = [
            t
            for t in trials
            if t.datetime_complete is not None and (end is None or t.datetime_complete <= end)
        ]
        best = find_best(earlier)
        best_text = f" (best {best.value:.2f}, trial {best.number})" if best is not None else ""
        return f"Trial {trial.number} complete: {trial.value:.2f}{took}{best_text}"
    if state == "PRUNED":
        steps = sorted(trial.intermediate_values)
        last = f": {trial.intermediate_values[steps[-1]]:.2f}" if steps else ""
        where = f" at evaluation {steps[-1]}" if steps else ""
        return f"Trial {trial.number} pruned{where}{last}{took}"
    reason = fail_reason(trial).splitlines()[0]
    if len(reason) > 300:
        reason = reason[:300] + "..."
    return f"Trial {trial.number} failed{took}: {reason}"


def trial_rows(trials: Sequence[Any], space: SearchSpace | None = None) -> list[dict[str, Any]]:
    """One dict per trial, in trial order, with the columns of ``trials.csv``."""
    param_names: list[str] = [p.optuna_name for p in space.params] if space is not None else []
    for trial in trials:
        for name in trial.params:
            if name not in param_names:
                param_names.append(name)
    rows = []
    best_so_far = -math.inf
    for trial in sorted(trials, key=lambda t: t.number):
        attrs = trial.user_attrs
        if trial.state.name == "COMPLETE" and trial.value is not None:
            best_so_far = max(best_so_far, trial.value)
        steps = sorted(trial.intermediate_values)
        row: dict[str, Any] = {
            "number": trial.number,
            "state": trial.state.name,
            "value": trial.value if trial.value is not None else "",
            "best_so_far": best_so_far if best_so_far > -math.inf else "",
            "evaluations": len(steps),
            "last_evaluation": trial.intermediate_values[steps[-1]] if steps else "",
            "duration_s": round(trial.duration.total_seconds(), 3) if trial.duration else "",
            "started": trial.datetime_start.isoformat(timespec="seconds")
            if trial.datetime_start
            else "",
            "num_timesteps": attrs.get("num_timesteps", ""),
            "seed": attrs.get("seed", ""),
            "n_seeds": len(attrs.get("seeds") or []) or "",
            "seeds": " ".join(map(str, attrs.get("seeds") or [])),
            "seed_values": " ".join(
                "" if v is None else f"{v:.6g}" for v in attrs.get("seed_values") or []
            ),
        }
        for name in param_names:
            row[f"param_{name}"] = trial.params.get(name, "")
        row["hyperparams"] = " ".join(attrs.get("hyperparams") or [])
        row["run_folder"] = attrs.get("run_folder", "")
        row["worker"] = f"{attrs['host']}:{attrs['pid']}" if "host" in attrs else ""
        row["fail_reason"] = fail_reason(trial) if trial.state.name == "FAIL" else ""
        rows.append(row)
    return rows


def write_results(
    study: Any,
    folder: StudyFolder,
    *,
    settings: dict[str, Any],
    space: SearchSpace | None = None,
    plots: bool = True,
) -> tuple[list[Path], list[str]]:
    """Write ``trials.csv``, ``best.yml`` and the plots of ``study`` into its folder.

    Args:
        study: the study (all its trials are read from the storage).
        folder: the study folder.
        settings: the study's ``realzoo`` record (algo, env, evaluation settings).
        space: the search space (orders the parameter columns).
        plots: False to skip the plots.

    Returns:
        The files written, and notes about what was skipped and why.
    """
    from rlzoo_real.runs.folder import write_text_atomic

    trials = study.get_trials(deepcopy=False)
    written: list[Path] = []
    notes: list[str] = []
    rows = trial_rows(trials, space)
    buffer = io.StringIO()
    if rows:
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    write_text_atomic(folder.trials_csv, buffer.getvalue())
    written.append(folder.trials_csv)
    best = find_best(trials)
    validated = _validated_winner(study, trials)
    if validated is not None and best is not None:
        trial, record = validated
        write_text_atomic(
            folder.best_file, best_yaml(trial, study.study_name, settings, folder, record)
        )
        search_file = folder.path / "best_search.yml"
        write_text_atomic(search_file, best_yaml(best, study.study_name, settings, folder))
        written += [folder.best_file, search_file]
    elif best is not None:
        write_text_atomic(folder.best_file, best_yaml(best, study.study_name, settings, folder))
        written.append(folder.best_file)
    else:
        notes.append("no complete trial yet: no best.yml")
    if plots:
        files, plot_notes = _write_plots(study, trials, folder.plots)
        written.extend(files)
        notes.extend(plot_notes)
    return written, notes


def _validated_winner(study: Any, trials: Sequence[Any]) -> tuple[Any, dict[str, Any]] | None:
    """The winner of the study's last validation round with a winner, and that round."""
    for record in reversed(study.user_attrs.get("realzoo_validations") or []):
        number = record.get("winner")
        trial = next((t for t in trials if t.number == number), None)
        if trial is not None:
            return trial, record
    return None


def best_yaml(
    trial: Any,
    study_name: str,
    settings: dict[str, Any],
    folder: StudyFolder,
    validation: dict[str, Any] | None = None,
) -> str:
    """The best trial's entry as a YAML file for ``realzoo train --conf-file``.

    Args:
        validation: the validation round that chose ``trial`` (None: the search-best).
    """
    import yaml

    from rlzoo_real.tuning.objectives import describe_objective

    env, algo = settings["env"], settings["algo"]
    entry = trial.user_attrs.get("config")
    if not isinstance(entry, dict):  # no run record: the base entry with the sampled values
        from rlzoo_real.config.tables import parse_key_values

        entry = dict(settings["base"])
        entry.update(parse_key_values(trial.user_attrs.get("hyperparams") or [], option="-params"))
    seeds = trial.user_attrs.get("seeds") or [trial.user_attrs.get("seed")]
    objective = describe_objective(
        settings.get("objective", "last"), settings.get("aggregate", "mean"), len(seeds)
    )
    if validation is not None:
        row: dict[str, Any] = next(
            (r for r in validation["rows"] if r["trial"] == trial.number), {}
        )
        header = (
            f"# Validated winner of study {study_name} ({algo} on {env}): trial {trial.number}, "
            f"validation value {row.get('validation')} over {len(validation['seeds'])} fresh "
            f"seeds at {validation['n_timesteps']} steps (round {validation['round']}; search "
            f"value {trial.value:.4g}). The search-best is in best_search.yml.\n"
        )
    else:
        header = (
            f"# Best trial of study {study_name} ({algo} on {env}): trial {trial.number}, "
            f"value {trial.value:.4g}\n"
        )
    header += (
        f"# ({objective}; {settings['n_evaluations']} evaluations over "
        f"{settings['eval_episodes']} episodes, after {entry.get('n_timesteps')} steps; "
        f"seed{'s' if len(seeds) > 1 else ''} {' '.join(map(str, seeds))}).\n"
        f"# Train it: realzoo train --algo {algo} --env {env} --conf-file {folder.best_file}\n"
        "# (add -n STEPS for a longer run than the tuning budget).\n"
    )
    body = yaml.safe_dump({env: dict(sorted(entry.items()))}, sort_keys=False)
    return header + body


def _write_plots(study: Any, trials: Sequence[Any], folder: Path) -> tuple[list[Path], list[str]]:
    import warnings

    if "matplotlib.pyplot" not in sys.modules:
        import matplotlib

        matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import optuna.visualization.matplotlib as vis
    from optuna.exceptions import ExperimentalWarning

    complete = [t for t in trials if t.state.name == "COMPLETE"]
    if not complete:
        return [], ["no complete trial yet: no plots"]
    folder.mkdir(parents=True, exist_ok=True)
    written, notes = [], []
    for name, function in PLOTS.items():
        if name == "param_importances" and len(complete) < 2:
            notes.append("param_importances needs two complete trials: skipped")
            continue
        if name == "intermediate_values" and not any(t.intermediate_values for t in trials):
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ExperimentalWarning)
                warnings.simplefilter("ignore", UserWarning)
                axes = getattr(vis, function)(study)
            figure = _figure_of(axes)
            figure.savefig(folder / f"{name}.png", dpi=100, bbox_inches="tight")
            plt.close(figure)
            written.append(folder / f"{name}.png")
        except (ValueError, RuntimeError, ZeroDivisionError) as exc:
            notes.append(f"{name}: skipped ({exc})")
    plt.close("all")
    return written, notes


def _figure_of(axes: Any) -> Any:
    if hasattr(axes, "figure"):
        return axes.figure
    first = axes.flat[0] if hasattr(axes, "flat") else axes[0]
    return first.figure


def trial_overrides(
    *,
    log_folder: str,
    algo: str,
    algo_folder: str,
    env: str,
    study_name: str,
    storage: str | None,
    number: int,
) -> list[str]:
    """The hyperparameters trial ``number`` of a study tried, as ``-params`` words.

    ``realzoo train --trial-id N --study-name S [--storage URL]`` (the RL Zoo's flag) puts them
    over the hyperparameter entry, under the command's own ``-params``. The study is looked
    up as ``realzoo tune`` finds it: ``--storage``, else the study's journal file
    ``<log_folder>/<algo>/<study>/study.log``.

    Raises:
        UserError: no such study or trial, a study made for another algorithm or env, or a
            trial that never sampled its values.
    """
    from rlzoo_real.errors import UserError
    from rlzoo_real.tuning.folder import study_folder
    from rlzoo_real.tuning.storage import close_storage, open_storage, parse_storage

    folder = study_folder(Path(log_folder), algo_folder, study_name)
    spec = parse_storage(storage, default_journal=folder.journal)
    where = f"--trial-id {number}, --study-name {study_name}, storage {spec.shown}"
    if spec.path is not None and not spec.path.exists():
        raise UserError(
            f"{where}: the storage file does not exist. Give the --storage and --study-name "
            "the study was made with (realzoo tune prints both), and the same -f."
        )
    backend = open_storage(spec)
    try:
        try:
            study_id = backend.get_study_id_from_name(study_name)
        except KeyError:
            names = [s.study_name for s in backend.get_all_studies()]
            raise UserError(
                f"{where}: no study of that name in the storage (it holds: "
                f"{', '.join(names) or 'none'})."
            ) from None
        settings = backend.get_study_user_attrs(study_id).get("realzoo") or {}
        made_for = (settings.get("algo"), settings.get("env"))
        if settings and made_for != (algo, env):
            raise UserError(
                f"{where}: the study tuned {made_for[0]} on {made_for[1]}, not {algo} on {env}; "
                "its values are meant for that pair."
            )
        trials = backend.get_all_trials(study_id, deepcopy=False)
        trial = next((t for t in trials if t.number == number), None)
        if trial is None:
            raise UserError(
                f"{where}: no such trial; the study has trials 0 to {len(trials) - 1}."
                if trials
                else f"{where}: the study has no trial yet."
            )
        words = trial.user_attrs.get("hyperparams")
        if not isinstance(words, list):
            raise UserError(
                f"{where}: the trial has no realzoo record of the values it tried (a study "
                "not made by realzoo tune?)."
            )
        return [str(w) for w in words]
    finally:
        close_storage(backend)
