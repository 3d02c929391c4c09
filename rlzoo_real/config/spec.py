"""Hyperparameters: read the RL Zoo's YAML format, apply overrides, validate, and
turn the result into a typed, frozen :class:`RunSpec`.

Everything here is pure: the only I/O is reading the files (or importing the
module) it is given. Values keep two forms: ``RunSpec.hyperparams`` is the plain
mapping written to ``config.yml`` (``yaml.safe_load`` reads it back and gives the
same spec), and the other fields are its interpretation (schedules, parsed
``policy_kwargs``, wrapper lists) ready for the train loop.
"""

from __future__ import annotations

import importlib
import inspect
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rlzoo_real.algos.registry import AlgoSpec
from rlzoo_real.config.literals import (
    KNOWN_NAMES,
    KnownName,
    ValueParseError,
    coerce_yaml_numbers,
    contains_known_name,
    format_value,
    parse_value,
    to_plain,
)
from rlzoo_real.errors import UserError, suggest

__all__ = [
    "SPECIAL_KEYS",
    "ClassRef",
    "LinearSchedule",
    "RunSpec",
    "bundled_hyperparams_dir",
    "load_table",
    "parse_key_values",
    "resolve_run_spec",
]

#: Keys of a hyperparameter entry that realzoo handles itself; all others go to the algorithm.
SPECIAL_KEYS = frozenset(
    {
        "n_timesteps",
        "policy",
        "n_envs",
        "normalize",
        "env_wrapper",
        "vec_env_wrapper",
        "frame_stack",
        "callback",
        "noise_type",
        "noise_std",
        "env_kwargs",
        "monitor_kwargs",
    }
)
#: Keys set from the command line, never from a hyperparameter entry.
_CLI_KEYS = {
    "seed": "--seed",
    "verbose": "--verbose",
    "device": "--device",
    "tensorboard_log": "--tensorboard-log",
    "env": "--env",
}
#: Keys whose string values are read with the safe parser (the Zoo writes them as strings).
_PARSED_KEYS = frozenset(
    {"policy_kwargs", "replay_buffer_kwargs", "normalize", "env_kwargs", "monitor_kwargs"}
)
_NOISE_TYPES = ("normal", "ornstein-uhlenbeck")
_LIN = re.compile(r"^lin_([-+0-9.eE]+)$")
#: fallback entries, in order: ``atari`` for Atari envs, then ``default`` (the RL Zoo's
#: spelling) or ``defaults`` (realzoo's)
_FALLBACKS = ("atari", "default", "defaults")


@dataclass(frozen=True)
class LinearSchedule:
    """``lin_<initial>``: the value decreases linearly from ``initial`` to 0 over training."""

    initial: float

    def __call__(self, progress_remaining: float) -> float:
        return progress_remaining * self.initial


@dataclass(frozen=True)
class ClassRef:
    """A class named by dotted path in a hyperparameter file, with keyword arguments."""

    path: str
    kwargs: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RunSpec:
    """The resolved hyperparameters of one run.

    Attributes:
        algo: registered algorithm name.
        env_id: gymnasium env id.
        source: where the entry came from, e.g. ``hyperparams/sac.yml [Pendulum-v1]``.
        hyperparams: the merged entry as plain YAML values (written to ``config.yml``).
        n_timesteps: training budget in environment steps.
        n_envs: number of training environments.
        policy: policy name passed to the algorithm.
        normalize: VecNormalize keyword arguments, or None when normalization is off.
        frame_stack: number of stacked frames, or None.
        env_wrappers: gymnasium wrappers applied to each env, innermost first.
        vec_env_wrappers: VecEnv wrappers applied to the vectorized env.
        callbacks: extra callbacks from the entry.
        action_noise: ``(noise_type, noise_std)`` for off-policy exploration, or None.
        model_kwargs: keyword arguments for the algorithm class (may hold schedules and
            :class:`~rlzoo_real.config.literals.KnownName` objects; see ``literals.materialize``).
        backend: ``sb3`` (PyTorch) or ``sbx`` (JAX), see :func:`rlzoo_real.algos.registry.get_algo`.
        env_kwargs: the entry's ``env_kwargs`` (``--env-kwargs`` replaces them, as in the Zoo).
        monitor_kwargs: keyword arguments for each env's ``Monitor`` (``info_keywords``, ...).
    """

    algo: str
    env_id: str
    source: str
    hyperparams: Mapping[str, Any]
    n_timesteps: int
    n_envs: int
    policy: str
    normalize: Mapping[str, Any] | None
    frame_stack: int | None
    env_wrappers: tuple[ClassRef, ...]
    vec_env_wrappers: tuple[ClassRef, ...]
    callbacks: tuple[ClassRef, ...]
    action_noise: tuple[str, float] | None
    model_kwargs: Mapping[str, Any]
    backend: str = "sb3"
    env_kwargs: Mapping[str, Any] = field(default_factory=dict)
    monitor_kwargs: Mapping[str, Any] = field(default_factory=dict)


