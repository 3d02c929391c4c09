import math

import pytest
import torch

from rlzoo_real.config.literals import (
    KNOWN_NAMES,
    KnownName,
    format_value,
    materialize,
    parse_value,
    to_plain,
)
from rlzoo_real.errors import UserError


def test_reads_the_zoo_policy_kwargs_string():
    text = (
        "dict(log_std_init=-2, ortho_init=False, activation_fn=nn.ReLU, "
        "net_arch=dict(pi=[256, 256], vf=[256, 256]))"
    )
    value = parse_value(text)
    assert value == {
        "log_std_init": -2,
        "ortho_init": False,
        "activation_fn": KnownName("nn.ReLU"),
        "net_arch": {"pi": [256, 256], "vf": [256, 256]},
    }
    assert materialize(value)["activation_fn"] is torch.nn.ReLU
    assert to_plain(value)["activation_fn"] == "nn.ReLU"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1e-3", 0.001),
        ("-5", -5),
        ("2**20", 1048576),
        ("'human'", "human"),
        ("(1, 'episode')", (1, "episode")),
        ("{'a': [1, 2.5]}", {"a": [1, 2.5]}),
        ("None", None),
        ("True", True),
        ("th.optim.RMSprop", KnownName("th.optim.RMSprop")),
    ],
)
def test_accepts_literals(text, expected):
    assert parse_value(text) == expected


def test_inf_and_float_conversion():
    assert math.isinf(parse_value("float('inf')"))
    assert parse_value("-inf") == -math.inf


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os').system('true')",
        "open('/etc/passwd')",
        "os.system",
        "[x for x in range(3)]",
        "lambda: 1",
        "().__class__",
        "10**100000",
        "dict(**{'a': 1})",
        "b'bytes'",
    ],
)
def test_rejects_anything_that_could_run_code(text):
    with pytest.raises(UserError):
        parse_value(text)


def test_suggests_a_close_known_name():
    with pytest.raises(UserError, match="Did you mean nn.ReLU"):
        parse_value("nn.Relu")


@pytest.mark.parametrize(
    "value",
    [
        {"net_arch": [64, 64], "activation_fn": KNOWN_NAMES["nn.ReLU"]},
        {1: "x", "a-b": (2,)},  # keys that are not identifiers: a {...} literal, not dict(...)
        [0.5, (1, "episode")],
    ],
)
def test_format_value_is_read_back_by_parse_value(value):
    assert parse_value(format_value(value)) == value
