"""The RL Zoo's ``tests/test_hyperparams_opt.py``, translated command for command into realzoo.

The Zoo tunes with ``python train.py ... -optimize``; realzoo takes the same line
(``realzoo train ... -optimize`` runs the study ``realzoo tune`` runs), with the Zoo's
tuning flags. Each test runs it and reads the study back.

The commands run through the app in the test's process (``zoo_command``, isolated as a
new process would be); the tests marked slow keep a real ``python -m rlzoo_real`` process
(``process=True``), the suite's end-to-end runs of the entry point itself.

Not translated: ``scripts/parse_study.py`` in ``test_optimize_log_path`` (it unpickles the
Zoo's ``report_*.pkl``; realzoo writes no pickle: ``trials.csv`` and ``best.yml`` hold what
that script prints and saves).
"""

from __future__ import annotations

import csv

import pytest

from tests.zoo_examples import ok, zoo_command

N_STEPS = 100
N_TRIALS = 2
N_JOBS = 1

EXPERIMENTS = {
    "ppo-CartPole-v1": ("ppo", "CartPole-v1"),
    "a2c-CartPole-v1": ("a2c", "CartPole-v1"),
    "sac-Pendulum-v1": ("sac", "Pendulum-v1"),
    "td3-Pendulum-v1": ("td3", "Pendulum-v1"),
    "tqc-parking-v0": ("tqc", "parking-v0"),
    "tqc-Pendulum-v1": ("tqc", "Pendulum-v1"),
    "ppo_lstm-CartPoleNoVel-v1": ("ppo_lstm", "CartPoleNoVel-v1"),
}


#: grid cases kept in the fast suite: each sampler and pruner once, on a2c and ppo
FAST = {
    ("random", "median", "ppo-CartPole-v1"),
    ("random", "median", "a2c-CartPole-v1"),
    ("tpe", "halving", "ppo-CartPole-v1"),
    ("tpe", "none", "a2c-CartPole-v1"),
}


def _cases() -> list[object]:
    """The Zoo's grid, less the cases the Zoo itself skips as slow; most of it marked slow."""
    return [
        pytest.param(
            sampler,
            pruner,
            experiment,
            marks=() if (sampler, pruner, experiment) in FAST else pytest.mark.slow,
            id=f"{sampler}-{pruner}-{experiment}",
        )
        for experiment, (algo, _) in EXPERIMENTS.items()
        for pruner in ("none", "halving", "median")
        for sampler in ("random", "tpe")
        if algo in {"a2c", "ppo"} or (sampler == "random" and pruner == "median")
    ]


def _trials(study_folder_parent) -> list[dict[str, str]]:
    (table,) = study_folder_parent.glob("*/trials.csv")
    with open(table, newline="") as file:
        return list(csv.DictReader(file))


@pytest.mark.parametrize(("sampler", "pruner", "experiment"), _cases())
def test_optimize(request, tmp_path, sampler, pruner, experiment):
    """tests/test_hyperparams_opt.py::test_optimize.

    CartPoleNoVel-v1 is registered by the RL Zoo's rl_zoo3.import_envs, which the Zoo's
    train.py imports always; realzoo imports no Zoo module unasked, so it names it with
    --gym-packages. parking-v0 needs highway-env, which is not installed here.
    """
    algo, env_id = EXPERIMENTS[experiment]
    if env_id == "parking-v0":
        pytest.importorskip("highway_env")
    maybe_params = "n_steps:10" if algo == "ppo" else ""
    packages = "--gym-packages rl_zoo3.import_envs " if env_id == "CartPoleNoVel-v1" else ""
    cmd = (
        f"realzoo train -n {N_STEPS} --algo {algo} --env {env_id} --log-folder {tmp_path} "
        f"-params policy_kwargs:'dict(net_arch=[32])' {maybe_params} {packages}"
        f"--no-optim-plots --seed 14 --n-trials {N_TRIALS} --n-jobs {N_JOBS} "
        f"--sampler {sampler} --pruner {pruner} --n-evaluations 2 --n-startup-trials 1 -optimize"
    )
    slow = request.node.get_closest_marker("slow") is not None
    ok(zoo_command(cmd, cwd=tmp_path, process=slow))
    trials = _trials(tmp_path / algo)
    assert len(trials) == N_TRIALS


