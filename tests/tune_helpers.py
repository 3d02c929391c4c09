"""Helpers for the realzoo tune tests: trials that fail on purpose, journal readers."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path
from typing import Any

from stable_baselines3.common.callbacks import BaseCallback

from tests.conftest import REPO, Processes, wait_for

#: A tiny PPO entry on CartPole-v1 (a trial of 512 steps takes well under a second).
TINY_PPO = """\
CartPole-v1:
  n_envs: 2
  n_timesteps: 512
  policy: MlpPolicy
  n_steps: 64
  batch_size: 64
  n_epochs: 2
  learning_rate: 0.001
  policy_kwargs: "dict(net_arch=[16], activation_fn=nn.Tanh)"
"""

#: A narrowed search space: only values that keep trials tiny and fast.
TINY_SPACE = """\
base: none
learning_rate: {low: 1e-4, high: 1e-2, scale: log}
gamma: {low: 0.9, high: 0.999, scale: one_minus_log}
n_epochs: {choices: [1, 2]}
"""


class FailBySeed(BaseCallback):
    """Breaks a trial on purpose, chosen by its seed (trial seeds are seed + trial number).

    ``seed % 3 == nan_at``: fills the policy's weights with NaN (training diverges);
    ``seed % 3 == raise_at``: raises a RuntimeError; otherwise the run trains normally.
    """

    def __init__(self, nan_at: int = 1, raise_at: int = 2) -> None:
        super().__init__()
        self.nan_at = nan_at
        self.raise_at = raise_at

    def _on_step(self) -> bool:
        import torch

        case = (self.model.seed or 0) % 3
        if self.n_calls == 3 and case == self.raise_at:
            raise RuntimeError("injected failure for the test")
        if self.n_calls == 3 and case == self.nan_at:
            with torch.no_grad():
                for parameter in self.model.policy.parameters():
                    parameter.fill_(math.nan)
        return True


def load_trials(study_folder: Path, name: str | None = None) -> list[Any]:
    """The trials of the journal study in ``study_folder`` (its ``study.log``)."""
    trials = trials_so_far(study_folder, name)
    assert trials is not None, f"no study {name or study_folder.name} in {study_folder}"
    return trials


def trials_so_far(study_folder: Path, name: str | None = None) -> list[Any] | None:
    """The trials of the study, or None while a running ``realzoo tune`` has not made it yet.

    For polling: the journal file exists a moment before the study's first record (loading
    the study then is a KeyError), and a record being appended is skipped until complete.
    """
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    journal = study_folder / "study.log"
    if not journal.is_file():
        return None
    storage = JournalStorage(JournalFileBackend(str(journal)))
    try:
        study = optuna.load_study(study_name=name or study_folder.name, storage=storage)
    except KeyError:
        return None
    return list(study.get_trials(deepcopy=False))


def make_tiny(tmp_path: Path) -> dict[str, Path]:
    """A tiny entry, a narrowed search space and a log folder in ``tmp_path``."""
    conf, space = tmp_path / "tiny.yml", tmp_path / "space.yml"
    conf.write_text(TINY_PPO)
    space.write_text(TINY_SPACE)
    return {"conf": conf, "space": space, "logs": tmp_path / "logs"}


def tune_args(tiny: dict[str, Path], *extra: object) -> list[str]:
    """A tiny PPO/CartPole study: 512 steps per trial, 2 evaluations of 2 episodes."""
    return [
        "tune",
        "-a",
        "ppo",
        "-e",
        "CartPole-v1",
        "--conf-file",
        str(tiny["conf"]),
        "--search-space",
        str(tiny["space"]),
        "-f",
        str(tiny["logs"]),
        "--n-evaluations",
        "2",
        "--eval-episodes",
        "2",
        *map(str, extra),
    ]


def realzoo(*args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rlzoo_real", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def start_realzoo(processes: Processes, *args: str) -> subprocess.Popen[str]:
    """``python -m rlzoo_real ARGS`` started (reaped by the ``processes`` fixture)."""
    return processes.start(
        [sys.executable, "-m", "rlzoo_real", *args],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_running_trial(folder: Path, process: subprocess.Popen[str]) -> Any:
    """A trial RUNNING in the study's journal with its worker's pid recorded."""

    def running() -> Any:
        for trial in trials_so_far(folder) or []:
            if trial.state.name == "RUNNING" and {"pid", "config"} <= trial.user_attrs.keys():
                return trial
        return None

    return wait_for(running, f"a running trial in {folder}", process=process, interval=0.2)


def assert_one_paragraph_error(output: str, message: str) -> None:
    """The refusal is one paragraph that says what is wrong, and nothing else is printed."""
    text = output.strip()
    assert text.startswith("Error: ") and message in text, output
    assert "\n\n" not in text and "Traceback" not in text, output
