"""The README's Python examples run as they are written, in a temporary folder.

Every fenced ``python`` block of README.md runs, in order of the file, in a fresh namespace
with a temporary folder as the working directory, except a block right after a
``<!-- readme-test: skip ... -->`` line (code that needs the reader's hardware). The examples
are written to be cheap (CartPole-v1 and a tiny env, a few hundred steps)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import REPO

_BLOCK = re.compile(r"(?P<before>[^\n]*)\n```python\n(?P<code>.*?)\n```", re.DOTALL)

#: a stand-in for the reader's robot, importable as ``my_robot`` from the example's folder
_MY_ROBOT = "from tests.user_envs import LineWalk\n\n\nclass RobotEnv(LineWalk):\n    pass\n"


def _blocks() -> list[tuple[int, str]]:
    text = (REPO / "README.md").read_text()
    found = []
    for match in _BLOCK.finditer(text):
        if "readme-test: skip" in match.group("before"):
            continue
        line = text.count("\n", 0, match.start("code")) + 1
        found.append((line, match.group("code")))
    return found


def test_the_readme_has_python_examples() -> None:
    assert len(_blocks()) >= 2


@pytest.mark.parametrize(
    ("line", "code"), _blocks(), ids=lambda v: f"line{v}" if isinstance(v, int) else ""
)
def test_readme_example_runs(
    line: int, code: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "my_robot.py").write_text(_MY_ROBOT)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    namespace: dict[str, object] = {"__name__": f"readme_line_{line}"}
    exec(compile(code, f"README.md:{line}", "exec"), namespace)  # noqa: S102 - our own README