def bundled_hyperparams_dir() -> Path:
    """The folder of hyperparameter files shipped with realzoo."""
    return Path(__file__).resolve().parent.parent / "hyperparams"


def load_table(path: str | Path) -> dict[str, Any]:
    """Read a hyperparameter table: a YAML file, or a Python module with a ``hyperparams`` dict.

    Raises:
        UserError: missing file, malformed YAML (with file and line), a module that cannot
            be imported or has no ``hyperparams`` dict, or a table that is not a mapping.
    """
    text_path = str(path)
    if text_path.endswith(".py"):  # the RL Zoo's -conf path/to/table.py
        module = _import_file(Path(text_path))
        return _plain_python_table(getattr(module, "hyperparams", None), text_path)
    if text_path.endswith((".yml", ".yaml")) or Path(text_path).exists():
        return _load_yaml_table(Path(text_path))
    try:
        if "/" in text_path or text_path.startswith("."):  # a path, not a module name
            raise ImportError(f"no file {text_path!r}")
        module = importlib.import_module(text_path)
    except ImportError as exc:
        raise UserError(
            f"Cannot read hyperparameters from {text_path!r}: it is neither an existing YAML file "
            f"(.yml/.yaml) nor an importable Python module ({exc}). "
            "Give a path to a YAML file or a "
            "module path such as my_package.hyperparams that defines a dict called 'hyperparams'."
        ) from None
    return _plain_python_table(getattr(module, "hyperparams", None), text_path)


def _import_file(path: Path) -> Any:
    """Import the Python file ``path`` (the user's own table: importing it runs it)."""
    import importlib.util
    import sys

    if not path.is_file():
        raise UserError(f"Hyperparameter file {str(path)!r} does not exist.")
    name = f"_realzoo_conf_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise UserError(f"Cannot read {str(path)!r} as a Python file.")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # the user's file: say where it failed, no traceback
        del sys.modules[name]
        raise UserError(
            f"Importing the hyperparameter file {str(path)!r} failed: {type(exc).__name__}: {exc}."
        ) from None
    return module


def _plain_python_table(table: Any, where: str) -> dict[str, Any]:
    """A Python table's values as a YAML table holds them, so ``config.yml`` stays plain.

    Classes become names: the safe parser's known names (``nn.Tanh``) inside ``policy_kwargs``
    and the other parsed keys (which are then written as the Zoo writes them, a
    ``"dict(...)"`` string), dotted paths elsewhere (wrapper and callback keys or items).
    Tuples become lists. A function or an object (a schedule, a callback instance) cannot be
    recorded in ``config.yml`` and is refused with what to write instead.
    """
    if not isinstance(table, dict):
        raise UserError(
            f"The module {where!r} has no dict called 'hyperparams'; a Python conf file must "
            "define hyperparams = {'<env id>': {...}, ...}."
        )
    out: dict[str, Any] = {}
    for env_id, entry in table.items():
        if not isinstance(entry, dict):
            out[env_id] = entry
            continue
        plain = {}
        try:
            for key, value in entry.items():
                known = key in _PARSED_KEYS
                converted = _plain_object(value, f"{where} [{env_id}] {key}", known=known)
                if known and contains_known_name(converted):
                    converted = format_value(converted)
                plain[key] = converted
        except UserError as exc:  # refused when this entry is the one used, not before
            out[env_id] = _Unrecordable(str(exc))
            continue
        out[env_id] = plain
    return out


@dataclass(frozen=True)
class _Unrecordable:
    """An entry of a Python table that cannot be written to ``config.yml`` (why, in words)."""

    message: str


