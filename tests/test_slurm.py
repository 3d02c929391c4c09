"""``--executor slurm`` on a real single-node Slurm cluster (tests/slurm_cluster.py).

The cluster is started once per test session (munged, slurmctld, slurmd as root) and
stopped after; the tests skip, with the reason, where it cannot start. Everything is
submitted with the real ``sbatch`` and runs as real Slurm jobs on this machine.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO, TINY_YAML, wait_for
from tests.slurm_cluster import SlurmCluster, start_cluster, why_not


@pytest.fixture(scope="session")
def slurm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SlurmCluster]:
    reason = why_not()
    if reason is not None:
        pytest.skip(f"no Slurm test cluster: {reason}")
    try:
        cluster = start_cluster(tmp_path_factory.mktemp("slurm"))
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        pytest.skip(f"the Slurm test cluster did not start: {exc}")
    try:
        yield cluster
    finally:
        cluster.stop()


def realzoo(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """``realzoo ARGS`` in a process of its own, as a user runs it."""
    environment = {**(env or os.environ), "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "rlzoo_real", *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _conf(tmp_path: Path) -> Path:
    conf = tmp_path / "tiny.yml"
    conf.write_text(TINY_YAML)
    return conf


def _sweep_args(conf: Path, *extra: str) -> list[str]:
    return [
        "sweep", "--algos", "ppo", "--envs", "CartPole-v1", "--conf-file", str(conf),
        "-n", "256", "--eval-freq", "128", "--eval-episodes", "1", "--executor", "slurm",
        "--slurm-time", "10", *extra,
    ]  # fmt: skip


def _read_yaml(path: Path) -> dict[str, object]:
    import yaml

    return yaml.safe_load(path.read_text()) or {}


def _runs(log: Path) -> list[Path]:
    return sorted(p.parent.parent for p in (log / "ppo").glob("CartPole-v1_*/*/manifest.yml"))


def _manifest(run: Path) -> dict[str, object]:
    return _read_yaml(run / "CartPole-v1" / "manifest.yml")


@pytest.mark.slow
def test_sweep_runs_as_a_job_array_and_rerun_skips(slurm: SlurmCluster, tmp_path: Path) -> None:
    conf = _conf(tmp_path)
    done = realzoo(*_sweep_args(conf, "--seeds", "0-1"), cwd=tmp_path, env=slurm.env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Submitted job array" in done.stdout
    runs = _runs(tmp_path / "logs")
    assert len(runs) == 2, done.stdout
    assert all(_manifest(r)["status"] == "finished" for r in runs)
    assert sorted(_read_yaml(r / "CartPole-v1" / "args.yml")["seed"] for r in runs) == [0, 1]
    (submission,) = (tmp_path / "logs/sweep_logs/slurm").glob("*/submission.yml")
    array = str(_read_yaml(submission)["job_id"])
    assert array.isdigit()
    states = slurm.run("scontrol", "-o", "show", "job", array).stdout
    assert states.count("JobState=COMPLETED") == 2, states
    assert (submission.parent / "sweep.sbatch").read_text().count("#SBATCH --array=0-1") == 1
    for line in (f"{array}_0", f"{array}_1"):
        assert line in done.stdout  # the table names each task
    # the training output is in the same per-job log as a local sweep's
    assert (tmp_path / "logs/sweep_logs/ppo_CartPole-v1_seed0.log").is_file()

    again = realzoo(*_sweep_args(conf, "--seeds", "0-2"), cwd=tmp_path, env=slurm.env)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "2 finished (skipped)" in again.stdout and "1 to submit" in again.stdout
    assert len(_runs(tmp_path / "logs")) == 3
    second = sorted((tmp_path / "logs/sweep_logs/slurm").glob("*/submission.yml"))
    assert len(second) == 2
    assert _read_yaml(second[-1])["tasks"] == ["ppo_CartPole-v1_seed2"]


def test_dry_run_prints_the_script_and_submits_nothing(slurm: SlurmCluster, tmp_path: Path) -> None:
    conf = _conf(tmp_path)
    template = tmp_path / "site.sh"
    template.write_text("#!/bin/bash\n#SBATCH --comment=site\necho set-up\n{{command}}\n")
    done = realzoo(
        *_sweep_args(conf, "--seeds", "0-2", "--dry-run", "--slurm-parallel", "2"),
        "--slurm-partition", "debug", "--slurm-mem", "1G", "--slurm-account", "lab",
        "--slurm-qos", "normal", "--slurm-sbatch-arg=--constraint=fast", "--slurm-gpus", "1",
        "--slurm-template", str(template), "--slurm-cpus", "2",
        cwd=tmp_path, env=slurm.env,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    for line in (
        "#SBATCH --array=0-2%2",
        "#SBATCH --partition=debug",
        "#SBATCH --mem=1G",
        "#SBATCH --account=lab",
        "#SBATCH --qos=normal",
        "#SBATCH --constraint=fast",
        "#SBATCH --gpus-per-task=1",
        "#SBATCH --cpus-per-task=2",
        "#SBATCH --time=10",
        "#SBATCH --requeue",
        "#SBATCH --open-mode=append",
        "#SBATCH --comment=site",
        "echo set-up",
        "rlzoo_real.executors.slurm_task",
    ):
        assert line in done.stdout, line
    assert done.stdout.index("#SBATCH --requeue") < done.stdout.index("echo set-up")
    assert "{{command}}" not in done.stdout
    # train stops 300 s (--slurm-stop-before) before the 10 minutes
    (line,) = [x for x in done.stdout.splitlines() if x.startswith("2: realzoo train")]
    assert "--seed 2 " in line and line.endswith(" --time-limit 0.0833333")
    assert not (tmp_path / "logs").exists() or not list((tmp_path / "logs").rglob("*.sbatch"))
    assert slurm.run("squeue", "-h").stdout.strip() == ""


def _benchmark_args(tmp_path: Path, *extra: str) -> list[str]:
    """``realzoo benchmark`` of a one-pair suite (the shipped ppo entry), 256 steps a run."""
    suite = tmp_path / "tiny.yml"
    suite.write_text("envs:\n  CartPole-v1: [ppo]\n")
    return [
        "benchmark", str(suite), "-n", "256", "--n-evals", "1", "--eval-episodes", "1",
        "--reps", "50", "--executor", "slurm", "--slurm-time", "10", *extra,
    ]  # fmt: skip


def _command(name: str, tmp_path: Path) -> list[str]:
    if name == "sweep":
        return _sweep_args(_conf(tmp_path))
    return _benchmark_args(tmp_path, "--n-seeds", "1")


@pytest.mark.parametrize("command", ["sweep", "benchmark"])
@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--slurm-partition", "gpu-big"], "not a partition of this cluster"),
        (["--slurm-partition", "debgu"], "Did you mean debug?"),
        (["--slurm-time", "4"], "not longer than --slurm-stop-before"),
        (["--slurm-time", "ten"], "is not a Slurm time"),
        (["--slurm-template", "missing.sh"], "no such file"),
        (["--slurm-template", "plain.sh"], "has no {{command}} placeholder"),
        (["--executor", "pbs"], "--executor takes local or slurm"),
    ],
)
def test_bad_input_is_one_paragraph_and_submits_nothing(
    slurm: SlurmCluster, tmp_path: Path, command: str, extra: list[str], message: str
) -> None:
    (tmp_path / "plain.sh").write_text("#!/bin/bash\nsource venv/bin/activate\n")
    done = realzoo(*_command(command, tmp_path), *extra, cwd=tmp_path, env=slurm.env)
    assert done.returncode == 2, done.stdout + done.stderr
    assert message in done.stderr
    assert done.stderr.startswith("Error: ") and "Traceback" not in done.stderr
    assert slurm.run("squeue", "-h").stdout.strip() == ""
    assert not (tmp_path / "logs/sweep_logs/slurm").exists()
    assert not (tmp_path / "logs/benchmarks").exists()  # no report either


@pytest.mark.parametrize("command", ["sweep", "benchmark"])
def test_no_sbatch_on_the_path(tmp_path: Path, command: str) -> None:
    env = {**os.environ, "PATH": str(Path(sys.executable).parent) + ":/nonexistent"}
    done = realzoo(*_command(command, tmp_path), cwd=tmp_path, env=env)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "needs Slurm's sbatch on the PATH" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "logs/sweep_logs/slurm").exists()
    assert not (tmp_path / "logs/benchmarks").exists()


def _report_row(tmp_path: Path) -> dict[str, str]:
    import csv

    with (tmp_path / "logs/benchmarks/tiny.csv").open() as handle:
        (row,) = list(csv.DictReader(handle))
    return row


def _final_mean(runs: list[Path]) -> float:
    """The mean over runs of each run's last evaluation, from its evaluations.npz."""
    import numpy as np

    finals = []
    for run in runs:
        with np.load(run / "evaluations.npz") as data:
            finals.append(float(np.asarray(data["results"])[-1].mean()))
    return float(np.mean(finals))


