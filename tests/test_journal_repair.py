"""A study's journal whose last record was cut at any byte goes on; damage before it is named.

A real study of two tiny trials is made once with ``realzoo tune``; each test works on
copies of its journal. For every byte position of the last record the file is cut there
and the study continued: through the function ``realzoo tune`` and its workers open a
journal with (:func:`~rlzoo_real.tuning.storage.open_storage`) for every position, and
through the real command line for a few.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from rlzoo_real.errors import UserError
from tests.tune_helpers import make_tiny, realzoo, tune_args

STUDY = "tune_CartPole-v1"


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A finished study of two trials (its files) and its journal's bytes."""
    root = tmp_path_factory.mktemp("study")
    tiny = make_tiny(root)
    result = realzoo(*tune_args(tiny, "--n-trials", "2", "--seed", "0", "--no-plots"))
    assert result.returncode == 0, result.stdout + result.stderr
    folder = tiny["logs"] / "ppo" / STUDY
    data = (folder / "study.log").read_bytes()
    assert data.endswith(b"\n") and data.count(b"\n") > 10
    start = data.rindex(b"\n", 0, len(data) - 1) + 1  # where the last record begins
    return {"tiny": tiny, "folder": folder, "data": data, "start": start}


def _plain_trials(journal: Path) -> list[Any]:
    """The trials as Optuna alone reads them (no realzoo code)."""
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    storage = JournalStorage(JournalFileBackend(str(journal)))
    return optuna.load_study(study_name=STUDY, storage=storage).get_trials(deepcopy=False)


def _expected_trials(study: dict[str, Any], cut: int, tmp: Path) -> list[Any]:
    """The trials the journal holds without the torn record (with it when only its newline
    was lost)."""
    data, start = study["data"], study["start"]
    kept = data if cut == len(data) - 1 else data[:start]
    reference = tmp / "reference.log"
    reference.write_bytes(kept)
    return _plain_trials(reference)


def _assert_continued(journal: Path, expected: list[Any], added: int) -> None:
    """Earlier trials intact, ``added`` new ones after them, every line a record."""
    lines = journal.read_bytes().split(b"\n")
    assert lines.pop() == b""  # ends with a newline
    assert all(isinstance(json.loads(line), dict) for line in lines)
    trials = _plain_trials(journal)
    assert len(trials) == len(expected) + added
    for old, now in zip(expected, trials, strict=False):
        assert (now.number, now.params, now.intermediate_values) == (
            old.number,
            old.params,
            old.intermediate_values,
        )
        assert old.user_attrs.items() <= now.user_attrs.items()
        if old.state.name == "RUNNING":  # its completion was the torn record, and its worker
            # is gone: the continuing command marks it failed
            assert now.state.name == "FAIL" and "is gone" in now.user_attrs["fail_reason"]
        else:
            assert (now.state, now.values) == (old.state, old.values)
    assert all(t.state.name == "COMPLETE" for t in trials[len(expected) :])


def _continue_in_process(journal: Path) -> list[str]:
    """What ``realzoo tune`` does on a journal before its trials run, then one trial."""
    import optuna

    from rlzoo_real.tuning.storage import fail_dead_trials, open_storage, parse_storage

    notes: list[str] = []
    storage = open_storage(parse_storage(str(journal), default_journal=journal), notes=notes)
    study = optuna.load_study(study_name=STUDY, storage=storage)
    fail_dead_trials(study, storage)
    trial = study.ask()
    trial.suggest_float("learning_rate", 1e-4, 1e-2, log=True)
    study.tell(trial, 1.0)
    return notes


