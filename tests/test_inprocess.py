"""The in-process runner of ``realzoo`` commands (tests/inprocess.py): a crash looks as it
would from a process, and what a command changes in the interpreter is put back."""

from __future__ import annotations

import logging
import os
import signal
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.inprocess import run_cli
from tests.zoo_examples import EXAMPLES


def test_a_user_mistake_is_its_exit_status_and_message(tmp_path: Path) -> None:
    done = run_cli(["runs", "-f", tmp_path / "nothing"], cwd=tmp_path)
    assert done.returncode == 2 and done.stdout == ""
    assert "nothing" in done.stderr and "Traceback" not in done.stderr


def test_a_crash_is_exit_1_with_its_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import rlzoo_real.plotting.overview as overview

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a bug, not a user mistake")

    monkeypatch.setattr(overview, "list_runs", broken)
    done = run_cli(["runs", "-f", tmp_path], cwd=tmp_path)
    assert done.returncode == 1
    assert "Traceback (most recent call last)" in done.stderr
    assert "RuntimeError: a bug, not a user mistake" in done.stderr


def test_what_a_command_changes_is_put_back(tmp_path: Path) -> None:
    """A --gym-packages module from an extra path: imported, registered, dropped after."""
    import gymnasium
    import torch

    before = (
        os.getcwd(), dict(os.environ), list(sys.path), torch.get_num_threads(),
        signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM),
        list(logging.getLogger().handlers),
    )  # fmt: skip
    sys.modules.pop("zoo_test_env", None)
    (tmp_path / "conf.yml").write_text(
        "ZooSuiteCoin-v0:\n  policy: MlpPolicy\n  n_timesteps: 64\n  n_steps: 32\n"
        "  batch_size: 32\n  n_epochs: 1\n"
    )
    done = run_cli(
        ["train", "-a", "ppo", "-e", "ZooSuiteCoin-v0", "--gym-packages", "zoo_test_env",
         "-conf", "conf.yml", "-f", "logs", "--eval-freq", "-1", "--num-threads", "2"],
        cwd=tmp_path, extra_path=[EXAMPLES],
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "logs" / "ppo" / "ZooSuiteCoin-v0_1" / "ZooSuiteCoin-v0.zip").is_file()
    after = (
        os.getcwd(), dict(os.environ), list(sys.path), torch.get_num_threads(),
        signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM),
        list(logging.getLogger().handlers),
    )  # fmt: skip
    assert after == before
    assert "zoo_test_env" not in sys.modules and "zoo_test_env.coin_env" not in sys.modules
    assert "ZooSuiteCoin-v0" not in gymnasium.envs.registry
