"""Stopping a run cleanly: SIGINT, SIGTERM and a wall-clock budget; and the other ways a
run ends early: training that diverged, a full disk.

The first signal asks the run to stop after the current step (the train loop then
writes a checkpoint and prints how to resume); a second one stops it at once. Files
are written atomically, so stopping at once never leaves a checkpoint that resume
would pick.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from types import FrameType
from typing import Any

from rlzoo_real.errors import UserError

__all__ = [
    "EXIT_DISK_FULL",
    "EXIT_DIVERGED",
    "EXIT_TIME_LIMIT",
    "DiskFull",
    "Diverged",
    "TRAIN_NOTICE",
    "StopRequest",
    "TrainingDiverged",
    "finite",
    "non_finite_parameter",
]

#: exit status of a run stopped by --time-limit (EX_TEMPFAIL: resumable, try again)
EXIT_TIME_LIMIT = 75


#: what a training run says when the first signal arrives ({signal}: its name)
TRAIN_NOTICE = (
    "\n{signal} received: stopping after the current step and writing a checkpoint "
    "(send it again to stop at once)."
)


class StopRequest:
    """Watches for stop signals and a deadline; the train loop polls :attr:`reason`.

    The first SIGINT/SIGTERM records its name as :attr:`reason` (exit status 128 + the
    signal) and prints ``notice``; a second one raises :class:`KeyboardInterrupt` at once.
    Used as a context manager, the handlers are installed (main thread only) and the
    previous ones restored on exit, so requests nest: a tuning worker's request between
    trials, a trial's training run's request inside it.

    Args:
        time_limit_hours: wall-clock budget of this process, or None for no limit.
        notice: the line printed on the first signal (``{signal}`` is replaced by its name).
    """

    def __init__(
        self, time_limit_hours: float | None = None, *, notice: str = TRAIN_NOTICE
    ) -> None:
        self.reason: str | None = None
        self.exit_code = 0
        self._notice = notice
        self._deadline = (
            time.monotonic() + time_limit_hours * 3600 if time_limit_hours is not None else None
        )
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> StopRequest:
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if self.reason is not None:
            self.reason, self.exit_code = f"second {name}", 128 + signum
            raise KeyboardInterrupt  # stop at once; atomic writes leave no broken checkpoint
        self.reason, self.exit_code = name, 128 + signum
        print(self._notice.format(signal=name), file=sys.stderr, flush=True)

    def request(self, reason: str, exit_code: int) -> None:
        """Ask to stop for ``reason`` (with that exit status) unless a stop was already asked."""
        if self.reason is None:
            self.reason, self.exit_code = reason, exit_code

    @property
    def requested(self) -> bool:
        """True once a signal arrived or the time limit passed."""
        if self.reason is None and self._deadline is not None and time.monotonic() > self._deadline:
            self.reason, self.exit_code = "time limit", EXIT_TIME_LIMIT
        return self.reason is not None


#: exit status of a run stopped because training diverged (NaN or inf): not resumable as is
EXIT_DIVERGED = 3


class TrainingDiverged(UserError):
    """The paragraph a diverged run ends with (exit status :data:`EXIT_DIVERGED`)."""

    exit_code = EXIT_DIVERGED


class Diverged(Exception):
    """Training produced NaN or inf: ``what`` went non-finite at ``step``."""

    def __init__(self, what: str, step: int) -> None:
        super().__init__(f"{what} at step {step}")
        self.what = what
        self.step = step


def finite(value: Any) -> bool:
    """Whether an array (or dict of arrays) of floats holds no NaN or inf (other dtypes: yes)."""
    import numpy as np

    if isinstance(value, dict):
        return all(finite(v) for v in value.values())
    array = np.asarray(value)
    return array.dtype.kind not in "fc" or bool(np.isfinite(array).all())


def non_finite_parameter(model: Any) -> str | None:
    """The name of the first model parameter (policy, or normalization statistic) with NaN/inf."""
    import torch

    policy = getattr(model, "policy", None)
    if isinstance(policy, torch.nn.Module):
        with torch.no_grad():
            for name, tensor in policy.named_parameters():
                if not bool(torch.isfinite(tensor).all()):
                    return f"the policy's parameter {name}"
    vec_normalize = (
        model.get_vec_normalize_env() if hasattr(model, "get_vec_normalize_env") else None
    )
    if vec_normalize is not None:
        for label, rms in (
            ("observation", vec_normalize.obs_rms),
            ("return", vec_normalize.ret_rms),
        ):
            stats = rms.values() if isinstance(rms, dict) else [rms]
            for one in stats:
                if not (finite(one.mean) and finite(one.var)):
                    return f"the {label} normalization statistics"
    return None


#: exit status of a run stopped by a full disk (EX_IOERR; resumable once there is space)
EXIT_DISK_FULL = 74


class DiskFull(UserError):
    """The disk filled up while the run wrote a file (``errno``: ENOSPC or EDQUOT)."""

    exit_code = EXIT_DISK_FULL

    def __init__(self, message: str, *, errno_: int | None) -> None:
        super().__init__(message)
        self.errno = errno_


def _failed_file(exc: OSError) -> str | None:
    """The file a write failed on: the error's own, or the innermost open file in its trace.

    Monitor files and ``progress.csv`` are written through open handles (``self.file``),
    whose errors carry no file name.
    """
    if exc.filename:
        return str(exc.filename)
    found = None
    trace = exc.__traceback__
    while trace is not None:
        owner = trace.tb_frame.f_locals.get("self")
        for attribute in ("file", "file_handler"):  # SB3's CSV logger, Monitor's writer
            name = getattr(getattr(owner, attribute, None), "name", None)
            if isinstance(name, str):
                found = name
        trace = trace.tb_next
    return found
