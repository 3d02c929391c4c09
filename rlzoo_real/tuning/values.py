"""From a search space's values to a trial's hyperparameters.

A space (:mod:`~rlzoo_real.tuning.spaces`) samples values in its own terms: named network
sizes (``small``), activation names (``relu``), ``policy_kwargs.<key>``, ARS's
``top_frac_size``. :func:`resolve_values` turns them into the hyperparameters a run takes
(merged into the base entry's ``policy_kwargs``, constraints between hyperparameters
applied), and :func:`overrides` into the ``-params`` words a trial's command carries.
:func:`decode_value` is the check and translation of one value, used by both.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rlzoo_real.algos.registry import AlgoSpec
from rlzoo_real.config.literals import (
    KNOWN_NAMES,
    KnownName,
    ValueParseError,
    format_value,
    parse_value,
)
from rlzoo_real.errors import UserError, suggest
from rlzoo_real.tuning.default_spaces import (
    ACTIVATIONS,
    CROSSQ_ARCHS,
    OFF_POLICY_ARCHS,
    ON_POLICY_ARCHS,
)

__all__ = ["VIRTUAL", "decode_value", "overrides", "resolve_values"]

#: Space names that are not hyperparameters of their own but keys of ``policy_kwargs``.
VIRTUAL = {"net_arch": "policy_kwargs", "activation_fn": "policy_kwargs"}


def resolve_values(
    algo: AlgoSpec, values: Mapping[str, Any], base: Mapping[str, Any]
) -> dict[str, Any]:
    """Turn sampled values into hyperparameters for a run (``key -> value``).

    ``net_arch``, ``activation_fn`` and ``policy_kwargs.<key>`` are merged into the base
    entry's ``policy_kwargs``; ``noise_type: none`` removes the action noise; ARS's
    ``top_frac_size`` becomes ``n_top``; on-policy ``batch_size`` is cut to ``n_steps *
    n_envs`` and TQC drops fewer quantiles than it has.

    Args:
        algo: the algorithm being tuned.
        values: hyperparameter name -> sampled value (see :meth:`SearchSpace.sample`).
        base: the entry the trial starts from (``RunSpec.hyperparams``, plain values).

    Returns:
        Hyperparameters to override, with values as the safe parser reads them
        (:class:`~rlzoo_real.config.literals.KnownName` for activation functions).
    """
    result: dict[str, Any] = {}
    policy_kwargs: dict[str, Any] = {}
    for name, value in values.items():
        decoded = decode_value(name, value, algo, name)
        if name in VIRTUAL:
            policy_kwargs[name] = decoded
        elif name.startswith("policy_kwargs."):
            policy_kwargs[name.partition(".")[2]] = decoded
        else:
            result[name] = decoded
    if result.get("noise_type") == "none":
        result.pop("noise_type")
        result.pop("noise_std", None)
    if "top_frac_size" in result:
        n_delta = result.get("n_delta", base.get("n_delta", 8))
        result["n_top"] = max(int(result.pop("top_frac_size") * n_delta), 1)
    if not algo.off_policy and "batch_size" in result and algo.name != "ars":
        n_steps = result.get("n_steps", base.get("n_steps", 2048))
        n_envs = result.get("n_envs", base.get("n_envs", 1))
        if isinstance(n_steps, int) and isinstance(n_envs, int):
            result["batch_size"] = min(result["batch_size"], max(n_steps * n_envs, 2))
    if policy_kwargs:
        merged = _base_policy_kwargs(base)
        merged.update(policy_kwargs)
        result["policy_kwargs"] = merged
    drop = result.get("top_quantiles_to_drop_per_net")
    if isinstance(drop, int):
        kwargs = result.get("policy_kwargs") or _base_policy_kwargs(base)
        n_quantiles = kwargs.get("n_quantiles", 25)
        if isinstance(n_quantiles, int) and drop >= n_quantiles:
            result["top_quantiles_to_drop_per_net"] = n_quantiles - 1
    return result


def overrides(hyperparams: Mapping[str, Any]) -> list[str]:
    """``key:value`` words (as ``-params`` takes them) for :func:`resolve_values`' result."""
    return [f"{key}:{format_value(value)}" for key, value in hyperparams.items()]


def _base_policy_kwargs(base: Mapping[str, Any]) -> dict[str, Any]:
    value = base.get("policy_kwargs")
    if isinstance(value, str):
        try:
            value = parse_value(value)
        except ValueParseError:
            return {}
    if not isinstance(value, dict):
        return {}
    return {
        k: KnownName(v) if isinstance(v, str) and v in KNOWN_NAMES else v for k, v in value.items()
    }


def decode_value(name: str, value: Any, algo: AlgoSpec, entry: str) -> Any:
    """The hyperparameter value a space value stands for (presets, activation names)."""
    if name == "net_arch":
        presets = (
            CROSSQ_ARCHS
            if algo.name == "crossq"
            else (OFF_POLICY_ARCHS if algo.off_policy else ON_POLICY_ARCHS)
        )
        if isinstance(value, str) and value in presets:
            return parse_value(presets[value])
        if isinstance(value, list | dict):
            return value
        try:
            parsed = parse_value(str(value))
        except ValueParseError:
            parsed = None
        if not isinstance(parsed, list | dict):
            raise UserError(
                f"{entry}: net_arch {value!r} is neither a named size ({', '.join(presets)}) "
                'nor a literal such as "[64, 64]" or "dict(pi=[64], vf=[64])".'
            )
        return parsed
    if name == "activation_fn":
        text = str(value)
        key = ACTIVATIONS.get(text.lower(), text)
        if key not in KNOWN_NAMES or not key.startswith(("nn.", "th.nn.", "torch.nn.")):
            raise UserError(
                f"{entry}: unknown activation {value!r}.{suggest(text, ACTIVATIONS)} "
                f"Accepted: {', '.join(ACTIVATIONS)} or a name such as nn.ReLU."
            )
        return KnownName(key)
    if name == "noise_type" and value not in ("normal", "ornstein-uhlenbeck", "none"):
        raise UserError(
            f"{entry}: noise_type {value!r} is not one of normal, ornstein-uhlenbeck, none."
        )
    if name == "top_frac_size" and not (
        isinstance(value, int | float) and 0 < value <= 1 and not isinstance(value, bool)
    ):
        raise UserError(f"{entry}: top_frac_size must be in (0, 1], got {value!r}.")
    return value
