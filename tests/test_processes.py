"""realzoo train as real processes: concurrent starts and Ctrl-C."""

import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from rlzoo_real.runs.folder import RunFolder
from tests.conftest import WAIT_S, quiet_train, wait_for


@pytest.mark.slow  # eight realzoo processes at once: 20 s and more on 2 cores
def test_eight_simultaneous_runs_get_eight_folders(tiny_conf, tmp_path, processes):
    train = quiet_train("ppo", "CartPole-v1", tiny_conf, tmp_path, "-n", "64")
    command = [sys.executable, "-m", "rlzoo_real", *train]
    procs = [
        processes.start(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(8)
    ]
    outputs = [p.communicate(timeout=2 * WAIT_S) for p in procs]
    assert [p.returncode for p in procs] == [0] * 8, outputs
    folders = sorted(p.name for p in (tmp_path / "ppo").iterdir())
    assert folders == sorted(f"CartPole-v1_{i}" for i in range(1, 9))
    reported = {
        line.split("Run folder: ")[1].split(" ")[0]
        for out, _ in outputs
        for line in out.splitlines()
        if "Run folder:" in line
    }
    assert len(reported) == 8
    for folder in folders:
        assert (tmp_path / "ppo" / folder / "CartPole-v1.zip").is_file()


def test_ctrl_c_saves_the_model_and_says_how_to_resume(tiny_conf, tmp_path, processes):
    train = quiet_train("sac", "Pendulum-v1", tiny_conf, tmp_path, "-n", "1000000", "--seed", "0")
    proc = processes.start(
        [sys.executable, "-m", "rlzoo_real", *train],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    monitor = tmp_path / "sac" / "Pendulum-v1_1" / "0.monitor.csv"
    # wait until training is under way: two finished 200-step episodes in the monitor file
    wait_for(
        lambda: monitor.is_file() and len(monitor.read_text().splitlines()) >= 4,
        "two finished episodes",
        process=proc,
        interval=0.2,
    )
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=WAIT_S)
    assert proc.returncode == 130, (out, err)
    run = RunFolder(monitor.parent, "Pendulum-v1")
    assert str(run.final_model) in err
    assert f"realzoo train --resume {run.path}" in err
    assert "Traceback" not in err
    assert run.final_model.is_file() and run.vecnormalize_file.is_file()
    manifest = yaml.safe_load(run.manifest_file.read_text())
    assert manifest["status"] == "stopped" and manifest["stop_reason"] == "SIGINT"
    assert manifest["exit_code"] == 130
    assert 400 <= manifest["num_timesteps"] < 1_000_000
    assert manifest["last_checkpoint"] == manifest["num_timesteps"]
    assert run.checkpoint_files(manifest["num_timesteps"])["replay_buffer"].is_file()


def test_python_dash_m_and_console_script_agree(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "rlzoo_real", "--help"], capture_output=True, text=True, check=True
    ).stdout
    script = Path(sys.executable).parent / "realzoo"
    assert "train" in out
    assert (
        subprocess.run([str(script), "--help"], capture_output=True, text=True, check=True).stdout
        == out
    )


def test_a_stop_request_takes_the_first_reason_and_a_second_signal_stops_at_once(capsys):
    """One stop request for a training run and a tuning worker: only the notice differs."""
    import os
    import time

    from rlzoo_real.train.stopping import StopRequest

    before = signal.getsignal(signal.SIGTERM)
    with StopRequest(notice="{signal} received: no new trial starts.") as stop:
        assert not stop.requested
        os.kill(os.getpid(), signal.SIGTERM)
        assert stop.requested and (stop.reason, stop.exit_code) == ("SIGTERM", 143)
        stop.request("realzoo tune (the parent process) is gone", 1)  # the first reason stays
        assert (stop.reason, stop.exit_code) == ("SIGTERM", 143)
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
    assert signal.getsignal(signal.SIGTERM) is before
    assert capsys.readouterr().err == "SIGTERM received: no new trial starts.\n"

    with StopRequest() as stop:
        stop.request("asked", 5)  # nothing asked before: this one counts
        assert (stop.reason, stop.exit_code) == ("asked", 5)
    with StopRequest(time_limit_hours=1e-9) as stop:
        time.sleep(0.01)  # past the deadline (3.6 microseconds)
        assert stop.requested and (stop.reason, stop.exit_code) == ("time limit", 75)


_COUNTS_SIGNALS = """
import os, signal, sys, time
print("threads", os.environ.get("OMP_NUM_THREADS"), sys.stdin.read().strip(), flush=True)
got = []
def on(signum, frame):
    got.append(signum)
    print("got", signal.Signals(signum).name, flush=True)
    if len(got) == 2:
        sys.exit(128 + signum)
signal.signal(signal.SIGINT, on)
signal.signal(signal.SIGTERM, on)
print("ready", flush=True)
while True:
    time.sleep(0.05)
"""


def test_child_processes_pass_each_signal_on_and_report_exits(tmp_path, monkeypatch):
    """The core of sweeps and tuning workers: own sessions, logs, signals passed on, exits."""
    import os
    import time

    from rlzoo_real.executors.pool import ChildProcesses

    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    first: list[int] = []
    before = signal.getsignal(signal.SIGINT)
    with ChildProcesses(threads=1, on_signal=first.append) as children:
        children.spawn([sys.executable, "-c", "import sys; sys.exit(3)"], tmp_path / "quick.log")
        for i in range(2):
            children.spawn(
                [sys.executable, "-c", _COUNTS_SIGNALS],
                tmp_path / f"w{i}.log",
                tag=i,
                stdin=f"payload {i}".encode(),
                header="=== start\n",
            )
        logs = [tmp_path / "w0.log", tmp_path / "w1.log"]
        wait_for(lambda: all("ready" in p.read_text() for p in logs), "both children ready")
        assert all(os.getpgid(c.pid) == c.pid for c in children.running)  # own sessions
        os.kill(os.getpid(), signal.SIGINT)
        wait_for(lambda: all("got SIGINT" in p.read_text() for p in logs), "the first signal")
        os.kill(os.getpid(), signal.SIGTERM)
        deadline = time.monotonic() + WAIT_S
        ended: dict[object, int] = {}
        while children.running and time.monotonic() < deadline:
            ended.update((child.tag, code) for child, code in children.reap())
            time.sleep(0.05)
    assert ended == {None: 3, 0: 143, 1: 143}
    assert children.signals == [signal.SIGINT, signal.SIGTERM] and first == [signal.SIGINT]
    for i, path in enumerate(logs):
        lines = path.read_text().splitlines()
        assert lines[:2] == ["=== start", f"threads 1 payload {i}"]
        assert lines[-2:] == ["got SIGINT", "got SIGTERM"]  # each signal once, in order
    assert signal.getsignal(signal.SIGINT) is before
