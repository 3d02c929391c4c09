"""Callbacks and logger outputs that the train loop adds to Stable-Baselines3's."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.logger import CSVOutputFormat, KVWriter

from rlzoo_real.train.stopping import EXIT_DIVERGED, Diverged, finite, non_finite_parameter

__all__ = [
    "EXIT_DIVERGED",
    "ContinuedCSVOutputFormat",
    "DivergenceGuard",
    "Diverged",
    "non_finite_parameter",
    "RunControl",
    "SaveBestNormalization",
    "StopTraining",
    "WandbWriter",
]


class DivergenceGuard(BaseCallback):
    """Stops training at the first NaN or inf, before anything is saved from it.

    Checked at every step: the actions, observations and rewards of the step (a few
    numbers per env). At every rollout start (right after the gradient update): the
    losses and other values the update recorded in the logger. Parameters and
    normalization statistics are checked by :class:`RunControl` before a checkpoint is
    written and by the train loop before the final model is saved.
    Raises :class:`Diverged`. ``seconds`` is the time spent checking.
    """

    def __init__(self) -> None:
        super().__init__()
        self.seconds = 0.0

    def _on_step(self) -> bool:
        import time

        start = time.perf_counter()
        for key, label in (
            ("actions", "the actions"),
            ("new_obs", "the observations the env returned"),
            ("rewards", "the rewards the env returned"),
        ):
            value = self.locals.get(key)
            if value is not None and not finite(value):
                raise Diverged(f"NaN or inf in {label}", self.num_timesteps)
        self.seconds += time.perf_counter() - start
        return True

    def _on_rollout_start(self) -> None:
        self.check_losses()

    def check_losses(self) -> None:
        """Raise :class:`Diverged` if the last update logged a non-finite value."""
        import math
        import time

        start = time.perf_counter()
        for key, value in self.model.logger.name_to_value.items():
            if (
                key.startswith("train/")
                and isinstance(value, int | float)
                and not math.isfinite(value)
            ):
                raise Diverged(f"{key} became {value}", self.model.num_timesteps)
        self.seconds += time.perf_counter() - start


class SaveBestNormalization(BaseCallback):
    """On a new best evaluation, save the normalization statistics of ``best_model.zip``."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path

    def _on_step(self) -> bool:
        vec_normalize = self.model.get_vec_normalize_env()
        if vec_normalize is not None:
            vec_normalize.save(str(self.path))
        return True


class WandbWriter(KVWriter):
    """An SB3 logger output that sends every numeric value to the current W&B run."""

    def __init__(self, run: Any) -> None:
        self.run = run

    def write(
        self,
        key_values: dict[str, Any],
        key_excluded: dict[str, tuple[str, ...]],
        step: int = 0,
    ) -> None:
        metrics = {
            key: value
            for key, value in key_values.items()
            if isinstance(value, int | float)
            and not isinstance(value, bool)
            and "wandb" not in key_excluded.get(key, ())
        }
        if metrics:
            self.run.log({**metrics, "global_step": step})

    def close(self) -> None:
        return None


class ContinuedCSVOutputFormat(CSVOutputFormat):
    """SB3's CSV output, continuing an existing ``progress.csv`` instead of truncating it."""

    def __init__(self, filename: str) -> None:
        self.file = open(filename, "r+")  # noqa: SIM115 - closed by the logger
        header = self.file.readline().rstrip("\n")
        self.keys = header.split(",") if header else []
        self.separator = ","
        self.quotechar = '"'
        self.file.seek(0, os.SEEK_END)


class RunControl(BaseCallback):
    """Writes checkpoints at rollout boundaries and stops the run when asked.

    Checkpoints are taken at the start of a rollout, after the previous update, which is
    the point a resumed run starts from, so resuming repeats exactly what would have
    happened. On a stop request an off-policy run finishes its step and update and stops
    at the next rollout start; an on-policy run stops after the current step (its partial
    rollout is dropped) and the train loop writes the checkpoint. A stop request on the
    last rollout, once the run's budget (``-n``) is reached, lets that rollout and its
    update end: the run is then finished, as if it had not been asked to stop, rather
    than stopped with a budget that a resume could never complete.
    """

    def __init__(
        self,
        *,
        run: Any,
        save_freq: int,
        keep: int,
        keep_buffers: bool,
        stop: Any,
        eval_callback: Any,
        last_checkpoint: int = 0,
        verbose: int = 0,
    ) -> None:
        super().__init__(verbose)
        self.run = run
        self.save_freq = save_freq
        self.keep = keep
        self.keep_buffers = keep_buffers
        self.stop = stop
        self.eval_callback = eval_callback
        self.last_checkpoint = last_checkpoint
        self.records: list[Any] = []

    def _on_step(self) -> bool:
        from stable_baselines3.common.on_policy_algorithm import OnPolicyAlgorithm

        if not (self.stop.requested and isinstance(self.model, OnPolicyAlgorithm)):
            return True
        return self.num_timesteps >= self.model._total_timesteps  # the last rollout: finish it

    def _on_rollout_start(self) -> None:
        steps = self.model.num_timesteps
        if self.stop.requested:
            self.checkpoint(at_rollout_start=True)
            raise StopTraining
        due = (
            self.save_freq > 0 and steps // self.save_freq > self.last_checkpoint // self.save_freq
        )
        if due and steps > self.last_checkpoint:
            self.checkpoint(at_rollout_start=True)

    def checkpoint(self, *, at_rollout_start: bool = False) -> Any:
        """Write a checkpoint of the current state (once per step count).

        ``at_rollout_start``: called from a rollout start (the rollout's gSDE noise is kept).
        """
        from rlzoo_real.train.checkpoint import save_checkpoint
        from rlzoo_real.train.state import capture_state

        if self.records and self.records[-1].steps == self.model.num_timesteps:
            return self.records[-1]
        bad = non_finite_parameter(self.model)
        if bad is not None:  # never a NaN checkpoint over good ones
            raise Diverged(f"NaN or inf in {bad}", self.model.num_timesteps)
        state = capture_state(
            self.model,
            eval_callback=self.eval_callback,
            run=self.run,
            at_rollout_start=at_rollout_start,
        )
        record = save_checkpoint(
            self.run, self.model, state, keep=self.keep, keep_buffers=self.keep_buffers
        )
        self.last_checkpoint = record.steps
        self.records.append(record)
        if self.verbose:
            print(f"Checkpoint at {record.steps} steps ({record.seconds:.2f} s)")
        return record


class StopTraining(Exception):
    """Raised at a rollout boundary to leave ``learn`` after a stop request."""
