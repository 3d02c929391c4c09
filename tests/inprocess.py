"""``realzoo ARGS`` run inside the test's own process, as a separate process would see it.

Starting ``python -m rlzoo_real`` costs seconds of imports (torch, SB3, gymnasium) per
command; running the same command line through the app in pytest's process costs none. What
a fresh process would not inherit is isolated around each command, and put back after it:

- the working directory, ``os.environ`` and ``sys.path`` (``extra_path`` goes on both, as
  ``PYTHONPATH`` would put it);
- modules imported from ``extra_path`` or the working directory (dropped from
  ``sys.modules``, so that the next command imports them again, as a new process would);
- env ids registered with gymnasium during the command (a ``--gym-packages`` module's);
- SIGINT / SIGTERM handlers, torch's thread count, logging handlers added during the command;
- warning filters: Python's defaults (pytest's ``filterwarnings = error`` would turn a warning
  a user only sees printed into a crash); warnings are printed to the command's stderr.

An exception the CLI lets escape is a crash, as in a process: exit status 1 and its
traceback in ``stderr`` (so ``"Traceback" not in output`` checks still see it).

Tests whose point is a real process (signals, SIGKILL, a fresh interpreter in which nothing
is imported yet) keep starting one; see :func:`tests.conftest.run_realzoo`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import traceback
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

__all__ = ["isolated", "run_cli"]


def run_cli(
    args: Sequence[object], *, cwd: Path, extra_path: Sequence[Path] = ()
) -> subprocess.CompletedProcess[str]:
    """Run ``realzoo ARGS`` in this process with ``cwd`` as working directory.

    Args:
        args: the words after ``realzoo`` (paths are turned into strings).
        cwd: the working directory of the command.
        extra_path: folders put first on ``sys.path`` and ``PYTHONPATH``.

    Returns:
        What :func:`subprocess.run` would: ``returncode``, ``stdout``, ``stderr``.
    """
    from typer.testing import CliRunner

    from rlzoo_real.cli import app

    words = [str(a) for a in args]
    with isolated(cwd, extra_path):
        result = CliRunner().invoke(app, words, prog_name="realzoo")
    stderr = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        info = result.exc_info
        assert info is not None
        stderr += "".join(traceback.format_exception(info[1]))  # as the interpreter prints it
    return subprocess.CompletedProcess(["realzoo", *words], result.exit_code, result.stdout, stderr)


@contextlib.contextmanager
def isolated(cwd: Path, extra_path: Sequence[Path] = ()) -> Iterator[None]:
    """Working directory, environment, imports, signal handlers, threads, logging, warnings
    and gymnasium's registry as a new process would start with them, restored afterwards."""
    folders = [Path(p).resolve() for p in extra_path]
    saved_cwd = os.getcwd()
    saved_environ = dict(os.environ)
    saved_path = list(sys.path)
    saved_modules = set(sys.modules)
    saved_signals = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    saved_loggers = {name: list(lg.handlers) for name, lg in _loggers()}
    threads = _torch_threads()
    envs = _gym_ids()
    try:
        with warnings.catch_warnings():
            _python_default_warnings()
            os.chdir(cwd)
            if folders:
                sys.path[:0] = [str(p) for p in folders]
                old = os.environ.get("PYTHONPATH")
                os.environ["PYTHONPATH"] = os.pathsep.join(
                    [*map(str, folders), *([old] if old else [])]
                )
            yield
    finally:
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_environ)
        sys.path[:] = saved_path
        _drop_modules(set(sys.modules) - saved_modules, [*folders, Path(cwd).resolve()])
        for signum, handler in saved_signals.items():
            signal.signal(signum, handler)
        _restore_logging(saved_loggers)
        if threads is not None:
            import torch

            torch.set_num_threads(threads)
        _unregister(_gym_ids() - envs)


def _python_default_warnings() -> None:
    """The filters of a plain ``python`` process (no -W, no dev mode), printing to the
    command's stderr (pytest's own recording of warnings would otherwise take them)."""
    warnings.showwarning = _print_warning  # catch_warnings puts pytest's back afterwards
    warnings.resetwarnings()
    warnings.filterwarnings("default", category=DeprecationWarning, module="__main__")
    for category in (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning):
        warnings.filterwarnings("ignore", category=category)


def _print_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: Any = None,
    line: str | None = None,
) -> None:
    sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))


def _drop_modules(names: set[str], folders: list[Path]) -> None:
    for name in names:
        module = sys.modules.get(name)
        file = getattr(module, "__file__", None)
        if file and any(Path(file).resolve().is_relative_to(f) for f in folders):
            del sys.modules[name]


def _loggers() -> list[tuple[str, logging.Logger]]:
    found = [("", logging.getLogger())]
    for name, logger in list(logging.root.manager.loggerDict.items()):
        if isinstance(logger, logging.Logger):
            found.append((name, logger))
    return found


def _restore_logging(saved: dict[str, list[logging.Handler]]) -> None:
    """Each logger's handlers as before: those added during the command (they wrote to its
    captured streams) removed and closed, those it removed put back."""
    for name, logger in _loggers():
        before = saved.get(name, [])
        for handler in [h for h in logger.handlers if h not in before]:
            logger.removeHandler(handler)
            handler.close()
        for handler in before:
            if handler not in logger.handlers:
                logger.addHandler(handler)


def _torch_threads() -> int | None:
    torch: Any = sys.modules.get("torch")
    return int(torch.get_num_threads()) if torch is not None else None


def _gym_ids() -> set[str]:
    import gymnasium  # loaded before the command: its own registrations are not the command's

    return set(gymnasium.envs.registry)


def _unregister(ids: set[str]) -> None:
    if ids:
        import gymnasium

        for env_id in ids:
            gymnasium.envs.registry.pop(env_id, None)
