"""A small, safe reader for the Python-like strings found in hyperparameter files.

The RL Zoo's files hold strings such as
``"dict(net_arch=[64, 64], activation_fn=nn.ReLU)"`` and its command line takes
``-params learning_rate:1e-3``. The Zoo runs them through ``eval``; we read them
with :func:`parse_value`, which walks the syntax tree and accepts only literals,
``dict(...)``, lists, tuples, simple arithmetic on numbers and a fixed table of
known names (activation functions, optimizers, replay buffers, feature
extractors). Nothing in a string can run code.
"""

from __future__ import annotations

import ast
import importlib
import math
import operator
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from rlzoo_real.errors import UserError, suggest

__all__ = [
    "KNOWN_NAMES",
    "KnownName",
    "ValueParseError",
    "coerce_yaml_numbers",
    "contains_known_name",
    "format_value",
    "materialize",
    "parse_value",
    "to_plain",
]


class ValueParseError(UserError):
    """A string that the safe parser does not accept."""


_NN = [
    "ReLU",
    "Tanh",
    "ELU",
    "LeakyReLU",
    "SiLU",
    "GELU",
    "Sigmoid",
    "Identity",
    "Mish",
    "SELU",
    "Softplus",
    "CELU",
    "Hardswish",
]
_OPTIM = ["Adam", "AdamW", "RMSprop", "SGD", "Adamax", "NAdam", "RAdam"]

#: name as written in a file -> "module:attribute" it stands for
KNOWN_NAMES: dict[str, str] = {}
for _n in _NN:
    for _prefix in ("nn.", "th.nn.", "torch.nn."):
        KNOWN_NAMES[_prefix + _n] = f"torch.nn:{_n}"
for _n in _OPTIM:
    for _prefix in ("optim.", "th.optim.", "torch.optim."):
        KNOWN_NAMES[_prefix + _n] = f"torch.optim:{_n}"
KNOWN_NAMES.update(
    {
        "RMSpropTFLike": "stable_baselines3.common.sb2_compat.rmsprop_tf_like:RMSpropTFLike",
        "HerReplayBuffer": "stable_baselines3:HerReplayBuffer",
        "DictReplayBuffer": "stable_baselines3.common.buffers:DictReplayBuffer",
        "ReplayBuffer": "stable_baselines3.common.buffers:ReplayBuffer",
        "NatureCNN": "stable_baselines3.common.torch_layers:NatureCNN",
        "FlattenExtractor": "stable_baselines3.common.torch_layers:FlattenExtractor",
        "CombinedExtractor": "stable_baselines3.common.torch_layers:CombinedExtractor",
        "MlpExtractor": "stable_baselines3.common.torch_layers:MlpExtractor",
    }
)


@dataclass(frozen=True)
class KnownName:
    """A name from :data:`KNOWN_NAMES`, kept symbolic until the model is built."""

    name: str

    def resolve(self) -> Any:
        """Import and return the object the name stands for."""
        module, attr = KNOWN_NAMES[self.name].split(":")
        return getattr(importlib.import_module(module), attr)

    def __str__(self) -> str:
        return self.name


_BINOPS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Pow: operator.pow,
}
_CONVERTERS = {"int": int, "float": float, "bool": bool, "str": str}
_CONSTANT_NAMES = {"inf": math.inf, "nan": math.nan}


def parse_value(text: str) -> Any:
    """Read ``text`` as a safe Python literal expression.

    Args:
        text: e.g. ``"1e-3"``, ``"[64, 64]"``, ``"dict(net_arch=[64], activation_fn=nn.ReLU)"``.

    Returns:
        Plain Python values (int, float, str, bool, None, list, tuple, dict), with
        :class:`KnownName` objects where a known name such as ``nn.ReLU`` appears.

    Raises:
        ValueParseError: when the text is not valid syntax or uses anything else
            (function calls other than ``dict``/``list``/``tuple``/``int``/``float``,
            unknown names, attribute access, comprehensions, ...).
    """
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise ValueParseError(f"{text!r} is not a valid value: {exc.msg}.") from None
    return _walk(tree.body, text)


