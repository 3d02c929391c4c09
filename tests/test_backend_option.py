"""``--backend`` on the read commands: a run trained with ``--algo sac --backend sbx``
(filed under ``logs/sac_sbx/``) is found by ``enjoy``, ``record``, ``export``, ``runs`` and
``plot`` with the same words ``train`` took, as ``--algo sac_sbx`` finds it."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

from tests.conftest import run_realzoo

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("sbx") is None, reason="the sbx extra is not installed"
)

_CONF = """\
Pendulum-v1:
  n_timesteps: 200
  policy: MlpPolicy
  learning_starts: 100
  batch_size: 32
  buffer_size: 2000
  policy_kwargs: "dict(net_arch=[16])"
"""


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One sac run trained with the JAX backend (a real process: JAX compiles once)."""
    root = tmp_path_factory.mktemp("sbx")
    (root / "sac.yml").write_text(_CONF)
    done = run_realzoo(
        "train", "-a", "sac", "-e", "Pendulum-v1", "--backend", "sbx",
        "--conf-file", root / "sac.yml", "-f", root / "logs", "--seed", "1",
        "--eval-freq", "100", "--eval-episodes", "1", "--verbose", "0",
        cwd=root,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert (root / "logs" / "sac_sbx" / "Pendulum-v1_1" / "Pendulum-v1.zip").is_file()
    return root / "logs"


def _words(logs: Path, *more: str) -> list[str]:
    return ["--algo", "sac", "-e", "Pendulum-v1", "-f", str(logs), *more]


def test_enjoy_finds_the_run_by_algo_and_backend(cli, logs):
    found = cli("enjoy", *_words(logs, "--backend", "sbx", "--no-render", "-n", "30"))
    assert found.exit_code == 0, found.output
    assert "sac on Pendulum-v1" in found.output
    assert re.search(r"Episode|steps", found.output), found.output
    missing = cli("enjoy", *_words(logs, "--no-render", "-n", "30"))  # sb3's sac: none here
    assert missing.exit_code == 2 and "No sac run on Pendulum-v1" in missing.output
    wrong = cli("enjoy", *_words(logs, "--backend", "jax", "--no-render"))
    assert wrong.exit_code == 2 and "Unknown backend 'jax'" in " ".join(wrong.output.split())


def test_exp_id_minus_one_looks_in_the_backend_folder(cli, logs, tmp_path):
    """The RL Zoo's --exp-id -1 (model in <folder>/<algo>/) names the sbx folder too."""
    result = cli("enjoy", *_words(tmp_path, "--backend", "sbx", "--exp-id", "-1", "--no-render"))
    assert result.exit_code == 2
    assert "sac_sbx" in " ".join(result.output.split())


def test_record_films_the_sbx_run(logs, tmp_path):
    """A real process: the video writer forks, which JAX warns about inside pytest."""
    out = tmp_path / "videos"
    done = run_realzoo(
        "record", *_words(logs, "--backend", "sbx", "-n", "20", "-o", str(out)), cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert list(out.glob("*.mp4"))


def test_export_finds_the_run_and_says_why_it_cannot(cli, logs):
    found = cli("export", *_words(logs, "--backend", "sbx"))
    assert found.exit_code == 2
    assert "was trained with --backend sbx" in " ".join(found.output.split())
    missing = cli("export", *_words(logs))
    assert missing.exit_code == 2 and "No sac run" in missing.output


def test_runs_lists_by_backend(cli, logs):
    listed = cli("runs", "-f", logs, "--algos", "sac", "--backend", "sbx")
    assert listed.exit_code == 0, listed.output
    assert re.search(r"sac_sbx\s+Pendulum-v1\s+1\b", listed.output), listed.output
    every_sbx = cli("runs", "-f", logs, "--backend", "sbx")
    assert every_sbx.exit_code == 0 and "sac_sbx" in every_sbx.output
    no_torch = cli("runs", "-f", logs, "--backend", "sb3")
    assert no_torch.exit_code == 2
    assert "No runs trained with --backend sb3" in " ".join(no_torch.output.split())
    not_sbx = cli("runs", "-f", logs, "--algos", "a2c", "--backend", "sbx")
    assert not_sbx.exit_code == 2 and "a2c" in not_sbx.output


def test_plot_selects_by_backend(cli, logs, tmp_path):
    out = tmp_path / "plots"
    drawn = cli("plot", "eval", "-f", logs, "--algos", "sac", "--backend", "sbx", "-o", out)
    assert drawn.exit_code == 0, drawn.output
    assert list(out.glob("*.png"))
    table = cli("plot", "table", "-f", logs, "--algos", "sac", "--backend", "sbx", "-o", out)
    assert table.exit_code == 0, table.output
    assert "sac_sbx" in "".join(p.read_text() for p in out.glob("*.csv"))
