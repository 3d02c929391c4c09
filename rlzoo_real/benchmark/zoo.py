"""The RL Zoo's published scores (its ``benchmark.md``), shipped as ``zoo_benchmark.yml``.

The file records where and when the numbers were read. They are ONE trained agent per
algorithm and env, evaluated over many episodes: ``std`` is the spread over evaluation
episodes, not over training seeds. The Zoo ran older env versions (``LunarLander-v2``,
MuJoCo ``-v3``); :func:`zoo_score` matches an env id by its name without the version and
says when the versions differ.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

__all__ = ["ZooScore", "ZooSource", "parse_steps", "zoo_score", "zoo_scores", "zoo_source"]

_VERSION = re.compile(r"-v\d+$")


@dataclass(frozen=True)
class ZooScore:
    """One row of the Zoo's table."""

    algo: str
    env: str  # the Zoo's env id, e.g. LunarLander-v2
    mean: float
    std: float  # over evaluation episodes of the one agent
    n_timesteps: int
    n_timesteps_text: str  # as published: 1M, 500k
    eval_episodes: int


@dataclass(frozen=True)
class ZooSource:
    """Where the numbers come from."""

    url: str
    commit: str
    read_on: str


def data_file() -> Path:
    """``zoo_benchmark.yml`` in the package."""
    return Path(__file__).resolve().parent / "zoo_benchmark.yml"


def parse_steps(text: str | int | float) -> int:
    """``"500k"`` -> 500000, ``"1M"`` -> 1000000, ``20000`` -> 20000."""
    raw = str(text).strip()
    scale = {"k": 1_000, "M": 1_000_000}.get(raw[-1:], 1)
    number = raw[:-1] if scale > 1 else raw
    return int(round(float(number) * scale))


@cache
def _load() -> tuple[ZooSource, tuple[ZooScore, ...]]:
    import yaml

    data = yaml.safe_load(data_file().read_text())
    columns = data["columns"]
    rows = []
    for values in data["rows"]:
        row = dict(zip(columns, values, strict=True))
        rows.append(
            ZooScore(
                algo=str(row["algo"]),
                env=str(row["env"]),
                mean=float(row["mean_reward"]),
                std=float(row["std_reward"]),
                n_timesteps=parse_steps(row["n_timesteps"]),
                n_timesteps_text=str(row["n_timesteps"]),
                eval_episodes=int(row["eval_episodes"]),
            )
        )
    source = ZooSource(str(data["source"]), str(data["commit"]), str(data["read_on"]))
    return source, tuple(rows)


def zoo_source() -> ZooSource:
    """The page, commit and date the shipped numbers were read from."""
    return _load()[0]


def zoo_scores() -> tuple[ZooScore, ...]:
    """Every shipped row."""
    return _load()[1]


def zoo_score(algo: str, env_id: str) -> ZooScore | None:
    """The Zoo's score of ``algo`` on ``env_id``: the same id, else the same env name in
    another version (``LunarLander-v3`` -> the Zoo's ``LunarLander-v2``); None if absent."""
    rows = [r for r in zoo_scores() if r.algo == algo.lower()]
    for row in rows:
        if row.env == env_id:
            return row
    name = _VERSION.sub("", env_id)
    for row in rows:
        if _VERSION.sub("", row.env) == name:
            return row
    return None
