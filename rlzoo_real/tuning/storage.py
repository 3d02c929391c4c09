"""Where a study lives: storage URLs, and trials whose worker died.

(Its files on disk: :mod:`~rlzoo_real.tuning.folder`.)

``--storage`` takes a journal file path (the default is ``study.log`` in the study
folder: resumable with no server), ``sqlite:///file.db``, ``postgresql://`` and
``mysql://`` URLs (heartbeats mark a dead worker's trial as failed), or
``redis://`` (a journal in Redis). Every URL is checked before anything is written:
a malformed part, a missing driver or an unreachable server is one clear message.

A trial records the host and process that runs it (``host``, ``pid``, ``pid_start``
user attributes), so a worker killed on this machine is noticed at once (by the
command that started it, or by the next ``realzoo tune`` on the study) and its trial
is marked failed with the reason, on every kind of storage.
"""

from __future__ import annotations

import json
import os
import random
import re
import socket
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rlzoo_real.errors import UserError, suggest
from rlzoo_real.runs.folder import env_folder_name
from rlzoo_real.runs.processes import process_is_alive, process_start_time

__all__ = [
    "SCHEMES",
    "StorageSpec",
    "close_storage",
    "default_study_name",
    "fail_dead_trials",
    "mask_password",
    "open_storage",
    "parse_storage",
    "process_identity",
]

#: URL schemes ``--storage`` accepts (a path without a scheme is a journal file).
SCHEMES = ("sqlite", "postgresql", "mysql", "redis")
_CONNECT_TIMEOUT_S = 10


def default_study_name(env_id: str) -> str:
    """The study name used without ``--study-name``: ``tune_<env>``."""
    return f"tune_{env_folder_name(env_id)}"


@dataclass(frozen=True)
class StorageSpec:
    """A checked ``--storage`` value.

    Attributes:
        kind: ``journal``, ``sqlite``, ``postgresql``, ``mysql`` or ``redis``.
        url: what Optuna is given: the URL, or the journal file's absolute path.
        shown: the same with any password masked, for messages and files.
    """

    kind: str
    url: str
    shown: str

    @property
    def path(self) -> Path | None:
        """The file of a journal or SQLite storage."""
        if self.kind == "journal":
            return Path(self.url)
        if self.kind == "sqlite":
            return Path(self.url[len("sqlite:///") :])
        return None

    @property
    def several_writers(self) -> bool:
        """Whether several processes may write at once (not SQLite: 'database is locked')."""
        return self.kind != "sqlite"

    @property
    def has_heartbeat(self) -> bool:
        """Database storages detect dead workers by heartbeat, wherever they run."""
        return self.kind in ("sqlite", "postgresql", "mysql")

    @property
    def dashboard_argument(self) -> str:
        """What to give ``optuna-dashboard`` to open this storage."""
        return self.shown


def parse_storage(text: str | None, *, default_journal: Path) -> StorageSpec:
    """Check a ``--storage`` value without connecting to anything.

    Args:
        text: the value as typed, or None for the default journal file.
        default_journal: the journal file used when ``text`` is None.

    Raises:
        UserError: naming the part that is wrong (scheme, host, port, database, path)
            or the driver to install.
    """
    if text is None:
        return StorageSpec("journal", str(default_journal.absolute()), str(default_journal))
    text = text.strip()
    if "://" not in text:
        return _journal_spec(text)
    scheme, _, rest = text.partition("://")
    base = scheme.split("+")[0].lower()
    if base == "postgres":
        raise UserError(
            f"--storage {_mask(text)}: the scheme 'postgres' is not accepted by SQLAlchemy; "
            f"write postgresql://{_mask(text).partition('://')[2]}."
        )
    if base == "mariadb":
        base = "mysql"
    if base not in SCHEMES:
        raise UserError(
            f"--storage {_mask(text)}: unknown scheme {scheme!r}.{suggest(base, SCHEMES)} "
            "Accepted: a journal file path (e.g. study.log), sqlite:///file.db, "
            "postgresql://user:password@host:5432/db, mysql+pymysql://user:password@host/db, "
            "redis://host:6379/0."
        )
    if base == "sqlite":
        return _sqlite_spec(text, rest)
    if base == "redis":
        _split_url(text)
        _require_module("redis", _mask(text), None)
        return StorageSpec("redis", text, _mask(text))
    return _database_spec(text, base)


