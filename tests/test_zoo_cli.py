"""The RL Zoo's commands, typed as its users type them, on realzoo (issue 11, item 3).

Each test runs the command line through the app (the ``cli`` fixture) and looks at what a
user would: run folders, their files, exit codes, messages. Training runs are tiny (the
entries of ``TINY_YAML`` in conftest, a few hundred steps).
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from tests.inprocess import run_cli
from tests.tune_helpers import TINY_SPACE


def _runs(logs: Path, algo: str, env: str) -> list[Path]:
    return sorted((logs / algo).glob(f"{env}_*"))


def _args(run: Path, env: str) -> dict:
    return yaml.safe_load((run / env / "args.yml").read_text())


def _config(run: Path, env: str) -> dict:
    return yaml.safe_load((run / env / "config.yml").read_text())


# -- train ------------------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore:rich is experimental")  # SB3's progress bar (tqdm.rich)
def test_train_with_the_zoos_spellings(cli, tiny_conf, tmp_path):
    logs = tmp_path / "logs"
    zoo = ["-f", logs, "-conf", tiny_conf, "--eval-fr", "-1", "--verb", "0"]
    first = cli(
        "train", "--algo", "sac", "--env", "Pendulum-v1", *zoo, "-n", "200",
        "--env-kwarg", "g:9.8", "-params", "gamma:0.9", "learning_starts:50",
        "-uuid", "-P", "-tags", "zoo", "cli", "--seed", "-1", "--save-rep", "-tb", tmp_path / "tb",
    )  # fmt: skip
    assert first.exit_code == 0, first.output
    [run] = _runs(logs, "sac", "Pendulum-v1")
    assert len(run.name.split("_", 1)[1]) > 30  # <env>_<N>_<uuid4>
    args = _args(run, "Pendulum-v1")
    assert args["env_kwargs"] == ["g:9.8"]
    assert args["wandb_tags"] == ["zoo", "cli"] and args["progress"] is True
    assert args["uuid"] is True and args["n_timesteps"] == 200
    assert args["seed"] >= 0  # the Zoo's --seed -1: a random seed, recorded
    assert list((tmp_path / "tb").rglob("events.out.tfevents.*"))  # -tb
    config = _config(run, "Pendulum-v1")
    assert config["gamma"] == 0.9 and config["learning_starts"] == 50
    # -i: a warm start from the first run's model (and its replay buffer)
    second = cli(
        "train", "--algo", "sac", "--env", "Pendulum-v1", *zoo, "-n", "100",
        "-i", run / "Pendulum-v1.zip", "--truncate-last-trajectory", "false",
    )  # fmt: skip
    assert second.exit_code == 0, second.output
    warm = [r for r in _runs(logs, "sac", "Pendulum-v1") if r != run]
    assert len(warm) == 1
    args = _args(warm[0], "Pendulum-v1")
    assert args["trained_agent"] == str(run / "Pendulum-v1.zip")
    assert args["truncate_last_trajectory"] is False


@pytest.mark.filterwarnings("ignore:The last trajectory in the replay buffer will be truncated")
def test_truncate_last_trajectory_decides_the_her_buffers_last_episode(cli, tmp_path):
    """-i with a HER replay buffer: true (the Zoo's default) ends its unfinished episode."""
    from stable_baselines3.common.save_util import load_from_pkl

    conf = tmp_path / "sac.yml"
    conf.write_text(
        "BitFlipContinuous-v0:\n"
        "  n_timesteps: 42\n"
        "  policy: 'MultiInputPolicy'\n"
        "  learning_starts: 1000\n"  # no gradient step: only the buffer matters here
        "  batch_size: 16\n"
        "  buffer_size: 100\n"
        "  replay_buffer_class: HerReplayBuffer\n"
        '  policy_kwargs: "dict(net_arch=[16])"\n'
    )
    logs = tmp_path / "logs"
    # 30 bits: the goal is never reached by chance, so every episode lasts its 4 steps and
    # 42 steps end 2 steps into the 11th episode
    common = [
        "-a", "sac", "-e", "BitFlipContinuous-v0", "--gym-packages", "tests.goal_envs",
        "-conf", conf, "-f", logs, "--eval-freq", "-1", "--verbose", "0", "--seed", "0",
        "--env-kwargs", "n_bits:30", "--save-replay-buffer",
    ]  # fmt: skip
    first = cli("train", *common)
    assert first.exit_code == 0, first.output
    [run] = _runs(logs, "sac", "BitFlipContinuous-v0")
    saved = load_from_pkl(run / "replay_buffer.pkl")
    assert saved.pos == 42 and int(saved._current_ep_start[0]) == 40  # unfinished episode
    assert not saved.dones[41, 0]
    ends = {}
    for value in ("true", "false"):
        result = cli("train", *common, "-n", "4", "-i", run / "BitFlipContinuous-v0.zip",
                     "--truncate-last-trajectory", value)  # fmt: skip
        assert result.exit_code == 0, result.output
        newest = max(_runs(logs, "sac", "BitFlipContinuous-v0"), key=lambda p: p.stat().st_mtime)
        buffer = load_from_pkl(newest / "replay_buffer.pkl")
        assert buffer.pos == 46
        ends[value] = bool(buffer.dones[41, 0])
    assert ends == {"true": True, "false": False}


def test_bad_truncate_value_is_refused(cli, tiny_conf, tmp_path):
    result = cli("train", "-a", "ppo", "-e", "CartPole-v1", "-conf", tiny_conf, "-f", tmp_path,
                 "--truncate-last-trajectory", "maybe")  # fmt: skip
    assert result.exit_code == 2
    assert "--truncate-last-trajectory 'maybe': expected true or false" in result.output
    assert not (tmp_path / "ppo").exists()


@pytest.fixture
def study(cli, tmp_path):
    """A two-trial study made with the Zoo's spelling: train -optimize."""
    conf, space, logs = tmp_path / "tiny.yml", tmp_path / "space.yml", tmp_path / "logs"
    from tests.tune_helpers import TINY_PPO

    conf.write_text(TINY_PPO)
    space.write_text(TINY_SPACE)
    result = cli(
        "train", "--algo", "ppo", "--env", "CartPole-v1", "-conf", conf, "-f", logs,
        "-optimize", "--n-trials", "2", "--sampler", "random", "--pruner", "none",
        "--n-startup", "1", "--n-evaluations", "2", "--no-optim-plots", "--seed", "0",
        "--search-space", space, "--study-name", "zoo",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return {"conf": conf, "logs": logs, "folder": logs / "ppo" / "zoo", "output": result.output}


def test_train_optimize_runs_the_study_tune_runs(study):
    folder = study["folder"]
    assert "Ran 2 trials; the study has 2: 2 complete" in study["output"]
    assert "sampler random, pruner none" in study["output"]
    for name in ("study.log", "study.yml", "trials.csv", "best.yml", "base.yml"):
        assert (folder / name).is_file(), name
    assert not (folder / "plots").exists()  # --no-optim-plots
    assert len(list((folder / "trials" / "ppo").glob("CartPole-v1_*"))) == 2
    request = yaml.safe_load((folder / "study.yml").read_text())["request"]
    assert request["sampler"] == "random" and request["pruner"] == "none"
    assert request["n_trials"] == 2 and request["n_startup_trials"] == 1


def test_trial_id_trains_with_the_values_a_trial_tried(cli, study):
    import optuna

    storage = optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend(str(study["folder"] / "study.log"))
    )
    trial = optuna.load_study(study_name="zoo", storage=storage).trials[1]
    words = dict(w.split(":", 1) for w in trial.user_attrs["hyperparams"])
    logs = study["logs"]
    result = cli(
        "train", "--algo", "ppo", "--env", "CartPole-v1", "-conf", study["conf"], "-f", logs,
        "--trial-id", "1", "--study-name", "zoo", "-n", "128", "--eval-freq", "-1",
        "-params", "n_epochs:1",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    [run] = _runs(logs, "ppo", "CartPole-v1")
    config = _config(run, "CartPole-v1")
    assert config["learning_rate"] == pytest.approx(float(words["learning_rate"]))
    assert config["gamma"] == pytest.approx(float(words["gamma"]))
    assert config["n_epochs"] == 1  # the command's own -params win over the trial's
    missing = cli("train", "--algo", "ppo", "--env", "CartPole-v1", "-conf", study["conf"],
                  "-f", logs, "--trial-id", "7", "--study-name", "zoo")  # fmt: skip
    assert missing.exit_code == 2
    assert "no such trial; the study has trials 0 to 1" in missing.output


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--n-trials", "3"], "without -optimize does not take --n-trials"),
        (["--sampler", "tpe", "--storage", "x.log"], "does not take --sampler, --storage"),
        (
            ["-optimize", "--eval-freq", "5", "-i", "m.zip"],
            "with -optimize does not take --eval-freq, -i/--trained-agent",
        ),  # fmt: skip
        (["--optimization-log-path", "o"], "every trial of a realzoo study is already a full run"),
    ],
)
def test_options_of_the_other_mode_are_refused_before_anything_is_written(
    cli, tiny_conf, tmp_path, extra, message
):
    logs = tmp_path / "logs"
    result = cli("train", "-a", "ppo", "-e", "CartPole-v1", "-conf", tiny_conf, "-f", logs, *extra)
    assert result.exit_code == 2, result.output
    assert message in result.output.replace("\n", " ")
    assert "Traceback" not in result.output
    assert not logs.exists()


