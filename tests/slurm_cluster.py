"""A real single-node Slurm cluster for the tests: munged, slurmctld and slurmd on this machine.

:func:`start_cluster` writes a ``slurm.conf`` into a temporary folder (every path of the
daemons under it, no cgroups, accounting off), starts the three daemons and waits until
``sinfo`` shows the node idle; :meth:`SlurmCluster.stop` ends them by their pid files.
Client commands find the cluster through ``SLURM_CONF`` (:attr:`SlurmCluster.env`).

Only one cluster can listen on a port, and pytest-xdist workers run in parallel: each
worker derives its own ports from its id (``gw0``, ``gw1``...), and a file lock keeps two
workers from starting daemons at the same moment (slurmd's node name is shared, so they
also take turns: the lock is held for as long as the cluster runs).

Needs root (slurmd runs jobs as their user, munged as ``munge``) and the Debian packages
``slurm-wlm`` and ``munge``; :func:`why_not` says why a cluster cannot start here.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

__all__ = ["SlurmCluster", "start_cluster", "why_not"]

_MUNGE_SOCKET_DIR = Path("/run/munge")
_LOCK = Path("/tmp/realzoo-test-slurm.lock")
_START_S = 60.0


def why_not() -> str | None:
    """Why a test cluster cannot run here (None: it can)."""
    for program in ("slurmctld", "slurmd", "munged", "sbatch", "sinfo"):
        if shutil.which(program) is None and not Path(f"/usr/sbin/{program}").exists():
            return f"{program} is not installed (apt-get install slurm-wlm munge)"
    if os.geteuid() != 0:
        return "starting slurmd and munged needs root"
    if not Path("/etc/munge/munge.key").is_file():
        return "no /etc/munge/munge.key (the munge package creates it)"
    return None


def _program(name: str) -> str:
    return shutil.which(name) or f"/usr/sbin/{name}"


def _ports() -> tuple[int, int]:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    number = int("".join(c for c in worker if c.isdigit()) or 0)
    return 16817 + 10 * number, 16818 + 10 * number


@dataclass
class SlurmCluster:
    """A running cluster: its folder, its configuration, and the environment for clients."""

    folder: Path
    conf: Path
    partition: str = "debug"
    env: dict[str, str] = field(default_factory=dict)
    _lock: IO[str] | None = None

    def run(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run a Slurm client command against this cluster."""
        return subprocess.run(
            list(argv), env=self.env, capture_output=True, text=True, check=check, timeout=60
        )

    def stop(self) -> None:
        """Stop slurmd, slurmctld (and munged if we started it) by their pid files."""
        with contextlib.suppress(Exception):
            self.run("scancel", "--user", "root", check=False)
        for name in ("slurmd", "slurmctld"):
            _kill_pidfile(self.folder / f"{name}.pid")
        _kill_pidfile(self.folder / "munged.pid")
        if self._lock is not None:
            self._lock.close()
            self._lock = None


def _kill_pidfile(path: Path, timeout: float = 20.0) -> None:
    try:
        pid = int(path.read_text().strip())
    except (OSError, ValueError):
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def _config(folder: Path, host: str, ctld_port: int, d_port: int) -> str:
    return f"""\
ClusterName=realzootest
SlurmctldHost={host}
SlurmctldPort={ctld_port}
SlurmdPort={d_port}
AuthType=auth/munge
CryptoType=crypto/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SlurmUser=root
SlurmdUser=root
ReturnToService=2
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=2
MinJobAge=600
KillWait=10
InactiveLimit=0
MessageTimeout=30
SlurmctldPidFile={folder}/slurmctld.pid
SlurmdPidFile={folder}/slurmd.pid
SlurmdSpoolDir={folder}/spool
StateSaveLocation={folder}/state
SlurmctldLogFile={folder}/slurmctld.log
SlurmdLogFile={folder}/slurmd.log
NodeName={host} CPUs={os.cpu_count() or 2} RealMemory=4000 State=UNKNOWN
PartitionName=debug Nodes={host} Default=YES MaxTime=INFINITE State=UP
"""


def _munge_ok(env: dict[str, str]) -> bool:
    try:
        cred = subprocess.run(["munge", "-n"], capture_output=True, check=True, timeout=10).stdout
        subprocess.run(["unmunge"], input=cred, capture_output=True, check=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return False
    return True


def _start_munge(folder: Path, env: dict[str, str]) -> None:
    if _munge_ok(env):
        return  # a munged is running already (another test session's or the system's)
    _MUNGE_SOCKET_DIR.mkdir(mode=0o755, exist_ok=True)
    shutil.chown(_MUNGE_SOCKET_DIR, "munge", "munge")
    for sub in ("/var/lib/munge", "/var/log/munge"):
        with contextlib.suppress(OSError):
            Path(sub).mkdir(parents=True, exist_ok=True)
            shutil.chown(sub, "munge", "munge")
    subprocess.run(
        ["su", "-s", "/bin/sh", "munge", "-c", _program("munged")],
        check=True,
        capture_output=True,
        timeout=30,
    )
    deadline = time.monotonic() + 20
    while not _munge_ok(env):
        if time.monotonic() > deadline:
            raise RuntimeError("munged started but 'munge -n | unmunge' fails")
        time.sleep(0.2)
    pid_file = Path("/run/munge/munged.pid")
    if pid_file.is_file():
        (folder / "munged.pid").write_text(pid_file.read_text())


def start_cluster(folder: Path) -> SlurmCluster:
    """Start munged (unless running), slurmctld and slurmd; wait for an idle node.

    Raises:
        RuntimeError: a daemon did not start (the logs in ``folder`` say why).
    """
    folder.mkdir(parents=True, exist_ok=True)
    lock = _LOCK.open("a+")
    fcntl.flock(lock, fcntl.LOCK_EX)  # one test cluster at a time on this machine
    host = socket.gethostname().split(".")[0]
    ctld_port, d_port = _ports()
    conf = folder / "slurm.conf"
    for sub in ("spool", "state"):
        (folder / sub).mkdir(exist_ok=True)
    conf.write_text(_config(folder, host, ctld_port, d_port))
    env = {**os.environ, "SLURM_CONF": str(conf)}
    cluster = SlurmCluster(folder=folder, conf=conf, env=env, _lock=lock)
    try:
        _start_munge(folder, env)
        subprocess.run(
            [_program("slurmctld"), "-f", str(conf), "-c", "-i"],
            env=env,
            check=True,
            capture_output=True,
            timeout=60,
        )
        subprocess.run(
            [_program("slurmd"), "-f", str(conf), "-c"],
            env=env,
            check=True,
            capture_output=True,
            timeout=60,
        )
        deadline = time.monotonic() + _START_S
        while True:
            out = cluster.run("sinfo", "-h", "-o", "%t", check=False).stdout.split()
            if out and all(state == "idle" for state in out):
                break
            if time.monotonic() > deadline:
                log = (folder / "slurmctld.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(
                    f"the Slurm node is not idle after {_START_S:.0f} s: {out}\n{log}"
                )
            time.sleep(0.5)
    except BaseException:
        cluster.stop()
        raise
    return cluster
