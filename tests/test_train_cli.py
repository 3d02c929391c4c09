"""``realzoo train`` as a user types it: the run folder it writes and the errors it gives."""

from pathlib import Path

import numpy as np
import pytest
import yaml

from rlzoo_real.runs.folder import RunFolder
from tests.conftest import quiet_train


def _only_run(log_folder: Path, algo: str, env: str) -> RunFolder:
    runs = sorted((log_folder / algo).glob(f"{env}_*"))
    assert len(runs) == 1, runs
    return RunFolder(runs[0], env)


def test_train_writes_the_whole_run_folder(cli, tiny_conf, tmp_path):
    logs = tmp_path / "logs"
    result = cli(
        "train",
        "--algo",
        "sac",
        "--env",
        "Pendulum-v1",
        "--conf-file",
        tiny_conf,
        "-f",
        logs,
        "--seed",
        "3",
        "--eval-freq",
        "200",
        "--eval-episodes",
        "2",
        "--save-freq",
        "200",
        "--save-replay-buffer",
        "-params",
        "learning_rate:lin_0.001",
        "gamma:0.95",
        "--verbose",
        "0",
    )
    assert result.exit_code == 0, result.output
    run = _only_run(logs, "sac", "Pendulum-v1")
    assert run.path.name == "Pendulum-v1_1"
    assert str(run.path) in result.output
    for path in (
        run.final_model,
        run.best_model,
        run.evaluations,
        run.args_file,
        run.config_file,
        run.command_file,
        run.manifest_file,
        run.vecnormalize_file,
        run.path / "0.monitor.csv",
        run.path / "replay_buffer.pkl",
    ):
        assert path.is_file(), path
    assert sorted(run.checkpoints()) == [200, 400]
    assert (run.path / "rl_model_replay_buffer_400_steps.pkl").is_file()
    assert (run.path / "rl_model_vecnormalize_400_steps.pkl").is_file()

    with np.load(run.evaluations) as evaluations:
        assert list(evaluations["timesteps"]) == [200, 400]
        assert evaluations["results"].shape == (2, 2)

    args = yaml.safe_load(run.args_file.read_text())
    assert args["algo"] == "sac" and args["seed"] == 3
    assert args["hyperparams"] == ["learning_rate:lin_0.001", "gamma:0.95"]
    config = yaml.safe_load(run.config_file.read_text())
    assert config["gamma"] == 0.95 and config["learning_rate"] == "lin_0.001"
    assert config["policy_kwargs"] == "dict(net_arch=[16])"

    manifest = yaml.safe_load(run.manifest_file.read_text())
    assert manifest["status"] == "finished" and manifest["exit_code"] == 0
    assert manifest["seed"] == 3 and manifest["num_threads"] == 1
    assert manifest["num_timesteps"] == 400
    assert manifest["versions"]["stable-baselines3"]
    assert {"commit", "dirty"} <= set(manifest["git"])
    assert manifest["start_time"] <= manifest["end_time"]

    monitor_lines = (run.path / "0.monitor.csv").read_text().splitlines()
    assert monitor_lines[0].startswith("#") and monitor_lines[1] == "r,l,t,continuity_cost"
    assert len(monitor_lines) == 2 + 2  # two 200-step episodes


def test_run_ids_increase_and_uuid_is_appended(cli, tiny_conf, tmp_path):
    base = quiet_train("ppo", "CartPole-v1", tiny_conf, tmp_path, "-n", "128")
    assert cli(*base).exit_code == 0
    assert cli(*base).exit_code == 0
    assert cli(*base, "--uuid").exit_code == 0
    names = sorted(p.name for p in (tmp_path / "ppo").iterdir())
    assert names[:2] == ["CartPole-v1_1", "CartPole-v1_2"]
    assert names[2].startswith("CartPole-v1_3_") and len(names[2]) == len("CartPole-v1_3_") + 36


def test_warm_start_from_a_trained_agent(cli, tiny_conf, tmp_path):
    base = quiet_train("sac", "Pendulum-v1", tiny_conf, tmp_path, "--seed", "1")
    assert cli(*base, "--save-replay-buffer").exit_code == 0
    first = RunFolder(tmp_path / "sac" / "Pendulum-v1_1", "Pendulum-v1")
    result = cli(*base, "-n", "200", "-i", first.final_model)
    assert result.exit_code == 0, result.output
    second = RunFolder(tmp_path / "sac" / "Pendulum-v1_2", "Pendulum-v1")
    manifest = yaml.safe_load(second.manifest_file.read_text())
    assert manifest["num_timesteps"] == 600  # continued from 400, not restarted


def _assert_user_error(result, *fragments: str) -> None:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in result.output, result.output


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["-a", "sacc", "-e", "Pendulum-v1"], ["Unknown algorithm 'sacc'", "Did you mean sac"]),
        (["-a", "sac", "-e", "Pendulum-v2"], ["Unknown environment 'Pendulum-v2'", "Pendulum-v1"]),
        (["-a", "sac", "-e", "CartPole-v1"], ["action space is Discrete"]),
        (["-a", "ppo", "-e", "Acrobot-v1", "--conf-file", "{conf}"], ["no entry for 'Acrobot-v1'"]),
        (
            [
                "-a",
                "sac",
                "-e",
                "Pendulum-v1",
                "--conf-file",
                "{conf}",
                "-params",
                "learnin_rate:1",
            ],
            ["unknown hyperparameter 'learnin_rate'", "Did you mean learning_rate"],
        ),
        (
            ["-a", "sac", "-e", "Pendulum-v1", "--conf-file", "{conf}", "-params", "oops"],
            ["key:value"],
        ),
        (
            [
                "-a",
                "sac",
                "-e",
                "Pendulum-v1",
                "--conf-file",
                "{conf}",
                "--env-kwargs",
                "g:__import__('os')",
            ],
            ["not accepted"],
        ),
        (
            ["-a", "sac", "-e", "Pendulum-v1", "--conf-file", "{conf}", "--env-kwargs", "g:abc"],
            ["Could not create and step Pendulum-v1"],
        ),
        (
            [
                "-a",
                "sac",
                "-e",
                "Pendulum-v1",
                "--conf-file",
                "{conf}",
                "--env-kwargs",
                "gravity_x:1",
            ],
            ["env kwargs"],
        ),
        (
            ["-a", "sac", "-e", "Pendulum-v1", "--conf-file", "{conf}", "-i", "missing.zip"],
            ["not an existing .zip"],
        ),
        (
            [
                "-a",
                "sac",
                "-e",
                "Pendulum-v1",
                "--conf-file",
                "{conf}",
                "--gym-packages",
                "nopkg_x",
            ],
            ["cannot import 'nopkg_x'"],
        ),
        (
            ["-a", "sac", "-e", "Pendulum-v1", "--conf-file", "{conf}", "-params", "ent_coef:bad"],
            ["ent_coef (set by -params): 'bad' is not accepted by sac", '"auto"'],
        ),
        (["-a", "sac", "-e", "Pendulum-v1", "--conf-file", "{bad}"], ["Malformed YAML", "line 3"]),
        (["-a", "sac", "-e", "Pendulum-v1", "--device", "cuda"], ["no CUDA device"]),
        (["-a", "sac", "-e", "Pendulum-v1", "--eval-episodes", "0"], ["at least 1"]),
        (["-a", "sac", "-e", "Pendulum-v1", "--vec-env", "threads"], ["dummy' or 'subproc'"]),
        (
            [
                "-a",
                "sac",
                "-e",
                "Pendulum-v1",
                "--conf-file",
                "{conf}",
                "-params",
                "env_wrapper:'nowhere.Wrapper'",
            ],
            ["cannot import module 'nowhere'"],
        ),
        (
            [
                "-a",
                "sac",
                "-e",
                "Pendulum-v1",
                "--conf-file",
                "{conf}",
                "-params",
                "env_wrapper:[{'rlzoo_real.envs.wrappers.HistoryWrapper': {'horizn': 2}}]",
            ],
            ["wrong arguments"],
        ),
        (
            [
                "-a",
                "sac",
                "-e",
                "Pendulum-v1",
                "--conf-file",
                "{conf}",
                "-params",
                "learning_rate:1/0",
            ],
            ["'1/0': division by zero"],
        ),
        (
            [
                "-a",
                "sac",
                "-e",
                "Pendulum-v1",
                "--conf-file",
                "{conf}",
                "-params",
                "learning_rate:int(inf)",
            ],
            ["int(inf) is not a valid value"],
        ),
        (["-a", "sac", "-e", "Pendulum-v1", "--conf-file", "../nothere"], ["no file '../nothere'"]),
        (
            [
                "-a",
                "sac",
                "-e",
                "Pendulum-v1",
                "--conf-file",
                "{conf}",
                "-params",
                "normalize:dict(bogus=1)",
            ],
            ["normalize {'bogus': 1}", "takes: training"],
        ),
        (
            [
                *("-a", "sac", "-e", "Pendulum-v1", "--conf-file", "{conf}", "-params"),
                "vec_env_wrapper:[{'stable_baselines3.common.vec_env.VecFrameStack': "
                "{'n_stack': 'x'}}]",
            ],
            ["VecFrameStack {'n_stack': 'x'}: invalid literal", "takes: n_stack"],
        ),
    ],
)
def test_user_mistakes_give_one_clear_message_and_no_run_folder(
    cli, tiny_conf, tmp_path, args, fragments
):
    bad = tmp_path / "bad.yml"
    bad.write_text("Pendulum-v1:\n  n_envs: 1\n  policy: [unclosed\n")
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "keep.txt").write_text("precious")
    args = [a.replace("{conf}", str(tiny_conf)).replace("{bad}", str(bad)) for a in args]
    result = cli("train", *args, "-f", logs, "--verbose", "0")
    _assert_user_error(result, *fragments)
    assert list(logs.rglob("*")) == [logs / "keep.txt"]  # no run folder, not even logs/<algo>/
    assert (logs / "keep.txt").read_text() == "precious"


def test_trained_agent_of_another_algorithm_is_refused(cli, tiny_conf, tmp_path):
    base = ["--conf-file", tiny_conf, "-f", tmp_path, "--eval-freq", "-1", "--verbose", "0"]
    assert cli("train", "-a", "sac", "-e", "Pendulum-v1", *base).exit_code == 0
    model = tmp_path / "sac" / "Pendulum-v1_1" / "Pendulum-v1.zip"
    (tmp_path / "td3.yml").write_text("Pendulum-v1:\n  n_timesteps: 100\n")
    result = cli(
        "train",
        "-a",
        "td3",
        "-e",
        "Pendulum-v1",
        "--conf-file",
        tmp_path / "td3.yml",
        "-f",
        tmp_path,
        "-i",
        model,
        "--verbose",
        "0",
    )
    _assert_user_error(result, "another algorithm")
    assert not (tmp_path / "td3").exists() or not any((tmp_path / "td3").iterdir())