# -- enjoy ------------------------------------------------------------------------------------


@pytest.fixture
def trained(cli, tiny_conf, tmp_path):
    logs = tmp_path / "logs"
    result = cli("train", "-a", "ppo", "-e", "CartPole-v1", "-conf", tiny_conf, "-f", logs,
                 "-n", "256", "--eval-freq", "128", "--eval-episodes", "2", "--seed", "1",
                 "--verbose", "0")  # fmt: skip
    assert result.exit_code == 0, result.output
    return logs


def test_enjoy_with_the_zoos_flags(cli, trained, tmp_path):
    from stable_baselines3.common.monitor import load_results

    rewards = tmp_path / "rewards"
    result = cli("enjoy", "--algo", "ppo", "--env", "CartPole-v1", "-f", trained, "--no-render",
                 "-n", "300", "--exp-id", "1", "--load-best", "--deterministic", "-P",
                 "--reward-log", rewards, "--custom-objects", "--num-threads", "1")  # fmt: skip
    assert result.exit_code == 0, result.output
    printed = [float(r) for r in re.findall(r"Episode \d+: return (-?[\d.]+)", result.stdout)]
    logged = load_results(str(rewards))
    assert len(printed) == len(logged) > 0
    np.testing.assert_allclose(logged["r"].to_numpy(), printed, atol=0.005)
    assert "300/300" in result.stderr  # the progress bar went to the end


