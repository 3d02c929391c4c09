"""Every seed a study uses, derived from its ``trial_seed`` (``--seed``) in one place.

Search seeds and validation seeds come from two disjoint ranges, so a validation never
trains on a seed the search saw:

- search: seed index ``i`` of trial ``n`` is ``trial_seed + n + i * 2**20`` (mod 2**31).
  Trial numbers are handed out by the storage, unique over all machines, so a study
  continued elsewhere never reuses a seed; with one seed per trial this is the old
  ``trial_seed + n``. Unique for fewer than 2**20 trials and 1024 seeds per trial.
- validation: the ``k``-th validation seed of the study is ``trial_seed + 2**30 + k``
  (mod 2**31); the study records how many it has used (user attribute
  ``realzoo_validation_seeds``), so each validation takes fresh ones and a repeated study
  (same ``--seed``, same commands) takes the same ones.
"""

from __future__ import annotations

__all__ = ["MAX_SEEDS", "search_seed", "validation_seeds"]

_MOD = 2**31
_SEED_STRIDE = 2**20
_VALIDATION_OFFSET = 2**30
#: most seeds per trial (--n-seeds) that keep search seeds unique
MAX_SEEDS = 1024


def search_seed(trial_seed: int, number: int, index: int) -> int:
    """The seed of seed ``index`` (0-based) of trial ``number``."""
    return (int(trial_seed) + int(number) + int(index) * _SEED_STRIDE) % _MOD


def validation_seeds(trial_seed: int, start: int, count: int) -> list[int]:
    """Validation seeds ``start`` to ``start + count - 1`` of the study."""
    return [(int(trial_seed) + _VALIDATION_OFFSET + k) % _MOD for k in range(start, start + count)]
