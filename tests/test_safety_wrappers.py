"""Safety wrappers (ClipAction, RateLimit, LowPassFilter, history, time feature) and the
continuity cost: behaviour on real envs, truncation kept, state that survives pickling,
and the whole path through train, enjoy, plot and export."""

from __future__ import annotations

import csv
import json
import math
import shutil
from pathlib import Path
from typing import Any

import cloudpickle
import gymnasium as gym
import numpy as np
import pytest
import yaml

from rlzoo_real.envs.make import resolve_class
from rlzoo_real.envs.wrappers import ClipAction, LowPassFilter, RateLimit
from rlzoo_real.runs.folder import RunFolder


class Recorder(gym.Wrapper):
    """Remembers the actions that reach the real env (test helper, innermost)."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self.sent: list[np.ndarray] = []

    def step(self, action: Any) -> Any:
        self.sent.append(np.array(action, dtype=np.float64))
        return self.env.step(action)


def _recorded(env_id: str, *wrappers: Any) -> tuple[gym.Env, Recorder]:
    recorder = Recorder(gym.make(env_id))
    env: gym.Env = recorder
    for make in wrappers:
        env = make(env)
    return env, recorder


# -- each wrapper on a real env ------------------------------------------------------------


def test_clip_action_narrows_the_box_and_clips():
    env, rec = _recorded("Pendulum-v1", lambda e: ClipAction(e, low=-0.5, high=[0.25]))
    assert env.action_space.low.tolist() == [-0.5] and env.action_space.high.tolist() == [0.25]
    env.reset(seed=0)
    for asked in (2.0, -2.0, 0.1):
        env.step(np.array([asked], dtype=np.float32))
    assert [float(a[0]) for a in rec.sent] == pytest.approx([0.25, -0.5, 0.1])


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"low": -3.0, "high": 0.5}, "not inside the env's action box"),
        ({"low": 0.5, "high": -0.5}, "is above high"),
        ({"low": [-1, -1], "high": 1}, "has 2 entries, the action has 1"),
    ],
)
def test_clip_action_refuses_bad_bounds(kwargs, fragment):
    with pytest.raises(ValueError, match=fragment):
        ClipAction(gym.make("Pendulum-v1"), **kwargs)


def test_clip_action_accepts_the_envs_own_float32_bounds():
    env = gym.make("Pendulum-v1")
    env.action_space = gym.spaces.Box(-0.7, 0.7, (1,), np.float32)  # stored as -0.69999999
    clipped = ClipAction(env, low=-0.7, high=0.7)
    assert clipped.action_space.high[0] == np.float32(0.7)


@pytest.mark.parametrize(
    "make_filter",
    [
        lambda e: RateLimit(e, max_delta=0.1),
        lambda e: LowPassFilter(e, alpha=0.1),
    ],
)
def test_clip_action_outside_a_filter_is_refused(make_filter):
    """A filter inside ClipAction starts from the env's box middle and walks through actions
    outside the narrower box: the order would break ClipAction's promise."""
    with pytest.raises(ValueError, match="List ClipAction first"):
        ClipAction(make_filter(gym.make("Pendulum-v1")), low=0.5, high=1.5)
    # the right order: the filter starts from the middle of the narrower box (1.0), so what it
    # sends ClipAction is already inside [0.5, 1.5] (recorded between the two)
    seen: list[float] = []

    class Between(gym.ActionWrapper):
        def action(self, action):
            seen.append(float(action[0]))
            return action

    env = make_filter(Between(ClipAction(gym.make("Pendulum-v1"), low=0.5, high=1.5)))
    env.reset(seed=0)
    for asked in (1.5, 0.5, 1.0):
        env.step(np.array([asked], dtype=np.float32))
    expected = [1.1, 1.0, 1.0] if isinstance(env, RateLimit) else [1.05, 0.995, 0.9955]
    assert seen == pytest.approx(expected)


@pytest.mark.parametrize(
    "make_filter",
    [
        lambda e: RateLimit(e, max_delta=0.1, initial=5.0),
        lambda e: LowPassFilter(e, alpha=0.5, initial=-3.0),
    ],
)
def test_a_filter_start_outside_the_action_box_is_refused(make_filter):
    with pytest.raises(ValueError, match="initial .* is not inside the action box"):
        make_filter(gym.make("Pendulum-v1"))


