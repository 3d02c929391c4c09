"""Search spaces: which hyperparameters ``realzoo tune`` samples, and how.

A space is written the same way in Python (:data:`SPACES`, one table per algorithm)
and in a ``--search-space`` YAML file, one entry per hyperparameter::

    learning_rate: {low: 1.0e-5, high: 2.0e-3, scale: log}   # float on a log scale
    n_epochs: {choices: [1, 5, 10, 20]}                      # one of these
    n_critic_updates: {low: 5, high: 30}                     # int (both bounds are integers)
    gamma: {low: 0.97, high: 0.9999, scale: one_minus_log}   # 1 - gamma on a log scale
    batch_size: {low: 32, high: 1024, scale: pow2}           # powers of two
    net_arch: {choices: [tiny, small, "[32, 32]"]}           # named sizes or literal values
    activation_fn: {choices: [tanh, relu]}
    policy_kwargs.n_quantiles: {low: 5, high: 50}            # a key of policy_kwargs
    gradient_steps: -1                                       # a fixed value, not searched
    ent_coef: null                                           # drop it from the default space

A file is laid over the algorithm's default space (its entries replace or add, ``null``
removes one); ``base: none`` at the top starts from an empty space instead. Names are
the hyperparameters of ``hyperparams/<algo>.yml`` plus ``net_arch`` and ``activation_fn``
(they go into ``policy_kwargs``), ``policy_kwargs.<key>``, and for ARS ``top_frac_size``
(``n_top = top_frac_size * n_delta``).

The default spaces follow the RL Zoo's (``rl_zoo3/hyperparams_opt.py``), with these
differences: powers of two are ordered integers for every algorithm; off-policy
algorithms use ``gradient_steps: -1`` (one gradient step per collected transition, for
any ``n_envs``) instead of copying ``train_freq``; batch sizes start at 8 to 32, not 4;
on-policy ``batch_size`` is cut to ``n_steps * n_envs``; TQC's dropped quantiles stay
below ``n_quantiles``; CrossQ has a space of its own; RecurrentPPO also searches its LSTM.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rlzoo_real.algos.registry import AlgoSpec
from rlzoo_real.config.literals import format_value
from rlzoo_real.errors import UserError, suggest
from rlzoo_real.tuning.default_spaces import SPACES
from rlzoo_real.tuning.values import VIRTUAL, decode_value

__all__ = [
    "SCALES",
    "SPACES",
    "Param",
    "SearchSpace",
    "default_space",
    "load_space",
    "space_from_dict",
    "space_to_yaml",
]

#: How a range is sampled: plain, on a log scale, ``1 - x`` on a log scale (discount
#: factors close to 1), or as ``2 ** k`` for an integer ``k``.
SCALES = ("linear", "log", "one_minus_log", "pow2")
_SPEC_KEYS = {"low", "high", "scale", "log", "choices", "type"}

_ALGO_VIRTUAL = {"ars": {"top_frac_size": "n_top"}}
_NOT_SEARCHABLE = {
    "n_timesteps": "it is the tuning budget (set it with -n)",
    "seed": "trials are seeded by realzoo tune (--seed)",
    "verbose": "trials run quietly",
    "device": "use --device",
    "tensorboard_log": "trials do not log to TensorBoard",
    "env": "use --env",
    "policy_kwargs": "search its keys one by one: net_arch, activation_fn or policy_kwargs.<key>",
}


@dataclass(frozen=True)
class Param:
    """One hyperparameter of a space: a range, a list of choices, or a fixed value.

    Attributes:
        name: the hyperparameter it sets (``learning_rate``, ``net_arch``,
            ``policy_kwargs.n_quantiles``, ...).
        kind: ``float``, ``int``, ``categorical`` or ``fixed``.
        low: lower bound of a range (the hyperparameter's value, whatever the scale).
        high: upper bound of a range.
        scale: one of :data:`SCALES` (ranges only).
        choices: the values of a categorical; for ``fixed``, the one value.
    """

    name: str
    kind: str
    low: float | None = None
    high: float | None = None
    scale: str = "linear"
    choices: tuple[Any, ...] = ()

    @property
    def optuna_name(self) -> str:
        """The parameter's name in the Optuna study (what is actually sampled)."""
        if self.scale == "one_minus_log":
            return f"one_minus_{self.name}"
        if self.scale == "pow2":
            return f"log2_{self.name}"
        return self.name

    def suggest(self, trial: Any) -> Any:
        """Sample this parameter in ``trial`` and return the hyperparameter's value."""
        name = self.optuna_name
        if self.kind == "fixed":
            return self.choices[0]
        if self.kind == "categorical":
            encoded = [_encode_choice(c) for c in self.choices]
            picked = trial.suggest_categorical(name, encoded)
            return self.choices[encoded.index(picked)]
        assert self.low is not None and self.high is not None
        if self.scale == "pow2":
            exp = trial.suggest_int(name, int(math.log2(self.low)), int(math.log2(self.high)))
            return 2**exp
        if self.scale == "one_minus_log":
            return 1.0 - trial.suggest_float(name, 1.0 - self.high, 1.0 - self.low, log=True)
        if self.kind == "int":
            return trial.suggest_int(name, int(self.low), int(self.high), log=self.scale == "log")
        return trial.suggest_float(name, self.low, self.high, log=self.scale == "log")

    def value_of(self, optuna_value: Any) -> Any:
        """The hyperparameter's value for a value of :attr:`optuna_name` (from a trial)."""
        if self.kind == "fixed":
            return self.choices[0]
        if self.kind == "categorical":
            encoded = [_encode_choice(c) for c in self.choices]
            return self.choices[encoded.index(optuna_value)] if optuna_value in encoded else None
        if self.scale == "pow2":
            return 2 ** int(optuna_value)
        if self.scale == "one_minus_log":
            return 1.0 - float(optuna_value)
        return optuna_value

    def to_spec(self) -> Any:
        """The entry as written in a search-space file."""
        if self.kind == "fixed":
            return self.choices[0]
        if self.kind == "categorical":
            return {"choices": list(self.choices)}
        spec: dict[str, Any] = {"low": self.low, "high": self.high}
        if self.scale != "linear":
            spec["scale"] = self.scale
        if self.kind == "float" and _is_int(self.low) and _is_int(self.high):
            spec["type"] = "float"
        return spec


@dataclass(frozen=True)
class SearchSpace:
    """The parameters searched for one algorithm (see the module docstring)."""

    algo: str
    params: tuple[Param, ...]

    def names(self) -> list[str]:
        """The hyperparameter names, in order."""
        return [p.name for p in self.params]

    def to_dict(self) -> dict[str, Any]:
        """The space as a search-space file would write it (also how a study stores it)."""
        return {p.name: p.to_spec() for p in self.params}

    def without(self, names: set[str]) -> SearchSpace:
        """The space minus the parameters in ``names``."""
        return SearchSpace(self.algo, tuple(p for p in self.params if p.name not in names))

    def sample(self, trial: Any) -> dict[str, Any]:
        """Sample every parameter in ``trial``: hyperparameter name -> value."""
        return {p.name: p.suggest(trial) for p in self.params}

    def values_of(self, optuna_params: Mapping[str, Any]) -> dict[str, Any]:
        """Hyperparameter values from a finished trial's ``params`` (its Optuna names)."""
        values = {}
        for param in self.params:
            if param.kind == "fixed":
                values[param.name] = param.choices[0]
            elif param.optuna_name in optuna_params:
                values[param.name] = param.value_of(optuna_params[param.optuna_name])
        return values


def default_space(algo: AlgoSpec) -> SearchSpace:
    """The built-in search space of ``algo`` (see :data:`SPACES`)."""
    return space_from_dict(algo, SPACES[algo.name], where=f"the default {algo.name} space")


def load_space(
    algo: AlgoSpec, path: str | Path | None, *, base: Mapping[str, Any] | None = None
) -> SearchSpace:
    """The search space for ``algo``: ``base`` (or the default) with the file at ``path`` laid over.

    Args:
        algo: the algorithm being tuned.
        path: a ``--search-space`` YAML file, or None for the base space alone.
        base: a space as :meth:`SearchSpace.to_dict` writes it (e.g. the one a study
            stored) to start from instead of the algorithm's default.

    Raises:
        UserError: unreadable or malformed YAML, an unknown hyperparameter, an invalid
            distribution (with the file, the entry and what would be accepted).
    """
    start = dict(base) if base is not None else dict(SPACES[algo.name])
    if path is None:
        return space_from_dict(algo, start, where="the stored search space")
    import yaml

    where = f"search space {str(path)!r}"
    try:
        from rlzoo_real.runs.yaml_io import safe_load  # refuses duplicate keys

        data = safe_load(Path(path).read_text())
    except FileNotFoundError:
        raise UserError(f"--search-space {str(path)!r}: no such file.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"--search-space {str(path)!r} cannot be read: {exc}.") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise UserError(f"Malformed YAML in {where}{line}: {problem}.") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise UserError(
            f"{where} must map hyperparameter names to ranges, e.g. "
            "'learning_rate: {low: 1.0e-5, high: 1.0e-3, scale: log}'."
        )
    data = dict(data)
    base_mode = data.pop("base", "default")
    if base_mode not in ("default", "none", None, False):
        raise UserError(f"{where}: 'base' must be 'default' or 'none', got {base_mode!r}.")
    merged = {} if base_mode in ("none", None, False) else start
    for name, spec in data.items():
        if spec is None:
            if name not in merged:
                raise UserError(
                    f"{where}: {name}: null removes a parameter of the default space, but "
                    f"{name!r} is not in it.{suggest(str(name), merged)} "
                    f"The space has: {', '.join(merged) or '(nothing)'}."
                )
            merged.pop(name)
        else:
            merged[str(name)] = spec
    return space_from_dict(algo, merged, where=where)


def space_from_dict(algo: AlgoSpec, data: Mapping[str, Any], *, where: str) -> SearchSpace:
    """Build and check a space from its file form (see the module docstring).

    Raises:
        UserError: an unknown hyperparameter or an invalid distribution.
    """
    params = []
    for name, spec in data.items():
        _check_name(str(name), algo, where)
        params.append(_param(str(name), spec, algo, where))
    return SearchSpace(algo.name, tuple(params))


def space_to_yaml(space: SearchSpace) -> str:
    """The space as a commented YAML file that ``--search-space`` reads back."""
    import yaml

    header = (
        f"# realzoo tune search space for {space.algo}: edit, then pass --search-space FILE.\n"
        "# {low, high} ranges (int when both bounds are integers), scale: linear | log |\n"
        "# one_minus_log (1 - x on a log scale) | pow2 (powers of two); {choices: [...]};\n"
        "# a plain value is fixed; name: null drops an entry; 'base: none' starts empty.\n"
    )
    lines = []
    for name, spec in space.to_dict().items():
        text = yaml.safe_dump(spec, sort_keys=False, default_flow_style=True, width=1000)
        text = text.removesuffix("\n").removesuffix("\n...").strip()
        lines.append(f"{name}: {text}")  # names are identifiers, or policy_kwargs.<key>
    return header + "\n".join(lines) + "\n"


def _check_name(name: str, algo: AlgoSpec, where: str) -> None:
    from rlzoo_real.config.spec import SPECIAL_KEYS

    if name in _NOT_SEARCHABLE:
        raise UserError(f"{where}: {name!r} cannot be searched: {_NOT_SEARCHABLE[name]}.")
    if name in VIRTUAL or name in _ALGO_VIRTUAL.get(algo.name, {}):
        return
    if name.startswith("policy_kwargs."):
        key = name.partition(".")[2]
        if not key.isidentifier():
            raise UserError(f"{where}: {name!r}: policy_kwargs.<key> needs a keyword name.")
        return
    accepted = (set(algo.init_parameters()) | SPECIAL_KEYS) - set(_NOT_SEARCHABLE)
    accepted.discard("_init_setup_model")
    if name not in accepted:
        extra = set(VIRTUAL) | set(_ALGO_VIRTUAL.get(algo.name, {}))
        raise UserError(
            f"{where}: unknown hyperparameter {name!r} for {algo.name}."
            f"{suggest(name, accepted | extra)} Accepted: {', '.join(sorted(accepted | extra))}, "
            "and policy_kwargs.<key>."
        )


def _param(name: str, spec: Any, algo: AlgoSpec, where: str) -> Param:
    entry = f"{where}: {name}"
    if not isinstance(spec, dict):
        value = _coerce_number(spec)
        decode_value(name, value, algo, entry)  # a preset or literal that does not exist fails here
        return Param(name, "fixed", choices=(value,))
    unknown = set(spec) - _SPEC_KEYS
    if unknown:
        key = str(sorted(unknown)[0])
        raise UserError(
            f"{entry}: unknown key {key!r}.{suggest(key, _SPEC_KEYS)} An entry is "
            "{low, high[, scale, type]} or {choices: [...]} or a plain value."
        )
    if "choices" in spec:
        if set(spec) - {"choices"}:
            others = sorted(set(spec) - {"choices"})
            raise UserError(f"{entry}: 'choices' cannot be combined with {others}.")
        choices = spec["choices"]
        if not isinstance(choices, list) or not choices:
            raise UserError(f"{entry}: choices must be a non-empty list, got {choices!r}.")
        values = tuple(_coerce_number(c) for c in choices)
        for value in values:
            decode_value(name, value, algo, entry)
        if len({_encode_choice(v) for v in values}) != len(values):
            raise UserError(f"{entry}: choices repeat a value: {list(values)!r}.")
        return Param(name, "categorical", choices=values)
    if "low" not in spec or "high" not in spec:
        raise UserError(
            f"{entry}: a range needs both 'low' and 'high' (or give 'choices'), got {spec!r}."
        )
    low, high = _coerce_number(spec["low"]), _coerce_number(spec["high"])
    for label, bound in (("low", low), ("high", high)):
        if not isinstance(bound, int | float) or isinstance(bound, bool) or math.isnan(bound):
            raise UserError(f"{entry}: {label} must be a number, got {spec[label]!r}.")
    scale = spec.get("scale", "log" if spec.get("log") is True else "linear")
    if scale not in SCALES:
        raise UserError(
            f"{entry}: unknown scale {scale!r}.{suggest(str(scale), SCALES)} "
            f"Accepted: {', '.join(SCALES)}."
        )
    if "log" in spec and spec["log"] not in (True, False):
        raise UserError(f"{entry}: log must be true or false, got {spec['log']!r}.")
    if spec.get("log") is True and scale not in ("log", "linear"):
        raise UserError(f"{entry}: 'log: true' and 'scale: {scale}' contradict each other.")
    kind = spec.get("type")
    if kind is None:
        kind = "int" if (_is_int(low) and _is_int(high) and scale != "one_minus_log") else "float"
    if kind not in ("int", "float"):
        raise UserError(f"{entry}: type must be int or float, got {kind!r}.")
    if low > high:
        raise UserError(f"{entry}: low ({low}) is above high ({high}).")
    if scale == "log" and low <= 0:
        raise UserError(f"{entry}: a log scale needs low > 0, got low={low}.")
    if scale == "one_minus_log" and not (0 <= low <= high < 1):
        raise UserError(
            f"{entry}: one_minus_log samples 1 - x on a log scale and needs 0 <= low <= high < 1 "
            f"(e.g. gamma: {{low: 0.9, high: 0.9999}}), got low={low}, high={high}."
        )
    if kind == "int" or scale == "pow2":  # 1e4 (a float in YAML) names an integer bound
        low, high = _whole(low), _whole(high)
    if scale == "pow2":
        for label, bound in (("low", low), ("high", high)):
            if not (_is_int(bound) and bound > 0 and (int(bound) & (int(bound) - 1)) == 0):
                raise UserError(
                    f"{entry}: pow2 samples powers of two; {label} must be one (1, 2, 4, ... "
                    f"1024), got {bound}."
                )
        kind = "int"
    if kind == "int" and not (_is_int(low) and _is_int(high)):
        raise UserError(f"{entry}: an int range needs integer bounds, got {low} and {high}.")
    if name in VIRTUAL or name == "noise_type":
        raise UserError(f"{entry}: {name} takes choices, not a range: {{choices: [...]}}.")
    decode_value(name, low, algo, entry)
    decode_value(name, high, algo, entry)
    return Param(name, kind, low=low, high=high, scale=scale)


def _encode_choice(value: Any) -> Any:
    """Optuna takes None, bool, int, float and str as choices: other values go as text."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return format_value(value)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


_NUMBER = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")


def _whole(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _coerce_number(value: Any) -> Any:
    """YAML 1.1 reads ``1e-5`` as a string: read number-like strings as numbers."""
    if isinstance(value, str) and _NUMBER.match(value.strip()):
        text = value.strip()
        try:
            return int(text)
        except ValueError:
            return float(text)
    return value
