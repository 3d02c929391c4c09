"""The RL Zoo's ``tests/test_callbacks.py``, translated command for command into realzoo.

``test_raw_stat_callback`` is a command; ``test_get_callback`` calls the Zoo's
``get_callback_list`` on a ``callback`` value: here each value goes into a hyperparameter
file that ``realzoo train`` reads, and the test checks what the callbacks did.

``test_get_callback[callback3]`` passes a callback *object*; a YAML file cannot hold one, so
its translation is a Python table (``tests/zoo_examples/python_objects.py``).
"""

from __future__ import annotations

import pytest

from tests.zoo_examples import ok, zoo_command


def _scalar_tags(folder) -> set[str]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    tags: set[str] = set()
    for events in folder.rglob("events.out.tfevents.*"):
        accumulator = EventAccumulator(str(events))
        accumulator.Reload()
        tags.update(accumulator.Tags()["scalars"])
    return tags


def test_raw_stat_callback(tmp_path):
    """tests/test_callbacks.py::test_raw_stat_callback."""
    pytest.importorskip("rl_zoo3")
    pytest.importorskip("tensorboard")
    cmd = (
        f"realzoo train -n 200 --algo ppo --env CartPole-v1 --log-folder {tmp_path} "
        f"--tensorboard-log {tmp_path} "
        "-params callback:\"'rl_zoo3.callbacks.RawStatisticsCallback'\""
    )
    ok(zoo_command(cmd, cwd=tmp_path))
    # the callback writes every episode's raw return and length next to SB3's means
    assert {"raw/rollouts/episodic_return", "raw/rollouts/episodic_length"} <= _scalar_tags(
        tmp_path
    )


CALLBACKS = {
    "none": None,
    "one-path": "    - rl_zoo3.callbacks.RawStatisticsCallback\n",
    "path-with-arguments-and-path": (
        "    - stable_baselines3.common.callbacks.StopTrainingOnMaxEpisodes:\n"
        "        max_episodes: 3\n"
        "    - rl_zoo3.callbacks.RawStatisticsCallback\n"
    ),
}


@pytest.mark.parametrize("callback", CALLBACKS)
def test_get_callback(tmp_path, callback):
    """tests/test_callbacks.py::test_get_callback[callback0-2]: None, a path, a list of a
    path with arguments and a path, as the callback entry of a file realzoo train reads."""
    pytest.importorskip("rl_zoo3")
    pytest.importorskip("tensorboard")
    conf = tmp_path / "callbacks.yml"
    # 512 steps: a random-ish CartPole policy ends dozens of episodes (the Zoo's 2000 took 4x)
    body = "CartPole-v1:\n  policy: MlpPolicy\n  n_timesteps: 512\n  n_steps: 32\n"
    if CALLBACKS[callback] is not None:
        body += "  callback:\n" + CALLBACKS[callback]
    conf.write_text(body)
    tb = tmp_path / "tb"
    cmd = (
        f"realzoo train --algo ppo --env CartPole-v1 -f {tmp_path} -conf {conf} "
        f"--tensorboard-log {tb} --eval-freq -1"
    )
    ok(zoo_command(cmd, cwd=tmp_path))
    monitor = (tmp_path / "ppo" / "CartPole-v1_1" / "0.monitor.csv").read_text().splitlines()
    episodes = len(monitor) - 2  # a JSON header line, then the column names
    if callback == "path-with-arguments-and-path":
        assert episodes == 3  # StopTrainingOnMaxEpisodes(max_episodes=3) ended the run
    else:
        assert episodes > 3  # 512 steps of a random-ish CartPole policy
    raw = "raw/rollouts/episodic_return" in _scalar_tags(tb)
    assert raw == (callback != "none")


def test_get_callback_object(tmp_path):
    """tests/test_callbacks.py::test_get_callback[callback3]: a callback instance.

    Differs on purpose: realzoo records every hyperparameter in config.yml as plain YAML, so
    that the run can be rebuilt without unpickling; an instance cannot be written there, so
    it is refused (exit 2, no run folder) and its dotted path with arguments asked for.
    """
    pytest.importorskip("rl_zoo3")
    cmd = (
        f"realzoo train --algo a2c --env CartPole-v1 -f {tmp_path} -conf python_objects "
        "--eval-freq -1"
    )
    done = zoo_command(cmd, cwd=tmp_path, examples_on_path=True)
    assert done.returncode == 2, done.stdout + done.stderr
    message = " ".join(done.stderr.split())
    assert "Traceback" not in message
    assert "[CartPole-v1]" in message and "StopTrainingOnMaxEpisodes" in message
    assert "dotted class path" in message
    assert not (tmp_path / "a2c").exists()
