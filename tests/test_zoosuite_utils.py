"""The RL Zoo's ``tests/test_utils.py`` (``parse_normalize_kwargs``) and
``tests/test_wrappers.py::test_linear_schedule``, translated into realzoo commands.

The Zoo tests its helper functions directly; here the same values go into a hyperparameter
file that ``realzoo train`` reads (run through the app, isolated as a new process would
be: ``zoo_command``), and the test checks what the run did.
"""

from __future__ import annotations

import csv
import pickle

import pytest

from tests.zoo_examples import ok, zoo_command

NORMALIZE = {
    "literal-dict": "\"{'norm_obs': True, 'norm_reward': False}\"",
    "dict-call": '"dict(norm_obs=True, norm_reward=False)"',
}


def _conf(tmp_path, normalize: str):
    conf = tmp_path / "normalize.yml"
    conf.write_text(
        "Pendulum-v1:\n  policy: MlpPolicy\n  n_timesteps: 64\n  n_steps: 32\n"
        f"  normalize: {normalize}\n"
    )
    return conf


@pytest.mark.parametrize("form", NORMALIZE)
def test_parse_normalize_kwargs(tmp_path, form):
    """tests/test_utils.py::test_parse_normalize_kwargs_literal_dict and
    ::test_parse_normalize_kwargs_dict_call: normalize given as a string, both forms."""
    conf = _conf(tmp_path, NORMALIZE[form])
    cmd = f"realzoo train --algo a2c --env Pendulum-v1 -f {tmp_path} -conf {conf} --eval-freq -1"
    ok(zoo_command(cmd, cwd=tmp_path))
    stats = tmp_path / "a2c" / "Pendulum-v1_1" / "Pendulum-v1" / "vecnormalize.pkl"
    with open(stats, "rb") as file:
        vec_normalize = pickle.load(file)  # noqa: S301 - a file this test's run just wrote
    assert vec_normalize.norm_obs is True and vec_normalize.norm_reward is False


def test_parse_normalize_kwargs_rejects_function_calls(tmp_path):
    """tests/test_utils.py::test_parse_normalize_kwargs_rejects_function_calls.

    The Zoo raises ValueError; realzoo's answer to a user's file is one paragraph naming the
    file, entry, key and value, exit 2, and no run folder; the call never runs.
    """
    witness = tmp_path / "rl-zoo-eval"
    conf = _conf(tmp_path, f"\"os.system('touch {witness}')\"")
    cmd = f"realzoo train --algo a2c --env Pendulum-v1 -f {tmp_path} -conf {conf} --eval-freq -1"
    done = zoo_command(cmd, cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    message = " ".join(done.stderr.split())
    assert "Traceback" not in message
    assert str(conf) in message and "[Pendulum-v1]" in message and "normalize" in message
    assert "os.system" in message and "not accepted" in message
    assert not witness.exists()
    assert not (tmp_path / "a2c").exists()


def test_linear_schedule(tmp_path):
    """tests/test_wrappers.py::test_linear_schedule: lin_<value> falls linearly to 0.

    The Zoo checks linear_schedule(100) at progress 1, 0.5 and 0; here a run's logged
    learning rates follow initial * progress_remaining, rollout by rollout.
    """
    conf = tmp_path / "schedule.yml"
    conf.write_text(
        "CartPole-v1:\n  policy: MlpPolicy\n  n_timesteps: 512\n  n_envs: 1\n  n_steps: 128\n"
        "  batch_size: 64\n  n_epochs: 1\n  learning_rate: lin_0.001\n"
    )
    cmd = f"realzoo train --algo ppo --env CartPole-v1 -f {tmp_path} -conf {conf} --eval-freq -1"
    ok(zoo_command(cmd, cwd=tmp_path))
    with open(tmp_path / "ppo" / "CartPole-v1_1" / "progress.csv", newline="") as file:
        rows = [r for r in csv.DictReader(file) if r.get("train/learning_rate")]
    rates = [float(r["train/learning_rate"]) for r in rows]
    # PPO sets the rate from the progress left after each 128-step rollout; SB3 writes an
    # update's values with the next row, so the rows hold the first three updates' rates
    assert rates == pytest.approx([0.001 * left for left in (0.75, 0.5, 0.25)], rel=1e-6)
