"""Many runs from Python: :func:`tune` (an Optuna study) and :func:`sweep` (a grid of runs).

Both are thin calls into :mod:`rlzoo_real.tuning.study` and :mod:`rlzoo_real.executors.sweep`,
the code ``realzoo tune`` and ``realzoo sweep`` run.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = ["sweep", "tune"]


def tune(
    algo: str,
    env: str,
    *,
    n_trials: int | None = None,
    n_timesteps: int | None = None,
    log_folder: str | Path = "logs",
    hyperparams: Mapping[str, Any] | None = None,
    n_seeds: int | None = None,
    objective: str | None = None,
    aggregate: str | None = None,
    validate_top: int = 0,
    validate_seeds: int = 5,
    validate_timesteps: int | None = None,
    echo: Callable[[str], None] | None = None,
    **options: Any,
) -> Any:
    """Run (or continue) a tuning study, as ``realzoo tune`` does.

    Args:
        algo: algorithm name.
        env: gymnasium id.
        n_trials: trials to run in this call (0 with ``validate_top``: validate only).
        n_timesteps: training steps of each trial (None: the entry's).
        log_folder: root of the log tree (the study goes to ``<log_folder>/<algo>/<study>/``).
        hyperparams: values fixed for every trial (not searched), as :func:`rlzoo_real.train`.
        n_seeds: seeds each sampled configuration is trained with (``--n-seeds``; None: the
            study's, or 1 for a new study).
        objective: what a seed's evaluations come to: ``last``, ``best`` or ``auc`` (the mean
            of all evaluations) (``--objective``; None: the study's, or ``last``).
        aggregate: how the seeds' values make the trial's: ``mean``, ``median`` or ``iqm``
            (``--aggregate``; None: the study's, or ``mean``).
        validate_top: after the search, retrain the best ``validate_top`` configurations with
            fresh seeds; ``best.yml`` becomes the validated winner (0: no validation).
        validate_seeds: fresh seeds per validated configuration.
        validate_timesteps: steps of each validation run (None: the study's).
        echo: receives one line per finished trial (None: quiet).
        **options: the other fields of :class:`rlzoo_real.tuning.study.TuneRequest`
            (``n_workers``, ``sampler``, ``pruner``, ``study_name``, ``storage``, ``seed`` ...).

    Returns:
        The study's :class:`~rlzoo_real.tuning.study.TuneResult` (``status``, ``best`` trial,
        ``files`` written, ``problems``, and ``validation``, a
        :class:`~rlzoo_real.tuning.validation.ValidationResult` when one ran).

    Raises:
        UserError: anything wrong in the request, checked before the study starts (also a
            study made with another ``n_seeds``, ``objective`` or ``aggregate``, or a
            validation the study cannot give).
    """
    from rlzoo_real.tuning.study import TuneRequest, prepare_tune, run_tune

    request = TuneRequest(
        algo=algo,
        env=env,
        n_trials=n_trials,
        n_timesteps=n_timesteps,
        log_folder=str(log_folder),
        hyperparams=_words(hyperparams, "hyperparams"),
        n_seeds=n_seeds,
        objective=objective,
        aggregate=aggregate,
        validate_top=validate_top,
        validate_seeds=validate_seeds,
        validate_timesteps=validate_timesteps,
        **_checked(options, TuneRequest, "tune"),
    )
    plan = prepare_tune(request)
    return run_tune(plan, command="python: rlzoo_real.tune(...)", echo=echo or (lambda line: None))


def sweep(
    algos: Sequence[str],
    envs: Sequence[str],
    *,
    seeds: Sequence[int] = (0,),
    hyperparams: Mapping[str, Sequence[Any]] | None = None,
    env_kwargs: Mapping[str, Sequence[Any]] | None = None,
    log_folder: str | Path = "logs",
    n_workers: int = 1,
    echo: Callable[[str], None] | None = None,
    **options: Any,
) -> Any:
    """Train every combination of algorithms x envs x settings x seeds, as ``realzoo sweep``.

    Each job is a ``realzoo train`` process writing an ordinary run folder; finished jobs are
    skipped when the same sweep runs again, stopped ones resumed.

    Args:
        algos, envs: the algorithms and gymnasium ids.
        seeds: one run per seed.
        hyperparams: a grid: each key maps to the list of values to try
            (``{"learning_rate": [1e-3, 3e-4]}`` gives two settings).
        env_kwargs: a grid of env kwargs, the same way.
        log_folder: root of the log tree.
        n_workers: processes at once.
        echo: receives one line per event (None: quiet).
        **options: training options every job shares, by their
            :class:`~rlzoo_real.train.request.TrainArgs` field name (``n_timesteps``,
            ``eval_freq``, ``device`` ...).

    Returns:
        The :class:`~rlzoo_real.executors.sweep.SweepResult` (``outcomes``, ``exit_code``,
        ``summary_file``); failed jobs are listed with their log, not raised.

    Raises:
        UserError: a request a job would refuse, before any job starts.
    """
    from rlzoo_real.executors.sweep import check_jobs, finished_runs, make_jobs, run_sweep
    from rlzoo_real.train.request import TrainArgs

    template = TrainArgs(log_folder=str(log_folder), **_checked(options, TrainArgs, "sweep"))
    jobs = make_jobs(
        algos=list(algos),
        envs=list(envs),
        seeds=[int(s) for s in seeds],
        hyperparams=_grid(hyperparams, "hyperparams"),
        env_kwargs=_grid(env_kwargs, "env_kwargs"),
        template=template,
    )
    folder = Path(log_folder)
    done = finished_runs(folder, jobs)
    stopped = finished_runs(folder, jobs, status="stopped")
    check_jobs(
        [job for job in jobs if job.match_key() not in done and job.match_key() not in stopped]
    )
    return run_sweep(
        jobs,
        log_folder=folder,
        n_workers=n_workers,
        on_event=echo or (lambda line: None),
        command="python: rlzoo_real.sweep(...)",
    )


def _checked(options: dict[str, Any], cls: Any, name: str) -> dict[str, Any]:
    import dataclasses

    from rlzoo_real.errors import ConfigError, suggest

    fields = {f.name for f in dataclasses.fields(cls)}
    for key in options:
        if key not in fields:
            raise ConfigError(
                f"{name}: unknown option {key!r}.{suggest(key, fields)} "
                f"Options: {', '.join(sorted(fields))}."
            )
    return options


def _words(values: Mapping[str, Any] | None, where: str) -> list[str]:
    """Values as the ``key:value`` words a subprocess's command line carries."""
    from rlzoo_real.config.literals import format_value
    from rlzoo_real.config.tables import plain_overrides

    plain = plain_overrides(dict(values or {}), where)
    return [f"{key}:{format_value(value)}" for key, value in plain.items()]


def _grid(grid: Mapping[str, Sequence[Any]] | None, where: str) -> list[str]:
    from rlzoo_real.errors import ConfigError

    words: list[str] = []
    for key, values in (grid or {}).items():
        if isinstance(values, str) or not isinstance(values, Sequence) or not values:
            raise ConfigError(
                f"sweep {where}[{key!r}] must be a non-empty list of the values to try, e.g. "
                f"{{{key!r}: [...]}}; got {values!r}."
            )
        for value in values:
            words += _words({key: value}, where)
    return words
