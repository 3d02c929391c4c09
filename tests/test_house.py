"""``make sizes`` and ``make graph`` (scripts/house.py): the package's modules as they are."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO

SCRIPT = REPO / "scripts" / "house.py"


def _house():
    spec = importlib.util.spec_from_file_location("house", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run(command: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), command], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def test_sizes_lists_every_module_largest_first_and_flags_the_long_ones():
    files = sorted((REPO / "rlzoo_real").rglob("*.py"))
    *rows, total = _run("sizes")
    assert len(rows) == len(files)
    counts = [int(row.split()[0]) for row in rows]
    assert counts == sorted(counts, reverse=True)
    assert sum(counts) == sum(len(p.read_text().splitlines()) for p in files)
    for row, lines in zip(rows, counts, strict=True):
        assert row.endswith("<- over 500") == (lines > 500), row
    assert total.split()[0] == str(sum(counts))
    assert any(row.split()[1] == "rlzoo_real.cli._argv" for row in rows)


def test_graph_names_real_imports_and_finds_circles():
    lines = _run("graph")
    edges = dict(line.split(" -> ", 1) for line in lines if " -> " in line)
    # rlzoo_real/tuning/storage.py imports rlzoo_real.errors (checked in its source)
    source = (REPO / "rlzoo_real" / "tuning" / "storage.py").read_text()
    assert "rlzoo_real.errors" in source
    assert "errors" in edges["rlzoo_real.tuning.storage"].split(", ")
    house = _house()
    assert house.circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert house.circles({"a": {"b"}, "b": set()}) == []
    circles = [line for line in lines if line.startswith("Import circle")]
    assert circles or "No import circles." in lines


def test_relative_imports_resolve_to_the_package_modules(tmp_path: Path):
    house = _house()
    init = tmp_path / "__init__.py"
    init.write_text("from . import spaces\nfrom .storage import open_storage\n")
    house.ROOT = tmp_path  # parse only: module names are given below
    known = {"rlzoo_real.tuning", "rlzoo_real.tuning.spaces", "rlzoo_real.tuning.storage"}
    found = house.imports_of("rlzoo_real.tuning", init, known)
    assert found == {"rlzoo_real.tuning.spaces", "rlzoo_real.tuning.storage"}
