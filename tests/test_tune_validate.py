"""--validate-top: the top configurations retrained with fresh seeds; best.yml the winner."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from rlzoo_real.tuning.seeds import validation_seeds
from tests.tune_helpers import assert_one_paragraph_error, load_trials, make_tiny, tune_args


@dataclass
class TinyStudy:
    """A tiny PPO/CartPole study in a temporary log folder, driven through the CLI."""

    tiny: dict[str, Path]
    cli: Any

    @property
    def folder(self) -> Path:
        return self.tiny["logs"] / "ppo" / "tune_CartPole-v1"

    def tune(self, *extra: str) -> Any:
        """``realzoo tune`` with ``extra``, which must succeed."""
        result = self.cli(*tune_args(self.tiny, *extra))
        assert result.exit_code == 0, result.output
        return result

    def refuse(self, message: str, *extra: str) -> None:
        """``realzoo tune`` with ``extra`` is refused with ``message``, nothing on disk changed."""
        before = _snapshot(self.tiny["logs"])
        result = self.cli(*tune_args(self.tiny, *extra))
        assert result.exit_code == 2, result.output
        assert_one_paragraph_error(result.output, message)
        assert _snapshot(self.tiny["logs"]) == before


@pytest.fixture
def study(tmp_path: Path, cli: Any) -> TinyStudy:
    return TinyStudy(make_tiny(tmp_path), cli)


def _snapshot(folder: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.mark.slow  # two validation rounds of runs as processes: ~40-90 s on 2 shared cores
def test_validation_of_an_existing_study_with_fresh_seeds(study):
    folder = study.folder
    study.tune("--n-trials", "2", "--seed", "3", "--pruner", "none")
    search_seeds = {s for t in load_trials(folder) for s in t.user_attrs["seeds"]}

    done = study.tune("--n-trials", "0", "--validate-top", "2", "--validate-seeds", "2",
                      "--n-workers", "2")  # fmt: skip
    assert "Validated winner: trial" in done.output
    rows = list(csv.DictReader((folder / "validation.csv").read_text().splitlines()))
    assert len(rows) == 2 and {r["trial"] for r in rows} == {"0", "1"}
    seeds = validation_seeds(3, 0, 2)
    assert not search_seeds & set(seeds)
    for row in rows:  # each configuration: two ordinary runs, one per fresh seed
        values = [float(v) for v in row["seed_values"].split()]
        for seed in seeds:
            (run,) = (folder / "validation" / "round_1").glob(
                f"trial_{int(row['trial']):04d}/seed_{seed}/ppo/CartPole-v1_1"
            )
            args_yml = yaml.safe_load((run / "CartPole-v1" / "args.yml").read_text())
            assert args_yml["seed"] == seed
            assert (run / "evaluations.npz").is_file()
        assert float(row["validation_mean"]) == pytest.approx(sum(values) / 2, abs=1e-2)
        assert float(row["ci_low"]) <= float(row["validation_mean"]) <= float(row["ci_high"])
        assert float(row["gap"]) == pytest.approx(
            float(row["validation_mean"]) - float(row["search_value"]), abs=1e-3
        )
    winner = min(rows, key=lambda r: int(r["validation_rank"]))
    best = (folder / "best.yml").read_text()
    assert best.startswith(f"# Validated winner of study tune_CartPole-v1 (ppo on CartPole-v1): "
                           f"trial {winner['trial']}")  # fmt: skip
    trials = {t.number: t for t in load_trials(folder)}
    entry = yaml.safe_load(best)["CartPole-v1"]
    won = trials[int(winner["trial"])]
    assert entry["learning_rate"] == pytest.approx(won.params["learning_rate"])
    search_best = max(trials.values(), key=lambda t: t.value)
    kept = yaml.safe_load((folder / "best_search.yml").read_text())["CartPole-v1"]
    assert kept["learning_rate"] == pytest.approx(search_best.params["learning_rate"])
    markdown = (folder / "validation.md").read_text()
    assert f"The search-best (trial {search_best.number}" in markdown
    assert "it fell by" in markdown or "it rose by" in markdown
    assert (folder / "plots" / "validation.png").stat().st_size > 1000

    # a second validation takes the next fresh seeds, never the first round's
    study.tune("--n-trials", "0", "--validate-top", "1", "--validate-seeds", "1")
    assert list(
        (folder / "validation" / "round_2").glob(f"trial_*/seed_{validation_seeds(3, 2, 1)[0]}")
    )


def test_validations_a_study_cannot_give_are_refused_and_leave_it_unchanged(study):
    study.refuse("there is no study 'tune_CartPole-v1'", "--n-trials", "0", "--validate-top", "1")
    assert not study.tiny["logs"].exists()

    study.tune("--n-trials", "0")  # a study with no trial yet
    study.refuse("has no complete trial to validate", "--n-trials", "0", "--validate-top", "1")

    study.tune("--n-trials", "1", "--pruner", "none", "--no-plots")
    study.refuse("holds only 1 complete trial; ask for at most 1",
                 "--n-trials", "0", "--validate-top", "3")  # fmt: skip
