"""``realzoo tune --executor slurm``: the study's workers as a Slurm job array.

Each array task is one tuning worker, ``python -m rlzoo_real.tuning.worker $SLURM_ARRAY_TASK_ID``
with the worker settings (``config.json``) on standard input: the same worker the local
pool starts, joining the study through its shared storage (the journal file in the log
folder on a shared filesystem, or a PostgreSQL/MySQL/Redis URL). The workers share the
command's ``--n-trials`` through a claims file next to the script, so the budget holds
across machines. Files: ``<study>/workers/slurm/<session>/`` (``tune.sbatch``,
``config.json``, ``claims``, ``submission.yml``, ``slurm-<array>_<task>.out``).
"""

from __future__ import annotations

import json
import shlex
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rlzoo_real.errors import UserError
from rlzoo_real.executors.slurm import (
    SlurmOptions,
    check_options,
    job_states,
    render_script,
    submit,
)

__all__ = ["check_storage", "slurm_pool"]

_POLL_S = 2.0


def check_storage(kind: str, shown: str) -> None:
    """Refuse a storage that workers on other machines cannot share.

    Raises:
        UserError: SQLite (its file locking fails on network filesystems).
    """
    if kind == "sqlite":
        raise UserError(
            f"--storage {shown}: SQLite is not safe for workers on several machines (its locks "
            "fail on network filesystems). With --executor slurm use the journal file (the "
            "default, in the log folder on a shared filesystem) or postgresql://..."
        )


def slurm_pool(options: SlurmOptions) -> Callable[..., Any]:
    """A replacement for :func:`rlzoo_real.executors.pool.run_pool` that submits the workers."""

    def run(
        config: dict[str, Any],
        n_workers: int,
        *,
        study: Any,
        storage: Any,
        echo: Callable[[str], None],
    ) -> Any:
        from rlzoo_real.executors.pool import PoolOutcome, _print_finished
        from rlzoo_real.runs.folder import write_text_atomic, write_yaml_atomic
        from rlzoo_real.runs.manifest import now_iso
        from rlzoo_real.tuning.results import describe_trial

        check_options(options)
        folder = Path(config["workers_dir"]) / "slurm" / config["session"]
        folder.mkdir(parents=True, exist_ok=True)
        config = {**config, "claims": str(folder / "claims")}  # outlives this command
        Path(config["claims"]).touch()
        write_text_atomic(folder / "config.json", json.dumps(config, indent=1) + "\n")
        worker = shlex.join([sys.executable, "-m", "rlzoo_real.tuning.worker"])
        script = render_script(
            options,
            f"{worker} $SLURM_ARRAY_TASK_ID < {shlex.quote(str(folder / 'config.json'))}",
            job_name=f"realzoo-tune-{config['study_name']}",
            output=str(folder / "slurm-%A_%a.out"),
            array=f"0-{n_workers - 1}",
            workdir=Path.cwd(),
            environment={"PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": str(config["num_threads"])},
        )
        write_text_atomic(folder / "tune.sbatch", script)
        outcome = PoolOutcome()
        array = submit(folder / "tune.sbatch")
        tasks = [f"{array}_{i}" for i in range(n_workers)]
        write_yaml_atomic(
            folder / "submission.yml", {"job_id": array, "submitted": now_iso(), "tasks": tasks}
        )
        echo(f"Submitted {n_workers} worker job(s) as Slurm array {array}; files in {folder}")
        if not options.wait:
            echo(
                "Not waiting (--no-wait): the workers run on; squeue shows them. Run the same "
                "command with --n-trials 0 later to write the results."
            )
            outcome.stop_reason = "submitted, not waited for"
            return outcome
        seen = {t.number for t in study.get_trials(deepcopy=False) if t.state.is_finished()}
        while True:
            seen = _print_finished(study, seen, echo, describe_trial)
            states = job_states([array])
            if not any(states.get(t) is not None and states[t].active for t in tasks):
                break
            time.sleep(_POLL_S)
        _print_finished(study, seen, echo, describe_trial)
        for task in tasks:
            state = states.get(task)
            if state is None or state.state != "COMPLETED":
                how = state.state if state is not None else "unknown (Slurm forgot it)"
                outcome.problems.append(
                    f"worker job {task} ended {how}; Slurm output {folder}/slurm-{task}.out"
                )
        if outcome.problems:
            outcome.exit_code = 1
        return outcome

    return run
