"""Hyperparameter search with Optuna (``realzoo tune``).

- :mod:`~rlzoo_real.tuning.spaces`: search spaces and ``--search-space`` files.
- :mod:`~rlzoo_real.tuning.values`: sampled values made into a trial's hyperparameters.
- :mod:`~rlzoo_real.tuning.default_spaces`: the default space of every algorithm, as data.
- :mod:`~rlzoo_real.tuning.samplers`: ``--sampler`` and ``--pruner``.
- :mod:`~rlzoo_real.tuning.folder`: the study folder and its files.
- :mod:`~rlzoo_real.tuning.storage`: storage URLs, trials of dead workers.
- :mod:`~rlzoo_real.tuning.study`: checking a request, creating or continuing a study.
- :mod:`~rlzoo_real.tuning.worker`: a worker; each trial is a short ``realzoo train`` run.
- :mod:`~rlzoo_real.executors.pool`: ``--n-workers`` worker processes on one machine.
- :mod:`~rlzoo_real.tuning.pruning`: the callback that reports evaluations to Optuna.
- :mod:`~rlzoo_real.tuning.results`: trials CSV, the best entry as YAML, plots.

Nothing heavy is imported here: Optuna, torch and Stable-Baselines3 load when used.
"""

__all__: list[str] = []
