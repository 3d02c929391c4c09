"""realzoo tune: real studies of tiny trials, worker processes, faults and bad input."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
import yaml

from tests.conftest import WAIT_S, wait_for
from tests.tune_helpers import (
    TINY_PPO,
    load_trials,
    make_tiny,
    realzoo,
    start_realzoo,
    trials_so_far,
    tune_args,
    wait_for_running_trial,
)

ALGO_ENVS = {
    "a2c": "CartPole-v1",
    "ppo": "CartPole-v1",
    "dqn": "CartPole-v1",
    "qrdqn": "CartPole-v1",
    "trpo": "CartPole-v1",
    "ars": "CartPole-v1",
    "ppo_lstm": "CartPole-v1",
    "sac": "Pendulum-v1",
    "td3": "Pendulum-v1",
    "ddpg": "Pendulum-v1",
    "tqc": "Pendulum-v1",
    "crossq": "Pendulum-v1",
}


@pytest.fixture
def tiny(tmp_path: Path) -> dict[str, Path]:
    return make_tiny(tmp_path)


# -- search spaces ---------------------------------------------------------------------------


@pytest.mark.parametrize("algo_name", sorted(ALGO_ENVS))
def test_every_algorithm_has_a_space_whose_samples_make_valid_entries(algo_name):
    import optuna

    from rlzoo_real.algos.registry import get_algo
    from rlzoo_real.config.spec import resolve_run_spec
    from rlzoo_real.config.tables import bundled_hyperparams_dir, load_table, parse_key_values
    from rlzoo_real.tuning.spaces import default_space
    from rlzoo_real.tuning.values import overrides, resolve_values

    algo, env = get_algo(algo_name), ALGO_ENVS[algo_name]
    table = load_table(bundled_hyperparams_dir() / f"{algo_name}.yml")
    base, _ = resolve_run_spec(algo, env, table=table, source="bundled")
    space = default_space(algo)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(20):
        trial = study.ask()
        values = resolve_values(algo, space.sample(trial), base.hyperparams)
        words = overrides(values)
        spec, _ = resolve_run_spec(
            algo,
            env,
            table=table,
            source="bundled",
            overrides=parse_key_values(words, option="-params"),
        )
        kwargs = spec.model_kwargs
        if "batch_size" in kwargs and not algo.off_policy:
            assert kwargs["batch_size"] <= spec.n_envs * kwargs.get("n_steps", 2048)
        if algo_name == "tqc":
            assert kwargs["top_quantiles_to_drop_per_net"] < kwargs["policy_kwargs"]["n_quantiles"]
        if algo_name == "ars":
            assert 1 <= kwargs["n_top"] <= kwargs["n_delta"]
        study.tell(trial, 0.0)


def test_print_space_reads_back_as_the_same_space(cli, tmp_path):
    from rlzoo_real.algos.registry import get_algo
    from rlzoo_real.tuning.spaces import default_space, load_space

    result = cli("tune", "--algo", "td3", "--print-space")
    assert result.exit_code == 0, result.output
    assert "noise_type: {choices: [normal, ornstein-uhlenbeck, none]}" in result.output
    path = tmp_path / "space.yml"
    path.write_text(result.output)
    algo = get_algo("td3")
    assert load_space(algo, path).to_dict() == default_space(algo).to_dict()


def test_a_space_file_narrows_and_extends_the_default(tmp_path):
    from rlzoo_real.algos.registry import get_algo
    from rlzoo_real.tuning.spaces import load_space

    path = tmp_path / "space.yml"
    path.write_text(
        "learning_rate: {low: 1e-4, high: 1e-3, log: true}\n"
        "ent_coef: null\n"
        "vf_coef: {low: 0.2, high: 0.8}\n"
        "policy_kwargs.ortho_init: {choices: [true, false]}\n"
        "n_epochs: 5\n"
    )
    space = load_space(get_algo("ppo"), path).to_dict()
    assert space["learning_rate"] == {"low": 1e-4, "high": 1e-3, "scale": "log"}
    assert "ent_coef" not in space
    assert space["vf_coef"] == {"low": 0.2, "high": 0.8}
    assert space["policy_kwargs.ortho_init"] == {"choices": [True, False]}
    assert space["n_epochs"] == 5
    assert "clip_range" in space  # the rest of the default stays


# -- studies ---------------------------------------------------------------------------------


@pytest.mark.slow  # end to end with several processes (see the commit)
def test_a_study_with_two_worker_processes_on_a_journal_file(tiny, cli):
    folder = tiny["logs"] / "ppo" / "tune_CartPole-v1"
    args = tune_args(tiny, "--n-trials", "4", "--n-workers", "2", "--seed", "0")
    done = realzoo(*args)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Starting study tune_CartPole-v1" in done.stdout
    trials = load_trials(folder)
    assert len(trials) == 4
    assert {t.state.name for t in trials} <= {"COMPLETE", "PRUNED"}
    assert len({t.user_attrs["pid"] for t in trials}) == 2  # two processes did the work
    assert len(list((folder / "workers").glob("*.log"))) == 2
    rows = (folder / "trials.csv").read_text().splitlines()
    assert len(rows) == 5 and rows[0].startswith("number,state,value")
    for name in ("optimization_history", "param_importances", "parallel_coordinate"):
        assert (folder / "plots" / f"{name}.png").stat().st_size > 1000
    for trial in trials:  # each trial is an ordinary run folder of realzoo train
        run = Path(trial.user_attrs["run_folder"])
        assert run.parent.parent == folder / "trials" and (run / "evaluations.npz").is_file()
        command = (run / "CartPole-v1" / "command.txt").read_text()
        assert command.startswith("realzoo train --algo ppo") and "--save-freq -1" in command
        assert not list(run.glob("rl_model_*"))  # no checkpoints
    best = yaml.safe_load((folder / "best.yml").read_text())
    best_trial = max((t for t in trials if t.state.name == "COMPLETE"), key=lambda t: t.value)
    assert best["CartPole-v1"]["learning_rate"] == pytest.approx(best_trial.params["learning_rate"])
    assert best["CartPole-v1"]["n_timesteps"] == 512

    # the study is resumable: the same command (no -n, no files needed) continues it
    again = realzoo(
        "tune", "-a", "ppo", "-e", "CartPole-v1", "-f", str(tiny["logs"]), "--n-trials", "1"
    )
    assert again.returncode == 0, again.stdout + again.stderr
    assert "Continuing study tune_CartPole-v1" in again.stdout
    assert len(load_trials(folder)) == 5

    # the best YAML trains as it is
    trained = cli(
        "train",
        "-a",
        "ppo",
        "-e",
        "CartPole-v1",
        "--conf-file",
        str(folder / "best.yml"),
        "-f",
        str(tiny["logs"] / "retrain"),
        "--eval-freq",
        "-1",
        "--verbose",
        "0",
    )
    assert trained.exit_code == 0, trained.output
    config = yaml.safe_load(
        next(
            (tiny["logs"] / "retrain").glob("ppo/CartPole-v1_1/CartPole-v1/config.yml")
        ).read_text()
    )
    assert config == best["CartPole-v1"]


def test_failed_and_diverged_trials_are_recorded_and_the_study_goes_on(tiny, cli):
    conf = tiny["conf"]
    conf.write_text(TINY_PPO + "  callback: tests.tune_helpers.FailBySeed\n")
    result = cli(*tune_args(tiny, "--n-trials", "3", "--seed", "0", "--pruner", "none"))
    assert result.exit_code == 0, result.output
    trials = {t.number: t for t in load_trials(tiny["logs"] / "ppo" / "tune_CartPole-v1")}
    assert [trials[n].state.name for n in range(3)] == ["COMPLETE", "FAIL", "FAIL"]
    assert trials[1].user_attrs["fail_reason"].startswith("diverged")
    assert trials[2].user_attrs["fail_reason"] == "RuntimeError: injected failure for the test"
    assert "Trial 1 failed" in result.output and "Trial 2 failed" in result.output
    csv = (tiny["logs"] / "ppo" / "tune_CartPole-v1" / "trials.csv").read_text()
    assert "injected failure for the test" in csv


def test_all_trials_failing_is_a_non_zero_exit(tiny, cli):
    tiny["conf"].write_text(
        TINY_PPO + "  callback:\n    - tests.tune_helpers.FailBySeed: {nan_at: 0, raise_at: 1}\n"
    )
    result = cli(*tune_args(tiny, "--n-trials", "2", "--seed", "0"))
    assert result.exit_code == 1, result.output
    assert "all 2 trials of this run failed" in result.output


def test_same_seed_same_study(tiny, cli):
    def study(name: str) -> list[tuple[dict[str, object], float]]:
        args = tune_args(tiny, "--n-trials", "3", "--seed", "7", "--study-name", name)
        result = cli(*args, "--sampler", "random", "--no-plots")
        assert result.exit_code == 0, result.output
        trials = load_trials(tiny["logs"] / "ppo" / name)
        return [(t.params, t.value) for t in sorted(trials, key=lambda t: t.number)]

    assert study("one") == study("two")


def test_params_fixed_on_the_command_line_are_not_searched(tiny, cli):
    result = cli(*tune_args(tiny, "--n-trials", "1", "-params", "n_epochs:1", "gamma:0.95"))
    assert result.exit_code == 0, result.output
    assert "not searched, fixed by -params: gamma, n_epochs" in result.output
    (trial,) = load_trials(tiny["logs"] / "ppo" / "tune_CartPole-v1")
    assert set(trial.params) == {"learning_rate"}
    assert trial.user_attrs["config"]["n_epochs"] == 1
    assert trial.user_attrs["config"]["gamma"] == 0.95


def test_budget_flags_max_total_trials_and_timeout(tiny, cli):
    folder = tiny["logs"] / "ppo" / "tune_CartPole-v1"
    first = cli(*tune_args(tiny, "--max-total-trials", "2", "--no-optim-plots"))
    assert first.exit_code == 0, first.output
    assert len(load_trials(folder)) == 2 and not (folder / "plots").exists()
    more = cli(*tune_args(tiny, "--max-total-trials", "3", "--n-trials", "5"))
    assert more.exit_code == 0, more.output
    assert len(load_trials(folder)) == 3  # the study's total, not this command's
    late = cli(*tune_args(tiny, "--n-trials", "5", "--timeout", "0.001"))
    assert late.exit_code == 0, late.output
    assert "Ran 0 trials; the study has 3" in late.output


@pytest.mark.parametrize(
    ("sampler", "pruner"), [("gp", "hyperband"), ("cmaes", "halving"), ("random", "none")]
)
def test_each_sampler_and_pruner_runs_a_study(tiny, cli, sampler, pruner):
    args = tune_args(tiny, "-n", "1024", "--n-trials", "3", "--n-evaluations", "4", "--seed", "0")
    result = cli(*args, "--sampler", sampler, "--pruner", pruner, "--n-startup-trials", "1")
    assert result.exit_code == 0, result.output
    assert f"sampler {sampler}, pruner {pruner}" in result.output
    trials = load_trials(tiny["logs"] / "ppo" / "tune_CartPole-v1")
    assert len(trials) == 3 and all(t.state.name in ("COMPLETE", "PRUNED") for t in trials)


@pytest.mark.slow
@pytest.mark.parametrize("algo_name", sorted(ALGO_ENVS))
def test_every_algorithm_tunes_end_to_end(algo_name, cli, tmp_path):
    """One trial from each default space (cost-driving values fixed, the rest sampled)."""
    cheap = {
        "ppo": ["n_envs:1", "n_steps:64", "batch_size:32", "n_epochs:1"],
        "ppo_lstm": ["n_envs:1", "n_steps:64", "batch_size:32", "n_epochs:1"],
        "trpo": ["n_envs:1", "n_steps:64", "batch_size:32"],
        "a2c": ["n_envs:1", "n_steps:16"],
        "ars": ["n_delta:4"],
    }.get(algo_name, ["learning_starts:50", "buffer_size:1000", "batch_size:32"])
    result = cli(
        "tune",
        "-a",
        algo_name,
        "-e",
        ALGO_ENVS[algo_name],
        "-f",
        str(tmp_path),
        "-n",
        "400",
        "--n-trials",
        "1",
        "--n-evaluations",
        "2",
        "--eval-episodes",
        "1",
        "--sampler",
        "random",
        "--seed",
        "1",
        "--no-plots",
        "-params",
        *cheap,
    )
    assert result.exit_code == 0, result.output
    folder = tmp_path / algo_name / f"tune_{ALGO_ENVS[algo_name]}"
    (trial,) = load_trials(folder)
    assert trial.state.name == "COMPLETE", trial.user_attrs.get("fail_reason")
    assert (folder / "best.yml").is_file()


# -- faults ----------------------------------------------------------------------------------


@pytest.mark.slow  # end to end with several processes (see the commit)
def test_a_worker_killed_mid_trial_leaves_no_trial_running(tiny, processes):
    folder = tiny["logs"] / "ppo" / "tune_CartPole-v1"
    args = tune_args(tiny, "-n", "4096", "--n-trials", "3", "--n-workers", "2")
    proc = start_realzoo(processes, *args)
    victim = wait_for_running_trial(folder, proc)
    pid = victim.user_attrs["pid"]
    os.kill(pid, signal.SIGKILL)
    out, err = proc.communicate(timeout=WAIT_S)
    assert proc.returncode == 1, out + err  # loud: a worker died
    assert "killed by SIGKILL" in err and "Traceback" not in err
    trials = {t.number: t for t in load_trials(folder)}
    assert all(t.state.name != "RUNNING" for t in trials.values())
    # the trial the worker was running when it died (normally the victim itself)
    (killed,) = [t for t in trials.values() if t.state.name == "FAIL"]
    assert killed.user_attrs["pid"] == pid
    assert "killed by SIGKILL" in killed.user_attrs["fail_reason"]
    assert sum(t.state.name == "COMPLETE" for t in trials.values()) == 2  # the others finished


@pytest.mark.slow  # end to end with several processes (see the commit)
def test_a_killed_study_is_cleaned_up_when_it_restarts(tiny, processes):
    folder = tiny["logs"] / "ppo" / "tune_CartPole-v1"
    proc = start_realzoo(processes, *tune_args(tiny, "-n", "4096", "--n-trials", "2"))
    victim = wait_for_running_trial(folder, proc)  # one process: no worker pool
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=WAIT_S)
    stuck = {t.number: t for t in load_trials(folder)}[victim.number]
    assert stuck.state.name == "RUNNING"  # nobody could clean up: the process is gone
    again = realzoo(
        "tune", "-a", "ppo", "-e", "CartPole-v1", "-f", str(tiny["logs"]), "--n-trials", "1"
    )
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"marked failed: {victim.number}" in again.stderr
    trials = {t.number: t for t in load_trials(folder)}
    assert trials[victim.number].state.name == "FAIL"
    assert "is gone" in trials[victim.number].user_attrs["fail_reason"]
    assert all(t.state.name != "RUNNING" for t in trials.values())


def test_ctrl_c_stops_the_study_cleanly_and_keeps_finished_trials(tiny, processes):
    folder = tiny["logs"] / "ppo" / "tune_CartPole-v1"
    args = tune_args(tiny, "-n", "2048", "--n-trials", "20", "--n-workers", "2")
    proc = start_realzoo(processes, *args)
    wait_for(
        lambda: any(t.state.name == "COMPLETE" for t in trials_so_far(folder) or []),
        "a finished trial",
        process=proc,
        interval=0.2,
    )
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=WAIT_S)
    assert proc.returncode == 130, out + err
    assert "Stopped (SIGINT)" in err and "Traceback" not in err
    trials = load_trials(folder)
    states = [(t.number, t.state.name, t.user_attrs.get("fail_reason")) for t in trials]
    assert len(trials) < 20, (states, err)
    assert all(t.state.name != "RUNNING" for t in trials)
    assert any(t.state.name == "COMPLETE" for t in trials)
    for trial in trials:
        if trial.state.name == "FAIL":
            assert trial.user_attrs["fail_reason"].startswith("interrupted (SIGINT)")
    assert len((folder / "trials.csv").read_text().splitlines()) == len(trials) + 1


def test_a_signal_that_comes_as_a_trial_ends_still_stops_the_study(tiny, cli, monkeypatch):
    """Ctrl-C while a trial's last files are written: that trial counts, no new one starts."""
    from rlzoo_real.train.session import Session

    save_final = Session._save_final

    def save_then_ctrl_c(self: Session) -> None:
        save_final(self)
        os.kill(os.getpid(), signal.SIGINT)  # the training loop is over, its status decided

    monkeypatch.setattr(Session, "_save_final", save_then_ctrl_c)
    result = cli(*tune_args(tiny, "--n-trials", "3", "--no-plots"))
    assert result.exit_code == 130, result.output
    trials = load_trials(tiny["logs"] / "ppo" / "tune_CartPole-v1")
    assert [t.state.name for t in trials] == ["COMPLETE"], result.output