def _plain_object(value: Any, where: str, *, known: bool) -> Any:
    if isinstance(value, type):
        if known:
            name = _known_name_of(value)
            if name is None:
                raise UserError(
                    f"{where}: {value.__module__}.{value.__qualname__} is not one of the names "
                    f"the safe parser knows (such as nn.ReLU, th.optim.Adam, NatureCNN)."
                )
            return KnownName(name)
        return f"{value.__module__}.{value.__qualname__}"
    if isinstance(value, dict):
        return {
            _plain_object(k, where, known=known): _plain_object(v, where, known=known)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_plain_object(v, where, known=known) for v in value]
    if value is None or isinstance(value, str | bool | int | float):
        return value
    kind = "function" if inspect.isroutine(value) else "object"
    raise UserError(
        f"{where}: a Python {kind} ({type(value).__name__}) cannot be recorded in the run's "
        "config.yml, from which the run is rebuilt. Give what a YAML file would hold: a class "
        "by its dotted class path with its arguments ({'package.module.Class': {'arg': 1}}), a "
        "schedule as 'lin_0.001'."
    )


def _known_name_of(cls: type) -> str | None:
    """The shortest name in the safe parser's table that stands for ``cls``, if any."""
    for name, target in sorted(KNOWN_NAMES.items(), key=lambda item: len(item[0])):
        module, _, attr = target.partition(":")
        if attr == cls.__name__ and cls.__module__.startswith(module):
            try:
                if getattr(importlib.import_module(module), attr) is cls:
                    return name
            except ImportError:
                continue
    return None


def _load_yaml_table(path: Path) -> dict[str, Any]:
    import yaml

    if not path.is_file():
        raise UserError(f"Hyperparameter file {str(path)!r} does not exist.")
    try:
        from rlzoo_real.runs.yaml_io import safe_load  # refuses duplicate keys

        table = safe_load(path.read_text())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        context, context_mark = getattr(exc, "context", None), getattr(exc, "context_mark", None)
        if context and context_mark is not None:
            problem += f" ({context} that starts at line {context_mark.line + 1})"
        raise UserError(
            f"Malformed YAML in {str(path)!r}{where}: {problem}. "
            "A hyperparameter file maps env ids "
            "to mappings of hyperparameters, e.g. 'CartPole-v1:\\n  n_timesteps: 1e5'."
        ) from None
    except UnicodeDecodeError:
        raise UserError(f"{str(path)!r} is not a text (UTF-8) YAML file.") from None
    if table is None:
        table = {}
    if not isinstance(table, dict) or not all(isinstance(v, dict | None) for v in table.values()):
        raise UserError(
            f"{str(path)!r} is not a hyperparameter table: the top level must map env ids to "
            "mappings of hyperparameters (RL Zoo format)."
        )
    return table


def parse_key_values(items: Iterable[str], *, option: str) -> dict[str, Any]:
    """Parse ``key:value`` words from the command line (``-params``, ``--env-kwargs``).

    Values are read with the safe parser; a bare word that is not a literal (``auto``,
    ``MlpPolicy``) is kept as a string. Dotted names must be known (``nn.ReLU``).

    Raises:
        UserError: a word without ``:``, an empty key, or a value the parser rejects.
    """
    result: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition(":")
        key = key.strip()
        if not sep or not key or not key.isidentifier():
            raise UserError(
                f"{option} expects words of the form key:value (e.g. {option} learning_rate:0.001 "
                f"n_envs:4), got {item!r}. Quote values that contain spaces."
            )
        result[key] = _parse_cli_value(text, option=option, key=key)
    return result


def _parse_cli_value(text: str, *, option: str, key: str) -> Any:
    import ast

    try:
        return parse_value(text)
    except ValueParseError as exc:
        word = text.strip()
        try:
            node: ast.AST | None = ast.parse(word, mode="eval").body
        except SyntaxError:
            node = None
        # A bare word (auto, MlpPolicy, lin_0.001, auto_0.1) is a string; a dotted name such as
        # nn.Relu was meant as a known name and is an error.
        if re.fullmatch(r"[A-Za-z_][\w\-.+]*", word) and not isinstance(node, ast.Attribute):
            return word
        raise UserError(f"{option} {key}: {exc}") from None


