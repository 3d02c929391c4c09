"""Presets: alternative hyperparameter tables shipped with realzoo (``--preset NAME``).

A hyperparameter file holds one entry per env id, so a variant of an entry (the same
task with gSDE exploration, say) cannot sit next to it. A preset is a folder
``hyperparams/<preset>/`` of files in the same format, one per algorithm;
``realzoo train --preset gsde -a sac -e HalfCheetah-v5`` reads
``hyperparams/gsde/sac.yml`` instead of ``hyperparams/sac.yml``.
"""

from __future__ import annotations

from pathlib import Path

from rlzoo_real.config.tables import bundled_hyperparams_dir
from rlzoo_real.errors import UserError, suggest

__all__ = ["available_presets", "preset_file"]


def available_presets() -> dict[str, list[str]]:
    """Preset name -> the algorithms it has a file for."""
    root = bundled_hyperparams_dir()
    return {
        folder.name: sorted(p.stem for p in folder.glob("*.yml"))
        for folder in sorted(root.iterdir())
        if folder.is_dir() and any(folder.glob("*.yml"))
    }


def preset_file(preset: str, algo: str, *, conf_file: str | None = None) -> Path:
    """The file of ``preset`` for ``algo``.

    Raises:
        UserError: an unknown preset, no file for this algorithm, or ``--conf-file`` also given.
    """
    presets = available_presets()
    listing = "; ".join(f"{name} ({', '.join(algos)})" for name, algos in presets.items())
    if conf_file:
        raise UserError(
            f"--preset {preset} and --conf-file {conf_file} both name the hyperparameter table; "
            "give one of them."
        )
    if preset not in presets:
        raise UserError(
            f"Unknown preset {preset!r}.{suggest(preset, presets)} "
            f"Presets shipped with realzoo: {listing or '(none)'}."
        )
    if algo not in presets[preset]:
        raise UserError(
            f"The preset {preset!r} has no file for {algo}; it has files for "
            f"{', '.join(presets[preset])}. Use one of those algorithms, or drop --preset."
        )
    return bundled_hyperparams_dir() / preset / f"{algo}.yml"
