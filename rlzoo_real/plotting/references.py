"""Reference returns per env: a random policy's and an expert's, for normalized scores.

A normalized score is ``(return - random) / (expert - random)``: 0 is the random
policy, 1 the expert. rliable's optimality gap and performance profiles read such
scores (an optimality gap of 0 means every run reached the expert score).

Sources of the built-in table:

- ``random``: the mean return of uniformly random actions over 50 episodes (10 for
  CarRacing), seed 0, gymnasium 1.4 / MuJoCo 4.0, measured with
  ``scripts/measure_random_scores.py``.
- ``expert``: the best mean return in the RL Zoo's ``benchmark.md`` (one trained agent
  per algorithm, older env versions v2/v3), rounded; where the Zoo has no entry, the
  env's maximum or a typical well-tuned SAC/TQC result (marked ``approx``).

Extend or override it with a YAML file (``--references refs.yml``)::

    MyRobot-v0: {random: -50.0, expert: 120.0}
    Pendulum-v1: {random: -1230, expert: -140}
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rlzoo_real.errors import UserError

if TYPE_CHECKING:
    import numpy as np

__all__ = ["REFERENCES", "Reference", "load_references", "normalize"]


@dataclass(frozen=True)
class Reference:
    """Returns that map to normalized scores 0 (``random``) and 1 (``expert``)."""

    random: float
    expert: float
    source: str = "built-in"


_ZOO = "RL Zoo benchmark.md"
REFERENCES: dict[str, Reference] = {
    # classic control
    "CartPole-v1": Reference(25.1, 500.0, "episode limit"),
    "Acrobot-v1": Reference(-494.2, -69.1, _ZOO),
    "MountainCar-v0": Reference(-200.0, -100.8, _ZOO),
    "MountainCarContinuous-v0": Reference(-33.2, 96.7, _ZOO),
    "Pendulum-v1": Reference(-1227.8, -151.9, _ZOO),
    # Box2D
    "LunarLander-v3": Reference(-210.2, 242.1, _ZOO),
    "LunarLanderContinuous-v3": Reference(-217.2, 278.0, _ZOO),
    "BipedalWalker-v3": Reference(-105.5, 329.8, _ZOO),
    "BipedalWalkerHardcore-v3": Reference(-105.6, 235.2, _ZOO),
    "CarRacing-v3": Reference(-32.1, 900.0, "gymnasium's solved threshold"),
    # MuJoCo
    "Ant-v5": Reference(-38.4, 5813.3, _ZOO),
    "HalfCheetah-v5": Reference(-283.2, 12089.9, _ZOO),
    "Hopper-v5": Reference(17.9, 3754.2, _ZOO),
    "Humanoid-v5": Reference(111.4, 7239.3, _ZOO),
    "HumanoidStandup-v5": Reference(33370.1, 150000.0, "approx"),
    "InvertedDoublePendulum-v5": Reference(47.1, 9350.0, "approx (maximum ~9360)"),
    "InvertedPendulum-v5": Reference(4.8, 1000.0, "episode limit"),
    "Pusher-v5": Reference(-148.8, -22.0, "approx"),
    "Reacher-v5": Reference(-43.6, -4.0, "approx"),
    "Swimmer-v5": Reference(-0.6, 365.7, _ZOO),
    "Walker2d-v5": Reference(1.3, 4933.1, _ZOO),
}


def load_references(path: Path | None = None) -> dict[str, Reference]:
    """The built-in table, extended (and overridden) by the YAML file at ``path``.

    Raises:
        UserError: when the file is missing, is not YAML, or an entry lacks a number
            for ``random`` or ``expert``, or has them equal.
    """
    table = dict(REFERENCES)
    if path is None:
        return table
    import yaml

    try:
        from rlzoo_real.runs.yaml_io import safe_load  # refuses duplicate keys

        data = safe_load(path.read_text())
    except OSError as exc:
        raise UserError(f"--references {str(path)!r}: cannot read it ({exc}).") from None
    except yaml.YAMLError as exc:
        raise UserError(f"--references {str(path)!r} is not valid YAML: {exc}") from None
    example = "e.g. 'MyEnv-v0: {random: -50.0, expert: 120.0}'"
    if not isinstance(data, dict):
        raise UserError(f"--references {str(path)!r} must map env ids to entries, {example}.")
    for env_id, entry in data.items():
        if not isinstance(entry, dict) or not {"random", "expert"} <= set(entry):
            raise UserError(
                f"--references {str(path)!r}, entry {env_id!r}: needs 'random' and 'expert' "
                f"returns, {example}; got {entry!r}."
            )
        try:
            ref = Reference(float(entry["random"]), float(entry["expert"]), str(path))
        except (TypeError, ValueError):
            raise UserError(
                f"--references {str(path)!r}, entry {env_id!r}: 'random' and 'expert' must be "
                f"numbers, got {entry['random']!r} and {entry['expert']!r}."
            ) from None
        if ref.random == ref.expert:
            raise UserError(
                f"--references {str(path)!r}, entry {env_id!r}: 'random' and 'expert' are both "
                f"{ref.random}; they must differ."
            )
        table[str(env_id)] = ref
    return table


def normalize(returns: np.ndarray, reference: Reference) -> np.ndarray:
    """``(returns - random) / (expert - random)``."""
    return (returns - reference.random) / (reference.expert - reference.random)