def resolve_run_spec(
    algo: AlgoSpec,
    env_id: str,
    *,
    table: Mapping[str, Any],
    source: str,
    overrides: Mapping[str, Any] | None = None,
    n_timesteps: int | None = None,
    is_atari: bool = False,
) -> tuple[RunSpec, str | None]:
    """Pick the entry for ``env_id`` from ``table``, apply overrides and validate it.

    Args:
        algo: the algorithm the entry is for.
        env_id: the env id to look up.
        table: a hyperparameter table (see :func:`load_table`).
        source: a name for the table in messages (usually its path).
        overrides: values from ``-params`` (already parsed by :func:`parse_key_values`).
        n_timesteps: a budget that replaces the entry's ``n_timesteps`` when given (> 0).
        is_atari: whether ``env_id`` is an Atari env (selects the ``atari`` fallback).

    Returns:
        The spec, and a notice to show the user when a fallback entry was used (else None).

    Raises:
        UserError: no entry fits, an unknown key, or an invalid value.
    """
    entry_key, notice = _select_entry(table, env_id, source, is_atari)
    where = f"{source} [{entry_key}]"
    entry = table[entry_key] or {}
    if isinstance(entry, _Unrecordable):
        raise UserError(entry.message)
    if not isinstance(entry, Mapping):
        raise UserError(
            f"{where}: an entry must map hyperparameter names to values, got {entry!r}."
        )
    merged: dict[str, Any] = {k: coerce_yaml_numbers(to_plain(v)) for k, v in entry.items()}
    for key, value in (overrides or {}).items():
        merged[key] = _plain_override(key, value)
    if n_timesteps is not None and n_timesteps > 0:
        merged["n_timesteps"] = int(n_timesteps)
    _check_keys(merged, algo, where)
    return _interpret(algo, env_id, merged, where, set(overrides or {})), notice


def _plain_override(key: str, value: Any) -> Any:
    if key in _PARSED_KEYS and contains_known_name(value):
        return format_value(value)
    return coerce_yaml_numbers(to_plain(value))