def _journal_spec(text: str) -> StorageSpec:
    path = Path(text).expanduser()
    if path.suffix in (".db", ".sqlite", ".sqlite3"):
        raise UserError(
            f"--storage {text!r} looks like an SQLite file; write sqlite:///{text} for SQLite, "
            "or give a .log path for a journal file (a path without a scheme is a journal file)."
        )
    if path.is_dir():
        raise UserError(
            f"--storage {text!r} is a folder; give a journal file path such as {text}/study.log."
        )
    if path.is_file() and path.stat().st_size > 0:
        with path.open("rb") as handle:
            first = handle.readline()
        try:
            ok = isinstance(json.loads(first), dict) and "op_code" in json.loads(first)
        except ValueError:  # a first (and only) record cut mid-write is repaired on opening
            ok = not first.endswith(b"\n") and first.startswith(b'{"op_code"')
        if not ok:
            raise UserError(
                f"--storage {text!r} exists and is not an Optuna journal file; "
                "give a new path or an existing study.log."
            )
    if not path.parent.is_dir() and text.endswith("/"):
        raise UserError(f"--storage {text!r}: a journal file path cannot end with '/'.")
    return StorageSpec("journal", str(path.absolute()), str(path))


def _sqlite_spec(text: str, rest: str) -> StorageSpec:
    if not rest.startswith("/") or rest in ("/", "/:memory:"):
        raise UserError(
            f"--storage {text!r}: the path part is missing or in memory; write "
            "sqlite:///relative/path.db or sqlite:////absolute/path.db (three or four slashes)."
        )
    path = Path(rest[1:])
    if not path.parent.is_dir():
        raise UserError(f"--storage {text!r}: the folder {str(path.parent)!r} does not exist.")
    return StorageSpec("sqlite", f"sqlite:///{path}", f"sqlite:///{path}")


def _split_url(text: str) -> Any:
    from urllib.parse import urlsplit

    parts = urlsplit(text)
    try:
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        port = parts.netloc.rpartition(":")[2]
        raise UserError(
            f"--storage {_mask(text)}: the port part {port!r} is not a number (e.g. host:5432)."
        ) from None
    return parts


def _database_spec(text: str, base: str) -> StorageSpec:
    parts = _split_url(text)
    database = parts.path.lstrip("/")
    if not database:
        raise UserError(
            f"--storage {_mask(text)}: the database part is missing; write "
            f"{base}://user:password@host:port/DATABASE."
        )
    if parts.netloc and not parts.hostname:
        raise UserError(f"--storage {_mask(text)}: the host part is empty.")
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    shown = _mask(text)
    scheme = text.partition("://")[0]
    if base == "postgresql" and "+" not in scheme:
        # SQLAlchemy 2.1 defaults to psycopg (3), 2.0 to psycopg2: use whichever is installed
        for driver_name in ("psycopg", "psycopg2"):
            if _has_module(driver_name):
                text = f"postgresql+{driver_name}://{text.partition('://')[2]}"
                break
        else:
            _require_module("psycopg", shown, "postgres")
    try:
        url = make_url(text)
    except (ArgumentError, ValueError) as exc:
        raise UserError(f"--storage {_mask(text)} is not a valid database URL: {exc}.") from None
    driver = url.get_driver_name()
    modules = {
        "psycopg2": ("psycopg2", None),
        "psycopg": ("psycopg", None),
        "pg8000": ("pg8000", None),
        "asyncpg": ("asyncpg", None),
        "mysqldb": ("MySQLdb", None),
        "pymysql": ("pymysql", None),
        "mysqlconnector": ("mysql.connector", None),
    }
    module, extra = modules.get(driver, (driver, None))
    if module.startswith("psycopg"):
        extra = "postgres"
    if base == "mysql" and driver == "mysqldb" and not _has_module(module):
        raise UserError(
            f"--storage {_mask(text)}: mysql:// uses the mysqlclient driver, which is not "
            "installed. Install PyMySQL (pip install PyMySQL) and write "
            f"mysql+pymysql://{_mask(text).partition('://')[2]}."
        )
    _require_module(module, shown, extra)
    return StorageSpec(base, text, shown)


