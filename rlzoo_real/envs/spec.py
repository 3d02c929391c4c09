"""Naming an env: a gymnasium id, or a user's env class or factory by its import path.

A run records its env as text in ``args.yml`` so that enjoy, export, resume and
:func:`rlzoo_real.load` can rebuild it in another process. Three forms are accepted:

- a registered gymnasium id, ``CartPole-v1``;
- gymnasium's own ``package.module:Env-v0`` form (importing the module registers the id);
- a user's env class or factory function named ``package.module:Name`` (or given as the
  Python object, which :func:`env_name` turns into that text): a robot that is no gymnasium
  registration. :func:`ensure_registered` registers it with gymnasium under ``Name`` in
  each process that makes it, so every ``gymnasium.make(id)`` of realzoo works unchanged.

What cannot be imported again by its path (a lambda, a class defined inside a function or in
``__main__``, e.g. a notebook cell) is refused with a message: a run would record an env
that nothing can rebuild.
"""

from __future__ import annotations

import importlib
import inspect
import re
from collections.abc import Callable
from typing import Any

from rlzoo_real.errors import EnvError

__all__ = ["env_name", "ensure_registered", "user_env_target"]

_MODULE = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")
_HOW = (
    "Define the env class (or a function returning the env) at the top level of an importable "
    "module, e.g. my_robot/envs.py, and pass it (or 'my_robot.envs:RobotEnv')"
)


def env_name(env: str | type | Callable[..., Any]) -> str:
    """The text that names ``env`` in a run's files: its id, or ``module:QualifiedName``.

    Args:
        env: a gymnasium id (``"CartPole-v1"``), ``"module:Name"``, or an env class or
            factory function defined at the top level of an importable module.

    Returns:
        The id as given, or ``"module:Name"`` for a class or function.

    Raises:
        EnvError: an env instance, a lambda, a local or ``__main__`` class or function, or an
            object that is not found again under its own import path.
    """
    if isinstance(env, str):
        text = env.strip()
        if not text:
            raise EnvError("The env is empty: give a gymnasium id such as CartPole-v1.")
        return text
    if not (inspect.isclass(env) or inspect.isfunction(env) or inspect.isbuiltin(env)):
        kind = type(env).__name__
        raise EnvError(
            f"env={kind} instance: realzoo records the env by name so that replay and resume "
            "can make it again, and an env object has no name to record. Pass its class or "
            f"a factory function instead. {_HOW}."
        )
    module = getattr(env, "__module__", None) or ""
    qualname = getattr(env, "__qualname__", "") or ""
    shown = f"{module}.{qualname}" if module else qualname
    if qualname == "<lambda>" or "<locals>" in qualname:
        what = "a lambda" if qualname == "<lambda>" else "defined inside a function"
        raise EnvError(
            f"env {shown} is {what}: no other process (enjoy, export, resume) can import it "
            f"by its path, so the run could not be rebuilt. {_HOW}."
        )
    if module in ("__main__", "builtins") or not _MODULE.match(module):
        raise EnvError(
            f"env {shown} is defined in {module or 'no module'!r} (a script or notebook run "
            "directly): other processes cannot import it by that path, so the run could not be "
            f"rebuilt. {_HOW}."
        )
    text = f"{module}:{qualname}"
    if _lookup(module, qualname) is not env:
        raise EnvError(
            f"env {shown}: importing {module} and taking {qualname} does not give back the same "
            f"object, so the run could not be rebuilt from {text!r}. {_HOW}."
        )
    return text


def user_env_target(env_id: str) -> Any | None:
    """The class or factory that ``module:Name`` names, or None for a gymnasium id.

    ``package.module:Env-v0``, gymnasium's form, gives None: importing the module registers
    the id, and ``Env-v0`` is not an attribute of it.

    Raises:
        EnvError: the module cannot be imported.
    """
    if ":" not in env_id:
        return None
    module, _, attr = env_id.partition(":")
    if not _MODULE.match(module):
        raise EnvError(
            f"env {env_id!r}: {module!r} is not a module path (package.module:Name expected)."
        )
    try:
        target = _lookup(module, attr)
    except ImportError as exc:
        raise EnvError(
            f"env {env_id!r}: cannot import the module {module!r} ({exc}). Install the package "
            "that defines the env, or check the path (package.module:ClassOrFactory)."
        ) from None
    if target is None or not callable(target):
        return None
    return target


def ensure_registered(env_id: str) -> str:
    """Make ``gymnasium.make(env_id)`` work in this process; return gymnasium's registry key.

    For a user's class or factory (``module:Name``) this registers ``Name`` with the class as
    its entry point (gymnasium imports ``module`` and looks ``Name`` up when it makes
    ``module:Name``). Ids gymnasium knows are returned as they are (``module:Env-v0``: after
    importing the module).

    Raises:
        EnvError: the module cannot be imported, or ``Name`` is already registered for another env.
    """
    import gymnasium as gym

    target = user_env_target(env_id)  # imports the module, as gymnasium would
    key = env_id.partition(":")[2] if ":" in env_id else env_id
    if target is None:
        return key
    existing = gym.registry.get(key)
    if existing is not None:
        if existing.entry_point in (target, env_id):
            return key
        raise EnvError(
            f"env {env_id!r}: gymnasium already has an env registered as {key!r} "
            f"({existing.entry_point}), so realzoo cannot register this one under that name. "
            "Rename the class or factory."
        )
    try:
        gym.register(id=key, entry_point=env_id)
    except gym.error.Error as exc:
        raise EnvError(
            f"env {env_id!r}: gymnasium refused to register it as {key!r}: {exc}"
        ) from None
    return key


def _lookup(module: str, qualname: str) -> Any:
    obj: Any = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj
