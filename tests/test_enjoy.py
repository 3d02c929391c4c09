"""``realzoo enjoy`` and ``realzoo record`` as a user types them, on real run folders.

Returns printed by enjoy are compared with Stable-Baselines3's own ``evaluate_policy``
on an env and model built independently (``Algo.load``, ``VecNormalize.load``), so a
replay that lost the normalization, the frame stack or the env kwargs would show.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from rlzoo_real.runs.folder import RunFolder
from tests.trained_runs import make_cli, train_run

EPISODE = re.compile(
    r"^Episode (\d+)(?: \(env (\d+)\))?: return (-?[\d.]+), length (\d+)"
    r"(?:, continuity cost [\d.]+|, continuity cost nan)?$",
    re.M,
)


def episodes(output: str) -> list[tuple[float, int]]:
    return [(float(m.group(3)), int(m.group(4))) for m in EPISODE.finditer(output)]


def evaluate(
    algo: str,
    model_path: Path,
    env_id: str,
    *,
    n_episodes: int,
    seed: int,
    stats: Path | None = None,
    frame_stack: int | None = None,
    env_kwargs: dict | None = None,
) -> tuple[list[float], list[int]]:
    """SB3's evaluate_policy on an env and model built without realzoo's loading code."""
    import stable_baselines3
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.evaluation import evaluate_policy
    from stable_baselines3.common.vec_env import VecFrameStack, VecNormalize

    env = make_vec_env(env_id, n_envs=1, seed=seed, env_kwargs=env_kwargs)
    if frame_stack:
        env = VecFrameStack(env, frame_stack)
    if stats is not None:
        env = VecNormalize.load(str(stats), env)
        env.training, env.norm_reward = False, False
    model = getattr(stable_baselines3, algo.upper()).load(model_path, device="cpu")
    returns, lengths = evaluate_policy(
        model, env, n_eval_episodes=n_episodes, deterministic=True, return_episode_rewards=True
    )
    env.close()
    return list(map(float, returns)), list(map(int, lengths))


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, RunFolder]:
    folder = tmp_path_factory.mktemp("enjoy")
    cli = make_cli()
    every = ("--eval-freq", "200", "--eval-episodes", "1", "--save-freq", "200")
    return {
        "sac": train_run(cli, folder, "sac-Pendulum", *every),
        "ppo": train_run(cli, folder, "ppo-CartPole", "--eval-freq", "-1"),
        "ppo2": train_run(cli, folder, "ppo-CartPole", "--eval-freq", "-1", seed=2),
        "dqn": train_run(cli, folder, "dqn-CartPole", "--eval-freq", "-1"),
    }


def _ok(result: object) -> str:
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    assert "Traceback" not in result.output  # type: ignore[attr-defined]
    return str(result.output)  # type: ignore[attr-defined]


def _user_error(result: object) -> str:
    """A mistake: exit status 2, one 'Error:' paragraph on stderr, no traceback."""
    assert result.exit_code == 2, result.output  # type: ignore[attr-defined]
    stderr = str(result.stderr)  # type: ignore[attr-defined]
    assert stderr.startswith("Error: "), stderr
    assert "Traceback" not in result.output  # type: ignore[attr-defined]
    return stderr


# -- replay: the numbers ---------------------------------------------------------------------


def test_continuous_normalized_run_replays_as_evaluate_policy(cli, runs):
    run = runs["sac"]
    out = _ok(cli("enjoy", run.path, "--no-render", "-n", "400", "--seed", "7"))
    assert f"Replaying {run.final_model}: sac on Pendulum-v1, final model (400 steps" in out
    assert "normalization statistics loaded and frozen" in out
    assert "400 steps, deterministic actions, seed 7, 1 env" in out
    assert "Summary: 2 episodes in 400 steps, return" in out
    got = episodes(out)
    expected, lengths = evaluate(
        "sac", run.final_model, "Pendulum-v1", n_episodes=2, seed=7, stats=run.vecnormalize_file
    )
    assert [length for _, length in got] == lengths == [200, 200]
    assert [r for r, _ in got] == pytest.approx(expected, abs=0.006)
    # the statistics matter: without them the policy sees other inputs and acts otherwise
    unnormalized, _ = evaluate("sac", run.final_model, "Pendulum-v1", n_episodes=2, seed=7)
    assert unnormalized != pytest.approx(expected, abs=0.01)


def test_api_returns_equal_evaluate_policy_exactly(runs):
    from rlzoo_real.replay.enjoy import ReplayOptions, enjoy
    from rlzoo_real.replay.loading import RunRequest

    run = runs["sac"]
    result = enjoy(
        RunRequest(target=str(run.path), load_best=True),
        ReplayOptions(n_timesteps=None, n_episodes=3, render=False, seed=3),
    )
    expected, lengths = evaluate(
        "sac", run.best_model, "Pendulum-v1", n_episodes=3, seed=3, stats=run.best_vecnormalize_file
    )
    assert result.returns == expected and result.lengths == lengths
    assert result.steps == 600 and result.unfinished == ()


def test_discrete_run_without_normalization_latest_by_default(cli, runs, tmp_path):
    logs = runs["ppo"].path.parents[1]
    out = _ok(
        cli("enjoy", "-a", "ppo", "-e", "CartPole-v1", "-f", logs, "--no-render", "-n", "300")
    )
    assert f"Replaying {runs['ppo2'].final_model}" in out  # the latest run, CartPole-v1_2
    assert "normalization" not in out
    got = episodes(out)
    expected, lengths = evaluate(
        "ppo", runs["ppo2"].final_model, "CartPole-v1", n_episodes=len(got), seed=0
    )
    assert [r for r, _ in got] == expected and [n for _, n in got] == lengths
    out1 = _ok(
        cli(
            "enjoy",
            "-a",
            "ppo",
            "-e",
            "CartPole-v1",
            "-f",
            logs,
            "--exp-id",
            "1",
            "--no-render",
            "-n",
            "50",
        )
    )
    assert f"Replaying {runs['ppo'].final_model}" in out1


def test_frame_stacked_run_replays_with_its_stack(cli, runs):
    run = runs["dqn"]
    out = _ok(cli("enjoy", run.path, "--no-render", "--n-episodes", "3", "--seed", "4"))
    assert "3 episodes, deterministic actions, seed 4" in out
    got = episodes(out)
    assert len(got) == 3
    expected, lengths = evaluate(
        "dqn", run.final_model, "CartPole-v1", n_episodes=3, seed=4, frame_stack=2
    )
    assert [r for r, _ in got] == expected and [n for _, n in got] == lengths


def test_env_kwargs_and_several_envs(cli, runs):
    run = runs["ppo"]
    out = _ok(
        cli(
            "enjoy",
            run.path,
            "--no-render",
            "-n",
            "40",
            "--n-envs",
            "3",
            "--env-kwargs",
            "max_episode_steps:5",
        )
    )
    assert "3 envs" in out
    got = episodes(out)
    assert len(got) >= 3 * (40 // 5) - 3 and all(length <= 5 for _, length in got)
    assert {m.group(2) for m in EPISODE.finditer(out)} == {"0", "1", "2"}


def test_stochastic_is_reproducible_and_differs(cli, runs):
    run = runs["sac"]
    args = ("enjoy", run.path, "--no-render", "-n", "200", "--seed", "5")
    deterministic = episodes(_ok(cli(*args)))
    first, second = (
        episodes(_ok(cli(*args, "--stochastic"))),
        episodes(_ok(cli(*args, "--stochastic"))),
    )
    assert first == second
    assert first != deterministic


def test_best_and_checkpoints(cli, runs, tmp_path):
    run = runs["sac"]
    out = _ok(cli("enjoy", run.path, "--load-best", "--no-render", "-n", "10"))
    assert f"Replaying {run.best_model}: sac on Pendulum-v1, best model" in out
    out = _ok(cli("enjoy", run.path, "--load-checkpoint", "200", "--no-render", "-n", "10"))
    assert "checkpoint at 200 steps (200 steps trained)" in out
    out = _ok(cli("enjoy", run.path, "--load-last-checkpoint", "--no-render", "-n", "10"))
    assert "checkpoint at 400 steps" in out
    out = _ok(cli("enjoy", run.path / "best_model.zip", "--no-render", "-n", "10"))
    assert "best model" in out
    steps = ", ".join(map(str, run.checkpoints()))
    err = _user_error(cli("enjoy", run.path, "--load-checkpoint", "300", "--no-render"))
    assert f"no checkpoint at 300 steps; checkpoints there: {steps}" in err
    bare = _copy_run(runs["ppo"], tmp_path)
    for path in bare.checkpoints().values():
        path.unlink()
    err = _user_error(cli("enjoy", bare.path, "--load-best", "--no-render"))
    assert "no best_model.zip" in err and "--eval-freq" in err and "CartPole-v1.zip" in err
    err = _user_error(cli("enjoy", bare.path, "--load-last-checkpoint"))
    assert "has no checkpoints" in err
    err = _user_error(cli("enjoy", run.path, "--load-best", "--load-last-checkpoint"))
    assert "exclude each other" in err


# -- bad input ---------------------------------------------------------------------------------


def test_missing_runs_list_what_exists(cli, runs):
    logs = runs["sac"].path.parents[1]
    err = _user_error(cli("enjoy", logs / "sac" / "Pendulum-v1_9"))
    assert "does not exist" in err and "Pendulum-v1_1" in err
    err = _user_error(cli("enjoy", "-a", "sac", "-e", "Pendulum-v1", "-f", logs, "--exp-id", "4"))
    assert "run ids there: 1" in err
    err = _user_error(cli("enjoy", "-a", "sac", "-e", "CartPole-v1", "-f", logs))
    assert "Runs of sac there: Pendulum-v1 (runs 1)" in err
    err = _user_error(cli("enjoy", "-a", "td3", "-e", "Pendulum-v1", "-f", logs))
    assert "dqn, ppo, sac" in err
    err = _user_error(cli("enjoy", "-a", "sac", "-e", "Pendulum-v1", "-f", logs / "nowhere"))
    assert "does not exist" in err
    err = _user_error(cli("enjoy"))
    assert "--algo and --env" in err


def test_algorithm_and_env_mismatch(cli, runs, tmp_path):
    err = _user_error(cli("enjoy", runs["sac"].path, "--algo", "td3"))
    assert "is a run of sac, not td3" in err
    err = _user_error(cli("enjoy", runs["sac"].path, "--env", "MountainCarContinuous-v0"))
    assert "is a run on Pendulum-v1, not MountainCarContinuous-v0" in err
    # a model of another algorithm dropped into a run folder
    run = _copy_run(runs["ppo"], tmp_path)
    shutil.copy(runs["dqn"].final_model, run.final_model)
    err = _user_error(cli("enjoy", run.path, "--no-render"))
    assert "model of another algorithm (dqn), not ppo" in err
    # a CartPole model in a run folder of another env (Acrobot-v1: 6 observations, not 4)
    source = _copy_run(runs["ppo"], tmp_path / "c")
    target = source.path.parent / "Acrobot-v1_1"
    source.path.rename(target)
    (target / "CartPole-v1").rename(target / "Acrobot-v1")
    (target / "CartPole-v1.zip").rename(target / "Acrobot-v1.zip")
    args = target / "Acrobot-v1" / "args.yml"
    args.write_text(args.read_text().replace("env: CartPole-v1", "env: Acrobot-v1"))
    err = _user_error(cli("enjoy", target, "--no-render"))
    assert "trained on observations of shape (4,), but Acrobot-v1" in err
    # same algorithm, other network: the weights do not fit
    run = _copy_run(runs["ppo"], tmp_path / "b")
    config = run.config_file.read_text().replace("net_arch=[16]", "net_arch=[8]")
    run.config_file.write_text(config)
    err = _user_error(cli("enjoy", run.path, "--no-render"))
    assert "do not fit the model" in err


def test_corrupt_or_missing_files(cli, runs, tmp_path):
    run = _copy_run(runs["sac"], tmp_path)
    data = run.final_model.read_bytes()
    run.final_model.write_bytes(data[: len(data) // 2])
    err = _user_error(cli("enjoy", run.path, "--no-render"))
    assert "is not a Stable-Baselines3 model" in err
    run.final_model.write_text("hello")
    assert "is not a Stable-Baselines3 model" in _user_error(cli("enjoy", run.path, "--no-render"))
    run.vecnormalize_file.unlink()
    shutil.copy(runs["sac"].final_model, run.final_model)
    err = _user_error(cli("enjoy", run.path, "--no-render"))
    assert "normalizes observations, but no statistics were saved" in err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "is not a run folder" in _user_error(cli("enjoy", empty))


def _copy_run(run: RunFolder, where: Path) -> RunFolder:
    target = where / "logs" / run.path.parent.name / run.path.name
    shutil.copytree(run.path, target)
    return RunFolder(target, run.env_id)


# -- loading runs no code from the files unless asked ----------------------------------------


def test_run_yaml_reads_zoo_tags_and_refuses_others(tmp_path):
    from rlzoo_real.config.literals import KnownName
    from rlzoo_real.errors import UserError
    from rlzoo_real.runs.safe_files import read_run_yaml

    path = tmp_path / "config.yml"
    path.write_text(
        "!!python/object/apply:collections.OrderedDict\n"
        "- - - policy_kwargs\n"
        "    - activation_fn: !!python/name:torch.nn.modules.activation.ReLU ''\n"
        "      net_arch: [16]\n"
        "  - - train_freq\n"
        "    - !!python/tuple [1, episode]\n"
    )
    assert read_run_yaml(path) == {
        "policy_kwargs": {"activation_fn": KnownName("nn.ReLU"), "net_arch": [16]},
        "train_freq": (1, "episode"),
    }
    marker = tmp_path / "pwned"
    for text in (
        f"!!python/object/apply:os.mkdir [{str(marker)!r}]\n",
        f"a: !!python/object/apply:os.mkdir [{str(marker)!r}]\n",
        "a: !!python/name:os.system ''\n",
        "a: !!python/object/new:collections.OrderedDict {}\n",
    ):
        path.write_text(text)
        with pytest.raises(UserError, match="would construct a Python object"):
            read_run_yaml(path)
    assert not marker.exists()


def test_normalization_statistics_read_without_pickle_equal_sb3s(runs, tmp_path):
    import pickle

    from stable_baselines3.common.vec_env import VecNormalize

    from rlzoo_real.errors import UserError
    from rlzoo_real.runs.safe_files import read_normalization

    path = runs["sac"].vecnormalize_file
    stats = read_normalization(path)
    with path.open("rb") as handle:
        loaded: VecNormalize = pickle.load(handle)
    np.testing.assert_array_equal(stats.obs_rms["mean"], loaded.obs_rms.mean)
    np.testing.assert_array_equal(stats.obs_rms["var"], loaded.obs_rms.var)
    assert stats.obs_rms["count"] == loaded.obs_rms.count
    assert stats.settings["clip_obs"] == loaded.clip_obs and stats.settings["norm_obs"] is True
    other = tmp_path / "other.pkl"
    other.write_bytes(pickle.dumps({"obs_rms": [1, 2]}))
    with pytest.raises(UserError, match="is not normalization statistics"):
        read_normalization(other)
    other.write_bytes(b"not a pickle")
    with pytest.raises(UserError, match="Cannot read normalization statistics"):
        read_normalization(other)


def test_crafted_files_run_nothing_without_the_flag(cli, runs, tmp_path):
    run = _copy_run(runs["sac"], tmp_path)
    marker = tmp_path / "pwned"
    _inject_payload(run.final_model, marker)
    out = _ok(cli("enjoy", run.path, "--no-render", "-n", "5"))
    assert "Replaying" in out and not marker.exists()
    # the same file with full pickle loading runs the payload: that is what the flag is for
    _ok(cli("enjoy", run.path, "--no-render", "-n", "5", "--unsafe-pickle-load"))
    assert marker.is_dir()
    marker.rmdir()
    # a normalization file that names something else than statistics is refused
    run.vecnormalize_file.write_bytes(_pickle_calling_mkdir(marker))
    err = _user_error(cli("enjoy", run.path, "--no-render"))
    assert "posix.mkdir" in err and "--unsafe-pickle-load" in err
    assert not marker.exists()
    assert "DANGEROUS" in _ok(cli("enjoy", "--help"))


def _pickle_calling_mkdir(marker: Path) -> bytes:
    import os
    import pickle

    class Payload:
        def __reduce__(self) -> tuple:
            return (os.mkdir, (str(marker),))

    return pickle.dumps(Payload())


def _inject_payload(model: Path, marker: Path) -> None:
    with zipfile.ZipFile(model) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    data = json.loads(parts["data"])
    payload = base64.b64encode(_pickle_calling_mkdir(marker)).decode()
    data["innocent_looking_key"] = {":type:": "<class 'object'>", ":serialized:": payload}
    parts["data"] = json.dumps(data).encode()
    with zipfile.ZipFile(model, "w") as archive:
        for name, content in parts.items():
            archive.writestr(name, content)


# -- video ---------------------------------------------------------------------------------------


def test_record_writes_an_mp4_headless(cli, runs, tmp_path):
    imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg")
    run = runs["sac"]
    out = _ok(cli("record", run.path, "-n", "30", "-o", tmp_path / "videos"))
    video = tmp_path / "videos" / "final-model-sac-Pendulum-v1-step-0-to-step-30.mp4"
    assert f"Video: {video} (31 frames)" in out
    decoded = subprocess.run(
        [
            imageio_ffmpeg.get_ffmpeg_exe(),
            "-v",
            "error",
            "-i",
            str(video),
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
            "-",
        ],
        capture_output=True,
        check=True,
    ).stdout
    images = np.frombuffer(decoded, np.uint8).reshape(-1, 500, 500, 3)  # Pendulum's 500x500
    assert len(images) == 31
    assert images[0].std() > 0 and not np.array_equal(images[0], images[-1])
    assert imageio_ffmpeg.count_frames_and_secs(str(video)) == (31, pytest.approx(31 / 30, 0.05))
    out = _ok(cli("enjoy", runs["ppo"].path, "--record-video", "-n", "8", "--n-envs", "2"))
    assert "Video: " + str(runs["ppo"].path / "videos") in out


@pytest.mark.slow  # end to end with several processes (see the commit)
def test_record_mujoco_offscreen_in_a_fresh_process(tmp_path):
    """MuJoCo needs an OpenGL context: without a display, realzoo asks for EGL."""
    pytest.importorskip("imageio_ffmpeg")
    pytest.importorskip("mujoco")
    import ctypes.util

    if ctypes.util.find_library("EGL") is None:
        pytest.skip("no libEGL on this machine (apt-get install libegl1)")
    from tests.conftest import run_realzoo

    conf = tmp_path / "c.yml"
    conf.write_text("InvertedPendulum-v5:\n  n_timesteps: 64\n  n_steps: 32\n  batch_size: 32\n")
    train = run_realzoo(
        "train",
        "-a",
        "ppo",
        "-e",
        "InvertedPendulum-v5",
        "--conf-file",
        conf,
        "-f",
        "logs",
        "--verbose",
        "0",
        "--eval-freq",
        "-1",
        cwd=tmp_path,
    )
    assert train.returncode == 0, train.stderr
    env = {k: v for k, v in __import__("os").environ.items() if k not in ("DISPLAY", "MUJOCO_GL")}
    record = subprocess.run(
        [
            sys.executable,
            "-m",
            "rlzoo_real",
            "record",
            "-a",
            "ppo",
            "-e",
            "InvertedPendulum-v5",
            "-n",
            "10",
            "-o",
            "videos",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert record.returncode == 0, record.stderr
    assert "(11 frames)" in record.stdout
    assert list((tmp_path / "videos").glob("*.mp4"))


# -- RL Zoo run folders ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def zoo_logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("rl_zoo3")
    logs = tmp_path_factory.mktemp("zoo") / "logs"
    common = ["--seed", "1", "--eval-freq", "-1", "--num-threads", "1", "-f", str(logs)]
    for args in (
        [
            *["--algo", "ppo", "--env", "CartPole-v1", "-n", "128"],
            *["--env-kwargs", "max_episode_steps:50", "-params", "n_envs:2"],
            "policy_kwargs:dict(net_arch=[16], activation_fn=nn.ReLU)",
        ],
        [
            *["--algo", "sac", "--env", "Pendulum-v1", "-n", "200", "-params", "normalize:True"],
            *["learning_starts:100", "buffer_size:1000", "policy_kwargs:dict(net_arch=[16])"],
        ],
    ):
        done = subprocess.run(
            [sys.executable, "-m", "rl_zoo3.train", *args, *common],
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-3000:]
    return logs


def test_rl_zoo3_run_folders_replay(cli, zoo_logs):
    run = RunFolder(zoo_logs / "ppo" / "CartPole-v1_1", "CartPole-v1")
    assert run.args_file.read_text().startswith("!!python/object/apply:collections.OrderedDict")
    enjoy = ["enjoy", "-a", "ppo", "-e", "CartPole-v1", "--no-render", "--n-episodes", "3"]
    out = _ok(cli(*enjoy, "-f", zoo_logs))
    assert "an rl_zoo3 run" in out
    got = episodes(out)
    expected, lengths = evaluate(
        "ppo",
        run.final_model,
        "CartPole-v1",
        n_episodes=3,
        seed=0,
        env_kwargs={"max_episode_steps": 50},
    )
    assert [r for r, _ in got] == expected and [n for _, n in got] == lengths

    sac = RunFolder(zoo_logs / "sac" / "Pendulum-v1_1", "Pendulum-v1")
    out = _ok(cli("enjoy", sac.path, "--no-render", "-n", "200", "--seed", "2"))
    assert "normalization statistics loaded and frozen" in out
    expected, _ = evaluate(
        "sac", sac.final_model, "Pendulum-v1", n_episodes=1, seed=2, stats=sac.vecnormalize_file
    )
    assert [r for r, _ in episodes(out)] == pytest.approx(expected, abs=0.006)


def test_an_rl_zoo3_model_warm_starts_realzoo_train(cli, zoo_logs, tmp_path):
    """The Zoo's args.yml carries Python tags: realzoo reads around it, without a traceback."""
    model = zoo_logs / "ppo" / "CartPole-v1_1" / "CartPole-v1.zip"
    base = ["train", "-a", "ppo", "-e", "CartPole-v1", "-f", tmp_path, "--eval-freq", "-1"]
    tiny = ["-n", "128", "-params", "n_envs:2", "n_steps:64", "--verbose", "0"]
    result = cli(*base, *tiny, "-i", model)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "ppo" / "CartPole-v1_1" / "CartPole-v1.zip").is_file()
    wrong = cli("train", "-a", "dqn", "-e", "CartPole-v1", "-f", tmp_path, "-n", "128", "-i", model)
    assert wrong.exit_code == 2 and "trained with another algorithm" in wrong.output