def test_rate_limit_bounds_each_change_and_restarts_on_reset():
    env, rec = _recorded("MountainCarContinuous-v0", lambda e: RateLimit(e, max_delta=0.1))
    env.reset(seed=0)
    for asked in (1.0, 1.0, -1.0, 0.05):
        env.step(np.array([asked], dtype=np.float32))
    # first step limited against the middle of the box (0), then 0.1 per step at most
    assert [float(a[0]) for a in rec.sent] == pytest.approx([0.1, 0.2, 0.1, 0.05])
    env.reset(seed=1)
    env.step(np.array([-1.0], dtype=np.float32))
    assert float(rec.sent[-1][0]) == pytest.approx(-0.1)


def test_rate_limit_with_an_initial_action():
    env, rec = _recorded("Pendulum-v1", lambda e: RateLimit(e, max_delta=0.5, initial=1.0))
    env.reset(seed=0)
    env.step(np.array([-2.0], dtype=np.float32))
    assert float(rec.sent[0][0]) == pytest.approx(0.5)


def test_low_pass_filter_follows_its_recurrence():
    env, rec = _recorded("Pendulum-v1", lambda e: LowPassFilter(e, alpha=0.25))
    env.reset(seed=0)
    asked = [2.0, 2.0, -2.0, 0.0]
    for a in asked:
        env.step(np.array([a], dtype=np.float32))
    expected, state = [], 0.0
    for a in asked:
        state = 0.25 * a + 0.75 * state
        expected.append(state)
    assert [float(a[0]) for a in rec.sent] == pytest.approx(expected, abs=1e-6)


def test_low_pass_cutoff_uses_the_env_period_or_asks_for_one():
    pendulum = LowPassFilter(gym.make("Pendulum-v1"), cutoff_hz=2.0)  # Pendulum's dt: 0.05 s
    assert pendulum.alpha == pytest.approx(1 - math.exp(-2 * math.pi * 2.0 * 0.05))
    given = LowPassFilter(gym.make("MountainCarContinuous-v0"), cutoff_hz=1.0, dt=0.1)
    assert given.alpha == pytest.approx(1 - math.exp(-2 * math.pi * 0.1))
    with pytest.raises(ValueError, match="give dt"):
        LowPassFilter(gym.make("MountainCarContinuous-v0"), cutoff_hz=1.0)
    with pytest.raises(ValueError, match="exactly one of"):
        LowPassFilter(gym.make("Pendulum-v1"))
    with pytest.raises(ValueError, match="needs a Box"):
        LowPassFilter(gym.make("CartPole-v1"), alpha=0.5)


CHAIN = [
    ("ClipAction", {"low": -1.0, "high": 1.0}),
    ("RateLimit", {"max_delta": 0.3}),
    ("LowPassFilter", {"alpha": 0.5}),
    ("HistoryWrapper", {"horizon": 2}),
    ("TimeFeature", {}),
]


def _chain(env: gym.Env) -> gym.Env:
    for name, kwargs in CHAIN:
        env = resolve_class(name, kind="env_wrapper")(env, **kwargs)
    return env


def test_short_names_resolve_and_the_chain_keeps_truncation():
    env = _chain(gym.make("Pendulum-v1"))
    env.reset(seed=0)
    env.action_space.seed(0)
    for step in range(1, 201):
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        assert not terminated and truncated == (step == 200)
    assert resolve_class("rlzoo_real.envs.wrappers.RateLimit", kind="env_wrapper") is RateLimit


def test_the_chain_keeps_termination():
    env = _chain(gym.make("Hopper-v5"))  # falls over under random actions
    env.reset(seed=0)
    env.action_space.seed(0)
    for _ in range(1000):
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        if terminated or truncated:
            break
    assert terminated and not truncated


def test_filter_state_survives_pickling_mid_episode():
    env, _ = _recorded(
        "Pendulum-v1",
        lambda e: RateLimit(e, max_delta=0.2),
        lambda e: LowPassFilter(e, alpha=0.3),
    )
    env.reset(seed=3)
    for a in (2.0, 2.0, 2.0):
        env.step(np.array([a], dtype=np.float32))
    copy = cloudpickle.loads(cloudpickle.dumps(env))
    for a in (-2.0, 1.0, 0.5):
        first = env.step(np.array([a], dtype=np.float32))
        second = copy.step(np.array([a], dtype=np.float32))
        np.testing.assert_array_equal(first[0], second[0])
    # same env, same filter state: the same actions reach the env, step for step
    np.testing.assert_array_equal(
        env.get_wrapper_attr("sent")[-3:], copy.get_wrapper_attr("sent")[-3:]
    )


# -- through the command line ----------------------------------------------------------------

