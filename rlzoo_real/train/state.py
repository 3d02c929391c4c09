"""The training state of a checkpoint: what an exact continuation needs beyond the model.

:func:`capture_state` takes the random states (Python, NumPy, torch, the action space,
gSDE noise), the envs themselves (pickled, with MuJoCo's physics state, which pickling
loses), the evaluation callback's history and env, and how far the log files had got
(:func:`rlzoo_real.train.run_logs.log_marks`). The ``restore_*`` functions put each part
back into a freshly built session and say what could not be restored, so that the
resumed run can tell the user it is not bit-exact.
"""

from __future__ import annotations

import random
from typing import Any

from rlzoo_real.runs.folder import RunFolder
from rlzoo_real.train.run_logs import log_marks

__all__ = [
    "STATE_VERSION",
    "capture_state",
    "restore_eval_callback",
    "restore_rng",
    "restore_vec_env",
]

#: the version of the state dict :func:`capture_state` writes (checked when it is loaded)
STATE_VERSION = 1


def capture_state(
    model: Any, *, eval_callback: Any, run: RunFolder, at_rollout_start: bool = False
) -> dict[str, Any]:
    """Everything beyond the model files that an exact continuation needs.

    ``at_rollout_start``: taken in a callback's rollout start, right after
    Stable-Baselines3 drew the rollout's gSDE noise (kept then, matrices for torch, JAX
    keys for SBX, see :mod:`rlzoo_real.algos.gsde`).
    """
    import numpy as np
    import torch

    from rlzoo_real.algos.gsde import capture_noise

    state: dict[str, Any] = {
        "version": STATE_VERSION,
        "num_timesteps": int(model.num_timesteps),
        "rng": {
            "python": random.getstate(),
            "numpy": np.random.get_state(),
            "torch": torch.get_rng_state(),
            "action_space": _space_rng(model.action_space),
            "sde_noise": capture_noise(model) if at_rollout_start else None,
        },
        "train_env": _capture_vec_env(model.get_env()),
        "eval": None,
        "logs": log_marks(run),
    }
    if eval_callback is not None:
        state["eval"] = {
            "env": _capture_vec_env(eval_callback.eval_env),
            "n_calls": eval_callback.n_calls,
            "timesteps": list(eval_callback.evaluations_timesteps),
            "results": [list(map(float, r)) for r in eval_callback.evaluations_results],
            "lengths": [list(map(int, r)) for r in eval_callback.evaluations_length],
            "successes": [list(r) for r in eval_callback.evaluations_successes],
            "best_mean_reward": float(eval_callback.best_mean_reward),
            "last_mean_reward": float(eval_callback.last_mean_reward),
        }
    return state


def restore_rng(model: Any, rng: dict[str, Any]) -> list[str]:
    """Put the random states back; call it last, right before ``learn``.

    Returns:
        notes on what could not be put back (the resumed run is then not bit-exact).
    """
    import numpy as np
    import torch

    random.setstate(rng["python"])
    np.random.set_state(rng["numpy"])
    torch.set_rng_state(rng["torch"])
    if rng.get("action_space") is not None:
        model.action_space.np_random.bit_generator.state = rng["action_space"]
    if not getattr(model, "use_sde", False):
        return []
    from rlzoo_real.algos.gsde import restore_noise

    saved = rng.get("sde_noise")
    if saved is not None and restore_noise(model, saved):
        return []
    return [
        "the gSDE noise could not be restored from this checkpoint (it was not taken "
        "at a rollout start, or the policy's gSDE layout differs from the saved one): the "
        "resumed run explores with new noise, so it is not bit-exact"
    ]


def restore_eval_callback(callback: Any, saved: dict[str, Any]) -> str | None:
    """Give a fresh EvalCallback the history, best score and env state of the checkpoint."""
    import numpy as np

    callback.n_calls = saved["n_calls"]
    callback.evaluations_timesteps = list(saved["timesteps"])
    callback.evaluations_results = [np.array(r) for r in saved["results"]]
    callback.evaluations_length = [np.array(r) for r in saved["lengths"]]
    callback.evaluations_successes = [list(r) for r in saved["successes"]]
    callback.best_mean_reward = saved["best_mean_reward"]
    callback.last_mean_reward = saved["last_mean_reward"]
    return restore_vec_env(callback.eval_env, saved["env"])


def _space_rng(space: Any) -> Any:
    generator = getattr(space, "_np_random", None)
    return generator.bit_generator.state if generator is not None else None


def _base_vec_env(venv: Any) -> Any:
    from stable_baselines3.common.vec_env import VecEnvWrapper

    while isinstance(venv, VecEnvWrapper):
        venv = venv.venv
    return venv


