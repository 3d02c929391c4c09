"""Which classes a run's files may name, and of which kind: the allowlist.

A run folder names classes as text: ``env_wrapper``, ``vec_env_wrapper`` and
``callback`` entries of ``config.yml``, class names in ``policy_kwargs``
(``activation_fn``, ``optimizer_class``, ...), env ids and ``gym_packages`` in
``args.yml``. Importing a module named in a file runs that module's code, and calling
whatever a name resolves to (``os.system``) runs anything. So every such name goes
through :func:`resolve`:

- it is looked up in the **allowlist**: the classes of each kind that realzoo, the RL
  Zoo (its ``rl_zoo3.wrappers.*`` names as realzoo maps them), gymnasium,
  stable_baselines3 and sb3_contrib define. The lists are built from those libraries'
  own modules (named here, in code, never in a file), keeping every class of the
  kind's base class: :data:`KINDS`;
- a name outside it is imported only when the command allows it explicitly
  (``--allow-import my_pkg.wrappers`` allows that module and its submodules,
  ``--allow-import my_pkg.wrappers.MyWrapper`` that class alone), or when realzoo is
  not opening someone's run at all (``realzoo train`` reading the hyperparameter file
  the user gave: the user is its author);
- whatever it resolves to must be a class of the kind's base (a ``gymnasium.Wrapper``
  for ``env_wrapper``, ...) before anything calls it: a function or an object of
  another kind is refused.

Commands that open a run (enjoy, record, export, warm start ``-i``) do so inside
:func:`opening`; there a name outside the allowlist, a ``gym_packages`` entry or a
module-prefixed env id (``some.module:Env-v0``, which gymnasium would import) is a
:class:`~rlzoo_real.errors.UserError` naming the file, the entry and the flag, and
nothing is imported.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from rlzoo_real.errors import UserError, suggest

__all__ = [
    "ALLOW_FLAG",
    "KINDS",
    "allowed_classes",
    "allows",
    "check_env_id_imports",
    "check_gym_packages",
    "check_model_kwargs",
    "opening",
    "resolve",
]

#: The command-line flag that allows importing a module or class a file names.
ALLOW_FLAG = "--allow-import"


@dataclass(frozen=True)
class Kind:
    """What a name of one kind must resolve to, and where the allowed ones are found.

    Attributes:
        base: ``module:Class`` every resolved class must subclass.
        modules: modules (named by realzoo) whose classes of ``base`` are allowed.
    """

    base: str
    modules: tuple[str, ...]


_POLICY_MODULES = tuple(
    f"stable_baselines3.{a}.policies" for a in ("a2c", "ppo", "sac", "td3", "dqn", "ddpg")
) + tuple(
    f"sb3_contrib.{a}.policies"
    for a in ("tqc", "qrdqn", "ppo_recurrent", "ppo_mask", "ars", "trpo", "crossq")
)

#: kind -> its base class and the library modules whose classes of that base are allowed.
KINDS: dict[str, Kind] = {
    "env_wrapper": Kind(
        "gymnasium:Wrapper",
        (
            "rlzoo_real.envs.wrappers",
            "rlzoo_real.envs.realtime",
            "rlzoo_real.envs.continuity",
            "gymnasium.wrappers",
            "stable_baselines3.common.monitor",
            "stable_baselines3.common.atari_wrappers",
            "sb3_contrib.common.wrappers",
        ),
    ),
    "vec_env_wrapper": Kind(
        "stable_baselines3.common.vec_env:VecEnvWrapper",
        ("stable_baselines3.common.vec_env",),
    ),
    "callback": Kind(
        "stable_baselines3.common.callbacks:BaseCallback",
        (
            "rlzoo_real.train.callbacks",
            "rlzoo_real.envs.continuity",
            "stable_baselines3.common.callbacks",
        ),
    ),
    "activation_fn": Kind("torch.nn:Module", ("torch.nn",)),
    "features_extractor_class": Kind(
        "stable_baselines3.common.torch_layers:BaseFeaturesExtractor",
        ("stable_baselines3.common.torch_layers", "sb3_contrib.common.torch_layers"),
    ),
    "optimizer_class": Kind(
        "torch.optim:Optimizer",
        ("torch.optim", "stable_baselines3.common.sb2_compat.rmsprop_tf_like"),
    ),
    "replay_buffer_class": Kind(
        "stable_baselines3.common.buffers:ReplayBuffer",
        ("stable_baselines3.common.buffers", "stable_baselines3.her.her_replay_buffer"),
    ),
    "action_noise": Kind(
        "stable_baselines3.common.noise:ActionNoise", ("stable_baselines3.common.noise",)
    ),
    "policy": Kind("stable_baselines3.common.policies:BasePolicy", _POLICY_MODULES),
}
#: The RL Zoo's modules, scanned only for a name inside them (importing rl_zoo3 takes seconds).
_ZOO_MODULES = {
    "env_wrapper": "rl_zoo3.wrappers",
    "callback": "rl_zoo3.callbacks",
    "vec_env_wrapper": "rl_zoo3.wrappers",
}
_NOUN = {
    "env_wrapper": "env wrappers",
    "vec_env_wrapper": "VecEnv wrappers",
    "callback": "callbacks",
    "activation_fn": "activation modules",
    "features_extractor_class": "features extractors",
    "optimizer_class": "optimizers",
    "replay_buffer_class": "replay buffers",
    "action_noise": "action noises",
    "policy": "policies",
}
_WHAT = {
    "env_wrapper": "a gymnasium.Wrapper subclass",
    "vec_env_wrapper": "a stable_baselines3 VecEnvWrapper subclass",
    "callback": "a stable_baselines3 BaseCallback subclass",
    "activation_fn": "a torch.nn.Module subclass (e.g. nn.ReLU)",
    "features_extractor_class": "a BaseFeaturesExtractor subclass (an nn.Module)",
    "optimizer_class": "a torch.optim.Optimizer subclass (e.g. th.optim.Adam)",
    "replay_buffer_class": "a stable_baselines3 ReplayBuffer subclass",
    "action_noise": "a stable_baselines3 ActionNoise subclass",
    "policy": "a stable_baselines3 BasePolicy subclass",
}
#: Keys of model and policy kwargs that name classes, and the kind each must be.
CLASS_KEYS = {
    "activation_fn": "activation_fn",
    "features_extractor_class": "features_extractor_class",
    "optimizer_class": "optimizer_class",
    "replay_buffer_class": "replay_buffer_class",
    "policy_class": "policy",
}


# -- the mode: opening someone's run, or reading the user's own files -------------------------


@dataclass(frozen=True)
class _Mode:
    opening: bool = False
    allowed: tuple[str, ...] = ()


_mode = _Mode()


@contextlib.contextmanager
def opening(allowed: Iterable[str] = ()) -> Iterator[None]:
    """Inside: names outside the allowlist are refused unless ``allowed`` covers them.

    ``allowed`` holds the values of ``--allow-import`` (modules or dotted class paths).
    """
    global _mode
    before = _mode
    _mode = _Mode(opening=True, allowed=tuple(before.allowed) + tuple(_check_allowed(allowed)))
    try:
        yield
    finally:
        _mode = before


def _check_allowed(names: Iterable[str]) -> list[str]:
    out = []
    for name in names:
        if not name or not all(part.isidentifier() for part in name.split(".")):
            raise UserError(
                f"{ALLOW_FLAG} {name!r}: give a module (my_pkg.wrappers) or the dotted path of "
                "a class (my_pkg.wrappers.MyWrapper)."
            )
        out.append(name)
    return out


def allows(name: str) -> bool:
    """True when ``--allow-import`` covers the module or dotted class path ``name``."""
    return any(name == a or name.startswith(a + ".") for a in _mode.allowed)


# -- the allowlist ----------------------------------------------------------------------------


def _load(target: str) -> Any:
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


@cache
def _scan(module_name: str, base_target: str) -> dict[str, type]:
    """The classes of ``base`` in a library module realzoo names, by their dotted names."""
    base = _load(base_target)
    found: dict[str, type] = {}
    try:
        module = importlib.import_module(module_name)
    except ImportError:  # an optional library that is not installed
        return found
    for name, value in vars(module).items():
        if inspect.isclass(value) and issubclass(value, base) and not name.startswith("_"):
            found[f"{module_name}.{name}"] = value
            found[f"{value.__module__}.{value.__qualname__}"] = value
    return found


@cache
def allowed_classes(kind: str) -> dict[str, type]:
    """Every allowed class of ``kind`` by the dotted names it is known under.

    A class is listed under ``<scanned module>.<name>`` and ``<its module>.<qualname>``;
    realzoo's short wrapper names and the RL Zoo's aliases are added for env wrappers.
    The RL Zoo's own module is scanned only for names inside it (see :func:`resolve`).
    """
    spec = KINDS[kind]
    found: dict[str, type] = {}
    for module_name in spec.modules:
        found.update(_scan(module_name, spec.base))
    from rlzoo_real.envs.wrappers import WRAPPERS, ZOO_ALIASES

    # Names realzoo's own tables map (short wrapper names, the RL Zoo's paths): their
    # targets are named in realzoo's code, so importing them is realzoo's choice.
    table = {**ZOO_ALIASES, **WRAPPERS} if kind == "env_wrapper" else dict(ZOO_ALIASES)
    base = _load(spec.base)
    for alias, target in table.items():
        if target in found:
            found[alias] = found[target]
            continue
        module_name, _, attr = target.rpartition(".")
        try:
            value = getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError, ValueError):
            continue  # an optional library that is not installed
        if inspect.isclass(value) and issubclass(value, base):
            found[alias] = found[target] = value
    return found


def _lookup(target: str, kind: str) -> type | None:
    listed = allowed_classes(kind).get(target)
    zoo = _ZOO_MODULES.get(kind)
    if listed is None and zoo and target.startswith(zoo + "."):
        listed = _scan(zoo, KINDS[kind].base).get(target)
    return listed


#: Modules that run folders written before the subpackage layout (realzoo 0.1) name in their
#: ``config.yml``: their classes live on under the new paths.
LEGACY_MODULES = {
    "rlzoo_real.wrappers": "rlzoo_real.envs.wrappers",
    "rlzoo_real.realtime": "rlzoo_real.envs.realtime",
    "rlzoo_real.continuity": "rlzoo_real.envs.continuity",
    "rlzoo_real.callbacks": "rlzoo_real.train.callbacks",
}


def current_path(path: str) -> str:
    """``path`` with a module of the 0.1 layout replaced by its new home (else unchanged)."""
    module, _, attr = path.rpartition(".")
    return f"{LEGACY_MODULES[module]}.{attr}" if module in LEGACY_MODULES else path


def _target(path: str, kind: str) -> str:
    from rlzoo_real.envs.wrappers import ZOO_ALIASES

    path = current_path(path)

    if kind == "env_wrapper":
        from rlzoo_real.envs.wrappers import wrapper_path

        return path if path in allowed_classes(kind) else wrapper_path(path)
    return ZOO_ALIASES.get(path, path)


# -- resolving one name -----------------------------------------------------------------------


def resolve(path: str, *, kind: str, where: str = "") -> type:
    """The class of ``kind`` that ``path`` names, checked before anyone calls it.

    Args:
        path: the name as written (``ClipAction``, ``rl_zoo3.wrappers.HistoryWrapper``,
            ``gymnasium.wrappers.TimeLimit``, ``my_pkg.wrappers.MyWrapper``).
        kind: one of :data:`KINDS`.
        where: the file and entry, for messages (``logs/.../config.yml, env_wrapper``).

    Raises:
        UserError: a name outside the allowlist while opening a run (naming the file,
            the entry, the class and ``--allow-import``), a module that cannot be
            imported, or an object that is not a class of ``kind``.
    """
    at = f"{where}: " if where else ""
    target = _target(path, kind)
    listed = _lookup(target, kind)
    if listed is not None:
        return listed
    module_name = target.rpartition(".")[0]
    if _mode.opening and not allows(target):
        raise UserError(
            f"{at}{kind} {path!r} is not among the {_NOUN[kind]} realzoo trusts in a run's "
            "files (realzoo's, the RL Zoo's, gymnasium's, stable_baselines3's and "
            f"sb3_contrib's); loading it would import and run code from {module_name or path!r}. "
            f"Nothing was imported. If you trust that code, pass {ALLOW_FLAG} {target} (that "
            f"class) or {ALLOW_FLAG} {module_name or target} (its whole module)."
        )
    return _import_class(target, kind=kind, where=where, shown=path)


def _import_class(target: str, *, kind: str, where: str, shown: str | None = None) -> type:
    from rlzoo_real.envs.wrappers import ZOO_ALIASES

    at = f"{where}: " if where else ""
    shown = shown or target
    module_name, _, attr = target.rpartition(".")
    if not module_name:
        raise UserError(
            f"{at}{kind} {shown!r} must be a dotted path such as package.module.ClassName."
        )
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        aliases = ", ".join(sorted(ZOO_ALIASES))
        raise UserError(
            f"{at}{kind} {shown!r}: cannot import module {module_name!r} ({exc}). Give the dotted "
            f"path of an installed class; RL Zoo names realzoo maps itself: {aliases}."
        ) from None
    try:
        value = getattr(module, attr)
    except AttributeError:
        names = [n for n in dir(module) if not n.startswith("_")]
        raise UserError(
            f"{at}{kind} {shown!r}: module {module_name!r} has no {attr!r}.{suggest(attr, names)}"
        ) from None
    check_kind(value, kind=kind, shown=shown, where=where)
    return value


def check_kind(value: Any, *, kind: str, shown: str, where: str = "") -> None:
    """Refuse ``value`` unless it is a class of ``kind`` (a function is not)."""
    base = _load(KINDS[kind].base)
    if inspect.isclass(value) and issubclass(value, base):
        return
    at = f"{where}: " if where else ""
    if inspect.isclass(value):
        what = f"the class {value.__module__}.{value.__qualname__}"
    elif callable(value):
        what = f"a {type(value).__name__} ({getattr(value, '__module__', '?')}), not a class"
    else:
        what = f"a {type(value).__name__} value"
    raise UserError(
        f"{at}{kind} {shown!r} is {what}; {kind} must be {_WHAT[kind]}. realzoo calls only "
        "classes of the expected kind, never a function or an object of another kind."
    )


# -- class names inside model kwargs ----------------------------------------------------------


def check_model_kwargs(kwargs: Mapping[str, Any], *, where: str) -> None:
    """Check the class names of model kwargs and ``policy_kwargs`` for their kind.

    ``activation_fn: nn.Adam`` or ``optimizer_class: nn.ReLU`` become a message naming
    the key instead of a traceback from deep inside torch.
    """
    from rlzoo_real.config.literals import KnownName

    def walk(mapping: Mapping[str, Any], prefix: str) -> None:
        for key, value in mapping.items():
            if isinstance(value, Mapping):
                walk(value, f"{prefix}{key}.")
                continue
            kind = CLASS_KEYS.get(str(key))
            if kind is None:
                continue
            if isinstance(value, KnownName):
                check_kind(
                    value.resolve(), kind=kind, shown=value.name, where=f"{where}: {prefix}{key}"
                )
            elif inspect.isclass(value) or callable(value):
                check_kind(value, kind=kind, shown=repr(value), where=f"{where}: {prefix}{key}")

    walk(kwargs, "")


# -- env ids and gym packages -----------------------------------------------------------------


def check_env_id_imports(env_id: str, *, where: str) -> None:
    """While opening a run, a module-prefixed id (``pkg.mod:Env-v0``) needs the flag.

    gymnasium imports the module before ``:`` when it makes such an env; outside
    :func:`opening` (or with the module allowed) it is imported here, explicitly.
    """
    if ":" not in env_id:
        return
    module = env_id.split(":", 1)[0]
    if _mode.opening and not allows(module):
        raise UserError(
            f"{where}: the env id {env_id!r} makes gymnasium import the module {module!r}, "
            f"which would run its code. Nothing was imported. If you trust it, pass "
            f"{ALLOW_FLAG} {module}."
        )


def check_gym_packages(recorded: Iterable[str], given: Iterable[str], *, where: str) -> None:
    """While opening a run, every ``gym_packages`` entry it records needs the user's word.

    The user gives it with ``--gym-packages NAME`` or ``--allow-import NAME``; the
    recorded entries are never imported on the run's say-so.
    """
    given = set(given)
    missing = [p for p in recorded if p not in given and not allows(p)]
    if missing and _mode.opening:
        shown = ", ".join(missing)
        raise UserError(
            f"{where}: gym_packages lists {shown}: importing a module runs its code, and "
            "realzoo does not import modules a run's files name. Nothing was imported. If you "
            f"trust it, pass --gym-packages {missing[0]} (or {ALLOW_FLAG} {missing[0]})."
        )
