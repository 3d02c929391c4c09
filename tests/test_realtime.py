"""Real-time operation: the RealTime wrapper's clock, and updates between episodes.

Timing tests measure the wall clock of this (possibly loaded, 2-core) machine, so they
assert with generous margins: a tolerance against scheduler jitter, and injected
delays (or gradient updates) several times longer than that tolerance.
"""

from __future__ import annotations

import csv
import json
import pickle
import time
import zipfile
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import yaml

from rlzoo_real.envs.realtime import EPISODE_KEY, STEP_KEY, RealTime

TOLERANCE = 0.004  # s of lateness forgiven (timer and scheduler jitter on a busy machine)


class FakeClock:
    """The RealTime wrapper's clock, simulated: each sleep wakes 0.5 ms late (as an OS
    does), stepping the env costs nothing, and ``advance`` is the agent's time.

    The schedule's logic is then checked exactly, whatever else the machine is doing;
    one test (the drift test) measures the real clock.
    """

    OVERSLEEP_S = 0.0005

    def __init__(self) -> None:
        self.now = 1000.0

    def perf_counter(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds + self.OVERSLEEP_S

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    import rlzoo_real.envs.realtime

    fake = FakeClock()
    monkeypatch.setattr(rlzoo_real.envs.realtime, "time", fake)
    return fake


class CpuClock:
    """The RealTime wrapper's clock as this process's CPU time, plus the time it slept.

    Lateness is then the work done inside the control loop (env steps, gradient updates),
    never the time other processes of a busy machine held the CPU, and sleeping costs no
    wall time. For measurements through the whole train loop.
    """

    def __init__(self) -> None:
        self.slept = 0.0

    def perf_counter(self) -> float:
        return time.process_time() + self.slept

    def sleep(self, seconds: float) -> None:
        self.slept += seconds


@pytest.fixture
def cpu_clock(monkeypatch: pytest.MonkeyPatch) -> CpuClock:
    import rlzoo_real.envs.realtime

    cpu = CpuClock()
    monkeypatch.setattr(rlzoo_real.envs.realtime, "time", cpu)
    return cpu


def _realtime(hz: float = 100.0, **env_kwargs: object) -> RealTime:
    env = RealTime(gym.make("Pendulum-v1", **env_kwargs), frequency_hz=hz, tolerance_s=TOLERANCE)
    env.reset(seed=0)
    env.action_space.seed(0)
    return env


def test_steps_keep_the_period_without_drift_on_the_real_clock():
    env = _realtime(100.0)
    start = time.perf_counter()
    steps = [env.step(env.action_space.sample())[-1][STEP_KEY] for _ in range(50)]
    elapsed = time.perf_counter() - start
    # 50 periods of 10 ms: not faster (it sleeps), and no drift beyond the lateness it
    # recorded: on a busy machine a late wake-up is an overrun (the schedule re-anchors
    # there), so the total may exceed 0.5 s only by the overruns' recorded lateness
    overrun_late = sum(step["late_s"] for step in steps if step["overrun"])
    assert elapsed >= 0.5 - 1e-3
    assert elapsed < 0.5 + overrun_late + 0.05, (elapsed, overrun_late)
    assert env.total_steps == 50
    assert env.total_overruns == sum(step["overrun"] for step in steps)
    if not steps[-1]["overrun"]:  # on time: one period after the previous step, give or take
        assert steps[-1]["period_s"] == pytest.approx(0.01, abs=TOLERANCE + 1e-3)
    env.close()


def test_steps_keep_the_period_without_drift(clock):
    env = _realtime(100.0)
    start = clock.now
    for _ in range(50):
        *_, info = env.step(env.action_space.sample())
    # each sleep ends 0.5 ms late, but the deadlines stay on the grid: no accumulation
    assert clock.now - start == pytest.approx(0.5 + clock.OVERSLEEP_S, abs=1e-9)
    assert env.total_steps == 50 and env.total_overruns == 0
    assert info[STEP_KEY]["period_s"] == pytest.approx(0.01, abs=1e-9)
    assert info[STEP_KEY]["late_s"] == pytest.approx(clock.OVERSLEEP_S, abs=1e-9)
    env.close()


def test_a_late_step_is_an_overrun_and_the_schedule_reanchors(clock):
    env = _realtime(100.0)
    for _ in range(5):
        env.step(env.action_space.sample())
    clock.advance(0.03)  # the agent takes 3 periods to answer (an update between steps)
    *_, info = env.step(env.action_space.sample())
    record = info[STEP_KEY]
    assert record["overrun"] is True
    assert record["late_s"] == pytest.approx(0.02 + clock.OVERSLEEP_S, abs=1e-9)
    assert record["overruns"] == env.total_overruns == env.episode_overruns == 1
    assert record["period_s"] == pytest.approx(0.03, abs=1e-9)  # 3 periods: none caught up
    # re-anchored: the next steps are on time again, one period apart (no catching up)
    periods = []
    for _ in range(5):
        *_, info = env.step(env.action_space.sample())
        assert info[STEP_KEY]["overrun"] is False
        periods.append(info[STEP_KEY]["period_s"])
    assert periods == pytest.approx([0.01] * 5, abs=clock.OVERSLEEP_S + 1e-9)
    assert env.total_overruns == 1
    env.close()


def test_the_gap_after_reset_is_no_overrun_and_episodes_are_summarized(clock):
    env = RealTime(
        gym.make("Pendulum-v1", max_episode_steps=5), frequency_hz=100.0, tolerance_s=TOLERANCE
    )
    reference = gym.make("Pendulum-v1", max_episode_steps=5)
    env.reset(seed=1)
    reference.reset(seed=1)
    action = np.array([0.5], dtype=np.float32)
    for episode in range(2):
        clock.advance(0.05)  # learning between episodes: five periods, before the first step
        for step in range(5):
            if step == 2 and episode == 1:
                clock.advance(0.03)  # one late step in the second episode
            obs, reward, terminated, truncated, info = env.step(action)
            ref_obs, ref_reward, ref_terminated, ref_truncated, _ = reference.step(action)
            np.testing.assert_array_equal(obs, ref_obs)
            assert (reward, terminated, truncated) == (ref_reward, ref_terminated, ref_truncated)
        assert truncated and not terminated  # the time limit passes through as a truncation
        summary = info[EPISODE_KEY]
        assert summary["steps"] == 5
        assert summary["overruns"] == episode  # 0, then the one late step
        assert (summary["worst_late_s"] > 0.01) == bool(episode)
        env.reset()
        reference.reset()
    assert env.total_overruns == 1
    env.close()


def test_a_pickled_wrapper_restarts_its_schedule(clock):
    env = _realtime(100.0)
    for _ in range(3):
        env.step(env.action_space.sample())
    restored = pickle.loads(pickle.dumps(env))
    clock.advance(0.05)  # a resumed run starts later, in another process: no overrun
    *_, info = restored.step(restored.action_space.sample())
    assert info[STEP_KEY]["overrun"] is False
    assert info[STEP_KEY]["period_s"] is None
    assert restored.total_steps == 4
    env.close()
    restored.close()


@pytest.mark.parametrize("kwargs", [{"frequency_hz": 0}, {"frequency_hz": -5.0}])
def test_bad_arguments_raise_value_errors(kwargs):
    with pytest.raises(ValueError, match="frequency_hz must be a positive number"):
        RealTime(gym.make("Pendulum-v1"), **kwargs)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="tolerance_s must be >= 0 and below one period"):
        RealTime(gym.make("Pendulum-v1"), frequency_hz=100, tolerance_s=0.02)


