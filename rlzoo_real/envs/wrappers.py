"""Gymnasium wrappers that hyperparameter files can name (``env_wrapper``).

Safety layers for real robots (:class:`ClipAction`, :class:`RateLimit`,
:class:`LowPassFilter`) and observation helpers (:class:`HistoryWrapper`, the time
feature). A YAML entry names them by their short name (``ClipAction``) or full dotted
path (``rlzoo_real.envs.wrappers.ClipAction``); :data:`WRAPPERS` is the table of short names,
which other modules extend with :func:`register_wrapper`. The RL Zoo's wrapper paths
(``rl_zoo3.wrappers.X``) map onto these or onto sb3-contrib's, see :data:`ZOO_ALIASES`.

Every wrapper here passes ``terminated`` and ``truncated`` through unchanged, so a
time limit stays a truncation and off-policy targets still bootstrap on timeouts, and
every stateful one starts each episode afresh on ``reset``. Their state is plain
attributes, so a checkpoint (which pickles the envs) resumes them mid-episode. The
filter arithmetic lives in :mod:`rlzoo_real.envs.filters` (numpy only), for control loops
that run an exported policy.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from rlzoo_real.envs.filters import (
    ActionClip,
    LowPass,
    RateLimiter,
    box_middle,
    broadcast,
    cutoff_to_alpha,
)
from rlzoo_real.errors import UserError, suggest

__all__ = [
    "WRAPPERS",
    "ZOO_ALIASES",
    "ClipAction",
    "HistoryWrapper",
    "LowPassFilter",
    "RateLimit",
    "register_wrapper",
    "wrapper_path",
]

#: RL Zoo wrapper paths -> where realzoo finds the same wrapper.
ZOO_ALIASES: dict[str, str] = {
    "rl_zoo3.wrappers.TimeFeatureWrapper": "sb3_contrib.common.wrappers.TimeFeatureWrapper",
    "utils.wrappers.TimeFeatureWrapper": "sb3_contrib.common.wrappers.TimeFeatureWrapper",
    "rl_zoo3.wrappers.HistoryWrapper": "rlzoo_real.envs.wrappers.HistoryWrapper",
    "utils.wrappers.HistoryWrapper": "rlzoo_real.envs.wrappers.HistoryWrapper",
}

#: Short wrapper names for ``env_wrapper`` entries -> dotted class path (imported when used).
WRAPPERS: dict[str, str] = {
    "ClipAction": "rlzoo_real.envs.wrappers.ClipAction",
    "RateLimit": "rlzoo_real.envs.wrappers.RateLimit",
    "LowPassFilter": "rlzoo_real.envs.wrappers.LowPassFilter",
    "HistoryWrapper": "rlzoo_real.envs.wrappers.HistoryWrapper",
    "TimeFeature": "sb3_contrib.common.wrappers.TimeFeatureWrapper",
    "RealTime": "rlzoo_real.envs.realtime.RealTime",
}


def register_wrapper(name: str, path: str) -> None:
    """Make ``name`` usable in ``env_wrapper`` entries for the class at dotted ``path``.

    The class is imported only when a run uses it.
    """
    if "." in name or not name.isidentifier():
        raise ValueError(f"a short wrapper name is a bare identifier, got {name!r}")
    if "." not in path:
        raise ValueError(f"give the dotted path of the class (package.module.Class), got {path!r}")
    WRAPPERS[name] = path


def wrapper_path(name: str) -> str:
    """The dotted class path for an ``env_wrapper`` entry (short names and Zoo paths mapped).

    Raises:
        UserError: a bare name that is not one of :data:`WRAPPERS`.
    """
    if name in WRAPPERS:
        return WRAPPERS[name]
    if name in ZOO_ALIASES:
        return ZOO_ALIASES[name]
    if "." in name:
        return name
    raise UserError(
        f"env_wrapper {name!r} is not a realzoo wrapper name.{suggest(name, WRAPPERS)} "
        f"realzoo's wrappers: {', '.join(sorted(WRAPPERS))}; any other wrapper is named by its "
        "dotted class path (package.module.ClassName)."
    )


def _action_box(env: gym.Env, wrapper: str) -> gym.spaces.Box:
    space = env.action_space
    if not isinstance(space, gym.spaces.Box):
        raise ValueError(f"{wrapper} needs a Box (continuous) action space, got {space}")
    return space


def _initial(initial: Any, space: gym.spaces.Box) -> np.ndarray:
    if initial is None:
        return box_middle(space.low, space.high)
    value = broadcast(initial, space.shape, "initial")
    if not space.contains(value.astype(space.dtype)):
        raise ValueError(
            f"initial {value.tolist()} is not inside the action box low={space.low.tolist()}, "
            f"high={space.high.tolist()}: it is the action sent before the first step"
        )
    return value


class ClipAction(gym.ActionWrapper[Any, np.ndarray, np.ndarray]):
    """Keep actions inside a box narrower than the env's.

    The wrapper's action space is the narrower box, so the policy's range becomes
    ``[low, high]`` (SAC and TD3 squash into it; PPO's actions are clipped to it, and an
    exported ONNX policy gives actions within it); anything outside is clipped.

    Args:
        env: the env to wrap (Box actions).
        low: lower bound, one number or one per action dimension.
        high: upper bound, likewise.

    Raises:
        ValueError: bounds outside the env's box, ``low > high``, or a wrong length.
    """

    def __init__(self, env: gym.Env, low: Any, high: Any) -> None:
        space = _action_box(env, "ClipAction")
        inner = env
        while isinstance(inner, gym.Wrapper):
            if isinstance(inner, RateLimit | LowPassFilter):
                raise ValueError(
                    f"ClipAction is listed after {type(inner).__name__}: a filter inside it would "
                    "start from and pass through actions outside the narrower box. List "
                    "ClipAction first (innermost), then the filters"
                )
            inner = inner.env
        lo = broadcast(low, space.shape, "low")
        hi = broadcast(high, space.shape, "high")
        if np.any(lo > hi):
            raise ValueError(f"low {lo.tolist()} is above high {hi.tolist()}")
        # compared in the env's dtype: -0.7 in float32 is -0.699999988, the env's own bound
        if np.any(lo.astype(space.dtype) < space.low) or np.any(
            hi.astype(space.dtype) > space.high
        ):
            raise ValueError(
                f"the box low={lo.tolist()}, high={hi.tolist()} is not inside the env's action "
                f"box low={space.low.tolist()}, high={space.high.tolist()}"
            )
        super().__init__(env)
        self.clip = ActionClip(lo, hi)
        self.action_space = gym.spaces.Box(
            lo.astype(space.dtype),
            hi.astype(space.dtype),
            dtype=space.dtype,
        )

    def action(self, action: Any) -> np.ndarray:
        """The action, clipped into the box."""
        return self.clip(action).astype(self.action_space.dtype)


class RateLimit(gym.Wrapper[Any, np.ndarray, Any, np.ndarray]):
    """Limit how much the action may change from one step to the next.

    ``a_t = a_{t-1} + clip(u_t - a_{t-1}, -max_delta, max_delta)``, where ``u_t`` is the
    action asked for and ``a_t`` the one sent on. The first step of an episode is limited
    against ``initial``: by default the middle of the action box (0 for a symmetric box,
    and 0 in dimensions with an infinite bound), i.e. a robot at rest.

    Args:
        env: the env to wrap (Box actions).
        max_delta: the largest change per step, one number or one per dimension (> 0).
        initial: the action before the first step, one number or one per dimension.
    """

    def __init__(self, env: gym.Env, max_delta: Any, initial: Any = None) -> None:
        space = _action_box(env, "RateLimit")
        delta = broadcast(max_delta, space.shape, "max_delta")
        if not np.all(delta > 0):
            raise ValueError(f"max_delta must be positive, got {delta.tolist()}")
        super().__init__(env)
        self.limiter = RateLimiter(delta, _initial(initial, space))

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        self.limiter.reset()
        return self.env.reset(**kwargs)

    def step(self, action: Any) -> tuple[Any, Any, bool, bool, dict[str, Any]]:
        sent = self.limiter(action).astype(self.action_space.dtype)
        return self.env.step(sent)


class LowPassFilter(gym.Wrapper[Any, np.ndarray, Any, np.ndarray]):
    """First-order low-pass filter on actions: ``a_t = alpha * u_t + (1 - alpha) * a_{t-1}``.

    Give ``alpha`` in (0, 1], or ``cutoff_hz`` (then ``alpha = 1 - exp(-2 pi cutoff_hz
    dt)``, with ``dt`` the control period: the ``dt`` argument, else the env's own
    ``dt`` such as MuJoCo's and Pendulum's). The filter starts each episode at
    ``initial``, by default the middle of the action box (see :class:`RateLimit`).

    Args:
        env: the env to wrap (Box actions).
        alpha: smoothing factor; 1 passes actions through.
        cutoff_hz: cut-off frequency in Hz, instead of ``alpha``.
        dt: control period in seconds, for ``cutoff_hz``.
        initial: the filter state at the start of an episode.
    """

    def __init__(
        self,
        env: gym.Env,
        alpha: float | None = None,
        cutoff_hz: float | None = None,
        dt: float | None = None,
        initial: Any = None,
    ) -> None:
        space = _action_box(env, "LowPassFilter")
        if (alpha is None) == (cutoff_hz is None):
            raise ValueError("give exactly one of alpha (in (0, 1]) and cutoff_hz")
        if cutoff_hz is not None:
            period = dt if dt is not None else getattr(env.unwrapped, "dt", None)
            if period is None:
                period = _realtime_period(env)
            if period is None:
                raise ValueError(
                    f"cutoff_hz needs the control period: {type(env.unwrapped).__name__} has no "
                    "dt attribute and no RealTime wrapper is listed before this one, so give dt "
                    "(seconds per step) or alpha"
                )
            alpha = cutoff_to_alpha(float(cutoff_hz), float(period))
        assert alpha is not None
        if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not 0.0 < alpha <= 1.0:
            raise ValueError(f"alpha must be a number in (0, 1], got {alpha!r}")
        super().__init__(env)
        self.alpha = float(alpha)
        self.filter = LowPass(self.alpha, _initial(initial, space))

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        self.filter.reset()
        return self.env.reset(**kwargs)

    def step(self, action: Any) -> tuple[Any, Any, bool, bool, dict[str, Any]]:
        sent = self.filter(action).astype(self.action_space.dtype)
        return self.env.step(sent)


def _realtime_period(env: gym.Env) -> float | None:
    """The period of a ``RealTime`` wrapper inside ``env`` (a robot's env often has no dt)."""
    inner: Any = env
    while isinstance(inner, gym.Wrapper):
        period = getattr(inner, "period_s", None)
        if type(inner).__name__ == "RealTime" and isinstance(period, float):
            return period
        inner = inner.env
    return None


class HistoryWrapper(gym.Wrapper[np.ndarray, np.ndarray, np.ndarray, np.ndarray]):
    """Append the last ``horizon`` observations and actions to the observation.

    Useful for delays and for smooth control: the policy sees what it did before.
    Needs Box observation and action spaces.

    Args:
        env: the env to wrap.
        horizon: how many past steps to keep.
    """

    def __init__(self, env: gym.Env, horizon: int = 2) -> None:
        obs_space, act_space = env.observation_space, env.action_space
        if not isinstance(obs_space, gym.spaces.Box) or not isinstance(act_space, gym.spaces.Box):
            raise ValueError("HistoryWrapper needs Box observation and action spaces")
        if horizon < 1:
            raise ValueError(f"horizon must be >= 1, got {horizon}")
        super().__init__(env)
        self.horizon = horizon
        self._obs_shape = obs_space.shape
        self._obs_history = np.zeros((horizon, *obs_space.shape), dtype=np.float32)
        self._act_history = np.zeros((horizon, *act_space.shape), dtype=np.float32)
        low = np.concatenate(
            [
                np.repeat(obs_space.low[None], horizon, 0).ravel(),
                np.repeat(act_space.low[None], horizon, 0).ravel(),
            ]
        )
        high = np.concatenate(
            [
                np.repeat(obs_space.high[None], horizon, 0).ravel(),
                np.repeat(act_space.high[None], horizon, 0).ravel(),
            ]
        )
        self.observation_space = gym.spaces.Box(  # float32, as the observations it returns
            low=low.astype(np.float32), high=high.astype(np.float32), dtype=np.float32
        )

    def _observation(self) -> np.ndarray:
        return np.concatenate([self._obs_history.ravel(), self._act_history.ravel()])

    def reset(self, **kwargs: Any) -> tuple[np.ndarray, dict[str, Any]]:
        obs, info = self.env.reset(**kwargs)
        self._obs_history[:] = 0.0
        self._act_history[:] = 0.0
        self._obs_history[-1] = obs
        return self._observation(), info

    def step(self, action: np.ndarray) -> tuple[np.ndarray, Any, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        self._obs_history = np.roll(self._obs_history, -1, axis=0)
        self._obs_history[-1] = obs
        self._act_history = np.roll(self._act_history, -1, axis=0)
        self._act_history[-1] = action
        return self._observation(), reward, terminated, truncated, info
