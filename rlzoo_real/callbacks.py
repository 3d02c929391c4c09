"""Callbacks and logger outputs that the train loop adds to Stable-Baselines3's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.logger import KVWriter

__all__ = ["SaveBestNormalization", "WandbWriter"]


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
