"""The arithmetic of realzoo's action safety layers, in numpy only.

:mod:`rlzoo_real.envs.wrappers` wraps these for training and replay; a robot's control loop
that runs an exported ONNX policy uses the same classes on the policy's output, so the
robot sees exactly the actions the policy was trained with:

    limiter = RateLimiter(max_delta=np.full(1, 0.1), initial=np.zeros(1))
    smoother = LowPass(alpha=0.5, initial=np.zeros(1))
    action = smoother(limiter(onnx_action))  # the YAML list [LowPassFilter, RateLimit]

Each filter is stateful (the previous action): call :meth:`reset` at the start of an
episode. Nothing here imports more than numpy.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = [
    "ActionClip",
    "LowPass",
    "RateLimiter",
    "box_middle",
    "broadcast",
    "cutoff_to_alpha",
    "rest_action",
]


def broadcast(value: Any, shape: tuple[int, ...], name: str) -> np.ndarray:
    """``value`` (a number or a list with one entry per action dimension) as a float array.

    Raises:
        ValueError: when a list does not have one entry per dimension, or holds no numbers.
    """
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number or a list of numbers, got {value!r}") from None
    if array.ndim == 0:
        return np.full(shape, float(array))
    if array.size != int(np.prod(shape)):
        raise ValueError(
            f"{name} has {array.size} entries, the action has {int(np.prod(shape))} dimensions "
            f"(give one number, or one per dimension)"
        )
    return array.reshape(shape)


def box_middle(low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """The middle of a box, per dimension; 0 where a bound is infinite."""
    low, high = np.asarray(low, dtype=np.float64), np.asarray(high, dtype=np.float64)
    finite = np.isfinite(low) & np.isfinite(high)
    return np.where(finite, (np.where(finite, low, 0.0) + np.where(finite, high, 0.0)) / 2, 0.0)


def rest_action(space: Any) -> Any:
    """An action that moves a robot as little as we can tell: the middle of a Box action
    space (0 torque for a symmetric box); discrete spaces: their first action; others: a sample.

    Used where realzoo steps an env only to check it, so that a pre-flight check never
    sends a random command to hardware.
    """
    import gymnasium as gym

    if isinstance(space, gym.spaces.Box):
        return box_middle(space.low, space.high).astype(space.dtype).reshape(space.shape)
    if isinstance(space, gym.spaces.Discrete):
        return space.start
    if isinstance(space, gym.spaces.MultiDiscrete):
        return np.array(space.start, dtype=space.dtype)
    if isinstance(space, gym.spaces.MultiBinary):
        return np.zeros(space.shape, dtype=space.dtype)
    return space.sample()


def cutoff_to_alpha(cutoff_hz: float, dt: float) -> float:
    """The smoothing factor of a first-order low-pass filter with cut-off ``cutoff_hz``.

    ``alpha = 1 - exp(-2 pi f dt)``: the exact discretization of ``tau da/dt = u - a``
    with ``tau = 1 / (2 pi f)``, sampled every ``dt`` seconds.
    """
    if not cutoff_hz > 0 or not dt > 0:
        raise ValueError(f"cutoff_hz and dt must be positive, got {cutoff_hz} and {dt}")
    return 1.0 - math.exp(-2.0 * math.pi * cutoff_hz * dt)


class ActionClip:
    """Clip actions into ``[low, high]`` (stateless)."""

    def __init__(self, low: np.ndarray, high: np.ndarray) -> None:
        self.low = np.asarray(low, dtype=np.float64)
        self.high = np.asarray(high, dtype=np.float64)

    def reset(self) -> None:
        """Nothing to reset; here so that every filter has the same interface."""

    def __call__(self, action: Any) -> np.ndarray:
        return np.clip(np.asarray(action, dtype=np.float64), self.low, self.high)


class RateLimiter:
    """Limit the change of the action per step: ``a_t = a_{t-1} + clip(u_t - a_{t-1}, +-d)``.

    Args:
        max_delta: the largest change per step and dimension (positive).
        initial: ``a_{-1}``, the action the first step of an episode is limited against.
    """

    def __init__(self, max_delta: np.ndarray, initial: np.ndarray) -> None:
        self.max_delta = np.asarray(max_delta, dtype=np.float64)
        if not np.all(self.max_delta > 0):
            raise ValueError(f"max_delta must be positive, got {self.max_delta.tolist()}")
        self.initial = np.asarray(initial, dtype=np.float64)
        self.previous = self.initial.copy()

    def reset(self) -> None:
        """Start a new episode from the initial action."""
        self.previous = self.initial.copy()

    def __call__(self, action: Any) -> np.ndarray:
        step = np.clip(np.asarray(action, dtype=np.float64) - self.previous, -self.max_delta, None)
        self.previous = self.previous + np.minimum(step, self.max_delta)
        return self.previous.copy()


class LowPass:
    """First-order low-pass filter: ``a_t = alpha * u_t + (1 - alpha) * a_{t-1}``.

    Args:
        alpha: smoothing factor in (0, 1]; 1 passes actions through unchanged.
        initial: ``a_{-1}``, the filter's state at the start of an episode.
    """

    def __init__(self, alpha: float, initial: np.ndarray) -> None:
        if not 0.0 < alpha <= 1.0:
            raise ValueError(f"alpha must be in (0, 1], got {alpha}")
        self.alpha = float(alpha)
        self.initial = np.asarray(initial, dtype=np.float64)
        self.previous = self.initial.copy()

    def reset(self) -> None:
        """Start a new episode from the initial action."""
        self.previous = self.initial.copy()

    def __call__(self, action: Any) -> np.ndarray:
        action = np.asarray(action, dtype=np.float64)
        self.previous = self.alpha * action + (1.0 - self.alpha) * self.previous
        return self.previous.copy()
