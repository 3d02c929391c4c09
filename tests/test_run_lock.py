"""One writer per run folder: two real processes on one run, in both orders.

The holder trains CartPole paced by :class:`~rlzoo_real.envs.realtime.RealTime`, so it stays in
its run for seconds of wall-clock time while using little CPU; every wait is a poll on a
file or the lock with a generous deadline, and every process is reaped in ``finally``.
"""

from __future__ import annotations

import csv
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from rlzoo_real.runs.folder import RunFolder, read_run_manifest, run_status
from rlzoo_real.runs.locks import RunLockedError, acquire_run_lock, lock_state, read_lock_holder

#: 64 steps per PPO iteration, each env step lasting 1/300 s of wall-clock time
SLOW_CARTPOLE = """\
CartPole-v1:
  n_envs: 1
  n_timesteps: 512
  policy: MlpPolicy
  n_steps: 64
  batch_size: 64
  n_epochs: 1
  policy_kwargs: "dict(net_arch=[8])"
  env_wrapper:
    - rlzoo_real.envs.realtime.RealTime: {frequency_hz: 300}
"""
#: a holder's budget: at least 3000 / 300 = 10 s in its run, whatever the machine's speed
HOLDER_STEPS = 3008
DEADLINE_S = 240.0


@pytest.fixture
def slow_conf(tmp_path: Path) -> Path:
    path = tmp_path / "slow.yml"
    path.write_text(SLOW_CARTPOLE)
    return path


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[str]]]:
    """Processes a test starts; each one is killed (if still running) and reaped at the end."""
    started: list[subprocess.Popen[str]] = []
    try:
        yield started
    finally:
        for proc in started:
            if proc.poll() is None:
                proc.kill()
            proc.communicate(timeout=60)


def _start(procs: list[subprocess.Popen[str]], *args: object) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "rlzoo_real", *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    procs.append(proc)
    return proc


def _realzoo(*args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rlzoo_real", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=DEADLINE_S,
        check=False,
    )


def _train(conf: Path, logs: Path, n: int, *extra: object) -> list[object]:
    return [
        "train",
        "-a",
        "ppo",
        "-e",
        "CartPole-v1",
        "--conf-file",
        conf,
        "-f",
        logs,
        "-n",
        n,
        "--seed",
        "1",
        "--eval-freq",
        "-1",
        "--save-freq",
        "256",
        "--verbose",
        "0",
        *extra,
    ]


def _wait_for(what: str, condition: Callable[[], bool], proc: subprocess.Popen[str]) -> None:
    """Poll ``condition`` until it holds; fail (with the process's output) if ``proc`` ends."""
    deadline = time.monotonic() + DEADLINE_S
    while not condition():
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"the holder ended (exit {proc.returncode}) before {what}:\n{out}\n{err}")
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} within {DEADLINE_S} s")
        time.sleep(0.05)


def _holds(run: RunFolder, pid: int, resumes: int = 0) -> Callable[[], bool]:
    """The process ``pid`` holds the run and has written its manifest (after ``resumes``)."""

    def check() -> bool:
        manifest = read_run_manifest(run)
        return bool(
            lock_state(run.path) == "held"
            and manifest
            and manifest.get("status") == "running"
            and manifest.get("pid") == pid
            and len(manifest.get("resumes") or []) == resumes
        )

    return check


def _assert_refused(result: subprocess.CompletedProcess[str], holder_pid: int) -> None:
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert f"process {holder_pid} on {socket.gethostname()}" in result.stderr
    assert "one writer at a time" in result.stderr and "--resume" in result.stderr


