"""Running one training request: create (or reopen) the run folder, train, save.

:func:`train` is what ``realzoo train`` and every tuning trial and sweep job call: the
request is checked (:mod:`rlzoo_real.train.request`) before any file exists, then a
:class:`~rlzoo_real.train.session.Session` trains with evaluation and checkpoint callbacks
and saves the final model. Ctrl-C saves what was reached so far.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rlzoo_real.runs.folder import RunFolder
from rlzoo_real.train.request import Prepared, TrainArgs, check_options, prepare
from rlzoo_real.train.session import TrainResult

__all__ = ["set_threads", "train"]


def train(
    args: TrainArgs,
    *,
    command: str = "",
    on_start: Callable[[Prepared, RunFolder], None] | None = None,
    extra_callbacks: Sequence[Any] = (),
) -> TrainResult:
    """Run ``realzoo train``: check, create (or reopen) the run folder, train, save.

    Args:
        args: the request (``args.resume`` set: continue that run from its checkpoint).
        command: the command line as typed, for ``command.txt``.
        on_start: called once the run folder is ready and training is about to start.
        extra_callbacks: more SB3 callbacks for this session (e.g. a tuner's pruning hook);
            they run after the evaluation callback, so they see its latest result.
    """
    from rlzoo_real.runs.folder import (
        create_locked_run_folder,
        write_text_atomic,
        write_yaml_atomic,
    )
    from rlzoo_real.runs.locks import acquire_run_lock
    from rlzoo_real.runs.manifest import now_iso, start_manifest
    from rlzoo_real.train.session import Session
    from rlzoo_real.train.stopping import StopRequest

    if args.resume:
        from rlzoo_real.train.resume import locate_run, prepare_resume

        check_options(args)  # prepare() checks them on a new run
        target = locate_run(  # the folder only: its files are read under the lock
            args.resume,
            algo=args.algo,
            env=args.env,
            log_folder=args.log_folder,
            backend=args.backend,
        )
        # one writer per run folder: locked before anything in it is read for resuming,
        # cleaned up or written, and held until this process ends (or dies)
        with acquire_run_lock(target) as lock:
            prepared, point = prepare_resume(args)
            run = point.run
            threads = set_threads(prepared.args.num_threads, backend=prepared.args.backend)
            with StopRequest(args.time_limit) as stop:
                session = Session.build(prepared, run, stop, point, extra_callbacks)
                manifest = dict(point.manifest)
                resumes = list(manifest.get("resumes") or [])
                resumes.append(
                    {"time": now_iso(), "from_step": point.record.steps, "command": command}
                )
                manifest.update(
                    status="running",
                    end_time=None,
                    exit_code=None,
                    stop_reason=None,
                    pid=os.getpid(),
                    num_threads=threads,
                    resumes=resumes,
                )
                lock.keep()
                write_yaml_atomic(run.manifest_file, manifest)
                old = run.command_file.read_text() if run.command_file.is_file() else ""
                write_text_atomic(run.command_file, old + command + "\n")
                if on_start is not None:
                    on_start(prepared, run)
                return session.learn(manifest)

    prepared = prepare(args)
    threads = set_threads(args.num_threads, backend=prepared.args.backend)
    suffix = ""
    if args.uuid:
        import uuid

        suffix = f"_{uuid.uuid4()}"
    run, lock = create_locked_run_folder(
        Path(args.log_folder), prepared.algo.folder, args.env, suffix=suffix
    )
    lock.keep()
    manifest = start_manifest(
        seed=prepared.seed, num_threads=threads, device=args.device, cwd=Path.cwd()
    )
    with lock, StopRequest(args.time_limit) as stop:
        try:
            saved_args = {**dataclasses.asdict(prepared.args), "seed": prepared.seed}
            write_yaml_atomic(run.args_file, saved_args)
            write_yaml_atomic(run.config_file, dict(prepared.spec.hyperparams))
            manifest["run_files"] = _digests(run.args_file, run.config_file)  # resume checks
            write_text_atomic(run.command_file, command + "\n")
            write_yaml_atomic(run.manifest_file, manifest)
            session = Session.build(prepared, run, stop, None, extra_callbacks)
        except BaseException:
            shutil.rmtree(run.path, ignore_errors=True)  # nothing trained: leave no half-made run
            with contextlib.suppress(OSError):  # and no empty logs/<algo>/ made just for it
                run.path.parent.rmdir()
            raise
        if on_start is not None:
            on_start(prepared, run)
        return session.learn(manifest)


def _digests(*paths: Path) -> dict[str, str]:
    """SHA-256 of files as written, so that resume can tell a damaged or edited one."""
    import hashlib

    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in paths}


def set_threads(num_threads: int, *, backend: str = "sb3") -> int:
    import torch

    if backend == "sbx":
        from rlzoo_real.algos.sbx import configure_threads

        configure_threads(num_threads)

    if num_threads > 0:
        torch.set_num_threads(num_threads)
    return int(torch.get_num_threads())
