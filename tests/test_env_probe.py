"""One env probe per run: the env is made once before the run's own envs exist.

A counting env (registered here) records every construction; a run with ``--algo sac``,
``--algo ppo`` or ``--algo openloop`` must make exactly one env while it is checked
(before any run folder exists), and only its own training and evaluation envs after that.
On a robot each creation is a connection, so this number is what a user would notice.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import gymnasium as gym
import pytest
from gymnasium.envs.classic_control.cartpole import CartPoleEnv
from gymnasium.envs.classic_control.pendulum import PendulumEnv

from rlzoo_real.errors import UserError
from rlzoo_real.train.request import TrainArgs, prepare


class _Counted:
    made: ClassVar[list[str]] = []

    def _count(self) -> None:
        _Counted.made.append(type(self).__name__)


class CountingPendulum(PendulumEnv, _Counted):
    def __init__(self, **kwargs: Any) -> None:
        self._count()
        super().__init__(**kwargs)


class CountingCartPole(CartPoleEnv, _Counted):
    def __init__(self, **kwargs: Any) -> None:
        self._count()
        super().__init__(**kwargs)


def _counting_swimmer(**kwargs: Any) -> Any:
    from gymnasium.envs.mujoco.swimmer_v5 import SwimmerEnv

    _Counted.made.append("CountingSwimmer")
    return SwimmerEnv(**kwargs)


_IDS = {
    "CountingPendulum-v0": (CountingPendulum, 200),
    "CountingCartPole-v0": (CountingCartPole, 500),
    "CountingSwimmer-v0": (_counting_swimmer, 1000),
}
for _id, (_entry, _steps) in _IDS.items():
    if _id not in gym.registry:
        gym.register(_id, entry_point=_entry, max_episode_steps=_steps)

_TABLE = """\
CountingPendulum-v0:
  n_timesteps: 200
  policy: MlpPolicy
  learning_starts: 50
  batch_size: 16
  policy_kwargs: "dict(net_arch=[8])"
CountingCartPole-v0:
  n_envs: 2
  n_timesteps: 128
  policy: MlpPolicy
  n_steps: 64
  batch_size: 64
  n_epochs: 1
  policy_kwargs: "dict(net_arch=[8])"
CountingSwimmer-v0:
  n_timesteps: 2000
  policy: MlpPolicy
"""


@pytest.fixture(autouse=True)
def _fresh_count() -> None:
    _Counted.made.clear()


def _args(tmp_path: Path, algo: str, env: str, *, table: str = _TABLE, **kwargs: Any) -> TrainArgs:
    conf = tmp_path / "conf.yml"
    conf.write_text(table)
    return TrainArgs(
        algo=algo,
        env=env,
        conf_file=str(conf),
        log_folder=str(tmp_path / "logs"),
        seed=0,
        verbose=0,
        **kwargs,
    )


def _count_run(args: TrainArgs) -> tuple[int, int]:
    """(creations while the request is checked, creations before the first training step)."""
    from stable_baselines3.common.callbacks import BaseCallback

    from rlzoo_real.train.run import train

    seen: dict[str, int] = {}

    class AtStart(BaseCallback):
        def _on_training_start(self) -> None:
            seen["start"] = len(_Counted.made)

        def _on_step(self) -> bool:
            return True

    prepare(args)
    checked = len(_Counted.made)
    _Counted.made.clear()
    train(args, extra_callbacks=[AtStart()])
    return checked, seen["start"]


@pytest.mark.parametrize(
    ("algo", "env", "n_envs"),
    [("sac", "CountingPendulum-v0", 1), ("ppo", "CountingCartPole-v0", 2)],
)
def test_one_probe_before_the_run_envs(tmp_path, algo, env, n_envs):
    """Plain run: one creation to check, then n_envs training envs and one evaluation env."""
    checked, before_first_step = _count_run(
        _args(tmp_path, algo, env, eval_freq=100, eval_episodes=1)
    )
    assert checked == 1
    # the same probe inside train(), then the run's own envs: n_envs + 1 evaluation env
    assert before_first_step == 1 + n_envs + 1


def test_one_probe_with_wrappers_and_no_evaluation(tmp_path):
    """An env_wrapper list is checked on the same probe env; without evaluation no eval env."""
    args = _args(
        tmp_path,
        "sac",
        "CountingPendulum-v0",
        eval_freq=0,
        hyperparams=["env_wrapper:[{'LowPassFilter': {'alpha': 0.5}}]"],
    )
    checked, before_first_step = _count_run(args)
    assert checked == 1
    assert before_first_step == 2  # the probe and the one training env


def test_eval_kwargs_equal_to_training_share_the_probe(tmp_path):
    same = _args(
        tmp_path, "sac", "CountingPendulum-v0", env_kwargs=["g:9.0"], eval_env_kwargs=["g:9.0"]
    )
    prepare(same)
    assert len(_Counted.made) == 1


def test_other_eval_kwargs_get_a_second_probe_and_are_checked(tmp_path):
    """Different evaluation kwargs need their own env: two creations, and bad ones fail."""
    args = _args(tmp_path, "sac", "CountingPendulum-v0", eval_env_kwargs=["g:5.0"])
    prepare(args)
    assert len(_Counted.made) == 2
    bad = _args(tmp_path, "sac", "CountingPendulum-v0", eval_env_kwargs=["gravity:5.0"])
    with pytest.raises(UserError, match="gravity"):
        prepare(bad)
    assert not (tmp_path / "logs").exists()


def test_bad_env_kwargs_and_wrapper_values_still_fail_before_any_folder(tmp_path):
    with pytest.raises(UserError, match="Could not create and step"):
        prepare(_args(tmp_path, "sac", "CountingPendulum-v0", env_kwargs=["gravity:5.0"]))
    wrapper = "env_wrapper:[{'LowPassFilter': {'alpha': 7.0}}]"
    with pytest.raises(UserError, match="LowPassFilter"):
        prepare(_args(tmp_path, "sac", "CountingPendulum-v0", hyperparams=[wrapper]))
    assert not (tmp_path / "logs").exists()


def test_openloop_is_checked_on_the_same_probe(tmp_path):
    pytest.importorskip("mujoco")
    prepare(_args(tmp_path, "openloop", "CountingSwimmer-v0"))
    assert _Counted.made == ["CountingSwimmer"]
    with pytest.raises(UserError, match="openloop cannot drive"):
        table = "CountingPendulum-v0:\n  n_timesteps: 100\n  policy: MlpPolicy\n"
        prepare(_args(tmp_path, "openloop", "CountingPendulum-v0", table=table))
    assert len(_Counted.made) == 2  # one more: the refused env's own probe


@pytest.mark.slow
def test_openloop_run_counts(tmp_path):
    pytest.importorskip("mujoco")
    checked, before_first_step = _count_run(
        _args(tmp_path, "openloop", "CountingSwimmer-v0", eval_freq=1000, eval_episodes=1)
    )
    assert checked == 1
    assert before_first_step == 1 + 1 + 1
