"""The callback that connects a training run to its Optuna trial.

It rides along the run's own evaluation callback (``--eval-freq``): after each
evaluation it reports the mean return to the trial, asks the pruner whether to stop,
and checks for divergence (a non-finite return, or NaN/inf in the policy's
parameters), so a trial that blows up fails with a reason instead of wasting its
budget. Importing this module imports Stable-Baselines3; import it lazily.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from stable_baselines3.common.callbacks import BaseCallback, EvalCallback

from rlzoo_real.train.stopping import TrainingDiverged

__all__ = ["TrialDiverged", "TrialReporter"]


#: Training produced NaN or infinite values: the trial is failed with this message. The same
#: class as the train loop's own (a UserError), so a worker catches both alike.
TrialDiverged = TrainingDiverged


class TrialReporter(BaseCallback):
    """Report each evaluation of the run to ``trial`` and stop the run when it is pruned.

    Args:
        trial: the Optuna trial this run is.
        n_timesteps: the run's budget; the evaluation at the end is reported but never
            pruned (its value is the trial's result).
        should_stop: polled at every step; True stops the run (a signal that reached
            the worker before the run installed its own handlers).

    Attributes:
        values: the mean return of every evaluation so far.
        pruned_at: the evaluation (1-based) at which the pruner stopped the run, or None.
        interrupted: True when ``should_stop`` stopped the run.
    """

    def __init__(
        self, trial: Any, n_timesteps: int, should_stop: Callable[[], bool] | None = None
    ) -> None:
        super().__init__()
        self.trial = trial
        self.n_timesteps = n_timesteps
        self.should_stop = should_stop
        self.values: list[float] = []
        self.pruned_at: int | None = None
        self.interrupted = False
        self._eval: EvalCallback | None = None

    def _on_training_start(self) -> None:
        self._eval = _find_eval_callback(self.locals.get("callback"))
        if self._eval is None:
            raise RuntimeError("TrialReporter needs the run's EvalCallback (eval_freq > 0)")

    def _on_step(self) -> bool:
        assert self._eval is not None
        if self.should_stop is not None and self.should_stop():
            self.interrupted = True
            return False
        count = len(self._eval.evaluations_results)
        if count <= len(self.values):
            return True
        value = float(self._eval.last_mean_reward)
        self.values.append(value)
        if not math.isfinite(value):
            raise TrialDiverged(f"evaluation {count} returned a mean return of {value}")
        bad = _non_finite_parameter(self.model)
        if bad is not None:
            raise TrialDiverged(f"NaN or inf in the policy's {bad} at step {self.num_timesteps}")
        self.trial.report(value, count)
        if self.model.num_timesteps < self.n_timesteps and self.trial.should_prune():
            self.pruned_at = count
            return False
        return True


def _find_eval_callback(callback: Any) -> EvalCallback | None:
    """The EvalCallback among the callbacks ``learn`` runs (a CallbackList, nested or not)."""
    if isinstance(callback, EvalCallback):
        return callback
    for child in getattr(callback, "callbacks", []) or []:
        found = _find_eval_callback(child)
        if found is not None:
            return found
    return None


def _non_finite_parameter(model: Any) -> str | None:
    import torch

    policy = getattr(model, "policy", None)
    if policy is None:
        return None
    with torch.no_grad():
        for name, tensor in policy.named_parameters():
            if not bool(torch.isfinite(tensor).all()):
                return name
    return None