def _assert_as_if_alone(run: RunFolder, steps: int, resumes: int) -> None:
    """What a writer left when no second writer touched its run."""
    manifest = yaml.safe_load(run.manifest_file.read_text())
    assert manifest["status"] == "finished" and manifest["num_timesteps"] == steps
    assert len(manifest.get("resumes") or []) == resumes
    assert len(run.command_file.read_text().splitlines()) == 1 + resumes
    # one progress.csv row per PPO iteration of 64 steps, each step counted once
    with run.progress_file.open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == steps // 64
    assert [int(float(r["time/total_timesteps"])) for r in rows] == [
        64 * (i + 1) for i in range(steps // 64)
    ]
    # one monitor file, one header, episodes that add up to no more steps than trained
    (monitor,) = run.monitor_files()
    lines = monitor.read_text().splitlines()
    assert lines[0].startswith("#") and lines[1] == "r,l,t"
    assert not [line for line in lines[2:] if line.startswith("#") or line == "r,l,t"]
    assert 0 < sum(int(line.split(",")[1]) for line in lines[2:]) <= steps


@pytest.mark.slow
def test_a_second_writer_is_refused_while_a_run_trains(slow_conf, tmp_path, processes):
    logs = tmp_path / "logs"
    run = RunFolder(logs / "ppo" / "CartPole-v1_1", "CartPole-v1")
    holder = _start(processes, *_train(slow_conf, logs, HOLDER_STEPS))
    holds = _holds(run, holder.pid)
    # with a checkpoint, so that a resume would have something to continue from
    _wait_for("the holder's checkpoint", lambda: holds() and run.checkpoint_index.is_file(), holder)
    assert read_lock_holder(run.path)["pid"] == holder.pid
    second = _realzoo("train", "--resume", run.path, "-n", 2 * HOLDER_STEPS, "--verbose", "0")
    _assert_refused(second, holder.pid)
    assert holder.poll() is None, "the holder ended before the second writer came"
    assert holder.wait(timeout=DEADLINE_S) == 0, holder.communicate()
    _assert_as_if_alone(run, HOLDER_STEPS, resumes=0)
    assert sorted(p.name for p in run.path.parent.iterdir()) == ["CartPole-v1_1"]


@pytest.mark.slow
def test_a_resume_holds_the_run_and_a_second_resume_is_refused(slow_conf, tmp_path, processes):
    logs = tmp_path / "logs"
    first = _realzoo(*_train(slow_conf, logs, 512))
    assert first.returncode == 0, first.stderr
    run = RunFolder(logs / "ppo" / "CartPole-v1_1", "CartPole-v1")
    resume = ["train", "--resume", run.path, "--verbose", "0"]
    holder = _start(processes, *resume, "-n", HOLDER_STEPS)
    _wait_for("the resumed run", _holds(run, holder.pid, resumes=1), holder)
    second = _realzoo(*resume, "-n", 2 * HOLDER_STEPS)
    _assert_refused(second, holder.pid)
    assert holder.poll() is None, "the holder ended before the second writer came"
    assert holder.wait(timeout=DEADLINE_S) == 0, holder.communicate()
    _assert_as_if_alone(run, HOLDER_STEPS, resumes=1)


@pytest.mark.slow
def test_a_killed_writer_frees_the_run_at_once(slow_conf, tmp_path, processes):
    """SIGKILL (no handler runs); with subprocess envs, which must not keep the lock."""
    logs = tmp_path / "logs"
    run = RunFolder(logs / "ppo" / "CartPole-v1_1", "CartPole-v1")
    extra = ["--vec-env", "subproc", "-params", "n_envs:2"]
    holder = _start(processes, *_train(slow_conf, logs, 100 * HOLDER_STEPS, *extra))
    _wait_for("a checkpoint", lambda: run.checkpoint_index.is_file(), holder)
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=60)
    assert lock_state(run.path) == "free"
    status, steps = run_status(run, read_run_manifest(run))
    assert status == "stopped" and steps is not None and steps >= 256
    target = steps + 256
    result = _realzoo("train", "--resume", run.path, "-n", target, "--verbose", "0")
    assert result.returncode == 0, result.stderr
    manifest = yaml.safe_load(run.manifest_file.read_text())
    assert manifest["status"] == "finished" and manifest["num_timesteps"] >= target
    assert [r["from_step"] for r in manifest["resumes"]] == [steps]
    assert lock_state(run.path) == "free"