def effective_env_kwargs(
    spec: RunSpec, cli_env_kwargs: Mapping[str, Any], cli_eval_env_kwargs: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The env kwargs of training and of evaluation, merged as the RL Zoo merges them.

    ``--env-kwargs`` replaces the entry's ``env_kwargs`` as a whole (the Zoo does not mix the
    two); evaluation envs get ``--eval-env-kwargs`` when given, else the training env kwargs.
    """
    env_kwargs = dict(cli_env_kwargs) if cli_env_kwargs else dict(spec.env_kwargs)
    eval_env_kwargs = dict(cli_eval_env_kwargs) if cli_eval_env_kwargs else env_kwargs
    return env_kwargs, eval_env_kwargs


def _select_entry(
    table: Mapping[str, Any], env_id: str, source: str, is_atari: bool
) -> tuple[str, str | None]:
    if env_id in table:
        return env_id, None
    for fallback in _FALLBACKS:
        if fallback == "atari" and not is_atari:
            continue
        if fallback in table:
            return fallback, (
                f"{source} has no entry for {env_id}: using its '{fallback}' entry. "
                "Tune it (realzoo tune) or add an entry for best results."
            )
    envs = sorted(k for k in table if k not in _FALLBACKS)
    listing = ", ".join(envs) if envs else "(none)"
    raise UserError(
        f"{source} has no entry for {env_id!r} and no 'default' (or 'defaults') entry to "
        "fall back on."
        f"{suggest(env_id, envs)} Entries in that file: {listing}. Add an entry for {env_id}, "
        "or pass your own file with --conf-file."
    )


def _check_keys(merged: Mapping[str, Any], algo: AlgoSpec, where: str) -> None:
    accepted = set(algo.init_parameters()) - set(_CLI_KEYS)
    for key in merged:
        if key in _CLI_KEYS:
            raise UserError(
                f"{where}: '{key}' cannot be set in a hyperparameter entry; "
                f"use the {_CLI_KEYS[key]} option of realzoo train instead."
            )
        if key in _SDE_KEYS and key not in accepted:
            raise UserError(_no_sde_message(algo, key, where))
        if key not in accepted and key not in SPECIAL_KEYS:
            listing = ", ".join(sorted(accepted | SPECIAL_KEYS))
            raise UserError(
                f"{where}: unknown hyperparameter {key!r} for algorithm {algo.name}"
                f"{' with --backend sbx (JAX)' if algo.run_backend == 'sbx' else ''}."
                f"{suggest(key, accepted | SPECIAL_KEYS)} Accepted keys: {listing}."
            )


#: the keys of generalized State-Dependent Exploration (gSDE)
_SDE_KEYS = frozenset({"use_sde", "sde_sample_freq", "use_sde_at_warmup"})


def _no_sde_message(algo: AlgoSpec, key: str, where: str) -> str:
    from rlzoo_real.algos.registry import BACKENDS

    table = BACKENDS[algo.run_backend]
    with_sde = ", ".join(sorted(a.name for a in table.values() if a.supports_sde))
    backend = " with --backend sbx" if algo.run_backend == "sbx" else ""
    return (
        f"{where}: {key}: gSDE (generalized State-Dependent Exploration) is not supported by "
        f"{algo.name}{backend}. Algorithms that support it{backend}: {with_sde}. "
        f"Remove {key} from the entry or -params, or pick one of those algorithms "
        f"(for {algo.name}, exploration comes from its own noise settings)."
    )


def _interpret(
    algo: AlgoSpec, env_id: str, merged: dict[str, Any], where: str, from_cli: set[str]
) -> RunSpec:
    def at(key: str) -> str:  # where a value came from, for messages
        return f"{where}, {key} (set by -params)" if key in from_cli else f"{where}, {key}"

    model_kwargs = {
        key: _interpret_value(key, value, at(key))
        for key, value in merged.items()
        if key not in SPECIAL_KEYS
    }
    for key in ("policy_kwargs", "replay_buffer_kwargs"):
        if key in model_kwargs and not isinstance(model_kwargs[key], dict):
            raise UserError(f"{at(key)}: must be a mapping such as dict(...), got {merged[key]!r}.")
    model_kwargs = _check_model_values(algo, model_kwargs, at)

    normalize = _normalize_kwargs(merged.get("normalize", False), merged, at("normalize"))
    frame_stack = _whole(merged.get("frame_stack"))
    if frame_stack is not None and (not _is_int(frame_stack) or frame_stack < 1):
        raise UserError(
            f"{at('frame_stack')}: {merged['frame_stack']!r} is not accepted; frame_stack takes "
            "a positive integer (the number of stacked observations, e.g. 4)."
        )

    action_noise = None
    if merged.get("noise_type") is not None:
        noise_type = str(merged["noise_type"]).strip()
        noise_std = merged.get("noise_std", 0.1)
        if noise_type not in _NOISE_TYPES:
            raise UserError(
                f"{at('noise_type')}: unknown noise_type {noise_type!r}; accepted: "
                f"{', '.join(_NOISE_TYPES)} (or leave noise_type out for no action noise)."
            )
        if not _is_number(noise_std) or noise_std < 0:
            raise UserError(
                f"{at('noise_std')}: {noise_std!r} is not accepted; noise_std takes a "
                "non-negative number (the standard deviation of the action noise, e.g. 0.1)."
            )
        if not algo.off_policy:
            raise UserError(
                f"{at('noise_type')}: noise_type/noise_std apply to off-policy algorithms only "
                f"({algo.name} explores through its policy); remove them from the entry."
            )
        action_noise = (noise_type, float(noise_std))

    n_envs = _whole(merged.get("n_envs", 1))
    n_timesteps = merged.get("n_timesteps")
    if not _is_int(n_envs) or n_envs < 1:
        raise UserError(
            f"{at('n_envs')}: {merged.get('n_envs')!r} is not accepted; n_envs takes a positive "
            "integer (the number of training envs)."
        )
    if n_timesteps is None:
        raise UserError(f"{where}: n_timesteps is missing; set it in the entry or pass -n STEPS.")
    if not _is_number(n_timesteps) or n_timesteps <= 0:
        raise UserError(
            f"{at('n_timesteps')}: {n_timesteps!r} is not accepted; n_timesteps takes a positive "
            "number of environment steps (e.g. 1e6 or !!float 1e6)."
        )
    policy = _policy_name(merged.get("policy", "MlpPolicy"), algo, at("policy"))

    return RunSpec(
        algo=algo.name,
        env_id=env_id,
        source=where,
        hyperparams=dict(sorted(merged.items())),
        n_timesteps=int(n_timesteps),
        n_envs=int(n_envs),
        policy=policy,
        normalize=normalize,
        frame_stack=int(frame_stack) if frame_stack is not None else None,
        env_wrappers=_class_refs(merged.get("env_wrapper"), "env_wrapper", where),
        vec_env_wrappers=_class_refs(merged.get("vec_env_wrapper"), "vec_env_wrapper", where),
        callbacks=_class_refs(merged.get("callback"), "callback", where),
        action_noise=action_noise,
        model_kwargs=model_kwargs,
        backend=algo.run_backend,
        env_kwargs=_kwargs_mapping(merged.get("env_kwargs"), "env_kwargs", at("env_kwargs")),
        monitor_kwargs=_monitor_kwargs(merged.get("monitor_kwargs"), at("monitor_kwargs")),
    )


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _whole(value: Any) -> Any:
    """``1e6`` and ``1.0e6`` as the integer they stand for (YAML writes them as floats)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _interpret_value(key: str, value: Any, where: str) -> Any:
    if key in _PARSED_KEYS and isinstance(value, str):
        try:
            return coerce_yaml_numbers(parse_value(value))
        except ValueParseError as exc:
            raise UserError(f"{where}: {exc}") from None
    if key.endswith("_class") and isinstance(value, str):
        if value not in KNOWN_NAMES:
            raise UserError(
                f"{where}: {value!r} is not a known class.{suggest(value, KNOWN_NAMES)} "
                f"Accepted: {', '.join(sorted(n for n in KNOWN_NAMES if '.' not in n))}."
            )
        return KnownName(value)
    if isinstance(value, str) and (match := _LIN.match(value)):
        try:
            return LinearSchedule(float(match.group(1)))
        except ValueError:
            raise UserError(
                f"{where}: {value!r} is not a valid lin_<number> schedule (e.g. lin_3e-4)."
            ) from None
    return value


