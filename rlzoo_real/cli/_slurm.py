"""``--executor`` and the ``--slurm-*`` options, shared by ``realzoo sweep`` and ``tune``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from rlzoo_real.errors import UserError

if TYPE_CHECKING:
    from rlzoo_real.executors.slurm import SlurmOptions

__all__ = ["slurm_options"]

PANEL = "Executor (where the jobs run)"

Executor = Annotated[
    str,
    typer.Option(
        "--executor",
        help="local: processes on this machine; slurm: Slurm jobs (sbatch), on a shared "
        "filesystem.",
        rich_help_panel=PANEL,
    ),
]
Partition = Annotated[
    str | None, typer.Option("--slurm-partition", help="Partition.", rich_help_panel=PANEL)
]
Time = Annotated[
    str,
    typer.Option(
        "--slurm-time",
        help="Time limit of each job (minutes, H:MM:SS or D-HH:MM:SS). Training stops "
        "--slurm-stop-before earlier, checkpoints, and the job is requeued to resume.",
        rich_help_panel=PANEL,
    ),
]
StopBefore = Annotated[
    float,
    typer.Option(
        "--slurm-stop-before",
        metavar="SECONDS",
        help="Stop training this long before the job's time limit, to write the checkpoint.",
        rich_help_panel=PANEL,
    ),
]
Cpus = Annotated[
    int, typer.Option("--slurm-cpus", help="CPUs per job (task).", rich_help_panel=PANEL)
]
Mem = Annotated[
    str | None,
    typer.Option("--slurm-mem", help="Memory per job, e.g. 8G.", rich_help_panel=PANEL),
]
Gpus = Annotated[
    str | None,
    typer.Option(
        "--slurm-gpus", help="GPUs per job: a number or TYPE:N (a100:1).", rich_help_panel=PANEL
    ),
]
Parallel = Annotated[
    int | None,
    typer.Option(
        "--slurm-parallel",
        help="At most this many jobs of the array at once (sbatch --array=...%N).",
        rich_help_panel=PANEL,
    ),
]
Account = Annotated[
    str | None, typer.Option("--slurm-account", help="Account to charge.", rich_help_panel=PANEL)
]
Qos = Annotated[
    str | None, typer.Option("--slurm-qos", help="Quality of service.", rich_help_panel=PANEL)
]
SbatchArgs = Annotated[
    list[str] | None,
    typer.Option(
        "--slurm-sbatch-arg",
        metavar="ARG",
        help="An extra sbatch option, repeatable: --slurm-sbatch-arg=--constraint=a100.",
        rich_help_panel=PANEL,
    ),
]
Template = Annotated[
    str | None,
    typer.Option(
        "--slurm-template",
        metavar="FILE",
        help="A batch script with {{command}} where the command goes (module load, source "
        "venv/bin/activate, ...); realzoo adds its #SBATCH lines.",
        rich_help_panel=PANEL,
    ),
]
Wait = Annotated[
    bool,
    typer.Option(
        "--wait/--no-wait",
        help="With --executor slurm: wait for the jobs and report (the default), or return "
        "after submitting.",
        rich_help_panel=PANEL,
    ),
]


def slurm_options(
    executor: str,
    *,
    partition: str | None,
    time: str,
    stop_before: float,
    cpus: int,
    mem: str | None,
    gpus: str | None,
    parallel: int | None,
    account: str | None,
    qos: str | None,
    sbatch_args: list[str] | None,
    template: str | None,
    wait: bool,
) -> SlurmOptions | None:
    """The Slurm options for ``--executor slurm``, None for ``local``.

    Raises:
        UserError: an unknown executor, or ``--slurm-*`` options given with ``local``.
    """
    from rlzoo_real.executors.slurm import SlurmOptions

    if executor not in ("local", "slurm"):
        raise UserError(f"--executor takes local or slurm, got {executor!r}.")
    options = SlurmOptions(
        partition=partition,
        time=time,
        cpus=cpus,
        mem=mem,
        gpus=gpus,
        parallel=parallel,
        account=account,
        qos=qos,
        sbatch_args=list(sbatch_args or []),
        template=template,
        stop_before=stop_before,
        wait=wait,
    )
    if executor == "local":
        given = [
            name
            for name, value, default in (
                ("--slurm-partition", partition, None),
                ("--slurm-mem", mem, None),
                ("--slurm-gpus", gpus, None),
                ("--slurm-parallel", parallel, None),
                ("--slurm-account", account, None),
                ("--slurm-qos", qos, None),
                ("--slurm-template", template, None),
                ("--slurm-sbatch-arg", sbatch_args or None, None),
            )
            if value != default
        ]
        if given:
            raise UserError(
                f"{', '.join(given)} only apply to --executor slurm; add --executor slurm or "
                "leave them out."
            )
        return None
    return options