# -- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--sampler", "tpee"], "Unknown sampler 'tpee'. Did you mean tpe?"),
        (["--pruner", "medain"], "Unknown pruner 'medain'. Did you mean median?"),
        (["--storage", "postgres://u:secret@host/db"], "write postgresql://u:***@host/db"),
        (["--storage", "postgresql://u@host:abc/db"], "the port part 'abc' is not a number"),
        (["--storage", "postgresql://u@host:5432"], "the database part is missing"),
        (["--storage", "mongodb://host/db"], "unknown scheme 'mongodb'"),
        (["--storage", "postgresql://u@127.0.0.1:1/db"], "nothing accepts connections at"),
        (["--storage", "study.db"], "looks like an SQLite file; write sqlite:///study.db"),
        (["--storage", "sqlite:///{tmp}/s.db", "--n-workers", "2"], "SQLite does not take"),
        (["--n-workers", "0"], "--n-workers must be at least 1"),
        (["--study-name", "a b"], "--study-name 'a b': use letters"),
        (["-params", "n_epoch:2"], "unknown hyperparameter 'n_epoch'"),
    ],
)
def test_bad_options_are_refused_before_anything_is_written(tiny, cli, extra, message):
    extra = [e.replace("{tmp}", str(tiny["logs"].parent)) for e in extra]
    result = cli(*tune_args(tiny, "--n-trials", "1"), *extra)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert not tiny["logs"].exists()
    assert "secret" not in result.output


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("learning_rate: {low: 1e-2, high: 1e-4}", "learning_rate: low (0.01) is above high"),
        ("learning_rate: {low: 0, high: 1e-3, scale: log}", "a log scale needs low > 0"),
        ("learning_rate: {lo: 0, high: 1e-3}", "unknown key 'lo'"),
        ("learning_rate: {low: 1e-5, high: 1e-3, scale: logg}", "unknown scale 'logg'"),
        ("batch_size: {low: 48, high: 512, scale: pow2}", "low must be one (1, 2, 4"),
        ("gamma: {low: 0.9, high: 1.0, scale: one_minus_log}", "needs 0 <= low <= high < 1"),
        ("n_epochs: {choices: []}", "choices must be a non-empty list"),
        ("learnig_rate: {low: 1e-5, high: 1e-3}", "Did you mean learning_rate?"),
        ("net_arch: {choices: [huge]}", "net_arch 'huge' is neither a named size"),
        ("activation_fn: {choices: [relux]}", "unknown activation 'relux'"),
        ("n_timesteps: {low: 1000, high: 2000}", "'n_timesteps' cannot be searched"),
        ("learning_rate: {low: 1e-5, high", "Malformed YAML"),
        ("clip_range: null\nclip_range_xx: null", "null removes a parameter"),
    ],
)
def test_invalid_search_spaces_are_refused(tiny, cli, text, message):
    tiny["space"].write_text(text + "\n")
    result = cli(*tune_args(tiny, "--n-trials", "1"))
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert not tiny["logs"].exists()


