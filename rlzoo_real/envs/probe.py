"""The one env probe of a run: make, wrap, reset, send the rest action, close.

Before any run folder exists, ``realzoo train`` checks what a user can get wrong about the
env (kwargs its constructor refuses, an action space the algorithm cannot handle, values a
wrapper refuses, an env openloop cannot drive) on ONE env: on a robot every creation is a
connection, so the checks share it instead of each making its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from rlzoo_real.errors import UserError

if TYPE_CHECKING:
    from rlzoo_real.algos.registry import AlgoSpec
    from rlzoo_real.config.spec import RunSpec

__all__ = ["probe_env", "probe_run_envs"]


def probe_run_envs(
    algo: AlgoSpec,
    spec: RunSpec,
    env_kwargs: Mapping[str, Any],
    eval_env_kwargs: Mapping[str, Any],
) -> int:
    """Probe the env of a run (training and evaluation); return the number of envs made.

    The evaluation env shares the training probe when its kwargs equal training's (the
    same object or equal values). When they differ, the evaluation env is a different
    env (another robot setup, another simulator parameter), and checking its kwargs
    honestly means making it: a second probe, which this function then makes.
    """
    probe_env(algo, spec, env_kwargs)
    if eval_env_kwargs is env_kwargs or _equal(eval_env_kwargs, env_kwargs):
        return 1
    probe_env(algo, spec, eval_env_kwargs)
    return 2


def probe_env(algo: AlgoSpec, spec: RunSpec, env_kwargs: Mapping[str, Any]) -> None:
    """Make ``spec.env_id`` once with ``env_kwargs``, wrap, reset, step at rest, close.

    What is checked on that one env, in order: the constructor accepts the kwargs; each
    ``env_wrapper`` accepts its values on this env; reset runs; the algorithm's own check
    (:meth:`~rlzoo_real.algos.registry.AlgoSpec.check_probe`, e.g. openloop reads joint
    positions from the observation) passes on the observation of that reset; the
    algorithm handles the env's action space; one step runs, with the action at rest
    (:func:`rlzoo_real.envs.filters.rest_action`, never a random one: on hardware the
    probe moves the robot as little as possible).

    The wrapper classes must already have passed
    :func:`rlzoo_real.envs.make.check_class_refs` (allowlist, signature).

    Raises:
        UserError: naming the env, its kwargs or the wrapper, and what would be accepted.
    """
    import gymnasium as gym

    from rlzoo_real.envs.filters import rest_action
    from rlzoo_real.envs.make import accepted_arguments, resolve_class

    env_id, kwargs = spec.env_id, dict(env_kwargs)
    refs = spec.env_wrappers
    classes = [resolve_class(ref.path, kind="env_wrapper", where=spec.source) for ref in refs]
    try:
        env = gym.make(env_id, **kwargs)
    except (TypeError, ValueError) as exc:
        raise _not_made(env_id, kwargs, exc) from None
    try:
        kind = type(env.action_space).__name__  # the env's own, as the algorithm is told
        for ref, cls in zip(refs, classes, strict=True):
            try:
                env = cls(env, **dict(ref.kwargs))
            except (ValueError, TypeError, AssertionError) as exc:
                raise UserError(
                    f"env_wrapper {ref.path} {dict(ref.kwargs)} refused {env_id}: "
                    f"{str(exc).rstrip('.')}. {accepted_arguments(cls, 1)}"
                ) from None
        try:
            obs, _ = env.reset(seed=0)
        except (TypeError, ValueError) as exc:
            raise _not_made(env_id, kwargs, exc, wrapped=bool(refs)) from None
        algo.check_probe(spec, env, obs)  # before the step: the observation of the reset
        if kind not in algo.action_spaces:  # after the algorithm's check: its reason is finer
            raise UserError(
                f"{algo.name} does not support {env_id}: its action space is {kind}, and "
                f"{algo.name} handles {', '.join(sorted(algo.action_spaces))} action spaces."
            )
        try:
            env.step(rest_action(env.action_space))  # never a random command to a robot
        except (TypeError, ValueError) as exc:
            raise _not_made(env_id, kwargs, exc, wrapped=bool(refs)) from None
    finally:
        env.close()


def _equal(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    try:
        return bool(dict(a) == dict(b))
    except (TypeError, ValueError):  # values that do not compare as one bool (numpy arrays)
        return False


def _not_made(
    env_id: str, kwargs: dict[str, Any], exc: Exception, *, wrapped: bool = False
) -> UserError:
    wrappers = " and its env_wrapper list" if wrapped else ""
    return UserError(
        f"Could not create and step {env_id} with env kwargs {kwargs}{wrappers}: "
        f"{type(exc).__name__}: {exc}. Check --env-kwargs against the env's constructor."
    )
