"""Benchmark suites: named lists of (algorithm, env) pairs, shipped as YAML data files.

A suite file maps each env id to the algorithms run on it with the shipped
hyperparameters::

    description: Classic control ...
    envs:
      CartPole-v1: [ppo, a2c, dqn]
      Pendulum-v1: [sac, td3]

The shipped suites live in ``rlzoo_real/benchmark/suites/<name>.yml``; a path to such a
file is accepted wherever a suite name is. Every pair must have its own entry in
``hyperparams/<algo>.yml`` (a ``defaults`` fallback is not tuned, so a benchmark of it
would not measure the shipped hyperparameters).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rlzoo_real.errors import UserError

__all__ = [
    "Pair",
    "Suite",
    "known_suites",
    "load_suite",
    "shipped_entry",
    "shipped_steps",
    "suites_dir",
]


@dataclass(frozen=True)
class Pair:
    """One algorithm on one env."""

    algo: str
    env: str

    @property
    def name(self) -> str:
        """``ppo on CartPole-v1``."""
        return f"{self.algo} on {self.env}"


@dataclass(frozen=True)
class Suite:
    """A named list of pairs, read from ``source``."""

    name: str
    description: str
    pairs: tuple[Pair, ...]
    source: Path

    @property
    def algos(self) -> list[str]:
        """The algorithms, in the order they first appear."""
        return list(dict.fromkeys(p.algo for p in self.pairs))

    @property
    def envs(self) -> list[str]:
        """The env ids, in the suite's order."""
        return list(dict.fromkeys(p.env for p in self.pairs))


def suites_dir() -> Path:
    """The folder of the shipped suite files."""
    return Path(__file__).resolve().parent / "suites"


def known_suites() -> list[str]:
    """The names of the shipped suites, sorted."""
    return sorted(p.stem for p in suites_dir().glob("*.yml"))


def load_suite(name_or_path: str) -> Suite:
    """The shipped suite of this name, or the suite file at this path, checked.

    Raises:
        UserError: an unknown name (the message lists the known ones), a file that is not a
            suite, or a pair without shipped hyperparameters.
    """
    path = suites_dir() / f"{name_or_path}.yml"
    if not path.is_file():
        candidate = Path(name_or_path)
        looks_like_file = candidate.suffix in (".yml", ".yaml") or "/" in name_or_path
        if not (looks_like_file and candidate.is_file()):
            known = ", ".join(known_suites())
            raise UserError(
                f"Unknown benchmark suite {name_or_path!r}. Known suites: {known}; or give the "
                "path of a suite file (.yml) that maps env ids to algorithms, e.g. "
                "'envs: {CartPole-v1: [ppo, dqn]}'."
            )
        path = candidate
    data = _read(path)
    suite = _parse(data, path, name=path.stem)
    for pair in suite.pairs:
        shipped_steps(pair, suite=suite.name)
    return suite


def _read(path: Path) -> Any:
    import yaml

    from rlzoo_real.runs.yaml_io import safe_load  # refuses duplicate keys

    try:
        return safe_load(path.read_text())
    except OSError as exc:
        raise UserError(f"Cannot read the suite file {str(path)!r}: {exc}.") from None
    except yaml.YAMLError as exc:
        raise UserError(f"The suite file {str(path)!r} is not valid YAML: {exc}") from None


def _parse(data: Any, path: Path, *, name: str) -> Suite:
    example = "e.g. 'envs: {CartPole-v1: [ppo, dqn], Pendulum-v1: [sac]}'"
    if not isinstance(data, dict) or not isinstance(data.get("envs"), dict) or not data["envs"]:
        raise UserError(
            f"The suite file {str(path)!r} must have an 'envs' mapping of env ids to lists of "
            f"algorithms, {example}."
        )
    unknown = sorted(set(data) - {"envs", "description"})
    if unknown:
        raise UserError(
            f"The suite file {str(path)!r} has unknown key(s) {', '.join(map(str, unknown))}; "
            "a suite has 'envs' (and an optional 'description')."
        )
    pairs: list[Pair] = []
    for env, algos in data["envs"].items():
        if isinstance(algos, str):
            algos = [algos]
        if not isinstance(algos, list) or not algos or not all(isinstance(a, str) for a in algos):
            raise UserError(
                f"The suite file {str(path)!r}, env {env!r}: expected a list of algorithm "
                f"names, {example}; got {algos!r}."
            )
        for algo in algos:
            pair = Pair(algo.strip().lower(), str(env))
            if pair not in pairs:
                pairs.append(pair)
    return Suite(name, str(data.get("description") or "").strip(), tuple(pairs), path)


def shipped_steps(pair: Pair, *, suite: str = "") -> int:
    """The ``n_timesteps`` of the pair's own entry in the shipped ``hyperparams/<algo>.yml``.

    Raises:
        UserError: an unknown algorithm, or no entry for the env (the message lists the
            algorithms that have one).
    """
    return int(shipped_entry(pair, suite=suite)["n_timesteps"])


def shipped_entry(pair: Pair, *, suite: str = "") -> dict[str, Any]:
    """The pair's own entry in the shipped ``hyperparams/<algo>.yml``, with ``n_timesteps``
    as a positive int.

    Raises:
        UserError: as :func:`shipped_steps`.
    """
    from rlzoo_real.algos.registry import get_algo
    from rlzoo_real.config.tables import bundled_hyperparams_dir, load_table

    where = f"Benchmark suite {suite!r}: " if suite else ""
    try:
        algo = get_algo(pair.algo)
    except UserError as exc:
        raise UserError(f"{where}{exc}") from None
    path = bundled_hyperparams_dir() / f"{algo.name}.yml"
    table = load_table(path) if path.is_file() else {}
    entry = table.get(pair.env)
    if not isinstance(entry, dict):
        having = sorted(
            p.stem
            for p in bundled_hyperparams_dir().glob("*.yml")
            if isinstance(load_table(p).get(pair.env), dict)
        )
        listing = ", ".join(having) if having else "none"
        raise UserError(
            f"{where}{pair.algo} on {pair.env} has no shipped hyperparameters: "
            f"hyperparams/{algo.name}.yml has no entry for {pair.env} (its 'defaults' entry is "
            "not tuned, so a benchmark of it would not measure the shipped hyperparameters). "
            f"Algorithms with an entry for {pair.env}: {listing}. Remove the pair from the "
            "suite or pick one of those."
        )
    steps = entry.get("n_timesteps")
    try:
        value = int(float(str(steps)))
    except (TypeError, ValueError):
        value = 0
    if value < 1:
        raise UserError(
            f"{where}hyperparams/{algo.name}.yml [{pair.env}] has no positive n_timesteps "
            f"(got {steps!r}); a benchmark budget is the entry's n_timesteps."
        )
    return {**entry, "n_timesteps": value}
