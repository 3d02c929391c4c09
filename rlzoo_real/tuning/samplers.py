"""The Optuna samplers and pruners ``realzoo tune`` offers, set up as the RL Zoo sets them."""

from __future__ import annotations

from typing import Any

__all__ = ["PRUNERS", "SAMPLERS", "make_pruner", "make_sampler"]

#: --sampler choices: TPE (multivariate, with constant liar for parallel workers), random,
#: CMA-ES (categoricals sampled at random) and Gaussian-process Bayesian optimization.
SAMPLERS = ("tpe", "random", "cmaes", "gp")
#: --pruner choices.
PRUNERS = ("median", "halving", "hyperband", "none")


def make_sampler(name: str, *, seed: int | None, n_startup_trials: int) -> Any:
    """The Optuna sampler called ``name`` (one of :data:`SAMPLERS`)."""
    import warnings

    import optuna
    from optuna.exceptions import ExperimentalWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExperimentalWarning)
        if name == "random":
            return optuna.samplers.RandomSampler(seed=seed)
        if name == "cmaes":
            return optuna.samplers.CmaEsSampler(
                n_startup_trials=n_startup_trials, seed=seed, warn_independent_sampling=False
            )
        if name == "gp":
            return optuna.samplers.GPSampler(
                n_startup_trials=n_startup_trials, seed=seed, warn_independent_sampling=False
            )
        return optuna.samplers.TPESampler(
            n_startup_trials=n_startup_trials, seed=seed, multivariate=True, constant_liar=True
        )


def make_pruner(name: str, *, n_startup_trials: int, n_evaluations: int) -> Any:
    """The Optuna pruner called ``name`` (one of :data:`PRUNERS`), as the RL Zoo sets them."""
    import optuna

    if name == "median":
        return optuna.pruners.MedianPruner(
            n_startup_trials=n_startup_trials, n_warmup_steps=n_evaluations // 3
        )
    if name == "halving":
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=4)
    if name == "hyperband":
        return optuna.pruners.HyperbandPruner(
            min_resource=1, max_resource=n_evaluations, reduction_factor=3
        )
    return optuna.pruners.NopPruner()