# -- through the CLI ----------------------------------------------------------------------------

#: SAC with updates heavy enough that one takes longer than a 5 ms period, even on a fast CPU
HEAVY_SAC = """\
Pendulum-v1:
  n_timesteps: 150
  policy: MlpPolicy
  learning_starts: 50
  batch_size: 512
  buffer_size: 2000
  policy_kwargs: "dict(net_arch=[256, 256])"
  env_wrapper:
    - rlzoo_real.envs.realtime.RealTime: {frequency_hz: 200, tolerance_s: 0.002}
"""
COMMON = ("--env-kwargs", "max_episode_steps:50", "--eval-freq", "-1", "--seed", "3")
COMMON += ("--log-interval", "1", "--verbose", "0", "--device", "cpu", "--save-freq", "-1")


def _user_error(result: object) -> str:
    assert result.exit_code == 2, result.output  # type: ignore[attr-defined]
    stderr = str(result.stderr)  # type: ignore[attr-defined]
    assert stderr.startswith("Error: "), stderr
    assert "Traceback" not in result.output  # type: ignore[attr-defined]
    return " ".join(stderr.split())


def _last_row(run: Path) -> dict[str, str]:
    with (run / "progress.csv").open() as handle:
        return list(csv.DictReader(handle))[-1]


def _n_updates(model: Path) -> int:
    with zipfile.ZipFile(model) as archive:
        return int(json.loads(archive.read("data"))["_n_updates"])


