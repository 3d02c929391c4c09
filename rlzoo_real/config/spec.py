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
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from rlzoo_real.algos.registry import AlgoSpec
from rlzoo_real.config.checks import check_model_values, is_int, is_number, whole
from rlzoo_real.config.literals import (
    KNOWN_NAMES,
    ClassRef,
    KnownName,
    LinearSchedule,
    ValueParseError,
    coerce_yaml_numbers,
    contains_known_name,
    format_value,
    parse_value,
    to_plain,
)
from rlzoo_real.config.tables import PARSED_KEYS, Unrecordable
from rlzoo_real.errors import UserError, suggest

__all__ = [
    "SPECIAL_KEYS",
    "RunSpec",
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
_NOISE_TYPES = ("normal", "ornstein-uhlenbeck")
_LIN = re.compile(r"^lin_([-+0-9.eE]+)$")
#: fallback entries, in order: ``atari`` for Atari envs, then ``default`` (the RL Zoo's
#: spelling) or ``defaults`` (realzoo's)
_FALLBACKS = ("atari", "default", "defaults")


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
    if isinstance(entry, Unrecordable):
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
    if key in PARSED_KEYS and contains_known_name(value):
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
    model_kwargs = check_model_values(algo, model_kwargs, at)

    normalize = _normalize_kwargs(merged.get("normalize", False), merged, at("normalize"))
    frame_stack = whole(merged.get("frame_stack"))
    if frame_stack is not None and (not is_int(frame_stack) or frame_stack < 1):
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
        if not is_number(noise_std) or noise_std < 0:
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

    n_envs = whole(merged.get("n_envs", 1))
    n_timesteps = merged.get("n_timesteps")
    if not is_int(n_envs) or n_envs < 1:
        raise UserError(
            f"{at('n_envs')}: {merged.get('n_envs')!r} is not accepted; n_envs takes a positive "
            "integer (the number of training envs)."
        )
    if n_timesteps is None:
        raise UserError(f"{where}: n_timesteps is missing; set it in the entry or pass -n STEPS.")
    if not is_number(n_timesteps) or n_timesteps <= 0:
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


def _interpret_value(key: str, value: Any, where: str) -> Any:
    if key in PARSED_KEYS and isinstance(value, str):
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
