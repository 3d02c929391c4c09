"""Which MuJoCo joints an env lets a controller drive, and where the observation holds them.

:func:`joint_layout` reads the actuators of a gymnasium v5 MuJoCo env (hinge or slide
joints driven directly), their position and velocity indices in the observation (from
``observation_structure``), joint ranges, rest pose and control period.
:func:`check_probe` is the check ``realzoo train -a openloop`` makes on the run's env
probe, before any run folder exists.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from rlzoo_real.errors import UserError

__all__ = ["MADE_FOR", "JointLayout", "check_probe", "joint_layout"]

#: The envs openloop was made for and has shipped settings for.
MADE_FOR = ("Swimmer-v5", "HalfCheetah-v5", "Walker2d-v5", "Hopper-v5", "Ant-v5")
_HINGE, _SLIDE = 3, 2  # mujoco.mjtJoint values
_TRN_JOINT = 0  # mujoco.mjtTrn.mjTRN_JOINT


@dataclass(frozen=True)
class JointLayout:
    """Where each actuated joint's position and velocity are in the observation.

    Attributes:
        q_index: observation index of each actuator's joint position.
        qd_index: observation index of each actuator's joint velocity.
        low: lower end of each joint's range (radians or meters).
        high: upper end of each joint's range.
        rest: each joint's position in the model's rest pose (``qpos0``), within its range.
        dt: seconds between two env steps.
    """

    q_index: np.ndarray
    qd_index: np.ndarray
    low: np.ndarray
    high: np.ndarray
    rest: np.ndarray
    dt: float


def joint_layout(unwrapped: Any) -> JointLayout | str:
    """The joint layout of a MuJoCo env (its ``unwrapped``), or why openloop cannot drive it."""
    model: Any = getattr(unwrapped, "model", None)
    structure = getattr(unwrapped, "observation_structure", None)
    if type(model).__name__ != "MjModel":
        return "it is not a MuJoCo env"
    if model.nu == 0:
        return "its MuJoCo model has no actuators"
    if not isinstance(structure, Mapping) or "qpos" not in structure or "qvel" not in structure:
        return "its observation has no documented joint positions and velocities"
    keys = [k for k in structure if k != "skipped_qpos"]
    if keys[:2] != ["qpos", "qvel"]:
        return "its observation does not start with joint positions and velocities"
    skipped, n_qpos = int(structure.get("skipped_qpos", 0)), int(structure["qpos"])
    q_index, qd_index, low, high, rest = [], [], [], [], []
    for actuator in range(model.nu):
        joint = int(model.actuator_trnid[actuator, 0])
        if model.actuator_trntype[actuator] != _TRN_JOINT or model.jnt_type[joint] not in (
            _HINGE,
            _SLIDE,
        ):
            return f"its actuator {actuator} does not drive a hinge or slide joint"
        q = int(model.jnt_qposadr[joint]) - skipped
        if not 0 <= q < n_qpos:
            return f"the position of the joint of actuator {actuator} is not observed"
        q_index.append(q)
        qd_index.append(n_qpos + int(model.jnt_dofadr[joint]))
        if model.jnt_limited[joint]:
            lo, hi = (float(v) for v in model.jnt_range[joint])
        else:
            lo, hi = -math.pi, math.pi
        low.append(lo)
        high.append(hi)
        rest.append(min(max(float(model.qpos0[model.jnt_qposadr[joint]]), lo), hi))
    return JointLayout(
        np.array(q_index),
        np.array(qd_index),
        np.array(low),
        np.array(high),
        np.array(rest),
        float(unwrapped.dt),
    )


def check_probe(spec: Any, env: Any, obs: Any) -> None:
    """Check, on the run's env probe and before a run folder exists, that openloop can drive
    ``spec.env_id``.

    ``env`` is the probe env with the run's ``env_wrapper`` list applied and ``obs`` the
    observation of its reset (:func:`rlzoo_real.envs.probe.probe_env`): no env of its own.

    Raises:
        UserError: the env has no joints openloop can drive, or the run asks for
            normalization, frame stacking or wrappers that change the observation.
    """
    env_id = spec.env_id
    made_for = ", ".join(MADE_FOR)
    if spec.normalize is not None or spec.frame_stack is not None:
        raise UserError(
            f"{spec.source}: openloop reads joint positions from raw observations and does not "
            "learn from them, so normalize and frame_stack make no sense for it; remove them."
        )
    layout = joint_layout(env.unwrapped)
    if isinstance(layout, JointLayout):
        data, model = env.unwrapped.data, env.unwrapped.model
        adr = model.jnt_qposadr[model.actuator_trnid[:, 0]]
        dof = model.jnt_dofadr[model.actuator_trnid[:, 0]]
        observed = np.asarray(obs, dtype=float).ravel()
        if observed.size <= layout.qd_index.max() or not (
            np.allclose(observed[layout.q_index], data.qpos[adr])
            and np.allclose(observed[layout.qd_index], data.qvel[dof])
        ):
            layout = "its observation does not hold the joint positions where expected"
            if spec.env_wrappers:
                layout += (
                    " once its env_wrapper entries are applied (openloop reads joint "
                    "positions from the observation: use wrappers that leave it unchanged, "
                    "such as the action filters or RealTime)"
                )
    if isinstance(layout, str):
        raise UserError(
            f"openloop cannot drive {env_id}: {layout}. openloop needs a MuJoCo env (gymnasium "
            "v5) whose actuators drive hinge or slide joints and whose observation starts with "
            f"the joint positions and velocities; it is made for {made_for}."
        )
