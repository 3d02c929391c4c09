"""The oscillators of :mod:`~rlzoo_real.algos.openloop` as plain functions on arrays.

The torques a PD controller gives to track the oscillators (and their phases one step
later), and the search space: a unit cube, one coordinate per searched quantity, mapped
onto amplitudes, phases, offsets and frequencies within a joint layout's ranges. The
SB3 classes (the policy that acts, the algorithm that searches) live in ``openloop``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from rlzoo_real.algos.joints import JointLayout

__all__ = ["oscillator_torques", "search_space", "unit_to_params"]


def oscillator_torques(
    obs: np.ndarray,
    theta: np.ndarray,
    params: Mapping[str, np.ndarray],
    *,
    kp: float,
    kd: float,
    layout: JointLayout,
    action_low: np.ndarray,
    action_high: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Torques for observations ``obs`` (n_envs, obs_dim) at phases ``theta`` (n_envs, n_joints).

    Returns:
        The clipped torques and the phases one step later.
    """
    angle = theta + params["phase"]
    desired = params["amplitude"] * np.sin(angle) + params["offset"]
    q, dq = obs[:, layout.q_index], obs[:, layout.qd_index]
    torques = np.clip(kp * (desired - q) - kd * dq, action_low, action_high)
    omega = np.where(np.sin(angle) > 0, params["omega_swing"], params["omega_stance"])
    return torques.astype(np.float32), theta + layout.dt * omega


def search_space(n_joints: int, *, offsets: bool, swing_stance: bool) -> dict[str, Any]:
    """The Optuna distributions of the search: each quantity on [0, 1]."""
    from optuna.distributions import FloatDistribution

    unit = FloatDistribution(0.0, 1.0)
    n = n_joints
    # Phases are relative to the first joint's: shifting all of them only moves the start.
    names = [f"amplitude_{i}" for i in range(n)] + [f"phase_{i}" for i in range(1, n)]
    if offsets:
        names += [f"offset_{i}" for i in range(n)]
    names += ["frequency_swing", "frequency_stance"] if swing_stance else ["frequency"]
    return {name: unit for name in names}


def unit_to_params(
    unit: Mapping[str, float],
    layout: JointLayout,
    *,
    amplitude_scale: float,
    offset_scale: float,
    min_frequency: float,
    max_frequency: float,
    swing_stance: bool,
) -> dict[str, np.ndarray]:
    """Oscillator parameters from a point of the unit cube the search samples.

    Amplitudes run from 0 to ``amplitude_scale`` times half the joint's range, phases
    over a full turn (the first joint's is 0), offsets ``offset_scale`` times half the
    range around the joint's rest position (within its range), frequencies from
    ``min_frequency`` to ``max_frequency`` (in Hz; the parameters hold rad/s).
    """
    n = layout.q_index.size
    half = (layout.high - layout.low) / 2

    def values(prefix: str) -> np.ndarray:
        return np.array([unit.get(f"{prefix}_{i}", 0.0) for i in range(n)], dtype=float)

    offset = layout.rest.copy()
    if offset_scale > 0:
        offset += (2 * values("offset") - 1) * offset_scale * half
        offset = np.clip(offset, layout.low, layout.high)
    span = max_frequency - min_frequency

    def omega(u: float) -> np.ndarray:
        return np.array(2 * math.pi * (min_frequency + u * span))

    swing = unit["frequency_swing"] if swing_stance else unit["frequency"]
    stance = unit["frequency_stance"] if swing_stance else unit["frequency"]
    return {
        "amplitude": values("amplitude") * amplitude_scale * half,
        "phase": values("phase") * 2 * math.pi,
        "offset": offset,
        "omega_swing": omega(swing),
        "omega_stance": omega(stance),
    }