@pytest.mark.slow
def test_benchmark_on_slurm_submits_then_a_rerun_writes_the_report(
    slurm: SlurmCluster, tmp_path: Path
) -> None:
    logs = tmp_path / "logs"
    args = _benchmark_args(tmp_path, "--n-seeds", "2", "--no-wait")
    first = realzoo(*args, cwd=tmp_path, env=slurm.env)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "Submitted job array" in first.stdout and "2 to submit" in first.stdout
    assert "run(s) are pending or running on Slurm (--no-wait), so no report yet" in first.stdout
    assert "run the same command again" in first.stdout
    assert not (logs / "benchmarks").exists()

    def both_finished() -> bool:
        runs = _runs(logs)
        return len(runs) == 2 and all(_manifest(r).get("status") == "finished" for r in runs)

    wait_for(both_finished, "the two benchmark runs to finish on Slurm", timeout=300)
    again = realzoo(*args, cwd=tmp_path, env=slurm.env)  # the same command: the report now
    assert again.returncode == 0, again.stdout + again.stderr
    assert "2 finished (skipped)" in again.stdout and "0 to submit" in again.stdout
    assert "Report: " in again.stdout
    row = _report_row(tmp_path)
    assert row["seeds_finished"] == "2"
    assert float(row["final_mean"]) == pytest.approx(_final_mean(_runs(logs)), rel=1e-9)

    # a third seed: only it is submitted; the command waits for it, then writes the report
    more = realzoo(*_benchmark_args(tmp_path, "--n-seeds", "3"), cwd=tmp_path, env=slurm.env)
    assert more.returncode == 0, more.stdout + more.stderr
    assert "2 finished (skipped)" in more.stdout and "1 to submit" in more.stdout
    submissions = sorted((logs / "sweep_logs/slurm").glob("*/submission.yml"))
    assert len(submissions) == 2
    assert _read_yaml(submissions[-1])["tasks"] == ["ppo_CartPole-v1_seed2"]
    array = str(_read_yaml(submissions[-1])["job_id"])
    assert "JobState=COMPLETED" in slurm.run("scontrol", "-o", "show", "job", array).stdout
    row = _report_row(tmp_path)
    assert row["seeds_finished"] == "3" and len(_runs(logs)) == 3
    assert float(row["final_mean"]) == pytest.approx(_final_mean(_runs(logs)), rel=1e-9)
    report = (logs / "benchmarks/tiny.md").read_text()
    assert "--executor slurm" in report  # the command that made it


