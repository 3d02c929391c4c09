"""--validate-top: the top configurations retrained with fresh seeds; best.yml the winner."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import yaml

from rlzoo_real.tuning.seeds import validation_seeds
from tests.tune_helpers import load_trials, make_tiny, tune_args


@pytest.fixture
def tiny(tmp_path: Path) -> dict[str, Path]:
    return make_tiny(tmp_path)


def _snapshot(folder: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_validation_of_an_existing_study_with_fresh_seeds(tiny, cli):
    folder = tiny["logs"] / "ppo" / "tune_CartPole-v1"
    made = cli(*tune_args(tiny, "--n-trials", "2", "--seed", "3", "--pruner", "none"))
    assert made.exit_code == 0, made.output
    search_seeds = {s for t in load_trials(folder) for s in t.user_attrs["seeds"]}

    args = tune_args(tiny, "--n-trials", "0", "--validate-top", "2", "--validate-seeds", "2")
    done = cli(*args, "--n-workers", "2")
    assert done.exit_code == 0, done.output
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
    again = cli(*tune_args(tiny, "--n-trials", "0", "--validate-top", "1", "--validate-seeds", "1"))
    assert again.exit_code == 0, again.output
    assert list(
        (folder / "validation" / "round_2").glob(f"trial_*/seed_{validation_seeds(3, 2, 1)[0]}")
    )


def test_validations_a_study_cannot_give_are_refused_and_leave_it_unchanged(tiny, cli):
    folder = tiny["logs"] / "ppo" / "tune_CartPole-v1"
    nothing = cli(*tune_args(tiny, "--n-trials", "0", "--validate-top", "1"))
    assert nothing.exit_code == 2, nothing.output
    assert "there is no study 'tune_CartPole-v1'" in nothing.output
    assert not tiny["logs"].exists()

    empty = cli(*tune_args(tiny, "--n-trials", "0"))  # a study with no trial yet
    assert empty.exit_code == 0, empty.output
    before = _snapshot(folder)
    refused = cli(*tune_args(tiny, "--n-trials", "0", "--validate-top", "1"))
    assert refused.exit_code == 2, refused.output
    assert "has no complete trial to validate" in refused.output
    assert "Traceback" not in refused.output
    assert _snapshot(folder) == before

    one = cli(*tune_args(tiny, "--n-trials", "1", "--pruner", "none", "--no-plots"))
    assert one.exit_code == 0, one.output
    before = _snapshot(folder)
    refused = cli(*tune_args(tiny, "--n-trials", "0", "--validate-top", "3"))
    assert refused.exit_code == 2, refused.output
    assert "holds only 1 complete trial; ask for at most 1" in refused.output
    assert "Traceback" not in refused.output
    assert _snapshot(folder) == before
