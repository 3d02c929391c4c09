"""The runs of a log tree as records (``realzoo runs``), ready for a pandas DataFrame."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["runs"]


def runs(
    log_folder: str | Path = "logs",
    *,
    algos: Sequence[str] = (),
    envs: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """One record per run folder: what ``realzoo runs`` shows.

    Args:
        log_folder: root of the log tree.
        algos, envs: only these algorithms / env ids (default: all).

    Returns:
        A list of dicts with keys ``algo``, ``env``, ``id``, ``seed``, ``steps``,
        ``best_eval``, ``last_eval`` (nan without evaluations), ``status`` (``finished``,
        ``running``, ``stopped``, ``failed``, ``unknown``), ``wall_time_s`` and ``path``:
        ``pandas.DataFrame(rz.runs("logs"))`` makes a table of it.

    Raises:
        RunNotFoundError: the folder does not exist or holds no matching run.
    """
    from rlzoo_real.errors import RunNotFoundError, UserError
    from rlzoo_real.plotting.overview import list_runs

    try:
        rows = list_runs(Path(log_folder), algos=list(algos), envs=list(envs))
    except UserError as exc:
        raise RunNotFoundError(str(exc)) from None
    return [dataclasses.asdict(row) for row in rows]