def _normalize_kwargs(value: Any, merged: Mapping[str, Any], where: str) -> dict[str, Any] | None:
    if isinstance(value, str):
        try:
            value = coerce_yaml_numbers(parse_value(value))
        except ValueParseError as exc:
            raise UserError(f"{where}: {exc}") from None
    if value is False or value is None:
        return None
    if value is True:
        kwargs: dict[str, Any] = {}
    elif isinstance(value, dict):
        kwargs = dict(value)
    else:
        raise UserError(
            f"{where}: normalize must be true/false or a dict of VecNormalize arguments such as "
            f'"dict(norm_obs=True, norm_reward=False)", got {value!r}.'
        )
    if "gamma" in merged:  # as the Zoo: reward normalization discounts like the algorithm
        kwargs["gamma"] = merged["gamma"]
    return kwargs


def _kwargs_mapping(value: Any, key: str, where: str) -> dict[str, Any]:
    """``env_kwargs``/``monitor_kwargs``: a mapping, or a string the safe parser reads as one."""
    if value is None:
        return {}
    if isinstance(value, str):
        try:
            value = coerce_yaml_numbers(parse_value(value))
        except ValueParseError as exc:
            raise UserError(f"{where}: {exc}") from None
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise UserError(
            f"{where}: {value!r} is not accepted; {key} takes a mapping of keyword arguments, "
            'e.g. {g: 9.8} in YAML or "dict(g=9.8)".'
        )
    return dict(value)


#: the keywords of Stable-Baselines3's Monitor that an entry may set
_MONITOR_KEYS = ("info_keywords", "reset_keywords", "allow_early_resets")


def _monitor_kwargs(value: Any, where: str) -> dict[str, Any]:
    kwargs = _kwargs_mapping(value, "monitor_kwargs", where)
    for key, item in kwargs.items():
        if key not in _MONITOR_KEYS:
            raise UserError(
                f"{where}: {key!r} is not accepted.{suggest(key, _MONITOR_KEYS)} monitor_kwargs "
                f"takes {', '.join(_MONITOR_KEYS)} (realzoo sets the Monitor's file itself)."
            )
        if key == "allow_early_resets":
            if not isinstance(item, bool):
                raise UserError(f"{where}: allow_early_resets takes true or false, got {item!r}.")
        elif not isinstance(item, list | tuple) or not all(isinstance(k, str) for k in item):
            raise UserError(
                f"{where}: {key} takes a list of info keys such as [is_success], got {item!r}."
            )
        else:
            kwargs[key] = tuple(item)
    return kwargs


#: packages whose policy classes a dotted ``policy`` may name (mapped to the algorithm's names)
_POLICY_PACKAGES = ("stable_baselines3", "sb3_contrib")