def test_updates_between_episodes_keep_the_control_loop_on_time(cli, tmp_path, cpu_clock):
    """The measurement: the same SAC updates, between steps vs between episodes.

    Timed with this process's CPU time (``cpu_clock``): what lands inside the control loop
    is this process's work, so other processes keeping the machine busy change nothing.
    """
    conf = tmp_path / "heavy.yml"
    conf.write_text(HEAVY_SAC)
    logs = tmp_path / "logs"
    train = ("train", "-a", "sac", "-e", "Pendulum-v1", "--conf-file", conf, "-f", logs)
    between_steps = cli(*train, *COMMON)
    assert between_steps.exit_code == 0, between_steps.output
    between_episodes = cli(*train, *COMMON, "--updates-between-episodes")
    assert between_episodes.exit_code == 0, between_episodes.output
    steps_run, episodes_run = logs / "sac" / "Pendulum-v1_1", logs / "sac" / "Pendulum-v1_2"

    # the same number of gradient updates (100: steps 51 to 150), placed differently
    assert _n_updates(steps_run / "Pendulum-v1.zip") == 100
    assert _n_updates(episodes_run / "Pendulum-v1.zip") == 100
    steps_overruns = int(float(_last_row(steps_run)["rollout/overruns"]))
    episodes_overruns = int(float(_last_row(episodes_run)["rollout/overruns"]))
    # an update between two control steps makes that step late: most of the 100 are
    assert steps_overruns >= 50, (steps_overruns, episodes_overruns)
    # between episodes, updates never delay a step (an env step is well under 2 ms of work)
    assert episodes_overruns <= steps_overruns // 4, (steps_overruns, episodes_overruns)
    assert float(_last_row(episodes_run)["time/control_period_ms"]) == pytest.approx(5.0, abs=1.0)

    # recorded, so that resume, enjoy and a reader of the run see it
    args = yaml.safe_load((episodes_run / "Pendulum-v1" / "args.yml").read_text())
    config = yaml.safe_load((episodes_run / "Pendulum-v1" / "config.yml").read_text())
    assert args["updates_between_episodes"] is True
    assert config["train_freq"] == [1, "episode"]
    assert config["gradient_steps"] == -1
    replay = cli("enjoy", episodes_run, "--no-render", "-n", "60", "--seed", "1")
    assert replay.exit_code == 0, replay.output
    assert "Episode 1" in replay.output


def test_updates_between_episodes_resume_keeps_them(cli, tmp_path):
    conf = tmp_path / "light.yml"
    conf.write_text(HEAVY_SAC.replace("[256, 256]", "[16]").replace("512", "32"))
    logs = tmp_path / "logs"
    base = ("train", "-a", "sac", "-e", "Pendulum-v1", "--conf-file", conf, "-f", logs)
    first = cli(*base, *COMMON, "--updates-between-episodes", "-n", "100", "--save-freq", "50")
    assert first.exit_code == 0, first.output
    run = logs / "sac" / "Pendulum-v1_1"
    assert _n_updates(run / "Pendulum-v1.zip") == 50  # after the second episode only
    resumed = cli("train", "--resume", run, "-n", "200", "--updates-between-episodes")
    assert resumed.exit_code == 0, resumed.output
    assert _n_updates(run / "Pendulum-v1.zip") == 150  # then after episodes 3 and 4


def test_bad_real_time_requests_are_user_errors(cli, tiny_conf, tmp_path):
    logs = tmp_path / "logs"
    base = ("train", "-e", "Pendulum-v1", "-f", logs, "--eval-freq", "-1")
    tiny = ("--conf-file", tiny_conf)
    message = _user_error(cli(*base, *tiny, "-a", "ppo", "--updates-between-episodes"))
    assert "--updates-between-episodes applies to off-policy algorithms" in message
    assert "not ppo" in message
    message = _user_error(
        cli(*base, *tiny, "-a", "sac", "--updates-between-episodes", "-params", "train_freq:4")
    )
    assert "contradicts -params train_freq:4" in message
    message = _user_error(
        cli(*base, *tiny, "-a", "sac", "--updates-between-episodes", "-params", "n_envs:2")
    )
    assert "needs one training env" in message and "n_envs: 2" in message

    bad = tmp_path / "bad.yml"
    bad.write_text(
        TINY_PENDULUM
        + "  env_wrapper:\n    - rlzoo_real.envs.realtime.RealTime: {frequency_hz: 0}\n"
    )
    message = _user_error(cli(*base, "-a", "sac", "--conf-file", bad))
    assert "frequency_hz must be a positive number" in message and "got 0" in message

    several = tmp_path / "several.yml"  # envs stepped in turn in one process, each sleeping
    several.write_text(
        TINY_PENDULUM + "  n_envs: 2\n  env_wrapper:\n    - RealTime: {frequency_hz: 50}\n"
    )
    message = _user_error(cli(*base, "-a", "sac", "--conf-file", several))
    assert "n_envs 2 and --vec-env dummy" in message and "--vec-env subproc" in message
    assert not list(logs.glob("*/Pendulum-v1_*"))  # no run folder left behind


TINY_PENDULUM = """\
Pendulum-v1:
  n_timesteps: 200
  policy: MlpPolicy
  learning_starts: 100
  batch_size: 32
  policy_kwargs: "dict(net_arch=[16])"
"""
