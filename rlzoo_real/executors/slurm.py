"""Slurm as an executor: checked options, generated ``sbatch`` scripts, job states.

realzoo talks to Slurm through its ordinary commands (``sbatch``, ``scontrol``,
``scancel``, ``sinfo``), no extra library: a sweep is one job array whose task *i*
trains job *i* of the sweep (see :mod:`rlzoo_real.executors.slurm_sweep`), a tuning
study is an array of workers joining the study's shared storage (see
:mod:`rlzoo_real.executors.slurm_tune`). Job states come from ``scontrol show job``,
which works without Slurm's accounting database (``sacct`` needs one).

Every script starts with ``#SBATCH`` lines made from :class:`SlurmOptions`; a user
template file (``--slurm-template``) supplies the rest, with ``{{command}}`` where the
command goes (``module load``, ``source venv/bin/activate``...).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rlzoo_real.errors import UserError, suggest

__all__ = [
    "ACTIVE_STATES",
    "PLACEHOLDER",
    "JobState",
    "SlurmOptions",
    "check_options",
    "job_states",
    "parse_time",
    "render_script",
    "submit",
]

#: Where a template file wants the command.
PLACEHOLDER = "{{command}}"
#: Job states of a job that is not over yet.
ACTIVE_STATES = frozenset(
    {
        "PENDING",
        "CONFIGURING",
        "RUNNING",
        "COMPLETING",
        "REQUEUED",
        "REQUEUE_FED",
        "REQUEUE_HOLD",
        "RESIZING",
        "SUSPENDED",
        "STAGE_OUT",
        "SIGNALING",
        "STOPPED",
    }
)
#: A task stops its training this long before its Slurm time limit by default (seconds).
DEFAULT_STOP_BEFORE_S = 300
#: Requeues of one task after which it gives up (a run that never gets anywhere).
MAX_REQUEUES = 50
_COMMAND_TIMEOUT_S = 60


@dataclass(frozen=True)
class SlurmOptions:
    """What the user asked of Slurm (``--slurm-*`` options)."""

    partition: str | None = None
    time: str = "1:00:00"
    cpus: int = 1
    mem: str | None = None
    gpus: str | None = None
    parallel: int | None = None
    account: str | None = None
    qos: str | None = None
    sbatch_args: list[str] = field(default_factory=list)
    template: str | None = None
    stop_before: float = DEFAULT_STOP_BEFORE_S
    wait: bool = True

    @property
    def time_seconds(self) -> int:
        """The Slurm time limit in seconds."""
        return parse_time(self.time)

    @property
    def train_hours(self) -> float:
        """``realzoo train --time-limit``: the Slurm limit less ``stop_before``, in hours."""
        return (self.time_seconds - self.stop_before) / 3600.0


_TIME = re.compile(r"^(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+))?$")


def parse_time(text: str) -> int:
    """Slurm's time formats in seconds: ``M``, ``M:S``, ``H:M:S``, ``D-H``, ``D-H:M``, ``D-H:M:S``.

    Raises:
        UserError: anything else, or no time at all.
    """
    match = _TIME.match(str(text).strip())
    if not match:
        raise UserError(
            f"--slurm-time {text!r} is not a Slurm time: give minutes (90), H:MM:SS (1:30:00) "
            "or D-HH:MM:SS (1-12:00:00)."
        )
    days, a, b, c = match.groups()
    nums = [int(x) for x in (a, b, c) if x is not None]
    if days is not None:  # D-H, D-H:M, D-H:M:S
        h, m, s = (nums + [0, 0])[:3]
        seconds = int(days) * 86400 + h * 3600 + m * 60 + s
    elif len(nums) == 1:
        seconds = nums[0] * 60
    elif len(nums) == 2:
        seconds = nums[0] * 60 + nums[1]
    else:
        seconds = nums[0] * 3600 + nums[1] * 60 + nums[2]
    if seconds <= 0:
        raise UserError(f"--slurm-time must be longer than zero, got {text!r}.")
    return seconds


def _slurm_program(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise UserError(
            f"--executor slurm needs Slurm's {name} on the PATH, and it is not there "
            f"(PATH={os.environ.get('PATH', '')}). Run realzoo on a login node of the cluster "
            "(or load Slurm's module), or use --executor local."
        )
    return path


def _run(argv: Sequence[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(argv), capture_output=True, text=True, timeout=_COMMAND_TIMEOUT_S, check=False
    )


def partitions() -> list[str]:
    """The cluster's partitions, from ``sinfo``.

    Raises:
        UserError: ``sinfo`` is missing or cannot reach the cluster.
    """
    done = _run([_slurm_program("sinfo"), "-h", "-o", "%P"])
    if done.returncode != 0:
        raise UserError(
            f"sinfo cannot reach the Slurm cluster: {(done.stderr or done.stdout).strip()} "
            "Check that slurmctld runs and SLURM_CONF points at its configuration."
        )
    return sorted({line.strip().rstrip("*") for line in done.stdout.split() if line.strip()})


def read_template(path: str) -> str:
    """The text of a template file, checked for the ``{{command}}`` placeholder.

    Raises:
        UserError: the file is missing, unreadable, or has no placeholder.
    """
    file = Path(path).expanduser()
    if not file.is_file():
        raise UserError(
            f"--slurm-template {path}: no such file. Give a shell script with {PLACEHOLDER} "
            "where the command goes, e.g. a line 'source ~/venv/bin/activate' followed by "
            f"a line '{PLACEHOLDER}'."
        )
    try:
        text = file.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"--slurm-template {path} cannot be read: {exc}.") from None
    if PLACEHOLDER not in text:
        raise UserError(
            f"--slurm-template {path} has no {PLACEHOLDER} placeholder, so realzoo cannot tell "
            f"where the command goes. Add a line '{PLACEHOLDER}' after your set-up lines."
        )
    return text


def check_options(options: SlurmOptions, *, needs_cluster: bool = True) -> None:
    """Check what can be checked before anything is submitted.

    Args:
        needs_cluster: also check ``sbatch`` and the partition against the cluster
            (False for ``--dry-run``, which prints scripts without a cluster when
            ``sbatch`` is absent).

    Raises:
        UserError: the first mistake found.
    """
    seconds = options.time_seconds
    if options.stop_before <= 0:
        raise UserError(
            "--slurm-stop-before must be a positive number of seconds, got "
            f"{options.stop_before:g}."
        )
    if seconds <= options.stop_before:
        raise UserError(
            f"--slurm-time {options.time} ({seconds} s) is not longer than --slurm-stop-before "
            f"({options.stop_before:g} s), the time each job keeps to write its checkpoint before "
            "Slurm's limit, so no job would train at all. Give a longer --slurm-time or a "
            "shorter --slurm-stop-before."
        )
    if options.cpus < 1:
        raise UserError(f"--slurm-cpus must be at least 1, got {options.cpus}.")
    if options.parallel is not None and options.parallel < 1:
        raise UserError(f"--slurm-parallel must be at least 1, got {options.parallel}.")
    for arg in options.sbatch_args:
        if not arg.startswith("-"):
            raise UserError(
                f"--slurm-sbatch-arg takes sbatch options such as --constraint=a100, got {arg!r} "
                "(write it with '=': --slurm-sbatch-arg=--constraint=a100)."
            )
    if options.template is not None:
        read_template(options.template)
    if not needs_cluster and shutil.which("sbatch") is None:
        return
    _slurm_program("sbatch")
    if options.partition is not None:
        known = partitions()
        if options.partition not in known:
            raise UserError(
                f"--slurm-partition {options.partition!r} is not a partition of this cluster; "
                f"sinfo lists {', '.join(known) or 'none'}.{suggest(options.partition, known)}"
            )


def sbatch_lines(
    options: SlurmOptions, *, job_name: str, output: str, array: str | None
) -> list[str]:
    """The ``#SBATCH`` lines for these options."""
    lines = [f"--job-name={job_name}", f"--output={output}", f"--time={options.time}"]
    lines.append(f"--cpus-per-task={options.cpus}")
    if array is not None:
        lines.append(f"--array={array}" + (f"%{options.parallel}" if options.parallel else ""))
    for flag, value in (
        ("partition", options.partition),
        ("mem", options.mem),
        ("gpus-per-task", options.gpus),
        ("account", options.account),
        ("qos", options.qos),
    ):
        if value:
            lines.append(f"--{flag}={value}")
    lines += ["--requeue", "--open-mode=append"]
    lines += list(options.sbatch_args)
    return [f"#SBATCH {line}" for line in lines]


def render_script(
    options: SlurmOptions,
    command: str,
    *,
    job_name: str,
    output: str,
    array: str | None,
    workdir: Path,
    environment: dict[str, str] | None = None,
) -> str:
    """A complete batch script: ``#SBATCH`` lines, then the template (or a plain body).

    Args:
        command: the shell command each task runs (it may use ``$SLURM_ARRAY_TASK_ID``).
        workdir: the folder the command runs in (relative paths of the command).
        environment: variables exported before the command.
    """
    body = read_template(options.template) if options.template else f"{PLACEHOLDER}\n"
    shebang = "#!/bin/bash"
    if body.startswith("#!"):
        shebang, _, body = body.partition("\n")
    header = [shebang, *sbatch_lines(options, job_name=job_name, output=output, array=array)]
    setup = [
        "# generated by realzoo; the command below is the whole job",
        "set -e",
        f"cd {shlex.quote(str(workdir))}",
    ]
    for key, value in sorted((environment or {}).items()):
        setup.append(f"export {key}={shlex.quote(value)}")
    return "\n".join([*header, *setup, body.replace(PLACEHOLDER, command).rstrip("\n"), ""])


def submit(script: Path) -> str:
    """``sbatch`` the script; returns the job id.

    Raises:
        UserError: sbatch refused it (its message says why).
    """
    done = _run([_slurm_program("sbatch"), "--parsable", str(script)])
    if done.returncode != 0:
        raise UserError(
            f"sbatch refused {script}: {(done.stderr or done.stdout).strip()} "
            "Fix the --slurm-* options (or the template) and run the same command again."
        )
    return done.stdout.strip().split(";")[0]