def test_every_cut_of_the_last_record_is_repaired_and_the_study_goes_on(study, tmp_path):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    data, start = study["data"], study["start"]
    positions = range(start + 1, len(data))  # 1 byte of the record .. all but its newline
    assert len(positions) > 100
    expected = {
        "torn": _expected_trials(study, start + 1, tmp_path),
        "newline": _expected_trials(study, len(data) - 1, tmp_path),
    }
    assert expected["torn"][-1].state.name == "RUNNING"  # the last record completes trial 1
    for cut in positions:
        work = tmp_path / f"cut{cut}"
        work.mkdir()
        journal = work / "study.log"
        journal.write_bytes(data[:cut])
        notes = _continue_in_process(journal)
        assert len(notes) == 1 and str(journal) in notes[0], (cut, notes)
        torn = list(work.glob("study.log.torn-*"))
        if cut == len(data) - 1:  # complete but for its newline: kept, the newline added
            assert "added the newline" in notes[0] and not torn
            _assert_continued(journal, expected["newline"], added=1)
        else:
            assert "cut mid-write" in notes[0]
            assert [t.read_bytes() for t in torn] == [data[start:cut]], cut
            assert journal.read_bytes().startswith(data[:start])
            _assert_continued(journal, expected["torn"], added=1)
        shutil.rmtree(work)
    print(f"positions tested: {len(positions)} (bytes {start + 1}..{len(data) - 1})")


@pytest.mark.parametrize(
    "tail",
    [b"\x00" * 37, b'{"op_code":8,"user_attr":{"note":"caf\xc3', b"\xe2\x82", b"garbage\n"],
    ids=["zeros", "partial-utf8", "partial-utf8-only", "not-json-with-newline"],
)
def test_a_torn_tail_of_any_bytes_is_cut_off(study, tmp_path, tail):
    """What a crash of the machine (zeros) or another writer can leave, not only a prefix."""
    data, start = study["data"], study["start"]
    journal = tmp_path / "study.log"
    journal.write_bytes(data + tail)
    notes = _continue_in_process(journal)
    assert len(notes) == 1 and "cut mid-write" in notes[0]
    assert [t.read_bytes() for t in tmp_path.glob("study.log.torn-*")] == [tail]
    reference = tmp_path / "reference.log"
    reference.write_bytes(data)
    _assert_continued(journal, _plain_trials(reference), added=1)
    assert start > 0


def test_damage_before_the_last_record_is_an_error_naming_the_line(study, tmp_path):
    from rlzoo_real.tuning.storage import open_storage, parse_storage

    data = study["data"]
    lines = data.split(b"\n")
    lines[5] = lines[5][:20]  # a record cut in the middle of the file
    damaged = b"\n".join(lines)
    journal = tmp_path / "study.log"
    journal.write_bytes(damaged)
    with pytest.raises(UserError) as error:
        open_storage(parse_storage(str(journal), default_journal=journal))
    assert f"{journal}, line 6" in str(error.value) and "middle" in str(error.value)
    assert journal.read_bytes() == damaged  # nothing dropped, nothing written
    assert not list(tmp_path.glob("study.log.torn-*"))


@pytest.mark.slow
def test_realzoo_tune_continues_a_study_whose_last_record_was_cut(study, tmp_path):
    """The real command line, at the first byte, the middle and the last byte of the record,
    and on damage in the middle (exit 2, the line named, the journal untouched)."""
    data, start = study["data"], study["start"]
    tiny = {**study["tiny"], "logs": tmp_path / "logs"}
    cuts = [start + 1, (start + len(data)) // 2, len(data) - 1]
    for cut in cuts:
        shutil.rmtree(tiny["logs"], ignore_errors=True)
        folder = tiny["logs"] / "ppo" / STUDY
        shutil.copytree(study["folder"], folder)
        journal = folder / "study.log"
        journal.write_bytes(data[:cut])
        result = realzoo(*tune_args(tiny, "--n-trials", "1", "--no-plots"))
        assert result.returncode == 0, (cut, result.stdout + result.stderr)
        assert "Traceback" not in result.stderr
        assert f"{journal}: its last record" in result.stdout + result.stderr
        _assert_continued(journal, _expected_trials(study, cut, tmp_path), added=1)
    shutil.rmtree(tiny["logs"])
    folder = tiny["logs"] / "ppo" / STUDY
    shutil.copytree(study["folder"], folder)
    lines = data.split(b"\n")
    lines[3] = lines[3][:-5]
    damaged = b"\n".join(lines)
    (folder / "study.log").write_bytes(damaged)
    result = realzoo(*tune_args(tiny, "--n-trials", "1", "--no-plots"))
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr and f"{folder / 'study.log'}, line 4" in result.stderr
    assert (folder / "study.log").read_bytes() == damaged
