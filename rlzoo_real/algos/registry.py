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

__all__ = ["ALGOS", "BACKENDS", "SBX_EXTRA", "AlgoSpec", "get_algo", "register"]

#: what to install for the JAX backend (the distribution is rlzoo-real)
SBX_EXTRA = "pip install 'rlzoo-real[sbx]'"


@dataclass(frozen=True)
class AlgoSpec:
    """One algorithm that realzoo can train.

    Attributes:
        name: the name typed after ``--algo`` and used for ``hyperparams/<name>.yml``.
        target: ``"module:Class"`` of the algorithm class.
        action_spaces: the gymnasium space class names it supports.
        off_policy: True when it learns from a replay buffer.
        supports_sde: True when it accepts ``use_sde`` (generalized State-Dependent Exploration).
        backend: where it comes from ("sb3", "sb3-contrib", "rlzoo_real", "sbx").
        env_check: ``"module:function"`` called as ``function(spec, env, obs)`` on the run's
            one env probe (:mod:`rlzoo_real.envs.probe`: the wrapped env and the observation
            of its reset) before a run folder is made, for algorithms that need more of an
            env than its action space (raises :class:`UserError`); None for none.
    """

    name: str
    target: str
    action_spaces: frozenset[str]
    off_policy: bool
    supports_sde: bool = False
    backend: str = "sb3"
    env_check: str | None = None

    @property
    def run_backend(self) -> str:
        """The ``--backend`` that trains it: ``"sbx"`` (JAX) or ``"sb3"`` (torch, the default)."""
        return "sbx" if self.backend == "sbx" else "sb3"

    @property
    def folder(self) -> str:
        """Its folder in the log tree: ``sac`` (torch) or ``sac_sbx`` (JAX), so runs stay apart."""
        return self.name if self.run_backend == "sb3" else f"{self.name}_sbx"

    def load_class(self) -> Any:
        """Import and return the algorithm class."""
        return _import_target(self.target)

    def check_probe(self, spec: Any, env: Any, obs: Any) -> None:
        """Run the algorithm's own env check (:attr:`env_check`) on the probed env, if any."""
        if self.env_check is not None:
            _import_target(self.env_check)(spec, env, obs)

    def init_parameters(self) -> tuple[str, ...]:
        """Names of keyword arguments the algorithm's constructor accepts (besides policy, env)."""
        return _init_parameters(self.target)

    def annotations(self) -> dict[str, Any]:
        """The constructor's type annotations by keyword (what a hyperparameter value may be)."""
        return _init_annotations(self.target)

    def policy_aliases(self) -> dict[str, Any]:
        """The algorithm's policy names (``MlpPolicy``, ...) and the classes they stand for."""
        return dict(getattr(self.load_class(), "policy_aliases", {}) or {})


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


@cache
def _init_annotations(target: str) -> dict[str, Any]:
    signature = inspect.signature(_import_target(target).__init__)
    return {
        name: p.annotation
        for name, p in signature.parameters.items()
        if p.annotation is not inspect.Parameter.empty
    }


_DISCRETE = frozenset({"Discrete"})
_BOX = frozenset({"Box"})
_ALL = frozenset({"Discrete", "Box", "MultiDiscrete", "MultiBinary"})

#: the torch (Stable-Baselines3) algorithms, by name
ALGOS: dict[str, AlgoSpec] = {}
#: every backend's algorithms, by ``--backend`` and name (``"sb3"`` is :data:`ALGOS`)
BACKENDS: dict[str, dict[str, AlgoSpec]] = {"sb3": ALGOS, "sbx": {}}
_SUFFIX = "_sbx"  # "sac_sbx" names the JAX backend's sac (its folder in the log tree)


def register(spec: AlgoSpec, *, replace: bool = False) -> None:
    """Add an algorithm to the registry (``replace=True`` to override an entry)."""
    table = BACKENDS[spec.run_backend]
    if spec.name in table and not replace:
        raise ValueError(f"algorithm {spec.name!r} is already registered")
    table[spec.name] = spec


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
        "droq", "rlzoo_real.algos.droq:DroQ", _BOX, True, supports_sde=True, backend="rlzoo_real"
    ),
    AlgoSpec(
        "openloop",
        "rlzoo_real.algos.openloop:OpenLoop",
        _BOX,
        False,
        backend="rlzoo_real",
        env_check="rlzoo_real.algos.joints:check_probe",
    ),
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

# The JAX backend (sbx-rl, the ``sbx`` extra): its classes, wrapped by rlzoo_real.algos.sbx so
# that their model files also hold the weights as plain tensors (replay never unpickles).
# DroQ there is SAC with dropout and layer norm in the critics (sbx removed its DroQ class).
for _name, _cls, _spaces, _off, _sde in (
    ("sac", "SAC", _BOX, True, True),
    ("droq", "SAC", _BOX, True, True),
    ("tqc", "TQC", _BOX, True, True),
    ("crossq", "CrossQ", _BOX, True, True),
    ("td3", "TD3", _BOX, True, False),
    ("ddpg", "DDPG", _BOX, True, False),
    ("ppo", "PPO", _DISCRETE | _BOX, False, True),
    ("dqn", "DQN", _DISCRETE, True, False),
):
    register(AlgoSpec(_name, f"rlzoo_real.algos.sbx:{_cls}", _spaces, _off, _sde, backend="sbx"))


def get_algo(name: str, backend: str = "sb3") -> AlgoSpec:
    """Return the algorithm called ``name`` of ``backend`` or raise a :class:`UserError`.

    Args:
        name: the algorithm, e.g. ``sac``; ``sac_sbx`` names the JAX backend's (its log folder).
        backend: ``sb3`` (torch) or ``sbx`` (JAX, needs the ``sbx`` extra).
    """
    key = name.lower()
    if backend not in BACKENDS:
        raise UserError(
            f"Unknown backend {backend!r}.{suggest(backend, BACKENDS)} "
            f"Available backends: {', '.join(BACKENDS)} (sb3: PyTorch, the default; sbx: JAX)."
        )
    if key.endswith(_SUFFIX) and key[: -len(_SUFFIX)] in BACKENDS["sbx"]:
        key, backend = key[: -len(_SUFFIX)], "sbx"
    table = BACKENDS[backend]
    if key in table:
        if backend == "sbx":
            _require_sbx()
        return table[key]
    if backend != "sb3":
        raise UserError(
            f"The {backend} backend has no algorithm {name!r}.{suggest(key, table)} "
            f"Algorithms with --backend {backend}: {', '.join(sorted(table))}; "
            f"the others need --backend sb3."
        )
    raise UserError(
        f"Unknown algorithm {name!r}.{suggest(key, ALGOS)} "
        f"Available algorithms: {', '.join(sorted(ALGOS))}."
    )


@cache
def _require_sbx() -> None:
    """Import sbx once; a missing extra becomes a :class:`UserError` that names it."""
    try:
        importlib.import_module("sbx")
    except ImportError as exc:
        raise UserError(
            f"--backend sbx needs the JAX backend, which is not installed here ({exc}). "
            f"Install the extra: {SBX_EXTRA} (from a checkout: pip install -e '.[sbx]'), "
            "or train with --backend sb3."
        ) from None