def test_an_existing_study_is_never_altered_by_a_rejected_command(tiny, cli):
    done = cli(*tune_args(tiny, "--n-trials", "1", "--study-name", "mine", "--no-plots"))
    assert done.exit_code == 0, done.output
    folder = tiny["logs"] / "ppo" / "mine"
    journal = folder / "study.log"
    before = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    storage = ["--storage", str(journal), "--study-name", "mine", "-f", str(tiny["logs"])]
    refusals = [
        (["tune", "-a", "a2c", "-e", "CartPole-v1", *storage], "tunes ppo on CartPole-v1, not a2c"),
        (["tune", "-a", "ppo", "-e", "Acrobot-v1", *storage], "not ppo on Acrobot-v1"),
        (
            ["tune", "-a", "ppo", "-e", "CartPole-v1", *storage, "-n", "1024"],
            "n_timesteps: 512 in the study, 1024 now",
        ),
        (
            ["tune", "-a", "ppo", "-e", "CartPole-v1", *storage, "--n-evaluations", "3"],
            "made with --n-evaluations 2, not 3",
        ),
        (
            ["tune", "-a", "ppo", "-e", "CartPole-v1", *storage, "-params", "n_epochs:3"],
            "other base hyperparameters",
        ),
    ]
    for args, message in refusals:
        result = cli(*args)
        assert result.exit_code == 2, result.output
        assert message in result.output, result.output
        assert "Traceback" not in result.output
    after = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    assert after == before