def test_enjoy_verbose_0_prints_nothing(cli, trained):
    result = cli("enjoy", "--algo", "ppo", "--env", "CartPole-v1", "-f", trained, "--no-render",
                 "-n", "50", "--verbose", "0")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.stdout == ""


def test_enjoy_exp_id_minus_one_reads_the_model_beside_the_algorithm_folder(cli, trained, tmp_path):
    """The Zoo's --exp-id -1: <folder>/<algo>/<env>.zip, a lone model file (no run folder)."""
    import shutil

    zoo = tmp_path / "zoo"
    (zoo / "ppo").mkdir(parents=True)
    shutil.copy(_runs(trained, "ppo", "CartPole-v1")[0] / "CartPole-v1.zip", zoo / "ppo")
    base = ["enjoy", "--algo", "ppo", "--env", "CartPole-v1", "-f", zoo, "--exp-id", "-1",
            "--no-render", "-n", "50"]  # fmt: skip
    refused = cli(*base)
    assert refused.exit_code == 2 and "is not a run folder" in refused.output
    result = cli(*base, "--unsafe-pickle-load")
    assert result.exit_code == 0, result.output
    assert f"Replaying {zoo / 'ppo' / 'CartPole-v1.zip'}" in result.output


def test_enjoy_refuses_norm_reward_with_its_reason(cli, trained):
    result = cli("enjoy", "--algo", "ppo", "--env", "CartPole-v1", "-f", trained, "--norm-rew")
    assert result.exit_code == 2
    assert "--norm-reward is not offered: realzoo reports the env's own returns" in result.output
    assert "Traceback" not in result.output


# -- plot -------------------------------------------------------------------------------------


@pytest.fixture
def two_folders(cli, tiny_conf, tmp_path):
    folders = []
    for name, seed in (("a", "1"), ("b", "2")):
        logs = tmp_path / name
        result = cli("train", "-a", "ppo", "-e", "CartPole-v1", "-conf", tiny_conf, "-f", logs,
                     "-n", "256", "--eval-freq", "128", "--eval-episodes", "2", "--seed", seed,
                     "--verbose", "0")  # fmt: skip
        assert result.exit_code == 0, result.output
        folders.append(logs)
    return folders


def test_all_plots_with_the_zoos_flags(cli, two_folders, tmp_path):
    out = tmp_path / "plots"
    result = cli("plot", "all_plots", "-a", "PPO", "-e", "CartPole", "-f", *two_folders,
                 "-l", "first", "second", "-k", "results", "-max", "1000", "-min", "100",
                 "-o", out, "--no-display", "-print")  # fmt: skip
    assert result.exit_code == 0, result.output
    table = (out / "results.csv").read_text()
    assert "first-ppo" in table and "second-ppo" in table
    assert "CartPole-v1" in table


def test_an_env_name_without_version_is_not_a_substring_match(cli, two_folders, tmp_path):
    result = cli("plot", "eval", "-f", two_folders[0], "-e", "Cart", "-o", tmp_path / "p")
    assert result.exit_code == 2
    assert "No run" in result.output or "no run" in result.output.lower()


