"""From run folders to the figures and tables of a paper.

- :mod:`~rlzoo_real.plotting.data`: find runs, group them by algorithm and configuration,
  align evaluation schedules.
- :mod:`~rlzoo_real.plotting.logs`: read one run's monitor files and ``evaluations.npz``.
- :mod:`~rlzoo_real.plotting.aggregate`: curves with bands, rliable's aggregate metrics
  (IQM, mean, median, optimality gap, performance profiles, probability of improvement,
  sample-efficiency curves) with a stratified bootstrap that an explicit seed fixes.
- :mod:`~rlzoo_real.plotting.references`: random and expert returns per env, for
  normalized scores.
- :mod:`~rlzoo_real.plotting.figures`: matplotlib figures (PNG, PDF, SVG).
- :mod:`~rlzoo_real.plotting.tables`: results tables as CSV, Markdown and LaTeX.
- :mod:`~rlzoo_real.plotting.store`: the computed numbers, saved as ``.npz`` (no pickle)
  so that figures are redrawn without reading the logs again.

Nothing heavy is imported here: numpy, matplotlib and rliable load inside the functions.
"""

from __future__ import annotations

__all__: list[str] = []