@dataclass(frozen=True)
class JobState:
    """One job (or array task) as Slurm sees it."""

    job_id: str
    state: str
    reason: str = ""
    restarts: int = 0
    exit_code: str = ""

    @property
    def active(self) -> bool:
        """The job is not over yet."""
        return self.state in ACTIVE_STATES


def _task_ids(text: str) -> list[int]:
    """``"0-3%2"`` or ``"1,4-5"`` -> task numbers."""
    ids: list[int] = []
    for part in text.split("%")[0].split(","):
        lo, dash, hi = part.partition("-")
        if lo.isdigit():
            ids.extend(range(int(lo), int(hi) + 1) if dash and hi.isdigit() else [int(lo)])
    return ids


def job_states(job_ids: Iterable[str]) -> dict[str, JobState]:
    """The state of each job and array task, by ``ID`` and ``ARRAYID_TASK``.

    Jobs Slurm has forgotten (``MinJobAge`` after they ended) are absent.
    """
    ids = sorted(set(job_ids))
    if not ids or shutil.which("scontrol") is None:
        return {}
    states: dict[str, JobState] = {}
    for job_id in ids:
        done = _run(["scontrol", "-o", "show", "job", job_id])
        if done.returncode != 0:
            continue
        for line in done.stdout.splitlines():
            fields = dict(item.split("=", 1) for item in line.split() if "=" in item)
            state = JobState(
                job_id=fields.get("JobId", job_id),
                state=fields.get("JobState", "UNKNOWN"),
                reason=fields.get("Reason", ""),
                restarts=int(fields.get("Restarts", "0") or 0),
                exit_code=fields.get("ExitCode", ""),
            )
            states[state.job_id] = state
            array, tasks = fields.get("ArrayJobId"), fields.get("ArrayTaskId")
            if array and tasks:
                for task in _task_ids(tasks):
                    states[f"{array}_{task}"] = state
    return states


def cancel(job_ids: Iterable[str]) -> None:
    """``scancel`` these jobs (quietly: some may be over)."""
    ids = list(job_ids)
    if ids and shutil.which("scancel") is not None:
        _run(["scancel", *ids])