def contains_known_name(value: Any) -> bool:
    """True when ``value`` (a parse result) holds a :class:`KnownName` anywhere."""
    if isinstance(value, KnownName):
        return True
    if isinstance(value, dict):
        return any(contains_known_name(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(contains_known_name(v) for v in value)
    return False


def _dotted(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return None if base is None else f"{base}.{node.attr}"
    return None


def _walk(node: ast.AST, text: str) -> Any:
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bytes | complex) or node.value is Ellipsis:
            raise ValueParseError(f"{text!r}: {type(node.value).__name__} values are not accepted.")
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        operand = _walk(node.operand, text)
        if isinstance(operand, int | float) and not isinstance(operand, bool):
            return -operand if isinstance(node.op, ast.USub) else operand
    elif isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        left, right = _walk(node.left, text), _walk(node.right, text)
        numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (left, right))
        if numbers and not (isinstance(node.op, ast.Pow) and abs(right) > 64):
            try:
                return _BINOPS[type(node.op)](left, right)
            except ArithmeticError as exc:  # 1/0, 1e300**2
                raise ValueParseError(f"{text!r}: {exc}.") from None
    elif isinstance(node, ast.List):
        return [_walk(e, text) for e in node.elts]
    elif isinstance(node, ast.Tuple):
        return tuple(_walk(e, text) for e in node.elts)
    elif isinstance(node, ast.Dict):
        if any(k is None for k in node.keys):
            raise ValueParseError(f"{text!r}: '**' unpacking is not accepted.")
        return {
            _walk(k, text): _walk(v, text)
            for k, v in zip(node.keys, node.values, strict=True)
            if k is not None
        }
    elif isinstance(node, ast.Call):
        return _call(node, text)
    elif isinstance(node, ast.Name | ast.Attribute):
        name = _dotted(node)
        if name in _CONSTANT_NAMES:
            return _CONSTANT_NAMES[name]
        if name in KNOWN_NAMES:
            return KnownName(name)
        shown = name if name is not None else ast.unparse(node)
        raise ValueParseError(
            f"{text!r}: the name {shown!r} is not one realzoo knows.{suggest(shown, KNOWN_NAMES)} "
            "Accepted names are activation functions (nn.ReLU, nn.Tanh, nn.ELU, ...), optimizers "
            "(th.optim.Adam, ...), HerReplayBuffer, NatureCNN and the other names listed in "
            "rlzoo_real.config.literals.KNOWN_NAMES; plain strings must be quoted."
        )
    raise ValueParseError(
        f"{text!r}: {ast.unparse(node)!r} is not accepted here. Values may be numbers, quoted "
        "strings, True/False/None, lists, tuples, {...} or dict(...) "
        "and known names such as nn.ReLU."
    )


def _call(node: ast.Call, text: str) -> Any:
    func = _dotted(node.func)
    if func == "dict":
        result: dict[Any, Any] = {}
        if len(node.args) > 1:
            raise ValueParseError(f"{text!r}: dict(...) takes at most one positional argument.")
        if node.args:
            base = _walk(node.args[0], text)
            if not isinstance(base, dict):
                raise ValueParseError(f"{text!r}: dict(...) needs a mapping as its argument.")
            result.update(base)
        for kw in node.keywords:
            if kw.arg is None:
                raise ValueParseError(f"{text!r}: '**' unpacking is not accepted.")
            result[kw.arg] = _walk(kw.value, text)
        return result
    if func in ("list", "tuple") and len(node.args) <= 1 and not node.keywords:
        items = _walk(node.args[0], text) if node.args else []
        if isinstance(items, list | tuple):
            return list(items) if func == "list" else tuple(items)
    if func in _CONVERTERS and len(node.args) == 1 and not node.keywords:
        arg = _walk(node.args[0], text)
        if isinstance(arg, int | float | str | bool):
            try:
                return _CONVERTERS[func](arg)
            except (ValueError, OverflowError):  # int("x"), int(inf)
                raise ValueParseError(f"{text!r}: {func}({arg!r}) is not a valid value.") from None
    raise ValueParseError(
        f"{text!r}: the call {ast.unparse(node)!r} is not accepted; only dict(...), list(...), "
        "tuple(...), int(...), float(...) are."
    )


#: what YAML 1.1 (PyYAML) leaves as a string although it is a number: an exponent with no dot
#: in the mantissa (``1e-3``, ``5e5``, ``-1e-2``, ``+2E6``)
_YAML11_GAP = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+$")


def coerce_yaml_numbers(value: Any) -> Any:
    """Read the numbers that YAML 1.1 leaves as strings (``"1e-3"``) as floats, recursively.

    PyYAML follows YAML 1.1, where ``1e-3`` is not a float (1.1 wants ``1.0e-3``); YAML 1.2 and
    every RL Zoo user mean a number. Only that exact shape is converted: quoted words, quoted
    integers and strings such as ``lin_1e-3`` stay strings.
    """
    if isinstance(value, str) and _YAML11_GAP.match(value.strip()):
        return float(value.strip())
    if isinstance(value, dict):
        return {k: coerce_yaml_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [coerce_yaml_numbers(v) for v in value]
    if isinstance(value, tuple):
        return tuple(coerce_yaml_numbers(v) for v in value)
    return value


def to_plain(value: Any) -> Any:
    """Turn a parse result into values that ``yaml.safe_dump`` writes and ``safe_load`` reads.

    Tuples become lists and known names become their name as a string.
    """
    if isinstance(value, KnownName):
        return value.name
    if isinstance(value, dict):
        return {k: to_plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_plain(v) for v in value]
    return value


def materialize(value: Any) -> Any:
    """Replace every :class:`KnownName` in ``value`` by the object it names (imports here)."""
    if isinstance(value, KnownName):
        return value.resolve()
    if isinstance(value, dict):
        return {k: materialize(v) for k, v in value.items()}
    if isinstance(value, list):
        return [materialize(v) for v in value]
    if isinstance(value, tuple):
        return tuple(materialize(v) for v in value)
    return value


def format_value(value: Any) -> str:
    """Write a value so that :func:`~rlzoo_real.config.literals.parse_value` reads it back."""
    if isinstance(value, KnownName):
        return value.name
    if isinstance(value, dict):
        if all(isinstance(k, str) and k.isidentifier() for k in value):
            return "dict(" + ", ".join(f"{k}={format_value(v)}" for k, v in value.items()) + ")"
        items = ", ".join(f"{format_value(k)}: {format_value(v)}" for k, v in value.items())
        return "{" + items + "}"
    if isinstance(value, list):
        return "[" + ", ".join(format_value(v) for v in value) + "]"
    if isinstance(value, tuple):
        return "(" + "".join(f"{format_value(v)}, " for v in value) + ")"
    return repr(value)


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