CONF = {
    "n_timesteps": 600,
    "policy": "MlpPolicy",
    "learning_starts": 100,
    "batch_size": 32,
    "buffer_size": 5000,
    "policy_kwargs": "dict(net_arch=[16])",
}
WRAPPED = [
    {"ClipAction": {"low": -1.0, "high": 1.0}},
    {"RateLimit": {"max_delta": 0.5}},
    "rlzoo_real.envs.wrappers.HistoryWrapper",
]


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> dict[str, Path]:
    """One SAC Pendulum run with safety wrappers from a YAML file, one without."""
    from typer.testing import CliRunner

    from rlzoo_real.cli import app

    base = tmp_path_factory.mktemp("safety")
    runs = {}
    for name, wrappers in (("wrapped", WRAPPED), ("plain", None)):
        conf = base / f"{name}.yml"
        entry = dict(CONF, **({"env_wrapper": wrappers} if wrappers else {}))
        conf.write_text(yaml.safe_dump({"Pendulum-v1": entry}))
        args = ["train", "-a", "sac", "-e", "Pendulum-v1", "--conf-file", str(conf)]
        args += ["-f", str(base / name), "--seed", "2", "--eval-freq", "300"]
        args += ["--eval-episodes", "2", "--save-replay-buffer", "--verbose", "0"]
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, result.output
        runs[name] = base / name / "sac" / "Pendulum-v1_1"
    return runs


def _monitor(path: Path) -> list[dict[str, str]]:
    lines = (path / "0.monitor.csv").read_text().splitlines()[1:]
    return list(csv.DictReader(lines))


def test_training_records_wrappers_and_continuity(trained):
    run = RunFolder(trained["wrapped"], "Pendulum-v1")
    config = yaml.safe_load(run.config_file.read_text())
    assert config["env_wrapper"] == WRAPPED
    rows = _monitor(run.path)
    assert len(rows) == 3 and all(float(r["continuity_cost"]) > 0 for r in rows)
    with run.progress_file.open() as handle:
        progress = list(csv.DictReader(handle))
    logged = [float(r["rollout/continuity_cost"]) for r in progress if r["rollout/continuity_cost"]]
    assert logged, "rollout/continuity_cost never logged"
    # the last value is the mean over the finished episodes, as in the monitor file
    assert logged[-1] == pytest.approx(np.mean([float(r["continuity_cost"]) for r in rows]))
    evals = [float(r["eval/continuity_cost"]) for r in progress if r.get("eval/continuity_cost")]
    assert len(evals) == 2 and all(v > 0 for v in evals)  # SAC's actions do change


def test_replay_buffer_still_marks_timeouts(trained):
    from stable_baselines3.common.save_util import load_from_pkl

    buffer = load_from_pkl(trained["wrapped"] / "replay_buffer.pkl")
    n = buffer.size()
    dones, timeouts = buffer.dones[:n, 0], buffer.timeouts[:n, 0]
    assert dones.sum() == 3  # three 200-step episodes, each ended by the time limit
    assert np.array_equal(dones, timeouts)


def test_enjoy_rebuilds_the_wrappers_and_prints_continuity(cli, trained):
    from rlzoo_real.replay.loading import RunRequest, open_run

    loaded = open_run(RunRequest(target=str(trained["wrapped"])), seed=0)
    try:
        names = []
        env = loaded.env.envs[0]
        while hasattr(env, "env"):
            names.append(type(env).__name__)
            env = env.env
        assert names[:5] == [
            "HistoryWrapper",
            "RateLimit",
            "ClipAction",
            "Monitor",
            "ContinuityCost",
        ]
        assert loaded.env.action_space.high.tolist() == [1.0]
    finally:
        loaded.close()
    result = cli("enjoy", str(trained["wrapped"]), "--no-render", "-n", "400")
    assert result.exit_code == 0, result.output
    episodes = [line for line in result.output.splitlines() if line.startswith("Episode")]
    assert len(episodes) == 2 and all("continuity cost" in line for line in episodes)
    assert "continuity cost" in result.output.splitlines()[-1]


def _enjoy_costs(cli, run: Path) -> tuple[float, float]:
    result = cli("enjoy", str(run), "--no-render", "-n", "600", "--stochastic", "--seed", "4")
    assert result.exit_code == 0, result.output
    summary = result.output.splitlines()[-1]
    ret = float(summary.split("return ")[1].split(" ")[0])
    cost = float(summary.split("continuity cost ")[1].split(" ")[0])
    return ret, cost


