"""The algorithm registry: name -> class and what the algorithm can do.

Entries name their class as ``"module:Class"`` and import it only when asked, so
that the registry costs nothing at start-up. Another backend (for instance a JAX
one) joins by calling :func:`register` with its own entries; the train loop only
sees :class:`AlgoSpec`.
"""

from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass
from functools import cache
from typing import Any

from rlzoo_real.errors import UserError, suggest

__all__ = ["ALGOS", "AlgoSpec", "get_algo", "register"]


@dataclass(frozen=True)
class AlgoSpec:
    """One algorithm that realzoo can train.

    Attributes:
        name: the name typed after ``--algo`` and used for ``hyperparams/<name>.yml``.
        target: ``"module:Class"`` of the algorithm class.
        action_spaces: the gymnasium space class names it supports.
        off_policy: True when it learns from a replay buffer.
        supports_sde: True when it accepts ``use_sde`` (generalized State-Dependent Exploration).
        backend: where it comes from ("sb3", "sb3-contrib", ...).
    """

    name: str
    target: str
    action_spaces: frozenset[str]
    off_policy: bool
    supports_sde: bool = False
    backend: str = "sb3"

    def load_class(self) -> Any:
        """Import and return the algorithm class."""
        return _import_target(self.target)

    def init_parameters(self) -> tuple[str, ...]:
        """Names of keyword arguments the algorithm's constructor accepts (besides policy, env)."""
        return _init_parameters(self.target)


@cache
def _import_target(target: str) -> Any:
    module, attr = target.split(":")
    return getattr(importlib.import_module(module), attr)


@cache
def _init_parameters(target: str) -> tuple[str, ...]:
    signature = inspect.signature(_import_target(target).__init__)
    skip = {"self", "policy", "env"}
    return tuple(
        name
        for name, p in signature.parameters.items()
        if name not in skip and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    )


_DISCRETE = frozenset({"Discrete"})
_BOX = frozenset({"Box"})
_ALL = frozenset({"Discrete", "Box", "MultiDiscrete", "MultiBinary"})

ALGOS: dict[str, AlgoSpec] = {}


def register(spec: AlgoSpec, *, replace: bool = False) -> None:
    """Add an algorithm to the registry (``replace=True`` to override an entry)."""
    if spec.name in ALGOS and not replace:
        raise ValueError(f"algorithm {spec.name!r} is already registered")
    ALGOS[spec.name] = spec


for _spec in (
    AlgoSpec("a2c", "stable_baselines3:A2C", _ALL, off_policy=False, supports_sde=True),
    AlgoSpec("ppo", "stable_baselines3:PPO", _ALL, off_policy=False, supports_sde=True),
    AlgoSpec("dqn", "stable_baselines3:DQN", _DISCRETE, off_policy=True),
    AlgoSpec("sac", "stable_baselines3:SAC", _BOX, off_policy=True, supports_sde=True),
    AlgoSpec("td3", "stable_baselines3:TD3", _BOX, off_policy=True),
    AlgoSpec("ddpg", "stable_baselines3:DDPG", _BOX, off_policy=True),
    AlgoSpec("tqc", "sb3_contrib:TQC", _BOX, True, supports_sde=True, backend="sb3-contrib"),
    AlgoSpec("crossq", "sb3_contrib:CrossQ", _BOX, True, supports_sde=True, backend="sb3-contrib"),
    AlgoSpec("qrdqn", "sb3_contrib:QRDQN", _DISCRETE, True, backend="sb3-contrib"),
    AlgoSpec("trpo", "sb3_contrib:TRPO", _ALL, False, supports_sde=True, backend="sb3-contrib"),
    AlgoSpec("ars", "sb3_contrib:ARS", _DISCRETE | _BOX, False, backend="sb3-contrib"),
    AlgoSpec(
        "ppo_lstm",
        "sb3_contrib:RecurrentPPO",
        _ALL,
        False,
        supports_sde=True,
        backend="sb3-contrib",
    ),
):
    register(_spec)


def get_algo(name: str) -> AlgoSpec:
    """Return the registered algorithm called ``name`` or raise a :class:`UserError`."""
    key = name.lower()
    if key in ALGOS:
        return ALGOS[key]
    raise UserError(
        f"Unknown algorithm {name!r}.{suggest(key, ALGOS)} "
        f"Available algorithms: {', '.join(sorted(ALGOS))}."
    )
