"""What is needed to reproduce a run: package versions, git state, host, times.

Written to ``<run>/<env>/manifest.yml`` when a run starts and updated when it ends.
"""

from __future__ import annotations

import os
import platform
import socket
import subprocess
import sys
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = ["git_state", "now_iso", "package_versions", "start_manifest"]

_PACKAGES = (
    "rlzoo-real",
    "stable-baselines3",
    "sb3-contrib",
    "gymnasium",
    "torch",
    "numpy",
    "optuna",
    "pyyaml",
    "wandb",
    "mujoco",
    "box2d",
    "sbx-rl",
    "jax",
)


def now_iso() -> str:
    """The current time, UTC, ISO 8601."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def package_versions() -> dict[str, str]:
    """Installed versions of the packages a run depends on (absent ones left out)."""
    versions = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def git_state(cwd: Path) -> dict[str, Any]:
    """The git commit of ``cwd`` and whether its tree has uncommitted changes (None outside git)."""

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10, check=False
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    if commit is None:
        return {"commit": None, "dirty": None}
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": bool(status) if status is not None else None}


def start_manifest(*, seed: int, num_threads: int, device: str, cwd: Path) -> dict[str, Any]:
    """The manifest of a run that is starting now."""
    return {
        "status": "running",
        "seed": seed,
        "num_threads": num_threads,
        "device": device,
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "platform": platform.platform(),
        "argv": list(sys.argv),
        "cwd": str(cwd),
        "git": git_state(cwd),
        "versions": package_versions(),
        "start_time": now_iso(),
        "end_time": None,
        "exit_code": None,
        "num_timesteps": 0,
    }
