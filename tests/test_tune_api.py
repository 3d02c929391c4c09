"""``rlzoo_real.tune(...)`` from Python: several seeds, the objective and validation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

import rlzoo_real as rz
from rlzoo_real.errors import UserError
from rlzoo_real.tuning.seeds import search_seed, validation_seeds
from tests.tune_helpers import load_trials, make_tiny


@pytest.fixture
def tiny(tmp_path: Path) -> dict[str, Path]:
    return make_tiny(tmp_path)


def _tune(tiny: dict[str, Path], **kwargs: Any) -> Any:
    return rz.tune(
        "ppo",
        "CartPole-v1",
        log_folder=tiny["logs"],
        conf_file=str(tiny["conf"]),
        search_space=str(tiny["space"]),
        n_evaluations=2,
        eval_episodes=2,
        pruner="none",
        plots=False,
        **kwargs,
    )


@pytest.mark.slow  # four tiny seeds in-process, then two validation runs as processes: ~30 s
def test_seeds_objective_and_validation_from_python(tiny):
    lines: list[str] = []
    result = _tune(tiny, n_trials=2, n_seeds=2, objective="best", aggregate="median", seed=3,
                   validate_top=1, validate_seeds=2, echo=lines.append)  # fmt: skip
    assert result.exit_code == 0, result.problems
    folder = tiny["logs"] / "ppo" / "tune_CartPole-v1"
    trials = sorted(load_trials(folder), key=lambda t: t.number)
    record = yaml.safe_load((folder / "study.yml").read_text())["settings"]
    assert (record["n_seeds"], record["objective"], record["aggregate"]) == (2, "best", "median")
    for trial in trials:
        assert trial.user_attrs["seeds"] == [search_seed(3, trial.number, i) for i in (0, 1)]
        values = trial.user_attrs["seed_values"]
        assert trial.value == pytest.approx(sum(values) / 2, abs=1e-4)  # median of two
    assert any(line.startswith("Trial 1 complete") for line in lines)
    validation = result.validation
    search_best = max(trials, key=lambda t: t.value)
    assert validation is not None and validation.seeds == validation_seeds(3, 0, 2)
    assert validation.winner == search_best.number == validation.search_best
    assert (folder / "best.yml").read_text().startswith("# Validated winner")

    # the study keeps its objective: from Python, another one is a UserError, nothing written
    before = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    with pytest.raises(UserError, match="made with --objective best, not auc"):
        _tune(tiny, n_trials=1, objective="auc")
    assert {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()} == before


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_seeds": 0}, "--n-seeds must be at least 1, got 0"),
        ({"objective": "lst"}, "Unknown objective 'lst'"),
        ({"aggregate": "iqr"}, "Unknown aggregate 'iqr'"),
        ({"validate_top": 1, "n_trials": 0}, "there is no study 'tune_CartPole-v1'"),
    ],
)
def test_bad_seed_and_objective_arguments_raise_before_anything_is_written(tiny, kwargs, message):
    with pytest.raises(UserError, match=message):
        _tune(tiny, **{"n_trials": 1, **kwargs})
    assert not tiny["logs"].exists()
