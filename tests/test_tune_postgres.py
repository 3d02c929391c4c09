"""realzoo tune against a real PostgreSQL server, started in a temporary folder.

The server comes from Debian's packages (``.ci/run`` installs them when missing); the
fixture makes its own cluster with ``initdb`` and ``pg_ctl`` as the ``postgres`` user
(the server refuses to run as root), listening on a free local port.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import WAIT_S
from tests.tune_helpers import make_tiny, realzoo, start_realzoo, tune_args


def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _as_server_user(command: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    """``postgresql://`` URL of a throwaway server with an empty database ``realzoo``.

    One server per test process (each pytest-xdist worker starts its own, in its own
    folder); the port is a free one, and if another process takes it between the choice
    and the server's start, the server is started again on another.
    """
    bin_dir = _pg_bin()
    if bin_dir is None:
        pytest.skip("PostgreSQL server binaries not found (.ci/run installs them: postgresql)")
    root = Path(tempfile.mkdtemp(prefix="realzoo-pg-"))  # /tmp: reachable by the postgres user
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
    data, log = root / "data", root / "server.log"

    def run(*command: str) -> None:
        subprocess.run(
            _as_server_user([str(bin_dir / command[0]), *command[1:]]),
            check=True,
            capture_output=True,
            timeout=120,
        )

    try:
        run("initdb", "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync")
        for attempt in range(5):
            port = _free_port()
            options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
            try:
                run("pg_ctl", "-D", str(data), "-o", options, "-l", str(log), "-w", "start")
                break
            except subprocess.CalledProcessError:
                if attempt == 4 or "could not bind" not in log.read_text(errors="replace"):
                    raise
        try:
            run("createdb", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "realzoo")
            yield f"postgresql://postgres@127.0.0.1:{port}/realzoo"
        finally:
            run("pg_ctl", "-D", str(data), "-m", "immediate", "stop")
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def tiny(tmp_path: Path) -> dict[str, Path]:
    return make_tiny(tmp_path)


def load_trials(url: str, name: str) -> list[Any]:
    """The trials of study ``name``, read with a connection closed afterwards."""
    import optuna

    from rlzoo_real.tuning.storage import close_storage

    storage = optuna.storages.RDBStorage(url.replace("://", "+psycopg://", 1))
    try:
        return optuna.load_study(study_name=name, storage=storage).get_trials()
    finally:
        close_storage(storage)


@pytest.mark.slow  # end to end with several processes (see the commit)
def test_two_commands_with_worker_processes_share_a_postgresql_study(tiny, postgres_url, processes):
    # trust authentication ignores the password: it is here to check that it is never shown
    url = postgres_url.replace("postgres@", "postgres:s3cret@")
    storage = ["--storage", url, "--study-name", "shared"]
    # as if on two machines, started at the same moment: the study is created once, and both
    # commands (one with two worker processes, one with one) work on it
    other_logs = tiny["logs"].parent / "other_machine"
    a = start_realzoo(processes, *tune_args(tiny, *storage, "--n-trials", "4", "--n-workers", "2"))
    b_args = [word.replace(str(tiny["logs"]), str(other_logs)) for word in tune_args(tiny)]
    b = start_realzoo(processes, *b_args, *storage, "--n-trials", "2")
    out_a, err_a = a.communicate(timeout=WAIT_S)
    out_b, err_b = b.communicate(timeout=WAIT_S)
    assert a.returncode == 0, out_a + err_a
    assert b.returncode == 0, out_b + err_b
    for out in (out_a, out_b):
        assert "Storage: postgresql://postgres:***@127.0.0.1" in out and "s3cret" not in out
    trials = load_trials(postgres_url, "shared")
    assert len(trials) == 6
    assert {t.state.name for t in trials} <= {"COMPLETE", "PRUNED"}
    assert len({t.user_attrs["pid"] for t in trials}) == 3  # two workers, the other machine
    assert len({t.user_attrs["session"] for t in trials}) == 2
    # results are read from the storage: they include the other machine's trials
    report = realzoo(*b_args, *storage, "--n-trials", "0")
    assert report.returncode == 0, report.stdout + report.stderr
    rows = (other_logs / "ppo" / "shared" / "trials.csv").read_text().splitlines()
    assert len(rows) == 7
    for logs in (tiny["logs"], other_logs):
        folder = logs / "ppo" / "shared"
        assert (folder / "best.yml").is_file()
        assert "s3cret" not in (folder / "study.yml").read_text()


@pytest.mark.slow  # end to end with several processes (see the commit)
def test_a_trial_whose_worker_stops_its_heartbeat_is_failed(tiny, postgres_url):
    import optuna

    storage = ["--storage", postgres_url, "--study-name", "heartbeat"]
    made = realzoo(*tune_args(tiny, *storage, "--n-trials", "0"))
    assert made.returncode == 0, made.stdout + made.stderr
    # a worker on another machine starts a trial, beats once, then is cut off
    from rlzoo_real.tuning.storage import close_storage

    url = postgres_url.replace("://", "+psycopg://", 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        warnings.filterwarnings("ignore", "Heartbeat of storage is supposed to be used")
        backend = optuna.storages.RDBStorage(url, heartbeat_interval=1, grace_period=2)
        study = optuna.load_study(study_name="heartbeat", storage=backend)
        lost = study.ask()
    lost.set_user_attr("host", "another-machine")
    lost.set_user_attr("pid", 1)
    backend.record_heartbeat(lost._trial_id)
    close_storage(backend)
    time.sleep(3)
    result = realzoo(*tune_args(tiny, *storage, "--n-trials", "1", "--heartbeat", "1"))
    assert result.returncode == 0, result.stdout + result.stderr
    trials = {t.number: t for t in load_trials(postgres_url, "heartbeat")}
    assert trials[lost.number].state.name == "FAIL"
    assert "no heartbeat" in result.stdout
    assert all(t.state.name != "RUNNING" for t in trials.values())
    csv = (tiny["logs"] / "ppo" / "heartbeat" / "trials.csv").read_text()
    assert "no heartbeat from its worker" in csv


def test_postgresql_urls_that_cannot_work_say_which_part_is_wrong(tiny, cli, postgres_url):
    base = postgres_url.rpartition("/")[0]
    for url, message in [
        (f"{base}/missing", "the database part 'missing' does not exist on the server"),
        ("postgresql://postgres@127.0.0.1:1/realzoo", "nothing accepts connections at 127.0.0.1:1"),
        ("postgresql://postgres@no-such-host.invalid/realzoo", "the host part 'no-such-host"),
    ]:
        result = cli(*tune_args(tiny, "--storage", url, "--n-trials", "1"))
        assert result.exit_code == 2, result.output
        assert message in result.output
        assert "Traceback" not in result.output
    assert not tiny["logs"].exists()


@pytest.mark.slow  # two searches and a validation against a real server (see the commit)
def test_several_seeds_per_trial_and_a_validation_on_postgresql(tiny, postgres_url):
    import csv

    import numpy as np

    from rlzoo_real.tuning.objectives import aggregate
    from rlzoo_real.tuning.seeds import search_seed, validation_seeds

    storage = ["--storage", postgres_url, "--study-name", "seeds"]
    args = tune_args(tiny, *storage, "--n-trials", "2", "--n-seeds", "2", "--seed", "11")
    made = realzoo(*args, "--n-workers", "2", "--pruner", "none", "--objective", "auc")
    assert made.returncode == 0, made.stdout + made.stderr
    assert "Objective: the mean over all evaluations" in made.stdout
    assert "mean over 2 seeds" in made.stdout
    trials = sorted(load_trials(postgres_url, "seeds"), key=lambda t: t.number)
    assert [t.state.name for t in trials] == ["COMPLETE", "COMPLETE"]
    folder = tiny["logs"] / "ppo" / "seeds"
    rows = list(csv.DictReader((folder / "trials.csv").read_text().splitlines()))
    for trial, row in zip(trials, rows, strict=True):
        seeds = [search_seed(11, trial.number, i) for i in (0, 1)]
        assert trial.user_attrs["seeds"] == seeds
        per_seed = []
        for run in map(Path, trial.user_attrs["seed_runs"]):
            with np.load(run / "evaluations.npz") as data:
                per_seed.append(float(data["results"].mean(axis=1).mean()))  # auc of each seed
        assert trial.user_attrs["seed_values"] == pytest.approx(per_seed, abs=1e-4)
        assert trial.value == pytest.approx(aggregate(per_seed, "mean"), abs=1e-4)
        assert row["seeds"] == " ".join(map(str, seeds))
        assert [float(v) for v in row["seed_values"].split()] == pytest.approx(per_seed, rel=1e-5)
        assert float(row["value"]) == pytest.approx(trial.value, rel=1e-5)

    # the winners validated later, from the PostgreSQL study, with fresh seeds
    check = realzoo(*tune_args(tiny, *storage, "--n-trials", "0", "--validate-top", "2",
                               "--validate-seeds", "1"))  # fmt: skip
    assert check.returncode == 0, check.stdout + check.stderr
    assert "Validated winner: trial" in check.stdout
    rows = list(csv.DictReader((folder / "validation.csv").read_text().splitlines()))
    assert {r["trial"] for r in rows} == {"0", "1"}
    (fresh,) = validation_seeds(11, 0, 1)
    assert fresh not in {s for t in trials for s in t.user_attrs["seeds"]}
    assert all(r["search_seeds"] == "2" for r in rows)
    assert len(list((folder / "validation" / "round_1").glob(f"trial_*/seed_{fresh}"))) == 2
    assert (folder / "best.yml").read_text().startswith("# Validated winner of study seeds")