def _policy_name(value: Any, algo: AlgoSpec, where: str) -> str:
    """The policy name for ``value``: a name as is, a dotted SB3 class path mapped to its name.

    The RL Zoo imports any dotted path; realzoo maps the classes of Stable-Baselines3 and
    sb3-contrib (``stable_baselines3.ppo.MlpPolicy``) to the algorithm's own name for them and
    imports nothing else named in a file.
    """
    if not isinstance(value, str) or not value.strip():
        raise UserError(
            f"{where}: {value!r} is not accepted; policy takes a policy name such as MlpPolicy "
            "or a dotted Stable-Baselines3 class path such as stable_baselines3.ppo.MlpPolicy."
        )
    value = value.strip()
    if "." not in value:
        return value
    if algo.run_backend != "sb3":
        known = ", ".join(sorted(algo.policy_aliases()))
        raise UserError(
            f"{where}: {value!r}: with --backend sbx, policy takes one of the names {known}."
        )
    aliases = algo.policy_aliases()
    listing = ", ".join(sorted(aliases))
    module_name, _, attr = value.rpartition(".")
    if module_name.split(".")[0] not in _POLICY_PACKAGES:
        raise UserError(
            f"{where}: {value!r} is not accepted: realzoo does not import classes named in a "
            "hyperparameter file; a dotted policy must be a Stable-Baselines3 or sb3-contrib "
            f"policy class of {algo.name} (e.g. stable_baselines3.ppo.MlpPolicy), or give one "
            f"of its names: {listing}."
        )
    try:
        cls = getattr(importlib.import_module(module_name), attr, None)
    except ImportError:
        cls = None
    names = [name for name, target in aliases.items() if target is cls]
    if cls is None or not names:
        raise UserError(
            f"{where}: {value!r} is not a policy class of {algo.name}. Its policies: {listing} "
            f"(as names, or as their dotted Stable-Baselines3 paths)."
        )
    return names[0]


#: an integer (or an int-valued float such as 1e6) >= the bound
def _at_least(bound: int) -> tuple[Any, str]:
    return (lambda v: _is_int(v) and v >= bound), f"an integer >= {bound}"


def _in_range(low: float, high: float) -> tuple[Any, str]:
    return (lambda v: _is_number(v) and low <= v <= high), f"a number between {low} and {high}"


def _positive_or_schedule(v: Any) -> bool:
    if isinstance(v, LinearSchedule):
        return v.initial >= 0
    return _is_number(v) and v >= 0


def _train_freq_ok(v: Any) -> bool:
    if _is_int(v):
        return v >= 1
    return (
        isinstance(v, list | tuple)
        and len(v) == 2
        and _is_int(_whole(v[0]))
        and _whole(v[0]) >= 1
        and v[1] in ("step", "episode")
    )


def _ent_coef_ok(v: Any) -> bool:
    if isinstance(v, str):
        return v == "auto" or (v.startswith("auto_") and _number_or_none(v[5:]) is not None)
    return _is_number(v) and v >= 0


def _number_or_none(text: str) -> Any:
    try:
        return float(text)
    except ValueError:
        return None


#: value checks for keys the algorithms take: what is accepted, in words
_VALUE_RULES: dict[str, tuple[Any, str]] = {
    "learning_rate": (_positive_or_schedule, "a non-negative number or lin_<number>"),
    "clip_range": (
        lambda v: isinstance(v, LinearSchedule) or (_is_number(v) and v > 0),
        "a positive number or lin_<number>",
    ),
    "delta_std": (
        lambda v: isinstance(v, LinearSchedule) or (_is_number(v) and v > 0),
        "a positive number or lin_<number>",
    ),
    "batch_size": _at_least(1),
    "n_steps": _at_least(1),
    "n_epochs": _at_least(1),
    "buffer_size": _at_least(1),
    "learning_starts": _at_least(0),
    "gradient_steps": _at_least(-1),
    "target_update_interval": _at_least(1),
    "policy_delay": _at_least(1),
    "sde_sample_freq": _at_least(-1),
    "n_critic_updates": _at_least(1),
    "cg_max_steps": _at_least(1),
    "n_delta": _at_least(1),
    "sub_sampling_factor": _at_least(1),
    "top_quantiles_to_drop_per_net": _at_least(0),
    "n_eval_episodes": _at_least(1),
    "gamma": _in_range(0.0, 1.0),
    "gae_lambda": _in_range(0.0, 1.0),
    "tau": _in_range(0.0, 1.0),
    "exploration_fraction": _in_range(0.0, 1.0),
    "exploration_initial_eps": _in_range(0.0, 1.0),
    "exploration_final_eps": _in_range(0.0, 1.0),
    "train_freq": (
        _train_freq_ok,
        'an integer >= 1 or a pair [n, "step"] / [n, "episode"] such as [1, "episode"]',
    ),
    "ent_coef": (_ent_coef_ok, 'a non-negative number, "auto" or "auto_<initial value>"'),
    "max_grad_norm": ((lambda v: _is_number(v) and v > 0), "a positive number"),
    "vf_coef": ((lambda v: _is_number(v) and v >= 0), "a non-negative number"),
    "target_kl": ((lambda v: v is None or (_is_number(v) and v > 0)), "a positive number"),
}
#: algorithms whose minibatches need two samples at least (advantage normalization)
_MIN_BATCH_2 = frozenset({"ppo", "ppo_lstm"})