def test_optimize_log_path_refused(tmp_path):
    """tests/test_hyperparams_opt.py::test_optimize_log_path, its --optimization-log-path.

    Differs on purpose: every realzoo trial is already a full run folder under the study's
    folder, so the flag is refused with that reason (exit 2) instead of copying logs.
    """
    cmd = (
        f"realzoo train -n {N_STEPS} --algo a2c --env CartPole-v1 --log-folder {tmp_path} "
        f"--n-trials {N_TRIALS} --optimization-log-path {tmp_path / 'optim_logs'} -optimize"
    )
    done = zoo_command(cmd, cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "--optimization-log-path" in done.stderr and "No such option" not in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "optim_logs").exists() and not (tmp_path / "a2c").exists()


@pytest.mark.slow
def test_optimize_log_path(tmp_path):
    """tests/test_hyperparams_opt.py::test_optimize_log_path, less the flag refused above.

    Each trial's evaluations.npz is in its own run folder of the study (the Zoo copies them
    to --optimization-log-path/trial_<N>); the study's results are trials.csv and best.yml,
    not the Zoo's report_*.pkl (realzoo writes no pickle), so parse_study.py has nothing to
    read. Training with a trial's values (--trial-id) is the same command as the Zoo's.
    """
    cmd = (
        f"realzoo train -n {N_STEPS} --algo a2c --env CartPole-v1 --log-folder {tmp_path} "
        "-params policy_kwargs:'dict(net_arch=[32])' "
        f"--study-name demo --storage {tmp_path}/demo.log "
        f"--no-optim-plots --seed 14 --n-trials {N_TRIALS} --n-jobs {N_JOBS} "
        "--sampler random --pruner median --n-evaluations 2 --n-startup-trials 1 -optimize"
    )
    ok(zoo_command(cmd, cwd=tmp_path, process=True))
    assert len(list((tmp_path / "a2c").rglob("evaluations.npz"))) == N_TRIALS
    assert len(_trials(tmp_path / "a2c")) == N_TRIALS
    assert not list(tmp_path.rglob("report_*.pkl"))

    cmd = (
        f"realzoo train -n {N_STEPS} --algo a2c --env CartPole-v1 --log-folder {tmp_path} "
        f"-params policy_kwargs:'dict(net_arch=[32])' --storage {tmp_path}/demo.log "
        "--study-name demo --trial-id 1"
    )
    ok(zoo_command(cmd, cwd=tmp_path, process=True))
    assert (tmp_path / "a2c" / "CartPole-v1_1" / "CartPole-v1.zip").is_file()


@pytest.mark.slow
def test_multiple_workers(tmp_path):
    """tests/test_hyperparams_opt.py::test_multiple_workers (three commands, one SQLite study)."""
    optuna = pytest.importorskip("optuna")
    from optuna.trial import TrialState

    study_name = "test-study"
    storage = f"sqlite:///{tmp_path}/optuna.db"
    n_trials, max_trials, n_workers = 2, 3, 3
    cmd = (
        f"realzoo train -n 100 --algo a2c --env Pendulum-v1 --log-folder {tmp_path} "
        "-params n_envs:1 --n-evaluations 1 "
        f"--no-optim-plots --seed 12 --n-trials {n_trials} --max-total-trials {max_trials} "
        f"--storage {storage} --study-name {study_name} --no-optim-plots  -optimize"
    )
    # one after the other, as in the Zoo: the first does 2 trials, the second 1, the third 0
    workers = [zoo_command(cmd, cwd=tmp_path, process=True) for _ in range(n_workers)]
    for worker in workers:
        ok(worker)
    study = optuna.load_study(study_name=study_name, storage=storage)
    done = study.get_trials(states=(TrialState.COMPLETE, TrialState.PRUNED))
    assert len(done) == max_trials
