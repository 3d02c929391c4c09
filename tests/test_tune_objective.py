"""--objective, --aggregate and the seeds a study derives: pure numbers, and the refusals."""

from __future__ import annotations

import numpy as np
import pytest

from rlzoo_real.tuning.objectives import aggregate, bootstrap_ci, curve_value, running_values
from rlzoo_real.tuning.seeds import search_seed, validation_seeds
from tests.tune_helpers import assert_one_paragraph_error, make_tiny, tune_args

CURVE = [10.0, 30.0, 20.0]


def test_each_objective_reduces_a_curve_as_documented():
    assert curve_value(CURVE, "last") == 20.0
    assert curve_value(CURVE, "best") == 30.0
    assert curve_value(CURVE, "auc") == 20.0  # (10 + 30 + 20) / 3
    assert running_values(CURVE, "best") == [10.0, 30.0, 30.0]
    assert running_values(CURVE, "auc") == [10.0, 20.0, 20.0]
    assert running_values(CURVE, "last") == CURVE


def test_each_aggregate_over_seeds():
    values = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 100.0]
    assert aggregate(values, "mean") == pytest.approx(121 / 8)
    assert aggregate(values, "median") == 3.5
    assert aggregate(values, "iqm") == pytest.approx((2 + 3 + 4 + 5) / 4)  # 2 cut off each end
    assert aggregate([1.0, 2.0, 9.0], "iqm") == 4.0  # fewer than 4 seeds: the mean


def test_a_bootstrap_interval_repeats_with_the_same_generator():
    values = [1.0, 5.0, 2.0, 8.0, 3.0]
    first = bootstrap_ci(values, np.random.default_rng(3))
    assert first == bootstrap_ci(values, np.random.default_rng(3))
    assert first[0] < float(np.mean(values)) < first[1]
    assert bootstrap_ci([4.0], np.random.default_rng(0)) == (4.0, 4.0)


def test_search_and_validation_seeds_never_meet():
    search = {search_seed(12345, n, i) for n in range(500) for i in range(5)}
    assert len(search) == 500 * 5  # unique over trials and seed indices
    assert search_seed(12345, 7, 0) == 12352  # one seed per trial: the old trial_seed + number
    validation = validation_seeds(12345, 0, 50)
    assert not search & set(validation)
    assert validation_seeds(12345, 10, 5) == validation[10:15]  # later rounds: fresh ones


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--n-seeds", "0"], "--n-seeds must be at least 1, got 0"),
        (["--objective", "lst"], "Unknown objective 'lst'. Did you mean last?"),
        (["--aggregate", "iqr"], "Unknown aggregate 'iqr'"),
        (["--validate-top", "-1"], "--validate-top must be at least 0"),
        (["--validate-seeds", "0"], "--validate-seeds must be at least 1"),
    ],
)
def test_bad_seed_and_objective_options_are_refused_before_anything_is_written(
    tmp_path, cli, extra, message
):
    tiny = make_tiny(tmp_path)
    result = cli(*tune_args(tiny, "--n-trials", "1"), *extra)
    assert result.exit_code == 2, result.output
    assert_one_paragraph_error(result.output, message)
    assert not tiny["logs"].exists()


def test_a_study_cannot_be_continued_with_another_objective(tmp_path, cli):
    tiny = make_tiny(tmp_path)
    made = cli(*tune_args(tiny, "--n-trials", "0", "--objective", "auc", "--aggregate", "iqm"))
    assert made.exit_code == 0, made.output
    assert "Objective: the mean over all evaluations" in made.output
    folder = tiny["logs"] / "ppo" / "tune_CartPole-v1"
    before = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    for extra, message in [
        (["--objective", "last"], "made with --objective auc, not last"),
        (["--aggregate", "mean"], "made with --aggregate iqm, not mean"),
        (["--n-seeds", "2"], "made with --n-seeds 1, not 2"),
    ]:
        result = cli(*tune_args(tiny, "--n-trials", "1"), *extra)
        assert result.exit_code == 2, result.output
        assert_one_paragraph_error(result.output, message)
    assert {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()} == before


def test_bad_options_on_an_existing_study_leave_it_byte_for_byte(tmp_path, cli):
    tiny = make_tiny(tmp_path)
    made = cli(*tune_args(tiny, "--n-trials", "1", "--n-seeds", "2", "--pruner", "none"))
    assert made.exit_code == 0, made.output
    folder = tiny["logs"] / "ppo" / "tune_CartPole-v1"
    before = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    assert folder / "study.log" in before
    for extra, message in [
        (["--n-seeds", "0"], "--n-seeds must be at least 1, got 0"),
        (["--objective", "median"], "Unknown objective 'median'"),
        (["--aggregate", "max"], "Unknown aggregate 'max'"),
        (["--n-trials", "0", "--validate-top", "2"], "holds only 1 complete trial"),
    ]:
        result = cli(*tune_args(tiny, "--n-trials", "1"), *extra)
        assert result.exit_code == 2, result.output
        assert_one_paragraph_error(result.output, message)
    assert {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()} == before