def _check_model_values(algo: AlgoSpec, kwargs: dict[str, Any], at: Any) -> dict[str, Any]:
    """Check each value against what the algorithm takes, before anything is built.

    Integer keys given as floats (``buffer_size: 1.0e6``) become integers, as the RL Zoo's
    files expect; every other mismatch is a :class:`UserError` naming the key, the value and
    what is accepted, instead of the library's assertion later.
    """
    annotations = algo.annotations()
    result = dict(kwargs)
    for key, given in kwargs.items():
        value = given
        kinds = _annotation_kinds(annotations.get(key))
        if kinds and "int" in kinds and "float" not in kinds:
            value = _whole(value)
        if key == "train_freq" and isinstance(value, list | tuple) and value:
            value = (_whole(value[0]), *value[1:])
        rule = _VALUE_RULES.get(key)
        if key == "batch_size" and algo.name in _MIN_BATCH_2:
            rule = _at_least(2)
        if key == "ent_coef" and kinds is not None and "str" not in kinds:  # on-policy: a number
            rule = ((lambda v: _is_number(v) and v >= 0), "a non-negative number")
        if value is None and kinds and "None" in kinds:
            ok = True
        else:
            ok = _matches(value, kinds) and (rule is None or rule[0](value))
        if not ok:
            accepted = rule[1] if rule is not None else _describe(kinds)
            raise UserError(
                f"{at(key)}: {given!r} is not accepted by {algo.name}; {key} takes {accepted}."
            )
        result[key] = value
    return result


def _annotation_kinds(annotation: Any) -> set[str] | None:
    """The value kinds an annotation allows (int, float, bool, str, None, schedule, ...)."""
    import collections.abc
    import types
    import typing

    if annotation is None:
        return None
    if isinstance(annotation, str):  # postponed annotations: read the simple ones
        parts = {p.strip() for p in annotation.split("|")}
        simple = {"int", "float", "bool", "str", "None"}
        return parts if parts <= simple else None
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        kinds: set[str] = set()
        for arg in typing.get_args(annotation):
            sub = _annotation_kinds(arg)
            if sub is None:
                return None
            kinds |= sub
        return kinds
    if annotation is type(None):
        return {"None"}
    if annotation in (int, float, bool, str):
        return {annotation.__name__}
    if origin is collections.abc.Callable:
        return {"schedule"}
    if origin is tuple:
        return {"pair"}
    if origin is dict or annotation is dict:
        return {"dict"}
    return None  # classes, devices, ...: left to the algorithm


def _matches(value: Any, kinds: set[str] | None) -> bool:
    if not kinds:
        return True
    checks = {
        "int": _is_int(value),
        "float": _is_number(value),
        "bool": isinstance(value, bool),
        "str": isinstance(value, str),
        "None": value is None,
        "schedule": isinstance(value, LinearSchedule),
        "pair": isinstance(value, list | tuple),
        "dict": isinstance(value, dict),
    }
    return any(checks[k] for k in kinds)


def _describe(kinds: set[str] | None) -> str:
    words = {
        "int": "an integer",
        "float": "a number",
        "bool": "true or false",
        "str": "a string",
        "None": "null (None)",
        "schedule": "lin_<number>",
        "pair": "a list of two values",
        "dict": "a mapping",
    }
    return " or ".join(words[k] for k in sorted(kinds or ()))


def _class_refs(value: Any, key: str, where: str) -> tuple[ClassRef, ...]:
    if value is None:
        return ()
    items = value if isinstance(value, list) else [value]
    refs = []
    for item in items:
        if isinstance(item, str):
            refs.append(ClassRef(item, {}))
        elif isinstance(item, dict) and len(item) == 1:
            ((path, kwargs),) = item.items()
            if kwargs is not None and not isinstance(kwargs, dict):
                raise UserError(f"{where}: {key} {path}: its arguments must be a mapping.")
            refs.append(ClassRef(str(path), dict(kwargs or {})))
        else:
            raise UserError(
                f"{where}: {key} entries must be a dotted class path or a one-key mapping "
                f"{{path: {{kwarg: value}}}}, got {item!r}."
            )
    return tuple(refs)
