"""Shared fixtures: the CLI as a user types it, and small hyperparameter files."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("WANDB_SILENT", "true")
os.environ.setdefault("MPLBACKEND", "Agg")

REPO = Path(__file__).resolve().parents[1]

#: Tiny entries that train in a second or two.
TINY_YAML = """\
CartPole-v1:
  n_envs: 2
  n_timesteps: 512
  policy: MlpPolicy
  n_steps: 64
  batch_size: 64
  n_epochs: 2
  learning_rate: lin_0.001
  policy_kwargs: "dict(net_arch=[16], activation_fn=nn.Tanh)"
Pendulum-v1:
  n_timesteps: 400
  policy: MlpPolicy
  learning_starts: 100
  batch_size: 32
  buffer_size: 5000
  normalize: "dict(norm_obs=True, norm_reward=False)"
  policy_kwargs: "dict(net_arch=[16])"
"""


@pytest.fixture
def tiny_conf(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yml"
    path.write_text(TINY_YAML)
    return path


@pytest.fixture
def cli() -> Callable[..., object]:
    """Run ``realzoo`` in-process through typer's CliRunner, Zoo-style argv included."""
    from typer.testing import CliRunner

    from rlzoo_real.cli import app
    from rlzoo_real.cli._argv import expand_multi_value_options

    runner = CliRunner()

    def invoke(*args: str) -> object:
        return runner.invoke(app, expand_multi_value_options([str(a) for a in args]))

    return invoke


def run_realzoo(*args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run ``python -m rlzoo_real`` as a real process."""
    return subprocess.run(
        [sys.executable, "-m", "rlzoo_real", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