def test_plot_train_with_the_zoos_flags(cli, two_folders, tmp_path):
    out = tmp_path / "plots"
    result = cli("plot", "plot_train", "-a", "ppo", "-e", "CartPole", "-f", two_folders[0],
                 "-x", "episodes", "-y", "reward", "-w", "2", "-max", "200", "-o", out)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (out / "train_curves.png").is_file()
    with np.load(out / "train_curves.npz", allow_pickle=False) as data:
        assert data.files


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["plot", "all", "-median"], "-median (an RL Zoo flag) is not taken"),
        (["plot", "eval", "-k", "successes"], "-k/--key successes: realzoo plots the returns"),
        (["plot", "train", "-y", "length"], "-y length: realzoo plot train draws"),
        (["plot", "plot_from_file", "-i", "results.pkl"], "realzoo never reads pickle files"),
        (["plot", "all_plots", "-f", "x", "y", "-l", "one"], "1 label(s) for 2 log folder(s)"),
    ],
)
def test_plot_refusals_say_why(cli, two_folders, tmp_path, extra, message):
    folders = [] if "-f" in extra else ["-f", two_folders[0]]
    if "-l" in extra:
        extra = [w if w not in ("x", "y") else str(two_folders["xy".index(w)]) for w in extra]
    result = cli(*extra, *folders, "-o", tmp_path / "p")
    assert result.exit_code == 2, result.output
    assert message in result.output.replace("\n", " ")
    assert "Traceback" not in result.output
    assert not (tmp_path / "p").exists()


def test_env_names_match_every_version_but_not_other_envs():
    from rlzoo_real.plotting.data import env_matches

    assert env_matches("CartPole-v1", ["CartPole"]) and env_matches("CartPole-v0", ["CartPole"])
    assert env_matches("CartPole-v1", ["CartPole-v1"]) and env_matches("CartPole-v1", [])
    assert not env_matches("CartPole-v1", ["CartPole-v0"])
    assert not env_matches("InvertedPendulum-v4", ["Pendulum"])
    assert env_matches("ALE/Pong-v5", ["ALE-Pong"]) and env_matches("ALE/Pong-v5", ["ALE/Pong"])


def test_log_interval_minus_two_turns_the_algorithms_logging_off(tiny_conf, tmp_path):
    # SB3's logger writes to the standard output of the command (run_cli captures it)
    def fps_lines(*extra: str) -> int:
        result = run_cli(["train", "-a", "ppo", "-e", "CartPole-v1", "-conf", tiny_conf,
                          "-f", tmp_path / "logs", "-n", "256", "--eval-freq", "-1", *extra],
                         cwd=tmp_path)  # fmt: skip
        assert result.returncode == 0, result.stderr
        return len(re.findall(r"\|\s+fps\s+\|", result.stdout))

    assert fps_lines() == 2  # PPO logs each of its two rollouts by default
    assert fps_lines("--log-interval", "-2") == 0


@pytest.mark.parametrize("command", ["train -optimize", "tune"])
def test_the_zoos_auto_sampler_is_refused_with_its_reason(cli, tiny_conf, tmp_path, command):
    result = cli(*command.split(), "-a", "ppo", "-e", "CartPole-v1", "-conf", tiny_conf,
                 "-f", tmp_path / "logs", "--sampler", "auto")  # fmt: skip
    assert result.exit_code == 2
    assert "--sampler auto (the RL Zoo's AutoSampler) is not offered" in result.output
    assert not (tmp_path / "logs").exists()


def test_train_has_no_default_algorithm_or_env(cli, tmp_path):
    """The Zoo trains PPO on CartPole-v1 when --algo and --env are left out; realzoo asks."""
    result = cli("train", "-f", tmp_path / "logs")
    assert result.exit_code == 2
    assert "realzoo train needs --algo and --env" in result.output
    assert not (tmp_path / "logs").exists()


def test_wandb_group_and_tags_with_the_zoos_spelling(cli, tiny_conf, tmp_path, monkeypatch):
    from tests.wandb_records import read_records

    monkeypatch.setenv("WANDB_MODE", "offline")
    result = cli("train", "-a", "ppo", "-e", "CartPole-v1", "-conf", tiny_conf, "-f", tmp_path,
                 "-n", "128", "--eval-freq", "-1", "--verbose", "0", "--track",
                 "--wandb-gr", "ablation", "-tags", "zoo", "cli")  # fmt: skip
    assert result.exit_code == 0, result.output
    [file] = (tmp_path / "ppo" / "CartPole-v1_1").glob("wandb/offline-run-*/run-*.wandb")
    deadline = time.monotonic() + 60  # W&B's service process may still be writing the file
    while True:
        records = read_records(file)
        kinds = [r.WhichOneof("record_type") for r in records]
        if "exit" in kinds or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    runs = [r.run for r in records if r.WhichOneof("record_type") == "run"]
    assert runs, kinds
    assert runs[0].run_group == "ablation" and list(runs[0].tags) == ["zoo", "cli"]
