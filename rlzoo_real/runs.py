"""The log tree: where every file of a run lives, and how run ids are taken.

``train``, ``enjoy``, ``plot`` and ``tune`` all go through this module, so they
agree on the layout (compatible with the RL Zoo)::

    logs/<algo>/<env>_<N>/
        0.monitor.csv ...  evaluations.npz  best_model.zip  <env>.zip
        rl_model_<steps>_steps.zip ...
        <env>/args.yml  <env>/config.yml  <env>/command.txt
        <env>/vecnormalize.pkl  <env>/manifest.yml
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "RunFolder",
    "create_run_folder",
    "env_folder_name",
    "latest_run_id",
    "read_yaml",
    "write_text_atomic",
    "write_yaml_atomic",
]


def env_folder_name(env_id: str) -> str:
    """The env id as used in folder and file names (``ALE/Pong-v5`` -> ``ALE-Pong-v5``)."""
    return env_id.replace("/", "-").replace(":", "-")


@dataclass(frozen=True)
class RunFolder:
    """The paths of one run folder ``<log_folder>/<algo>/<env>_<N>[_<uuid>]``."""

    path: Path
    env_id: str

    @property
    def name(self) -> str:
        return env_folder_name(self.env_id)

    @property
    def params_dir(self) -> Path:
        """``<run>/<env>/``: args, config, command, manifest and normalization stats."""
        return self.path / self.name

    @property
    def args_file(self) -> Path:
        return self.params_dir / "args.yml"

    @property
    def config_file(self) -> Path:
        return self.params_dir / "config.yml"

    @property
    def command_file(self) -> Path:
        return self.params_dir / "command.txt"

    @property
    def manifest_file(self) -> Path:
        return self.params_dir / "manifest.yml"

    @property
    def vecnormalize_file(self) -> Path:
        return self.params_dir / "vecnormalize.pkl"

    @property
    def best_vecnormalize_file(self) -> Path:
        return self.params_dir / "vecnormalize_best.pkl"

    @property
    def final_model(self) -> Path:
        return self.path / f"{self.name}.zip"

    @property
    def best_model(self) -> Path:
        return self.path / "best_model.zip"

    @property
    def evaluations(self) -> Path:
        return self.path / "evaluations.npz"

    def checkpoints(self) -> dict[int, Path]:
        """Checkpoint models by step, ``rl_model_<steps>_steps.zip``."""
        found = {}
        for path in self.path.glob("rl_model_*_steps.zip"):
            match = re.fullmatch(r"rl_model_(\d+)_steps\.zip", path.name)
            if match:
                found[int(match.group(1))] = path
        return dict(sorted(found.items()))


def latest_run_id(log_path: Path, env_id: str) -> int:
    """The highest ``N`` among ``<log_path>/<env>_<N>[_<uuid>]`` folders, 0 when there are none."""
    prefix = env_folder_name(env_id)
    pattern = re.compile(rf"{re.escape(prefix)}_(\d+)(_[0-9a-f\-]{{36}})?")
    best = 0
    if log_path.is_dir():
        for child in log_path.iterdir():
            match = pattern.fullmatch(child.name)
            if match and child.is_dir():
                best = max(best, int(match.group(1)))
    return best


def create_run_folder(log_folder: Path, algo: str, env_id: str, *, suffix: str = "") -> RunFolder:
    """Create a new run folder and return it.

    The id ``N`` is taken atomically: ``os.mkdir`` fails when the folder exists, so
    processes started at the same moment each end up with their own ``N``.
    """
    log_path = log_folder / algo
    log_path.mkdir(parents=True, exist_ok=True)
    run_id = latest_run_id(log_path, env_id) + 1
    while True:
        path = log_path / f"{env_folder_name(env_id)}_{run_id}{suffix}"
        try:
            path.mkdir()
        except FileExistsError:
            run_id += 1
            continue
        run = RunFolder(path, env_id)
        run.params_dir.mkdir()
        return run


def write_yaml_atomic(path: Path, data: Any) -> None:
    """Write ``data`` with ``yaml.safe_dump`` to a temporary file, then rename it into place."""
    import yaml

    text = yaml.safe_dump(data, sort_keys=False, default_flow_style=False)
    write_text_atomic(path, text)


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that a reader sees the old file or the new one, never half."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_yaml(path: Path) -> Any:
    """Read a YAML file written by :func:`write_yaml_atomic`."""
    import yaml

    return yaml.safe_load(path.read_text())
