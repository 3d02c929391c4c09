"""Checks of hyperparameter values against what each algorithm takes, before anything is
built: ranges of the usual keys, and the types in the algorithm's signature.

A mismatch is a :class:`~rlzoo_real.errors.UserError` that names the key, the value and what
is accepted, instead of the library's assertion deep inside training.
"""

from __future__ import annotations

from typing import Any

from rlzoo_real.algos.registry import AlgoSpec
from rlzoo_real.config.literals import LinearSchedule
from rlzoo_real.errors import UserError

__all__ = ["check_model_values", "is_int", "is_number", "whole"]


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def whole(value: Any) -> Any:
    """``1e6`` and ``1.0e6`` as the integer they stand for (YAML writes them as floats)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


#: an integer (or an int-valued float such as 1e6) >= the bound
def _at_least(bound: int) -> tuple[Any, str]:
    return (lambda v: is_int(v) and v >= bound), f"an integer >= {bound}"


def _in_range(low: float, high: float) -> tuple[Any, str]:
    return (lambda v: is_number(v) and low <= v <= high), f"a number between {low} and {high}"


def _positive_or_schedule(v: Any) -> bool:
    if isinstance(v, LinearSchedule):
        return v.initial >= 0
    return is_number(v) and v >= 0


def _train_freq_ok(v: Any) -> bool:
    if is_int(v):
        return v >= 1
    return (
        isinstance(v, list | tuple)
        and len(v) == 2
        and is_int(whole(v[0]))
        and whole(v[0]) >= 1
        and v[1] in ("step", "episode")
    )


def _ent_coef_ok(v: Any) -> bool:
    if isinstance(v, str):
        return v == "auto" or (v.startswith("auto_") and _number_or_none(v[5:]) is not None)
    return is_number(v) and v >= 0


def _number_or_none(text: str) -> Any:
    try:
        return float(text)
    except ValueError:
        return None


#: value checks for keys the algorithms take: what is accepted, in words
_VALUE_RULES: dict[str, tuple[Any, str]] = {
    "learning_rate": (_positive_or_schedule, "a non-negative number or lin_<number>"),
    "clip_range": (
        lambda v: isinstance(v, LinearSchedule) or (is_number(v) and v > 0),
        "a positive number or lin_<number>",
    ),
    "delta_std": (
        lambda v: isinstance(v, LinearSchedule) or (is_number(v) and v > 0),
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
    "max_grad_norm": ((lambda v: is_number(v) and v > 0), "a positive number"),
    "vf_coef": ((lambda v: is_number(v) and v >= 0), "a non-negative number"),
    "target_kl": ((lambda v: v is None or (is_number(v) and v > 0)), "a positive number"),
}


#: algorithms whose minibatches need two samples at least (advantage normalization)
_MIN_BATCH_2 = frozenset({"ppo", "ppo_lstm"})


def check_model_values(algo: AlgoSpec, kwargs: dict[str, Any], at: Any) -> dict[str, Any]:
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
            value = whole(value)
        if key == "train_freq" and isinstance(value, list | tuple) and value:
            value = (whole(value[0]), *value[1:])
        rule = _VALUE_RULES.get(key)
        if key == "batch_size" and algo.name in _MIN_BATCH_2:
            rule = _at_least(2)
        if key == "ent_coef" and kinds is not None and "str" not in kinds:  # on-policy: a number
            rule = ((lambda v: is_number(v) and v >= 0), "a non-negative number")
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
        "int": is_int(value),
        "float": is_number(value),
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