def _has_module(module: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def _require_module(module: str, what: str, extra: str | None) -> None:
    if not _has_module(module):
        install = f"pip install 'rlzoo-real[{extra}]'" if extra else f"pip install {module}"
        raise UserError(f"--storage {what} needs the Python package {module!r}: {install}.")


def mask_password(text: str) -> str:
    """``text`` with the password of any ``scheme://user:password@host`` URL replaced by ``***``."""
    return re.sub(r"(://[^:/@\s]*:)(\S*)@", r"\1***@", text)


_mask = mask_password


def open_storage(
    spec: StorageSpec,
    *,
    heartbeat_interval: int | None = None,
    on_stale: Callable[[Any, Any], None] | None = None,
    notes: list[str] | None = None,
) -> Any:
    """Connect to the storage (creating a journal or SQLite file if needed).

    A journal file's torn last record is repaired first
    (:func:`rlzoo_real.tuning.journal.repair_journal`).

    Args:
        spec: a checked storage (see :func:`parse_storage`).
        heartbeat_interval: seconds between a running trial's heartbeats on database
            storages (a trial silent for twice as long is marked failed); None: none.
        on_stale: called as ``on_stale(study, trial)`` for each trial failed that way.
        notes: receives the note of a repaired journal (None: it goes to stderr).

    Raises:
        UserError: an unreachable server, rejected credentials, a missing database, a
            journal damaged before its last record.
    """
    import optuna

    if spec.kind == "journal":
        from optuna.storages.journal import JournalFileBackend

        from rlzoo_real.tuning.journal import journal_lock, repair_journal

        path = Path(spec.url)
        path.parent.mkdir(parents=True, exist_ok=True)
        note = repair_journal(path)  # before Optuna reads it or appends to it
        if note is not None:
            if notes is None:
                print(f"Note: {note}", file=sys.stderr, flush=True)
            else:
                notes.append(note)
        backend = JournalFileBackend(str(path), lock_obj=journal_lock(path))
        return optuna.storages.JournalStorage(backend)
    if spec.kind == "redis":
        from optuna.storages.journal import JournalRedisBackend

        _check_redis(spec)
        return optuna.storages.JournalStorage(JournalRedisBackend(spec.url))
    engine_kwargs: dict[str, Any] = {"pool_pre_ping": True}
    if spec.kind in ("postgresql", "mysql"):
        engine_kwargs["connect_args"] = {"connect_timeout": _CONNECT_TIMEOUT_S}
    if spec.kind != "sqlite":
        _check_database(spec, engine_kwargs)
    heartbeat: dict[str, Any] = {}
    if heartbeat_interval is not None and heartbeat_interval > 0:
        heartbeat = {
            "heartbeat_interval": int(heartbeat_interval),
            "grace_period": 2 * int(heartbeat_interval),
            "heartbeat_stale_trial_callback": on_stale,
        }
    for attempt in range(6):
        try:
            with warnings.catch_warnings():  # heartbeats are "experimental" since Optuna 2.9
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                return optuna.storages.RDBStorage(
                    spec.url, engine_kwargs=engine_kwargs, **heartbeat
                )
        except Exception as exc:  # noqa: BLE001 - SQLAlchemy's errors for a storage we cannot use
            text = str(exc)
            if attempt < 5 and ("already exists" in text or "duplicate key" in text.lower()):
                time.sleep(0.5 + random.random())  # another process is creating the tables
                continue
            first = text.splitlines()[0] if text else type(exc).__name__
            raise UserError(
                f"--storage {spec.shown}: cannot use it as an Optuna storage: {first}"
            ) from None
    raise AssertionError("unreachable")


def close_storage(storage: Any) -> None:
    """Close a database storage's connections (a journal storage holds none)."""
    if hasattr(storage, "remove_session") and hasattr(storage, "engine"):
        storage.remove_session()
        storage.engine.dispose()


def _check_database(spec: StorageSpec, engine_kwargs: dict[str, Any]) -> None:
    """Connect once with a short timeout, so that a bad URL fails with a clear reason."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    url = make_url(spec.url)
    where = (
        f"{url.host or 'localhost'}:{url.port or ('5432' if spec.kind == 'postgresql' else '3306')}"
    )
    engine = create_engine(spec.url, **engine_kwargs)
    try:
        with engine.connect():
            pass
    except SQLAlchemyError as exc:
        detail = str(getattr(exc, "orig", exc)).strip()
        raise UserError(
            f"--storage {spec.shown}: {_explain_connect_error(detail, url, where)}"
        ) from None
    finally:
        engine.dispose()


def _explain_connect_error(detail: str, url: Any, where: str) -> str:
    lowered = detail.lower()
    first = detail.splitlines()[0] if detail else "unknown error"
    if "could not translate host name" in lowered or "name or service not known" in lowered:
        return f"the host part {url.host!r} does not resolve to an address ({first})."
    if "connection refused" in lowered:
        return (
            f"nothing accepts connections at {where} (connection refused): check the host and "
            "port parts, and that the server is running."
        )
    if "timeout" in lowered or "timed out" in lowered:
        return f"no answer from {where} within {_CONNECT_TIMEOUT_S} s: check the host and port."
    if "password authentication failed" in lowered or "access denied" in lowered:
        return f"the server at {where} rejected the user/password part (user {url.username!r})."
    if "does not exist" in lowered and "database" in lowered:
        return (
            f"the database part {url.database!r} does not exist on the server at {where}; "
            f"create it first (e.g. createdb {url.database})."
        )
    if "unknown database" in lowered:
        return f"the database part {url.database!r} does not exist on the server at {where}."
    return f"cannot connect to {where}: {first}"


def _check_redis(spec: StorageSpec) -> None:
    import redis

    try:
        redis.Redis.from_url(spec.url, socket_connect_timeout=_CONNECT_TIMEOUT_S).ping()
    except redis.exceptions.RedisError as exc:
        raise UserError(f"--storage {spec.shown}: cannot reach the Redis server: {exc}.") from None


# -- trials whose worker died ------------------------------------------------------------------


def process_identity() -> dict[str, Any]:
    """This process as trials record it: host name, pid and start time (to tell pid reuse)."""
    return {
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "pid_start": process_start_time(os.getpid()),
    }


def fail_dead_trials(
    study: Any,
    storage: Any,
    *,
    pids: dict[int, str] | None = None,
) -> list[int]:
    """Mark RUNNING trials failed when the process running them on this host is gone.

    Args:
        study: the study to clean.
        storage: its storage.
        pids: only these worker pids, with the reason to record for each (a worker the
            caller saw die); None: every dead process of this host, found by pid.

    Returns:
        The numbers of the trials marked failed.
    """
    import optuna
    from optuna.trial import TrialState

    host = socket.gethostname()
    study_id = storage.get_study_id_from_name(study.study_name)
    failed = []
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        attrs = trial.user_attrs
        pid = attrs.get("pid")
        if attrs.get("host") != host or not isinstance(pid, int):
            continue
        if pids is not None:
            if pid not in pids:
                continue
            reason = pids[pid]
        elif process_is_alive(pid, attrs.get("pid_start")):
            continue
        else:
            reason = (
                f"its worker (pid {pid} on {host}) is gone: killed or crashed; found by "
                f"pid {os.getpid()}"
            )
        trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, trial.number)
        try:
            storage.set_trial_user_attr(trial_id, "fail_reason", reason)
            if storage.set_trial_state_values(trial_id, state=TrialState.FAIL):
                failed.append(trial.number)
        except (optuna.exceptions.UpdateFinishedTrialError, RuntimeError):
            continue  # another process finished or failed it first
    return failed