def test_benchmark_dry_run_on_slurm_prints_the_script(slurm: SlurmCluster, tmp_path: Path) -> None:
    done = realzoo(
        *_benchmark_args(tmp_path, "--n-seeds", "2", "--dry-run", "--slurm-cpus", "2"),
        cwd=tmp_path, env=slurm.env,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ppo on CartPole-v1: 2 seed(s) x 256 steps" in done.stdout
    for line in ("#SBATCH --array=0-1", "#SBATCH --cpus-per-task=2", "slurm_task"):
        assert line in done.stdout, line
    (line,) = [x for x in done.stdout.splitlines() if x.startswith("1: realzoo train")]
    assert "--seed 1 " in line and "-n 256" in line
    assert slurm.run("squeue", "-h").stdout.strip() == ""
    assert not (tmp_path / "logs").exists()


@pytest.mark.parametrize("command", ["sweep", "benchmark"])
def test_slurm_options_need_the_slurm_executor(tmp_path: Path, command: str) -> None:
    args = _command(command, tmp_path)
    args[args.index("slurm")] = "local"  # --executor local
    done = realzoo(*args, "--slurm-partition", "debug", cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "--slurm-partition only apply to --executor slurm" in done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "logs").exists()


@pytest.mark.slow
def test_cancelled_job_fails_the_waiting_sweep_and_rerun_resumes_it(
    slurm: SlurmCluster, tmp_path: Path
) -> None:
    conf = _conf(tmp_path)
    args = _sweep_args(conf, "--seeds", "0")
    args[args.index("256")] = "200000"  # long enough to be cancelled while it trains
    environment = {**slurm.env, "PYTHONPATH": str(REPO)}
    waiting = subprocess.Popen(
        [sys.executable, "-m", "rlzoo_real", *args],
        cwd=tmp_path,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        submissions = tmp_path / "logs/sweep_logs/slurm"
        wait_for(lambda: list(submissions.glob("*/submission.yml")), "the sweep to submit")
        (submission,) = submissions.glob("*/submission.yml")
        task = f"{_read_yaml(submission)['job_id']}_0"
        wait_for(
            lambda: (
                _runs(tmp_path / "logs")
                and list(_runs(tmp_path / "logs")[0].glob("rl_model_state_*.pkl"))
            ),
            "the job to write a checkpoint",
        )
        slurm.run("scancel", task)
        out, err = waiting.communicate(timeout=240)
    finally:
        if waiting.poll() is None:
            waiting.kill()
            waiting.wait()
    assert waiting.returncode == 1, out + err
    assert "1 of 1 sweep job(s) failed or were cancelled" in err
    assert f"Slurm job {task} cancelled" in err and "ppo_CartPole-v1_seed0.log" in err
    shown = realzoo(*args, "--dry-run", cwd=tmp_path, env=slurm.env)
    assert shown.returncode == 0, shown.stdout + shown.stderr
    row = next(line for line in shown.stdout.splitlines() if line.startswith("ppo CartPole-v1"))
    assert task in row and "CANCELLED" in row and "stopped" in row, shown.stdout
    # the rerun would resume the cancelled run in its own folder, not start a new one
    plan = shown.stdout.split("task i runs")[1]
    assert f"--resume logs/ppo/{_runs(tmp_path / 'logs')[0].name} " in plan


@pytest.mark.slow
def test_time_limit_checkpoints_requeues_and_finishes(slurm: SlurmCluster, tmp_path: Path) -> None:
    conf = _conf(tmp_path)
    args = _sweep_args(conf, "--seeds", "0", "--no-wait")
    args[args.index("256")] = "50000"  # about 30 s of training here: several legs
    args[args.index("128")] = "5000"  # --eval-freq
    args[args.index("10")] = "1"  # a 60 s Slurm limit; training stops after 60 - 48 = 12 s
    done = realzoo(*args, "--slurm-stop-before", "48", cwd=tmp_path, env=slurm.env)
    assert done.returncode == 0, done.stdout + done.stderr
    (submission,) = (tmp_path / "logs/sweep_logs/slurm").glob("*/submission.yml")
    task = f"{_read_yaml(submission)['job_id']}_0"
    restarts: set[str] = set()
    pending_since: dict[str, float] = {}

    def finished() -> bool:
        record = slurm.run("scontrol", "-o", "show", "job", task).stdout
        fields = dict(item.split("=", 1) for item in record.split() if "=" in item)
        restarts.add(fields.get("Restarts", "?"))
        assert fields.get("JobState") not in ("FAILED", "CANCELLED", "TIMEOUT"), record
        if fields.get("JobState") == "PENDING" and fields.get("Restarts") != "0":
            # Slurm holds a requeued job for two minutes (BeginTime); the test does not wait
            # that long, but lets slurmd end the previous start first: started again within
            # a second of the requeue, the job can be refused ("Job credential revoked")
            since = pending_since.setdefault(fields["Restarts"], time.monotonic())
            if time.monotonic() - since >= 3:
                slurm.run("scontrol", "update", f"JobId={task}", "StartTime=now", check=False)
        return fields.get("JobState") == "COMPLETED"

    wait_for(
        finished,
        "the job to stop at its time limit, requeue, resume and finish",
        timeout=600,
        interval=1.0,
    )
    assert restarts - {"0"}, restarts  # it was requeued at least once
    (run,) = _runs(tmp_path / "logs")
    manifest = _manifest(run)
    assert manifest["status"] == "finished" and manifest.get("resumes"), manifest  # same folder
    log = (tmp_path / "logs/sweep_logs/ppo_CartPole-v1_seed0.log").read_text()
    assert "restart 0" in log and "restart 1" in log and "Stopped (time limit)" in log
    assert f"realzoo train --resume {run}" in log
    # Slurm's output of both starts of the task is kept (--open-mode=append)
    output = (submission.parent / f"slurm-{task}.out").read_text()
    assert "restart 0" in output and "requeueing" in output and "restart 1" in output
    status = realzoo(*args, "--slurm-stop-before", "48", "--dry-run", cwd=tmp_path, env=slurm.env)
    assert "1 finished (skipped)" in status.stdout, status.stdout + status.stderr


@pytest.mark.slow
def test_failed_job_makes_the_waiting_sweep_fail_naming_its_log(
    slurm: SlurmCluster, tmp_path: Path
) -> None:
    conf = _conf(tmp_path)
    template = tmp_path / "broken.sh"
    template.write_text("#!/bin/bash\nexport REALZOO_BROKEN=1\n{{command}} --no-such-option\n")
    done = realzoo(
        *_sweep_args(conf, "--seeds", "0"), "--slurm-template", str(template),
        cwd=tmp_path, env=slurm.env, timeout=300,
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    assert "1 of 1 sweep job(s) failed or were cancelled" in done.stderr
    assert "Slurm job " in done.stderr and " failed; log " in done.stderr
    assert "slurm-" in done.stderr and "ppo_CartPole-v1_seed0.log" in done.stderr


def _tune_args(conf: Path, *extra: str) -> list[str]:
    return [
        "tune", "--algo", "ppo", "--env", "CartPole-v1", "--conf-file", str(conf),
        "-n", "128", "--n-evaluations", "1", "--eval-episodes", "1", "--n-startup-trials", "1",
        "--no-plots", "--seed", "0", "--executor", "slurm", "--slurm-time", "10", *extra,
    ]  # fmt: skip


@pytest.mark.slow
def test_tune_with_two_slurm_workers_on_a_journal_file(slurm: SlurmCluster, tmp_path: Path) -> None:
    done = realzoo(
        *_tune_args(_conf(tmp_path), "--n-trials", "4", "--n-workers", "2"),
        cwd=tmp_path, env=slurm.env,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Submitted 2 worker job(s) as Slurm array" in done.stdout
    (submission,) = (tmp_path / "logs").rglob("workers/slurm/*/submission.yml")
    tasks = _read_yaml(submission)["tasks"]
    assert isinstance(tasks, list) and len(tasks) == 2
    array = str(_read_yaml(submission)["job_id"])
    record = slurm.run("scontrol", "-o", "show", "job", array).stdout
    assert record.count("JobState=COMPLETED") == 2, record
    # both workers took trials from the one study in the journal file: 4 in all, not 8
    import optuna

    journal = next((tmp_path / "logs").rglob("study.log"))
    storage = optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend(str(journal))
    )
    study = optuna.load_study(study_name="tune_CartPole-v1", storage=storage)
    trials = study.get_trials(deepcopy=False)
    assert len(trials) == 4
    assert all(t.state.name == "COMPLETE" for t in trials)
    assert len({t.user_attrs.get("pid") for t in trials}) == 2  # two worker processes
    assert "Ran 4 trials" in done.stdout or "the study has 4" in done.stdout


def test_tune_refuses_sqlite_on_slurm(slurm: SlurmCluster, tmp_path: Path) -> None:
    done = realzoo(
        *_tune_args(_conf(tmp_path), "--storage", f"sqlite:///{tmp_path}/s.db"),
        cwd=tmp_path, env=slurm.env,
    )  # fmt: skip
    assert done.returncode == 2, done.stdout + done.stderr
    assert "SQLite is not safe for workers on several machines" in done.stderr
    assert slurm.run("squeue", "-h").stdout.strip() == ""
    assert not (tmp_path / "s.db").exists()