@pytest.mark.slow
def test_a_sweep_leaves_a_job_that_another_process_trains_alone(slow_conf, tmp_path, processes):
    from rlzoo_real.executors.sweep import make_jobs
    from rlzoo_real.train.argv import train_argv
    from rlzoo_real.train.request import TrainArgs

    logs = tmp_path / "logs"
    n = 4096  # about 14 s in its run for the holder, at 300 steps/s
    sweep_args = ["--algos", "ppo", "--envs", "CartPole-v1", "--conf-file", slow_conf, "-f", logs]
    sweep_args += ["-n", n, "--eval-freq", -1, "--save-freq", 256, "--verbose", 0]
    template = TrainArgs(
        log_folder=str(logs),
        n_timesteps=n,
        eval_freq=-1,
        save_freq=256,
        conf_file=str(slow_conf),
        verbose=0,
    )
    (job0,) = make_jobs(algos=["ppo"], envs=["CartPole-v1"], seeds=[0], template=template)
    # the sweep's job of seed 0, typed by hand before the sweep starts
    run0 = RunFolder(logs / "ppo" / "CartPole-v1_1", "CartPole-v1")
    holder = _start(processes, *train_argv(job0.args))
    _wait_for("the hand-started run", _holds(run0, holder.pid), holder)

    sweep = _realzoo("sweep", *sweep_args, "--seeds", "0", "1")
    assert sweep.returncode == 75, sweep.stdout + sweep.stderr
    assert "1 being trained by another process" in sweep.stdout, sweep.stdout
    assert f"pid {holder.pid} on {socket.gethostname()}" in sweep.stdout
    summary = yaml.safe_load(sorted((logs / "sweep_logs").glob("sweep_*.yml"))[-1].read_text())
    by_job = {entry["job"]: entry for entry in summary["jobs"]}
    assert by_job["ppo CartPole-v1 seed 0"]["status"] == "running"
    assert by_job["ppo CartPole-v1 seed 0"]["run"] == str(run0.path)
    assert by_job["ppo CartPole-v1 seed 1"]["status"] == "finished"
    # no second run of seed 0 (neither a resume nor a new folder), and the first goes on
    assert holder.wait(timeout=DEADLINE_S) == 0, holder.communicate()
    assert sorted(p.name for p in (logs / "ppo").iterdir()) == ["CartPole-v1_1", "CartPole-v1_2"]
    _assert_as_if_alone(run0, n, resumes=0)
    again = _realzoo("sweep", *sweep_args, "--seeds", "0", "1")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "2 already finished (skipped)" in again.stdout


def test_the_lock_refuses_a_second_holder_and_restores_what_it_found(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "run.lock").write_text("an earlier holder\n")
    lock = acquire_run_lock(run)
    assert read_lock_holder(run)["pid"] == os.getpid()
    assert lock_state(run) == "held"
    with pytest.raises(RunLockedError) as refused:  # flock: per open file, so also in-process
        acquire_run_lock(run)
    assert f"process {os.getpid()} on {socket.gethostname()}" in str(refused.value)
    lock.release()  # released before keep(): a refused request leaves the file as it was
    assert (run / "run.lock").read_text() == "an earlier holder\n"
    assert lock_state(run) == "free"
    with acquire_run_lock(run) as kept:
        kept.keep()
    assert read_lock_holder(run)["pid"] == os.getpid()
    assert lock_state(tmp_path) == "none"


def test_a_forked_child_does_not_keep_the_lock(tmp_path):
    """A child forked while the lock is held (fork start method, a user's os.fork) does not
    hold it: the run is free as soon as the parent releases, the child still running."""
    lock = acquire_run_lock(tmp_path)
    ready_r, ready_w = os.pipe()
    go_r, go_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: say it runs, wait for the word, exit without cleanup
        try:
            os.write(ready_w, b"1")
            os.read(go_r, 1)
        finally:
            os._exit(0)
    try:
        assert os.read(ready_r, 1) == b"1"
        assert lock_state(tmp_path) == "held"
        lock.release()
        assert lock_state(tmp_path) == "free"  # the child is alive and does not hold it
        with acquire_run_lock(tmp_path):
            pass
    finally:
        os.write(go_w, b"1")
        os.waitpid(pid, 0)
        for fd in (ready_r, ready_w, go_r, go_w):
            os.close(fd)


@pytest.mark.slow
def test_a_tuning_trial_s_run_folder_is_locked_by_its_worker(slow_conf, tmp_path, processes):
    from tests.tune_helpers import TINY_SPACE

    space = tmp_path / "space.yml"
    space.write_text(TINY_SPACE)
    logs = tmp_path / "logs"
    tune = _start(
        processes,
        *["tune", "-a", "ppo", "-e", "CartPole-v1", "--conf-file", slow_conf, "-f", logs],
        *["--search-space", space, "-n", 1024, "--n-trials", 1, "--n-evaluations", 1],
        *["--eval-episodes", 1, "--no-plots"],
    )
    trial_run = logs / "ppo" / "tune_CartPole-v1" / "trials" / "ppo" / "CartPole-v1_1"
    _wait_for("the trial's run", lambda: lock_state(trial_run) == "held", tune)
    assert read_lock_holder(trial_run)["pid"] == tune.pid  # one worker: the command itself
    refused = _realzoo("train", "--resume", trial_run, "-n", 4096, "--verbose", "0")
    assert refused.returncode == 2 and f"process {tune.pid}" in refused.stderr, refused.stderr
    assert tune.wait(timeout=DEADLINE_S) == 0, tune.communicate()
    assert lock_state(trial_run) == "free"
