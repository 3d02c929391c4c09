"""Bootstrap confidence intervals that a seed fixes, vectorized over replications.

rliable (1.2) draws its resampling indices from numpy's *global* random state,
one ``np.random.choice(n_runs, shape)`` per replication, and takes percentile
intervals. The functions here draw the very same indices from an explicit
``numpy.random.RandomState`` (legacy MT19937: ``choice`` with replacement is
``randint``), all replications at once and in the same order, so that

    np.random.seed(s); rliable.library.get_interval_estimates(...)

and the same call here with ``RandomState(s)`` give the same intervals, many times
faster, without touching the global state. ``tests/test_plot.py`` checks it.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "bootstrap_runs",
    "derived_seed",
    "independent_bootstrap",
    "percentile_interval",
    "random_state",
    "stratified_bootstrap",
]

#: Replications handled at once (bounds memory for long curves).
CHUNK = 256


def derived_seed(seed: int, *parts: str) -> int:
    """A 32-bit seed for one analysis of one label, derived from the user's seed.

    Each (analysis, label) gets its own stream, so that the interval of one algorithm
    does not change when another is added to the figure.
    """
    import numpy as np

    keys = [int(seed) & 0xFFFFFFFF] + [zlib.crc32(p.encode()) for p in parts]
    return int(np.random.SeedSequence(keys).generate_state(1)[0])


def random_state(seed: int, *parts: str) -> np.random.RandomState:
    """``RandomState(derived_seed(seed, *parts))``: the stream rliable would use after
    ``np.random.seed(derived_seed(seed, *parts))``."""
    import numpy as np

    return np.random.RandomState(derived_seed(seed, *parts))


def percentile_interval(samples: np.ndarray, ci: float) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper percentile bounds over axis 0 (as ``arch``'s ``method='percentile'``)."""
    import numpy as np

    tail = 100 * (1 - ci) / 2
    low, high = np.percentile(samples, [tail, 100 - tail], axis=0)
    return low, high


def stratified_bootstrap(
    scores: np.ndarray,
    stat: Callable[[np.ndarray], np.ndarray],
    *,
    reps: int,
    ci: float,
    rs: np.random.RandomState,
) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval of ``stat`` under rliable's stratified bootstrap.

    Runs (axis 0) are resampled with replacement independently for every other index
    (every task, and every evaluation point of a curve), as ``StratifiedBootstrap``.

    Args:
        scores: shape ``(n_runs, ...)``.
        stat: takes resampled scores ``(chunk, n_runs, ...)``, returns ``(chunk, ...)``.
        reps: bootstrap replications.
        ci: coverage, e.g. 0.95.
        rs: the random stream (see :func:`random_state`).
    """
    import numpy as np

    n = scores.shape[0]
    rest = scores.shape[1:]
    strata = np.ix_(*[np.arange(k) for k in rest]) if rest else ()
    samples = []
    for start in range(0, reps, CHUNK):
        count = min(CHUNK, reps - start)
        idx = rs.randint(0, n, size=(count, n, *rest))
        samples.append(stat(scores[(idx, *strata)]))
    return percentile_interval(np.concatenate(samples), ci)


def independent_bootstrap(
    x: np.ndarray,
    y: np.ndarray,
    stat: Callable[[np.ndarray, np.ndarray], np.ndarray],
    *,
    reps: int,
    ci: float,
    rs: np.random.RandomState,
) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval of ``stat(x, y)`` with x and y resampled independently, each
    stratified by task (rliable's ``StratifiedIndependentBootstrap``).

    Args:
        x: shape ``(n_x, n_tasks)``; y: shape ``(n_y, n_tasks)``.
        stat: takes ``(chunk, n_x, n_tasks)`` and ``(chunk, n_y, n_tasks)``, returns
            ``(chunk,)``.
    """
    import numpy as np

    nx, ny = x.shape[0], y.shape[0]
    tasks = np.arange(x.shape[1])
    size_x, size_y = x.size, y.size
    samples = []
    for start in range(0, reps, CHUNK):
        count = min(CHUNK, reps - start)
        # one replication draws x's indices, then y's: the same order as rliable
        flat = _draw_pairs(rs, count, nx, ny, size_x, size_y)
        ix = flat[:, :size_x].reshape(count, *x.shape)
        iy = flat[:, size_x:].reshape(count, *y.shape)
        samples.append(stat(x[ix, tasks], y[iy, tasks]))
    return percentile_interval(np.concatenate(samples), ci)


def _draw_pairs(
    rs: np.random.RandomState, count: int, nx: int, ny: int, size_x: int, size_y: int
) -> np.ndarray:
    import numpy as np

    if nx == ny:
        return rs.randint(0, nx, size=(count, size_x + size_y))
    out = np.empty((count, size_x + size_y), dtype=np.int64)
    for i in range(count):
        out[i, :size_x] = rs.randint(0, nx, size=size_x)
        out[i, size_x:] = rs.randint(0, ny, size=size_y)
    return out


def bootstrap_runs(
    values: np.ndarray,
    stat: Callable[[np.ndarray], np.ndarray],
    *,
    reps: int,
    ci: float,
    rs: np.random.RandomState,
) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval of ``stat`` with whole runs resampled (rows of ``values`` kept
    together, e.g. a run's full curve).

    Args:
        values: shape ``(n_runs, ...)``.
        stat: takes ``(chunk, n_runs, ...)``, returns ``(chunk, ...)``.
    """
    import numpy as np

    n = values.shape[0]
    samples = []
    for start in range(0, reps, CHUNK):
        count = min(CHUNK, reps - start)
        idx = rs.randint(0, n, size=(count, n))
        samples.append(stat(values[idx]))
    return percentile_interval(np.concatenate(samples), ci)