def test_low_pass_filter_lowers_the_continuity_cost_of_the_same_policy(cli, trained, tmp_path):
    plain = trained["plain"]
    filtered = tmp_path / "sac" / "Pendulum-v1_1"
    shutil.copytree(plain, filtered)
    config_file = filtered / "Pendulum-v1" / "config.yml"
    config = yaml.safe_load(config_file.read_text())
    config["env_wrapper"] = [{"LowPassFilter": {"alpha": 0.2}}]
    config_file.write_text(yaml.safe_dump(config))
    _, cost_plain = _enjoy_costs(cli, plain)
    _, cost_filtered = _enjoy_costs(cli, filtered)
    assert cost_filtered < 0.5 * cost_plain


def test_plot_draws_continuity_from_the_monitor_files(cli, trained, tmp_path):
    out = tmp_path / "plots"
    result = cli(
        "plot",
        "train",
        "-f",
        str(trained["wrapped"].parents[1]),
        "-y",
        "continuity",
        "--window",
        "1",
        "-o",
        str(out),
    )
    assert result.exit_code == 0, result.output
    assert (out / "train_continuity.png").stat().st_size > 1000
    with np.load(out / "train_continuity.npz", allow_pickle=False) as data:
        y = data["s0_y"]
    costs = [float(r["continuity_cost"]) for r in _monitor(trained["wrapped"])]
    np.testing.assert_allclose(y, costs)  # window 1: the monitor column itself


def test_export_bakes_the_clip_in_and_lists_the_rest(cli, trained, tmp_path):
    import onnxruntime as ort

    out = tmp_path / "policy.onnx"
    result = cli("export", str(trained["wrapped"]), "-o", str(out))
    assert result.exit_code == 0, result.output
    assert "RateLimit" in result.output and "NOT in the graph" in result.output
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    listed = json.loads(session.get_modelmeta().custom_metadata_map["env_wrappers"])
    assert [(e["class"].rsplit(".", 1)[-1], e["where"]) for e in listed] == [
        ("ClipAction", "graph"),
        ("RateLimit", "actions"),
        ("HistoryWrapper", "observations"),
    ]
    obs = np.random.default_rng(0).uniform(-5, 5, (64, 8)).astype(np.float32)
    actions = session.run(None, {"obs": obs})[0]
    assert actions.min() >= -1.0 and actions.max() <= 1.0


# -- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("wrapper", "fragments"),
    [
        ({"ClipActon": {"low": -0.5, "high": 0.5}}, ["not a realzoo wrapper name", "ClipAction"]),
        ({"RateLimit": {"max_dleta": 0.1}}, ["wrong arguments", "RateLimit takes: max_delta"]),
        (
            {"ClipAction": {"low": -3, "high": 0.5}},
            ["not inside the env's action box", "low, high"],
        ),
        ({"LowPassFilter": {"alpha": 2}}, ["alpha must be a number in (0, 1]", "cutoff_hz"]),
        ("rlzoo_real.envs.wrappers.NoSuchWrapper", ["has no 'NoSuchWrapper'"]),
    ],
)
def test_bad_wrappers_are_refused_before_any_run_folder(cli, tmp_path, wrapper, fragments):
    conf = tmp_path / "bad.yml"
    conf.write_text(yaml.safe_dump({"Pendulum-v1": dict(CONF, env_wrapper=[wrapper])}))
    logs = tmp_path / "logs"
    result = cli("train", "-a", "sac", "-e", "Pendulum-v1", "--conf-file", conf, "-f", logs)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in result.output
    assert not logs.exists()


# -- what is not measured, and old runs -----------------------------------------------------


def test_discrete_and_old_runs_get_no_continuity_column(tmp_path):
    from rlzoo_real.algos.registry import get_algo
    from rlzoo_real.config.spec import resolve_run_spec
    from rlzoo_real.envs.make import make_vec_env_for

    table = {"CartPole-v1": {"n_timesteps": 10}, "Pendulum-v1": {"n_timesteps": 10}}
    for env_id, algo in (("CartPole-v1", "ppo"), ("Pendulum-v1", "sac")):
        spec, _ = resolve_run_spec(get_algo(algo), env_id, table=table, source="test")
        folder = tmp_path / env_id
        if env_id == "Pendulum-v1":  # a run from before the column existed, resumed
            folder.mkdir()
            (folder / "0.monitor.csv").write_text('#{"t_start": 0, "env_id": "x"}\nr,l,t\n')
        env = make_vec_env_for(
            spec,
            n_envs=1,
            seed=0,
            env_kwargs={"max_episode_steps": 5},
            monitor_dir=folder,
            append_monitor=env_id == "Pendulum-v1",
        )
        env.reset()
        for _ in range(5):
            env.step(np.array([env.action_space.sample()]))
        env.close()
        lines = (folder / "0.monitor.csv").read_text().splitlines()
        assert lines[1] == "r,l,t" and len(lines) == 3 and len(lines[2].split(",")) == 3