def _frame_stack(venv: Any) -> Any:
    from stable_baselines3.common.vec_env import VecEnvWrapper, VecFrameStack

    while isinstance(venv, VecEnvWrapper):
        if isinstance(venv, VecFrameStack):
            return venv
        venv = venv.venv
    return None


def _monitor(env: Any) -> Any:
    from stable_baselines3.common.monitor import Monitor

    while env is not None:
        if isinstance(env, Monitor):
            return env
        env = getattr(env, "env", None)
    return None


def _capture_vec_env(venv: Any) -> dict[str, Any]:
    import cloudpickle
    from stable_baselines3.common.vec_env import DummyVecEnv

    base = _base_vec_env(venv)
    stack = _frame_stack(venv)
    captured: dict[str, Any] = {
        "envs": None,
        "reason": None,
        "frame_stack": stack.stacked_obs.stacked_obs.copy() if stack is not None else None,
    }
    if not isinstance(base, DummyVecEnv):
        captured["reason"] = "subprocess envs keep their state in other processes"
        return captured
    captured["seeds"] = list(base._seeds)
    captured["options"] = [dict(o) if o else o for o in base._options]
    blobs = []
    for env in base.envs:
        try:
            inner = _inner_state(env.unwrapped)
        except _NotSaveable as exc:
            captured["reason"] = str(exc)
            return captured
        monitor = _monitor(env)
        writer = monitor.results_writer if monitor is not None else None
        if monitor is not None:
            monitor.results_writer = None  # an open file does not pickle
        try:
            blobs.append((cloudpickle.dumps(env), inner))
        except Exception as exc:  # noqa: BLE001 - any env may refuse to pickle, in any way
            captured["reason"] = f"the env could not be saved ({type(exc).__name__}: {exc})"
            return captured
        finally:
            if monitor is not None:
                monitor.results_writer = writer
    captured["envs"] = blobs
    return captured


class _NotSaveable(Exception):
    pass


def _inner_state(env: Any) -> dict[str, Any] | None:
    """State that pickling loses: EzPickle envs pickle as their constructor arguments.

    MuJoCo envs keep everything in their MjData and random generator, which are saved
    here; other EzPickle envs (Box2D) cannot be saved.
    """
    from gymnasium.utils import EzPickle

    if not isinstance(env, EzPickle):
        return None
    model, data = getattr(env, "model", None), getattr(env, "data", None)
    if type(data).__name__ != "MjData":
        raise _NotSaveable(
            f"{type(env).__name__} pickles as its constructor arguments, losing its state"
        )
    import mujoco
    import numpy as np

    spec = mujoco.mjtState.mjSTATE_INTEGRATION
    physics = np.empty(mujoco.mj_stateSize(model, spec))
    mujoco.mj_getState(model, data, physics, spec)
    generator: Any = getattr(env, "np_random")  # noqa: B009 - EzPickle hides the env's type
    return {"mujoco": physics, "np_random": generator.bit_generator.state}


def _restore_inner_state(env: Any, inner: dict[str, Any] | None) -> None:
    if inner is None:
        return
    import mujoco

    mujoco.mj_setState(env.model, env.data, inner["mujoco"], mujoco.mjtState.mjSTATE_INTEGRATION)
    mujoco.mj_forward(env.model, env.data)
    env.np_random.bit_generator.state = inner["np_random"]


def restore_vec_env(venv: Any, saved: dict[str, Any]) -> str | None:
    """Swap the saved envs into a freshly built vectorized env.

    Returns:
        None when the state was restored, else why not (the caller then starts new
        episodes and tells the user the continuation is not exact).
    """
    import cloudpickle

    if saved["envs"] is None:
        return saved["reason"]
    base = _base_vec_env(venv)
    if len(base.envs) != len(saved["envs"]):
        return f"the run had {len(saved['envs'])} envs, now {len(base.envs)}"
    for i, (blob, inner) in enumerate(saved["envs"]):
        fresh = base.envs[i]
        restored = cloudpickle.loads(blob)
        _restore_inner_state(restored.unwrapped, inner)
        fresh_monitor, restored_monitor = _monitor(fresh), _monitor(restored)
        if restored_monitor is not None and fresh_monitor is not None:
            restored_monitor.results_writer = fresh_monitor.results_writer  # append to the file
            fresh_monitor.results_writer = None
        fresh.close()
        base.envs[i] = restored
    base._seeds = list(saved["seeds"])
    base._options = list(saved["options"])
    stack = _frame_stack(venv)
    if stack is not None and saved["frame_stack"] is not None:
        stack.stacked_obs.stacked_obs[...] = saved["frame_stack"]
    return None
