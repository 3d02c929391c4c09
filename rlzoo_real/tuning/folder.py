"""The files of a study on disk: ``<log_folder>/<algo>/<study_name>/``.

Where its trials are stored (journal file, database, Redis) is
:mod:`~rlzoo_real.tuning.storage`; this folder holds what a person reads and reuses: the
base entry, the trials' run folders, the workers' output, ``trials.csv``, ``best.yml``,
plots, and the default journal file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from rlzoo_real.errors import UserError

__all__ = ["StudyFolder", "study_folder"]

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._\-]*")


@dataclass(frozen=True)
class StudyFolder:
    """The files of one study: ``<log_folder>/<algo>/<study_name>/``.

    Trials are ordinary run folders under ``trials/`` (``trials/<algo>/<env>_<N>``), so
    ``realzoo runs -f <study>/trials`` and ``realzoo plot`` read them as they read any
    log tree.
    """

    path: Path

    @property
    def journal(self) -> Path:
        """The default storage: an Optuna journal file."""
        return self.path / "study.log"

    @property
    def base_file(self) -> Path:
        """``base.yml``: the entry every trial starts from (``--conf-file`` of the trials)."""
        return self.path / "base.yml"

    @property
    def trials(self) -> Path:
        """The log folder of the trials' runs."""
        return self.path / "trials"

    @property
    def workers(self) -> Path:
        """Output of worker processes, one file per worker."""
        return self.path / "workers"

    @property
    def request_file(self) -> Path:
        """``study.yml``: what was asked (algo, env, budget, space, storage), plain YAML."""
        return self.path / "study.yml"

    @property
    def command_file(self) -> Path:
        """Every command line that worked on this study, one per line."""
        return self.path / "command.txt"

    @property
    def trials_csv(self) -> Path:
        return self.path / "trials.csv"

    @property
    def best_file(self) -> Path:
        """The best hyperparameters as an entry ``realzoo train --conf-file`` takes."""
        return self.path / "best.yml"

    @property
    def plots(self) -> Path:
        return self.path / "plots"


def study_folder(log_folder: Path, algo: str, study_name: str) -> StudyFolder:
    """The folder of ``study_name``; the name must be usable as a folder name.

    Raises:
        UserError: a name with characters other than letters, digits, ``.``, ``_``, ``-``.
    """
    if not _NAME.fullmatch(study_name):
        raise UserError(
            f"--study-name {study_name!r}: use letters, digits, '.', '_' and '-' only (it also "
            "names the study folder), starting with a letter or digit."
        )
    return StudyFolder(log_folder / algo / study_name)
