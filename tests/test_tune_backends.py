"""--n-seeds on the other kinds of trial: the JAX backend (``--backend sbx``) and openloop.

Each trains one trial of two seeds as real processes and checks that both seeds are
ordinary run folders of that backend or algorithm, and the trial's value their mean.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import yaml

from rlzoo_real.tuning.seeds import search_seed
from tests.conftest import run_realzoo
from tests.tune_helpers import load_trials

needs_sbx = pytest.mark.skipif(
    importlib.util.find_spec("sbx") is None,
    reason="the sbx extra is not installed (pip install 'rlzoo-real[sbx]')",
)

#: SAC on Pendulum-v1, 300 steps: the JAX compile dominates, not the training
SBX_SAC = """\
Pendulum-v1:
  n_timesteps: 300
  policy: MlpPolicy
  learning_starts: 100
  batch_size: 32
  buffer_size: 5000
  policy_kwargs: "dict(net_arch=[16, 16])"
"""
SBX_SPACE = """\
base: none
learning_rate: {low: 1e-4, high: 1e-2, scale: log}
gamma: {low: 0.9, high: 0.999, scale: one_minus_log}
"""


def _check_two_seeds(folder: Path, seed: int, env: str, **expected: object) -> None:
    """The study's one trial: complete, two run folders with its seeds, value = mean."""
    (trial,) = load_trials(folder)
    assert trial.state.name == "COMPLETE", trial.user_attrs.get("fail_reason")
    seeds = [search_seed(seed, 0, i) for i in (0, 1)]
    assert trial.user_attrs["seeds"] == seeds
    per_seed = []
    for run, want in zip(map(Path, trial.user_attrs["seed_runs"]), seeds, strict=True):
        args = yaml.safe_load((run / env / "args.yml").read_text())
        assert args["seed"] == want
        for key, value in expected.items():
            assert args[key] == value, (key, args[key])
        with np.load(run / "evaluations.npz") as data:
            per_seed.append(float(data["results"][-1].mean()))  # the last evaluation
    assert trial.user_attrs["seed_values"] == pytest.approx(per_seed, abs=1e-3)
    assert trial.value == pytest.approx(sum(per_seed) / 2, abs=1e-3)


@needs_sbx
@pytest.mark.slow  # JAX compiles SAC's update in the process (several seconds)
def test_two_seeds_per_trial_on_the_sbx_backend(tmp_path):
    (tmp_path / "sac.yml").write_text(SBX_SAC)
    (tmp_path / "space.yml").write_text(SBX_SPACE)
    done = run_realzoo(
        "tune", "-a", "sac", "-e", "Pendulum-v1", "--backend", "sbx", "--conf-file",
        tmp_path / "sac.yml", "--search-space", tmp_path / "space.yml", "-f", tmp_path / "logs",
        "--n-trials", "1", "--n-seeds", "2", "--n-evaluations", "1", "--eval-episodes", "1",
        "--seed", "4", "--pruner", "none", "--no-plots", cwd=tmp_path, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "mean over 2 seeds" in done.stdout
    _check_two_seeds(tmp_path / "logs" / "sac_sbx" / "tune_Pendulum-v1", 4, "Pendulum-v1",
                     backend="sbx")  # fmt: skip


def test_two_seeds_per_trial_of_openloop(tmp_path):
    done = run_realzoo(
        "tune", "-a", "openloop", "-e", "Swimmer-v5", "-n", "1000", "-f", tmp_path / "logs",
        "--n-trials", "1", "--n-seeds", "2", "--n-evaluations", "1", "--eval-episodes", "1",
        "--seed", "6", "--pruner", "none", "--no-plots", cwd=tmp_path, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    _check_two_seeds(tmp_path / "logs" / "openloop" / "tune_Swimmer-v5", 6, "Swimmer-v5",
                     algo="openloop")  # fmt: skip
