"""The RL Zoo's test commands, run as realzoo processes, and the Zoo's example files.

``tests/test_zoosuite_*.py`` translate the RL Zoo's own test suite (DLR-RM/rl-baselines3-zoo,
``tests/``) command for command. This package holds what those commands need:

- :func:`zoo_command`: run a command line written as the Zoo's tests write theirs
  (``"realzoo train -n 100 --algo ppo ..."``, split with :func:`shlex.split`) through the
  app in the test's process, isolated as a new process would be (:mod:`tests.inprocess`),
  or, with ``process=True``, as a real ``python -m rlzoo_real`` process;
- ``ppo_config_example.py``: a hyperparameter table written in Python (``-conf``);
- ``zoo_test_env/``: a gym package that registers an env on import (``--gym-packages``)
  and carries its own Python table (``zoo_test_env.config``);
- ``pendulum_no_gravity.yml``: a YAML table whose entry sets ``env_kwargs``.
"""

from __future__ import annotations

import importlib.util
import os
import shlex
import subprocess
import sys
from pathlib import Path

#: This folder: put it on PYTHONPATH to import ``zoo_test_env`` or ``ppo_config_example``.
EXAMPLES = Path(__file__).resolve().parent


def zoo_command(
    command: str,
    *,
    cwd: Path,
    examples_on_path: bool = False,
    timeout: float = 600,
    process: bool = False,
) -> subprocess.CompletedProcess[str]:
    """Run ``command`` (a line starting with ``realzoo``) in ``cwd``.

    The line is split the way the Zoo's tests split theirs (``shlex.split``), so the quoting
    of ``-params`` values is the Zoo's. With ``examples_on_path`` this folder is put on
    ``PYTHONPATH`` (the Zoo's tests add ``tests/dummy_env`` the same way). The command runs
    in this process (:func:`tests.inprocess.run_cli`: the exit status, stdout and stderr a
    process would give, seconds of imports fewer), or with ``process`` as a real process
    (``timeout`` seconds at most).
    """
    words = shlex.split(command)
    assert words[0] == "realzoo", command
    if not process:
        from tests.inprocess import run_cli

        return run_cli(words[1:], cwd=cwd, extra_path=[EXAMPLES] if examples_on_path else [])
    env = dict(os.environ)
    if examples_on_path:
        env["PYTHONPATH"] = os.pathsep.join(p for p in (env.get("PYTHONPATH"), str(EXAMPLES)) if p)
    return subprocess.run(
        [sys.executable, "-m", "rlzoo_real", *words[1:]],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def zoo_hyperparams_dir() -> Path | None:
    """The ``hyperparams/`` folder of the installed rl_zoo3 package (None without it)."""
    spec = importlib.util.find_spec("rl_zoo3")
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent / "hyperparams"


def ok(done: subprocess.CompletedProcess[str]) -> str:
    """Assert exit status 0 and return stdout + stderr (shown in full when it fails)."""
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"exit {done.returncode}\n{output[-4000:]}"
    return output