@pytest.mark.slow
def test_killed_run_with_action_filters_resumes_exactly(tmp_path):
    import subprocess

    from tests.conftest import run_realzoo
    from tests.test_resume import _kill_after_checkpoint, _monitor_rows, _params, _train_command

    conf = tmp_path / "filters.yml"
    chain = [{"RateLimit": {"max_delta": 0.3}}, {"LowPassFilter": {"cutoff_hz": 2.0}}]
    conf.write_text(yaml.safe_dump({"Pendulum-v1": dict(CONF, env_wrapper=chain)}))
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    n, save_freq, eval_freq = 1300, 300, 200  # killed mid-episode: filter state matters
    done = subprocess.run(
        _train_command("sac", "Pendulum-v1", conf, whole, n, save_freq, eval_freq),
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    run = RunFolder(killed / "sac" / "Pendulum-v1_1", "Pendulum-v1")
    _kill_after_checkpoint(
        _train_command("sac", "Pendulum-v1", conf, killed, n, save_freq, eval_freq), run, save_freq
    )
    resumed = run_realzoo("train", "--resume", run.path, cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert "not restored" not in resumed.stdout + resumed.stderr
    reference = RunFolder(whole / "sac" / "Pendulum-v1_1", "Pendulum-v1")
    expected, got = _params(reference.final_model, "sac"), _params(run.final_model, "sac")
    for key in expected:
        assert np.array_equal(expected[key].numpy(), got[key].numpy()), key
    with np.load(reference.evaluations) as a, np.load(run.evaluations) as b:
        np.testing.assert_array_equal(a["results"], b["results"])
    rows = _monitor_rows(run)
    assert rows == _monitor_rows(reference) and all(len(r) == 3 for r in rows)


class _Robot(gym.Env):
    """Records every command it receives, as a robot's driver log would."""

    observation_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
    action_space = gym.spaces.Box(-3.0, 5.0, (2,), np.float32)
    commands: list[np.ndarray] = []

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return np.zeros(2, np.float32), {}

    def step(self, action):
        _Robot.commands.append(np.array(action, dtype=np.float64))
        return np.zeros(2, np.float32), 0.0, False, False, {}


def test_checks_before_training_send_the_robot_only_its_rest_command(tmp_path):
    """The pre-flight checks (env kwargs, wrapper values) share one probe that steps the env
    once: with the middle of the action box, never a random command."""
    from rlzoo_real.train.request import TrainArgs, prepare

    gym.register("RecordingRobot-v0", entry_point=_Robot, max_episode_steps=10)
    try:
        conf = tmp_path / "robot.yml"
        conf.write_text(
            "RecordingRobot-v0:\n  policy: MlpPolicy\n  n_timesteps: 100\n"
            "  env_wrapper:\n    - RateLimit: {max_delta: 0.5}\n"
        )
        _Robot.commands.clear()
        prepare(TrainArgs(algo="sac", env="RecordingRobot-v0", conf_file=str(conf)))
        assert len(_Robot.commands) == 1  # one probe: env kwargs and wrapper chain together
        for command in _Robot.commands:
            np.testing.assert_array_equal(command, [1.0, 1.0])  # the middle of [-3, 5]
    finally:
        gym.registry.pop("RecordingRobot-v0")


class _NoClockRobot(gym.Env):
    """A hardware-like env: Box actions, no ``dt`` attribute."""

    observation_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)
    action_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return np.zeros(1, np.float32), {}

    def step(self, action):
        return np.zeros(1, np.float32), 0.0, False, False, {}


def test_cutoff_hz_takes_the_period_of_a_realtime_wrapper_when_the_env_has_no_dt():
    from rlzoo_real.envs.realtime import RealTime

    with pytest.raises(ValueError, match="no RealTime wrapper is listed before"):
        LowPassFilter(_NoClockRobot(), cutoff_hz=2.0)
    timed = LowPassFilter(RealTime(_NoClockRobot(), frequency_hz=50), cutoff_hz=2.0)
    assert timed.alpha == pytest.approx(1 - math.exp(-2 * math.pi * 2.0 * 0.02))
