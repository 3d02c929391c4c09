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
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rlzoo_real.algos import AlgoSpec
from rlzoo_real.errors import UserError, suggest
from rlzoo_real.literals import (
    KNOWN_NAMES,
    KnownName,
    ValueParseError,
    contains_known_name,
    format_value,
    parse_value,
    to_plain,
)

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
_PARSED_KEYS = frozenset({"policy_kwargs", "replay_buffer_kwargs", "normalize"})
_NOISE_TYPES = ("normal", "ornstein-uhlenbeck")
_LIN = re.compile(r"^lin_([-+0-9.eE]+)$")
_FALLBACKS = ("atari", "defaults")


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
            :class:`~rlzoo_real.literals.KnownName` objects; see ``literals.materialize``).
        backend: ``sb3`` (PyTorch) or ``sbx`` (JAX), see :func:`rlzoo_real.algos.get_algo`.
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


def bundled_hyperparams_dir() -> Path:
    """The folder of hyperparameter files shipped with realzoo."""
    return Path(__file__).resolve().parent / "hyperparams"


def load_table(path: str | Path) -> dict[str, Any]:
    """Read a hyperparameter table: a YAML file, or a Python module with a ``hyperparams`` dict.

    Raises:
        UserError: missing file, malformed YAML (with file and line), a module that cannot
            be imported or has no ``hyperparams`` dict, or a table that is not a mapping.
    """
    text_path = str(path)
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
    table = getattr(module, "hyperparams", None)
    if not isinstance(table, dict):
        raise UserError(
            f"The module {text_path!r} has no dict called 'hyperparams'; a Python conf file must "
            "define hyperparams = {'<env id>': {...}, ...}."
        )
    return table


def _load_yaml_table(path: Path) -> dict[str, Any]:
    import yaml

    if not path.is_file():
        raise UserError(f"Hyperparameter file {str(path)!r} does not exist.")
    try:
        from rlzoo_real.yaml_reader import safe_load  # refuses duplicate keys

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
    merged: dict[str, Any] = {k: to_plain(v) for k, v in (table[entry_key] or {}).items()}
    for key, value in (overrides or {}).items():
        merged[key] = _plain_override(key, value)
    if n_timesteps is not None and n_timesteps > 0:
        merged["n_timesteps"] = int(n_timesteps)
    _check_keys(merged, algo, where)
    return _interpret(algo, env_id, merged, where), notice


def _plain_override(key: str, value: Any) -> Any:
    if key in _PARSED_KEYS and contains_known_name(value):
        return format_value(value)
    return to_plain(value)


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
        f"{source} has no entry for {env_id!r} and no 'defaults' entry to fall back on."
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
    from rlzoo_real.algos import BACKENDS

    table = BACKENDS[algo.run_backend]
    with_sde = ", ".join(sorted(a.name for a in table.values() if a.supports_sde))
    backend = " with --backend sbx" if algo.run_backend == "sbx" else ""
    return (
        f"{where}: {key}: gSDE (generalized State-Dependent Exploration) is not supported by "
        f"{algo.name}{backend}. Algorithms that support it{backend}: {with_sde}. "
        f"Remove {key} from the entry or -params, or pick one of those algorithms "
        f"(for {algo.name}, exploration comes from its own noise settings)."
    )


def _interpret(algo: AlgoSpec, env_id: str, merged: dict[str, Any], where: str) -> RunSpec:
    model_kwargs = {
        key: _interpret_value(key, value, where)
        for key, value in merged.items()
        if key not in SPECIAL_KEYS
    }
    for key in ("policy_kwargs", "replay_buffer_kwargs"):
        if key in model_kwargs and not isinstance(model_kwargs[key], dict):
            raise UserError(
                f"{where}: {key} must be a mapping such as dict(...), got {merged[key]!r}."
            )

    normalize = _normalize_kwargs(merged.get("normalize", False), merged, where)
    frame_stack = merged.get("frame_stack")
    if frame_stack is not None and (not _is_int(frame_stack) or frame_stack < 1):
        raise UserError(f"{where}: frame_stack must be a positive integer, got {frame_stack!r}.")

    action_noise = None
    if "noise_type" in merged or "noise_std" in merged:
        noise_type = merged.get("noise_type", "normal")
        noise_std = merged.get("noise_std", 0.1)
        if noise_type not in _NOISE_TYPES:
            raise UserError(
                f"{where}: unknown noise_type {noise_type!r}; accepted: {', '.join(_NOISE_TYPES)}."
            )
        if not isinstance(noise_std, int | float) or noise_std < 0:
            raise UserError(f"{where}: noise_std must be a non-negative number, got {noise_std!r}.")
        if not algo.off_policy:
            raise UserError(f"{where}: noise_type/noise_std apply to off-policy algorithms only.")
        action_noise = (str(noise_type), float(noise_std))

    n_envs = merged.get("n_envs", 1)
    n_timesteps = merged.get("n_timesteps")
    if not _is_int(n_envs) or n_envs < 1:
        raise UserError(f"{where}: n_envs must be a positive integer, got {n_envs!r}.")
    if n_timesteps is None:
        raise UserError(f"{where}: n_timesteps is missing; set it in the entry or pass -n STEPS.")
    if not isinstance(n_timesteps, int | float) or n_timesteps <= 0:
        raise UserError(f"{where}: n_timesteps must be a positive number, got {n_timesteps!r}.")
    policy = merged.get("policy", "MlpPolicy")
    if not isinstance(policy, str):
        raise UserError(f"{where}: policy must be a policy name such as MlpPolicy, got {policy!r}.")

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
    )


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _interpret_value(key: str, value: Any, where: str) -> Any:
    if key in _PARSED_KEYS and isinstance(value, str):
        try:
            return parse_value(value)
        except ValueParseError as exc:
            raise UserError(f"{where}: {key}: {exc}") from None
    if key.endswith("_class") and isinstance(value, str):
        if value not in KNOWN_NAMES:
            raise UserError(
                f"{where}: {key} {value!r} is not a known class.{suggest(value, KNOWN_NAMES)} "
                f"Accepted: {', '.join(sorted(n for n in KNOWN_NAMES if '.' not in n))}."
            )
        return KnownName(value)
    if isinstance(value, str) and (match := _LIN.match(value)):
        try:
            return LinearSchedule(float(match.group(1)))
        except ValueError:
            raise UserError(
                f"{where}: {key}: {value!r} is not a valid lin_<number> schedule."
            ) from None
    return value


def _normalize_kwargs(value: Any, merged: Mapping[str, Any], where: str) -> dict[str, Any] | None:
    if isinstance(value, str):
        try:
            value = parse_value(value)
        except ValueParseError as exc:
            raise UserError(f"{where}: normalize: {exc}") from None
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
    if "gamma" in merged and "gamma" not in kwargs:
        kwargs["gamma"] = merged["gamma"]  # discount the reward normalization like the algorithm
    return kwargs


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
