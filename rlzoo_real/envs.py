"""Making environments: registration checks, wrappers from YAML, vectorization,
frame stacking and normalization.

Training and evaluation envs are built by the same function, so evaluation sees
exactly the observations the agent was trained on; the evaluation env's
normalization statistics are frozen and synced from training.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from rlzoo_real.config import ClassRef, RunSpec
from rlzoo_real.errors import UserError, suggest

__all__ = [
    "WrapperChain",
    "check_env_id",
    "import_gym_packages",
    "is_atari",
    "make_vec_env_for",
    "resolve_class",
]


def import_gym_packages(names: Iterable[str]) -> None:
    """Import modules that register extra envs (``--gym-packages``)."""
    for name in names:
        try:
            importlib.import_module(name)
        except ImportError as exc:
            raise UserError(
                f"--gym-packages: cannot import {name!r} ({exc}). Give the name of an installed "
                "Python module that registers gymnasium envs when imported."
            ) from None


def check_env_id(env_id: str) -> None:
    """Raise a :class:`UserError` (with close names) unless ``env_id`` is registered."""
    import gymnasium as gym

    if env_id in gym.registry:
        return
    hint = suggest(env_id, gym.registry.keys())
    raise UserError(
        f"Unknown environment {env_id!r}: gymnasium has no env registered under that id.{hint} "
        "Check the spelling and version suffix (e.g. Pendulum-v1), or import the package that "
        "registers it with --gym-packages."
    )


def is_atari(env_id: str) -> bool:
    """True for envs from the Arcade Learning Environment."""
    import gymnasium as gym

    entry = str(gym.registry[env_id].entry_point) if env_id in gym.registry else ""
    return "AtariEnv" in entry or "ale_py" in entry


def resolve_class(path: str, *, kind: str) -> Any:
    """Import the class named by the dotted ``path`` (RL Zoo aliases understood)."""
    from rlzoo_real.wrappers import ZOO_ALIASES

    target = ZOO_ALIASES.get(path, path)
    module_name, _, attr = target.rpartition(".")
    if not module_name:
        raise UserError(f"{kind} {path!r} must be a dotted path such as package.module.ClassName.")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        aliases = ", ".join(sorted(ZOO_ALIASES))
        raise UserError(
            f"{kind} {path!r}: cannot import module {module_name!r} ({exc}). Give the dotted path "
            f"of an installed class; RL Zoo names realzoo maps itself: {aliases}."
        ) from None
    try:
        return getattr(module, attr)
    except AttributeError:
        names = [n for n in dir(module) if not n.startswith("_")]
        raise UserError(
            f"{kind} {path!r}: module {module_name!r} has no {attr!r}.{suggest(attr, names)}"
        ) from None


def check_class_refs(refs: Sequence[ClassRef], *, kind: str, leading: int) -> None:
    """Import each class and check that its keyword arguments fit its signature.

    ``leading`` is the number of positional arguments realzoo passes itself (the env).
    """
    for ref in refs:
        cls = resolve_class(ref.path, kind=kind)
        try:
            inspect.signature(cls).bind(*([None] * leading), **dict(ref.kwargs))
        except TypeError as exc:
            raise UserError(
                f"{kind} {ref.path}: wrong arguments {dict(ref.kwargs)} ({exc})."
            ) from None
        except ValueError:
            continue  # no introspectable signature: let the call itself decide


class WrapperChain:
    """Apply the ``env_wrapper`` list to one env (picklable, for subprocess envs)."""

    def __init__(self, refs: Sequence[ClassRef]) -> None:
        self.refs = tuple(refs)

    def __call__(self, env: Any) -> Any:
        for ref in self.refs:
            env = resolve_class(ref.path, kind="env_wrapper")(env, **dict(ref.kwargs))
        return env


def make_vec_env_for(
    spec: RunSpec,
    *,
    n_envs: int,
    seed: int,
    env_kwargs: Mapping[str, Any],
    vec_env: str = "dummy",
    monitor_dir: Path | None = None,
    append_monitor: bool = False,
    for_eval: bool = False,
    normalize_stats: Path | None = None,
) -> Any:
    """Build the vectorized env for a run, training or evaluation alike.

    Args:
        spec: the run's resolved hyperparameters (wrappers, frame stack, normalization).
        n_envs: number of parallel envs.
        seed: seed of the first env (env ``i`` gets ``seed + i``).
        env_kwargs: keyword arguments for ``gymnasium.make``.
        vec_env: ``"dummy"`` (one process) or ``"subproc"`` (one process per env).
        monitor_dir: where ``<i>.monitor.csv`` files go (None: not written).
        append_monitor: continue existing monitor files (a resumed run) instead of new ones.
        for_eval: evaluation env: normalization frozen and rewards left unnormalized.
        normalize_stats: a ``vecnormalize.pkl`` to load statistics from (warm start).
    """
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.preprocessing import is_image_space, is_image_space_channels_first
    from stable_baselines3.common.vec_env import (
        DummyVecEnv,
        SubprocVecEnv,
        VecFrameStack,
        VecNormalize,
        VecTransposeImage,
    )

    vec_cls = SubprocVecEnv if vec_env == "subproc" and n_envs > 1 else DummyVecEnv
    try:
        env = make_vec_env(
            spec.env_id,
            n_envs=n_envs,
            seed=seed,
            env_kwargs=dict(env_kwargs),
            monitor_dir=str(monitor_dir) if monitor_dir is not None else None,
            wrapper_class=WrapperChain(spec.env_wrappers) if spec.env_wrappers else None,
            vec_env_cls=vec_cls,
            monitor_kwargs={"override_existing": False} if append_monitor else None,
        )
    except TypeError as exc:
        raise UserError(
            f"Could not create {spec.env_id} with env kwargs {dict(env_kwargs)}: {exc}. "
            "Check --env-kwargs / --eval-env-kwargs against the env's constructor."
        ) from None
    for ref in spec.vec_env_wrappers:
        env = resolve_class(ref.path, kind="vec_env_wrapper")(env, **dict(ref.kwargs))
    if spec.frame_stack:
        env = VecFrameStack(env, spec.frame_stack)
    if spec.normalize is not None:
        if normalize_stats is not None and normalize_stats.is_file():
            env = VecNormalize.load(str(normalize_stats), env)
        else:
            env = VecNormalize(env, **dict(spec.normalize))
        if for_eval:
            env.training = False
            env.norm_reward = False
    obs_space = env.observation_space
    if is_image_space(obs_space) and not is_image_space_channels_first(obs_space):  # type: ignore[arg-type]
        env = VecTransposeImage(env)
    return env
