"""The RL Zoo's ``tests/test_wrappers.py``, translated into realzoo commands.

The Zoo's tests build wrapped envs in Python (``get_wrapper_class``, ``check_env``); their
realzoo translation writes the same ``env_wrapper`` / ``vec_env_wrapper`` values into a
hyperparameter file, trains with ``realzoo train`` (``zoo_command``) and checks the
observation space of the saved model, which shows every wrapper that was applied.

``test_get_wrapper[env_wrapper3]`` and ``test_get_vec_env_wrapper[vec_env_wrapper2]`` key
their wrappers by class *objects*, which a YAML file cannot hold: their translation reads a
Python table (``tests/zoo_examples/python_objects.py``). ``test_linear_schedule`` is in
``test_zoosuite_utils.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.zoo_examples import ok, zoo_command

ENV_ID = "Ant-v4"  # the Zoo's tests use it; gymnasium 1.x still registers it
ANT_OBS = 27  # Ant-v4's observation size (contact forces excluded)
ANT_ACT = 8


def _saved_obs_shape(tmp_path: Path, env_id: str) -> tuple[int, ...]:
    from stable_baselines3 import A2C

    model = A2C.load(tmp_path / "a2c" / f"{env_id}_1" / f"{env_id}.zip", device="cpu")
    return tuple(model.observation_space.shape)


def _train(tmp_path: Path, entry: str, *, n_steps: int = 16) -> tuple[int, ...]:
    """Train A2C for ``n_steps`` with ``entry`` added to a tiny Ant entry; the model's obs shape."""
    pytest.importorskip("mujoco")
    conf = tmp_path / "wrappers.yml"
    conf.write_text(
        f"{ENV_ID}:\n  policy: MlpPolicy\n  n_timesteps: {n_steps}\n  n_steps: 16\n{entry}"
    )
    cmd = f"realzoo train --algo a2c --env {ENV_ID} -f {tmp_path} -conf {conf} --eval-freq -1"
    ok(zoo_command(cmd, cwd=tmp_path))
    return _saved_obs_shape(tmp_path, ENV_ID)


def test_wrappers(tmp_path):
    """tests/test_wrappers.py::test_wrappers: four Zoo wrappers stacked on Ant."""
    pytest.importorskip("rl_zoo3")
    entry = (
        "  env_wrapper:\n"
        "    - rl_zoo3.wrappers.DelayedRewardWrapper\n"
        "    - rl_zoo3.wrappers.ActionNoiseWrapper\n"
        "    - rl_zoo3.wrappers.HistoryWrapper\n"
        "    - rl_zoo3.wrappers.TimeFeatureWrapper\n"
    )
    # HistoryWrapper (horizon 2) keeps 2 observations and 2 actions, TimeFeature adds one
    assert _train(tmp_path, entry, n_steps=64) == (2 * (ANT_OBS + ANT_ACT) + 1,)


WRAPPERS = {
    "none": ("", ANT_OBS),
    "one-with-arguments": (
        "  env_wrapper:\n    rl_zoo3.wrappers.HistoryWrapper:\n      horizon: 2\n",
        2 * (ANT_OBS + ANT_ACT),
    ),
    "list": (
        "  env_wrapper:\n"
        "    - rl_zoo3.wrappers.HistoryWrapper:\n        horizon: 3\n"
        "    - rl_zoo3.wrappers.TimeFeatureWrapper\n",
        3 * (ANT_OBS + ANT_ACT) + 1,
    ),
}


@pytest.mark.parametrize("wrapper", WRAPPERS)
def test_get_wrapper(tmp_path, wrapper):
    """tests/test_wrappers.py::test_get_wrapper[env_wrapper0-2] (None, one dict, a list)."""
    pytest.importorskip("rl_zoo3")
    entry, size = WRAPPERS[wrapper]
    assert _train(tmp_path, entry) == (size,)


VEC_WRAPPERS = {
    "none": ("", ANT_OBS),
    "one-with-arguments": (
        "  vec_env_wrapper:\n"
        "    stable_baselines3.common.vec_env.VecFrameStack:\n      n_stack: 2\n",
        2 * ANT_OBS,
    ),
    "list": (
        "  vec_env_wrapper:\n"
        "    - stable_baselines3.common.vec_env.VecFrameStack:\n        n_stack: 3\n"
        "    - stable_baselines3.common.vec_env.VecMonitor\n",
        3 * ANT_OBS,
    ),
}


@pytest.mark.parametrize("wrapper", VEC_WRAPPERS)
def test_get_vec_env_wrapper(tmp_path, wrapper):
    """tests/test_wrappers.py::test_get_vec_env_wrapper[vec_env_wrapper0, 1, 3]
    (None, one dict, a list of a dict and a path)."""
    entry, size = VEC_WRAPPERS[wrapper]
    assert _train(tmp_path, entry) == (size,)


def test_get_wrapper_class_key(tmp_path):
    """tests/test_wrappers.py::test_get_wrapper[env_wrapper3]: the HistoryWrapper class as key."""
    pytest.importorskip("rl_zoo3")
    pytest.importorskip("mujoco")
    cmd = f"realzoo train --algo a2c --env {ENV_ID} -f {tmp_path} -conf python_objects"
    ok(zoo_command(cmd + " --eval-freq -1", cwd=tmp_path, examples_on_path=True))
    assert _saved_obs_shape(tmp_path, ENV_ID) == (3 * (ANT_OBS + ANT_ACT) + 1,)


def test_get_vec_env_wrapper_class_key(tmp_path):
    """tests/test_wrappers.py::test_get_vec_env_wrapper[vec_env_wrapper2]: VecFrameStack class
    as key (on Pendulum-v1, 3 observations, in the Python table)."""
    pytest.importorskip("rl_zoo3")
    cmd = f"realzoo train --algo a2c --env Pendulum-v1 -f {tmp_path} -conf python_objects"
    ok(zoo_command(cmd + " --eval-freq -1", cwd=tmp_path, examples_on_path=True))
    assert _saved_obs_shape(tmp_path, "Pendulum-v1") == (2 * 3,)
