"""Shared fixtures: the CLI as a user types it, small hyperparameter files, and processes.

Tests that start processes take the ``processes`` fixture, which reaps every one of them
when the test ends, failed or not; tests that wait for another process use
:func:`wait_for` (poll a condition with a generous deadline), never a fixed sleep.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import pytest

os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("WANDB_SILENT", "true")
os.environ.setdefault("MPLBACKEND", "Agg")
# One thread per process: each xdist worker (and each realzoo process a test starts) gets one
# of the machine's cores; torch's and BLAS's default of one thread per core oversubscribed a
# 2-core machine several times over (TRAPS.md: ten times slower PPO). Set before torch loads.
for _variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

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


T = TypeVar("T")

#: Seconds a test waits for another process to reach a state (a busy machine is slow).
WAIT_S = 240.0


def wait_for(
    condition: Callable[[], T],
    what: str,
    *,
    timeout: float = WAIT_S,
    process: subprocess.Popen[Any] | None = None,
    interval: float = 0.1,
) -> T:
    """Poll ``condition`` until it returns something true, and return that.

    Fails the test (naming ``what``) after ``timeout`` seconds, or at once when ``process``
    ends first: then the condition can no longer come true.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if process is not None and process.poll() is not None:
            raise AssertionError(f"the process ended (exit {process.returncode}) before {what}")
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


class Processes:
    """Starts a test's processes and reaps them all at its end, also when the test fails.

    Each process starts in a session of its own (a terminal's Ctrl-C reaches only pytest);
    at the end one still running gets SIGTERM (so it stops its own workers), then, if it
    has not ended within a minute, SIGKILL for its whole process group. Its pipes are
    drained and closed: nothing is left to warn about later, in another test.
    """

    def __init__(self) -> None:
        self.started: list[subprocess.Popen[Any]] = []

    def start(
        self, command: Sequence[str | os.PathLike[str]], **kwargs: Any
    ) -> subprocess.Popen[Any]:
        kwargs["start_new_session"] = True  # reap() signals its process group
        process = subprocess.Popen([str(word) for word in command], **kwargs)
        self.started.append(process)
        return process

    def reap(self) -> None:
        for process in self.started:
            if process.poll() is None:
                _signal_group(process, signal.SIGTERM, group=False)
                try:
                    process.communicate(timeout=60)
                except subprocess.TimeoutExpired:
                    _signal_group(process, signal.SIGKILL, group=True)
                    process.communicate(timeout=60)
            for stream in (process.stdin, process.stdout, process.stderr):
                if stream is not None:
                    stream.close()


def _signal_group(process: subprocess.Popen[Any], signum: int, *, group: bool) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if group:
            os.killpg(process.pid, signum)  # its own session: the group id is its pid
        else:
            process.send_signal(signum)


@pytest.fixture
def processes() -> Iterator[Processes]:
    """Start processes with ``processes.start([...], **popen_kwargs)``; all are reaped."""
    started = Processes()
    try:
        yield started
    finally:
        started.reap()


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


def quiet_train(algo: str, env: str, conf: Path, folder: Path, *extra: object) -> list[object]:
    """The words of ``realzoo train`` on a small table, without evaluations or output.

    ``conf`` is the hyperparameter file (e.g. the ``tiny_conf`` fixture), ``folder`` the log
    folder; ``extra`` are more words (``"-n", "400"``, ``"--seed", "1"``). For ``cli(...)``,
    ``run_realzoo(...)`` or, after ``sys.executable, "-m", "rlzoo_real"``, a process.
    """
    return [
        "train", "-a", algo, "-e", env, "--conf-file", conf, "-f", folder,
        "--eval-freq", "-1", "--verbose", "0", *extra,
    ]  # fmt: skip


def run_realzoo(*args: str, cwd: Path, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    """Run ``python -m rlzoo_real`` as a real process."""
    return subprocess.run(
        [sys.executable, "-m", "rlzoo_real", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
