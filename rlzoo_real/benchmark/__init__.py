"""``realzoo benchmark``: named suites of (algorithm, env) pairs, run at N seeds with the
shipped hyperparameters and reported against the RL Zoo's published scores.

- :mod:`~rlzoo_real.benchmark.suites`: the suites (data files in ``suites/``) and checks.
- :mod:`~rlzoo_real.benchmark.zoo`: the RL Zoo's ``benchmark.md`` numbers (``zoo_benchmark.yml``).
- :mod:`~rlzoo_real.benchmark.runner`: the plan (sweep jobs, budgets) and running it.
- :mod:`~rlzoo_real.benchmark.report` / :mod:`~rlzoo_real.benchmark.report_text`: the
  numbers and figures (from :mod:`rlzoo_real.plotting`), and the Markdown/CSV report.
"""

from __future__ import annotations

__all__: list[str] = []
