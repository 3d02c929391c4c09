"""What the API returns: plain, frozen records (no live objects except in :class:`Loaded`)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Evaluation", "Loaded", "TrainingResult"]


@dataclass(frozen=True)
class TrainingResult:
    """What :func:`rlzoo_real.train` (or :func:`rlzoo_real.resume`) left behind.

    Attributes:
        run_folder: the run folder, ``<log_folder>/<algo>/<env>_<N>``.
        algo, env: the algorithm and the env as recorded (``module:Name`` for a user's class).
        seed: the seed the run used (drawn and recorded when none was given).
        status: ``finished``, or ``stopped`` (Ctrl-C, SIGTERM or ``time_limit``: resumable).
        steps: environment steps trained.
        best_eval, last_eval: the best and the last mean evaluation return (nan without
            evaluation, e.g. ``eval_freq`` larger than the budget).
        wall_time_s: seconds this call trained.
        final_model: the model saved at the end (``<env>.zip``).
        best_model: ``best_model.zip``, or None when no evaluation ran.
        stop_reason: why a stopped run stopped (``SIGINT``, ``time limit``), else None.
        checkpoint_steps: steps of the checkpoint a stopped run saved (None: none saved).
        exit_code: what ``realzoo train`` would have exited with (0 when finished).
        notes: remarks (what a resumed run fell back on, ...).
    """

    run_folder: Path
    algo: str
    env: str
    seed: int | None
    status: str
    steps: int
    best_eval: float
    last_eval: float
    wall_time_s: float
    final_model: Path
    best_model: Path | None
    stop_reason: str | None = None
    checkpoint_steps: int | None = None
    exit_code: int = 0
    notes: tuple[str, ...] = ()

    @property
    def resume_command(self) -> str:
        """The command line that continues this run (``rlzoo_real.resume(run_folder)`` too)."""
        import shlex

        return f"realzoo train --resume {shlex.quote(str(self.run_folder))}"


@dataclass(frozen=True)
class Evaluation:
    """Episodes of :func:`rlzoo_real.evaluate`.

    Attributes:
        returns: the return of each episode (undiscounted, unnormalized).
        lengths: the length of each episode in steps.
    """

    returns: tuple[float, ...]
    lengths: tuple[int, ...]

    @property
    def mean_return(self) -> float:
        """Mean return over the episodes."""
        return sum(self.returns) / len(self.returns) if self.returns else math.nan

    @property
    def std_return(self) -> float:
        """Standard deviation of the returns (population)."""
        if not self.returns:
            return math.nan
        mean = self.mean_return
        return math.sqrt(sum((r - mean) ** 2 for r in self.returns) / len(self.returns))


@dataclass
class Loaded:
    """A run loaded by :func:`rlzoo_real.load`: the model, the env as trained, the config.

    Use it as a context manager (or call :meth:`close`) to close the env.

    Attributes:
        run_folder: the run folder.
        algo, env_id: the algorithm and the env as recorded.
        model: the Stable-Baselines3 model with the chosen weights.
        env: the vectorized env as trained: the run's wrappers, frame stack, and normalization
            statistics loaded and frozen (evaluation mode).
        config: the run's hyperparameters (``config.yml``, plain values).
        args: the run's recorded request (``args.yml``), or {} for a lone model.
        model_path: the ``.zip`` that was loaded.
        label: which model it is, for people (``final model``, ``best model`` ...).
        notes: remarks (fallbacks taken).
    """

    run_folder: Path
    algo: str
    env_id: str
    model: Any
    env: Any
    config: dict[str, Any]
    args: dict[str, Any]
    model_path: Path
    label: str
    notes: list[str] = field(default_factory=list)

    def close(self) -> None:
        """Close the env."""
        self.env.close()

    def __enter__(self) -> Loaded:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
