"""Stopping a run cleanly: SIGINT, SIGTERM and a wall-clock budget.

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

__all__ = ["EXIT_TIME_LIMIT", "StopRequest"]

#: exit status of a run stopped by --time-limit (EX_TEMPFAIL: resumable, try again)
EXIT_TIME_LIMIT = 75


class StopRequest:
    """Watches for stop signals and a deadline; the train loop polls :attr:`reason`.

    Args:
        time_limit_hours: wall-clock budget of this process, or None for no limit.
    """

    def __init__(self, time_limit_hours: float | None = None) -> None:
        self.reason: str | None = None
        self.exit_code = 0
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
        print(
            f"\n{name} received: stopping after the current step and writing a checkpoint "
            "(send it again to stop at once).",
            file=sys.stderr,
            flush=True,
        )

    @property
    def requested(self) -> bool:
        """True once a signal arrived or the time limit passed."""
        if self.reason is None and self._deadline is not None and time.monotonic() > self._deadline:
            self.reason, self.exit_code = "time limit", EXIT_TIME_LIMIT
        return self.reason is not None
