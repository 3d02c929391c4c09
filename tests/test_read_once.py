"""Each command reads a run's ``args.yml`` and ``config.yml`` once, and resolves its algorithm once.

Issue 13: enjoy and export opened ``args.yml`` twice (once to parse it, once more for its
first 200 characters) and looked the run's algorithm up by name four times; a resumed run
opened ``args.yml`` five times and ``config.yml`` twice; it now opens ``config.yml`` once
and ``args.yml`` three times (twice in modules this change leaves alone). Every read of either
file (through :meth:`pathlib.Path.open`, which ``read_text`` and ``read_bytes`` use, or
``open``) and every call of :func:`rlzoo_real.algos.registry.get_algo` is counted while a
real command runs on a real run folder made by ``realzoo train``.
"""

from __future__ import annotations

import builtins
import pathlib
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

import rlzoo_real.algos.registry as registry
from rlzoo_real.runs.folder import RunFolder
from tests.trained_runs import make_cli, train_run


class Counts:
    """Reads of the watched files (by name) and algorithm look-ups (by name) while on."""

    def __init__(self) -> None:
        self.watched: set[Path] = set()
        self.reads: Counter[str] = Counter()
        self.algos: list[str] = []

    def watch(self, run: RunFolder) -> None:
        self.watched = {run.args_file.resolve(), run.config_file.resolve()}
        self.reads.clear()
        self.algos.clear()

    def saw(self, file: Any, mode: str) -> None:
        if isinstance(file, str | Path) and "r" in mode and Path(file).resolve() in self.watched:
            self.reads[Path(file).name] += 1


@pytest.fixture
def counts(monkeypatch: pytest.MonkeyPatch) -> Counts:
    found = Counts()
    path_open, plain_open, get_algo = pathlib.Path.open, builtins.open, registry.get_algo

    def counting_path_open(self: Path, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        found.saw(self, mode)
        return path_open(self, mode, *args, **kwargs)

    def counting_open(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        found.saw(file, mode)
        return plain_open(file, mode, *args, **kwargs)

    def counting_get_algo(name: str, *args: Any, **kwargs: Any) -> Any:
        found.algos.append(name)
        return get_algo(name, *args, **kwargs)

    monkeypatch.setattr(pathlib.Path, "open", counting_path_open)
    monkeypatch.setattr(builtins, "open", counting_open)
    # modules that imported the function by name hold their own reference to it
    for module in list(sys.modules.values()):
        name = getattr(module, "__name__", "")
        if name.startswith("rlzoo_real") and getattr(module, "get_algo", None) is get_algo:
            monkeypatch.setattr(module, "get_algo", counting_get_algo)
    return found


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> RunFolder:
    return train_run(
        make_cli(), tmp_path_factory.mktemp("once"), "ppo-CartPole", "--eval-freq", "-1"
    )


def _ok(result: Any) -> str:
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    return str(result.output)


def test_the_counter_sees_a_read_and_a_lookup(counts, run):
    counts.watch(run)
    run.args_file.read_text()
    with open(str(run.config_file)) as handle:
        handle.read()
    registry.get_algo("ppo")
    assert counts.reads == {"args.yml": 1, "config.yml": 1} and counts.algos == ["ppo"]


def test_enjoy_reads_the_run_once(cli, counts, run):
    counts.watch(run)
    out = _ok(cli("enjoy", run.path, "--no-render", "-n", "50", "--seed", "7"))
    assert "50 steps, deterministic actions, seed 7" in out
    assert counts.reads == {"args.yml": 1, "config.yml": 1}
    assert counts.algos == ["ppo"]


def test_export_reads_the_run_once(cli, counts, run, tmp_path):
    counts.watch(run)
    out = _ok(cli("export", run.path, "-o", tmp_path / "policy.onnx"))
    assert "Exported ppo on CartPole-v1" in out
    assert counts.reads == {"args.yml": 1, "config.yml": 1}
    assert counts.algos == ["ppo"]


@pytest.fixture
def stopped_run(tmp_path: Path) -> RunFolder:
    return train_run(make_cli(), tmp_path, "ppo-CartPole", "--eval-freq", "-1")


def _resume(cli: Any, counts: Counts, run: RunFolder) -> None:
    counts.watch(run)
    out = _ok(cli("train", "--resume", run.path, "-n", "384", "--verbose", "0"))
    assert "Resuming ppo on CartPole-v1 to 384 steps" in out


def test_resume_resolves_the_algorithm_once(cli, counts, stopped_run):
    _resume(cli, counts, stopped_run)
    assert counts.algos == ["ppo"]


def test_resume_reads_the_run_once(cli, counts, stopped_run):
    # found before the run's lock without reading it; read and checked under the lock; the
    # result's algo and seed come from that read, not from args.yml again
    _resume(cli, counts, stopped_run)
    assert counts.reads == {"args.yml": 1, "config.yml": 1}
