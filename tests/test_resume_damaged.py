"""Resume over damaged files: every file of the checkpoint it picks is checked, a damaged
one makes it fall back to the previous complete checkpoint with a note naming the file;
damaged logs are repaired with a note; damaged run files are refused, naming the file;
orphaned checkpoint files are removed. Real runs, real damage, real processes."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from rlzoo_real.runs.folder import RunFolder
from tests.conftest import TINY_YAML, run_realzoo

SAC_STEPS = (200, 400, 600)  # checkpoints of the SAC run; its budget is the last
PPO_STEPS = (128, 256, 384, 512)


def _train(folder: Path, *args: str) -> None:
    conf = folder / "tiny.yml"
    conf.write_text(TINY_YAML)
    done = run_realzoo(
        "train",
        "--conf-file",
        conf,
        "-f",
        folder / "logs",
        "--seed",
        "3",
        "--eval-freq",
        "-1",
        "--verbose",
        "0",
        *args,
        cwd=folder,
    )
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module")
def sac_source(tmp_path_factory) -> RunFolder:
    """SAC with normalization, a replay buffer kept with every checkpoint."""
    folder = tmp_path_factory.mktemp("sac")
    _train(
        folder,
        "-a",
        "sac",
        "-e",
        "Pendulum-v1",
        "-n",
        "600",
        "--save-freq",
        "200",
        "--save-replay-buffer",
    )
    return RunFolder(folder / "logs" / "sac" / "Pendulum-v1_1", "Pendulum-v1")


@pytest.fixture(scope="module")
def ppo_source(tmp_path_factory) -> RunFolder:
    """PPO on CartPole with two envs (two monitor files, many short episodes)."""
    folder = tmp_path_factory.mktemp("ppo")
    _train(folder, "-a", "ppo", "-e", "CartPole-v1", "-n", "512", "--save-freq", "128")
    return RunFolder(folder / "logs" / "ppo" / "CartPole-v1_1", "CartPole-v1")


def _copy(source: RunFolder, tmp_path: Path) -> RunFolder:
    target = tmp_path / "logs" / source.path.parent.name / source.path.name
    shutil.copytree(source.path, target)
    return RunFolder(target, source.env_id)


def _resume(run: RunFolder, n: int) -> subprocess.CompletedProcess[str]:
    return run_realzoo(
        "train", "--resume", run.path, "-n", str(n), "--verbose", "0", cwd=run.path.parent
    )


def _manifest(run: RunFolder) -> dict:
    return yaml.safe_load(run.manifest_file.read_text())


def _notes(result: subprocess.CompletedProcess[str]) -> str:
    return " ".join(result.stderr.split())


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _truncate(fraction: float):
    def damage(path: Path) -> None:
        data = path.read_bytes()
        path.write_bytes(data[: max(1, min(len(data) - 1, int(len(data) * fraction)))])

    damage.__name__ = f"truncate_at_{fraction}"
    return damage


def _flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def _delete(path: Path) -> None:
    path.unlink()


DAMAGES = [_truncate(0.0), _truncate(0.5), _truncate(1.0), _flip, _delete]


def _assert_fell_back(result, run: RunFolder, name: str, to: int, n: int) -> None:
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    notes = _notes(result)
    assert "Note: the checkpoint at " in notes and f"file {name} " in notes
    assert "falling back to the one before" in notes
    manifest = _manifest(run)
    assert manifest["resumes"][-1]["from_step"] == to
    assert manifest["status"] == "finished" and manifest["num_timesteps"] == n


@pytest.mark.slow
@pytest.mark.parametrize("damage", DAMAGES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("role", ["model", "vecnormalize", "replay_buffer", "state"])
def test_a_damaged_sac_checkpoint_file_falls_back_naming_it(sac_source, tmp_path, role, damage):
    run = _copy(sac_source, tmp_path)
    path = run.checkpoint_files(600)[role]
    damage(path)
    result = _resume(run, 800)
    _assert_fell_back(result, run, path.name, 400, 800)
    assert f"the checkpoint at 600 steps is unusable (its {role} file {path.name}" in _notes(result)
    from rlzoo_real.train.checkpoint import check_checkpoint, read_index

    index = read_index(run)  # the damaged file was replaced by the resumed run's own
    assert [r.steps for r in index] == [200, 400, 600, 800]
    assert all(check_checkpoint(run, record) is None for record in index)
    assert "no replay buffer" not in result.stderr  # the one before has its own


@pytest.mark.slow
@pytest.mark.parametrize("role", ["model", "state"])
def test_a_damaged_ppo_checkpoint_file_falls_back_naming_it(ppo_source, tmp_path, role):
    run = _copy(ppo_source, tmp_path)
    path = run.checkpoint_files(512)[role]
    _truncate(0.5)(path)
    result = _resume(run, 768)
    _assert_fell_back(result, run, path.name, 384, 768)


def _without_checksums(run: RunFolder) -> None:
    """The index as realzoo wrote it before it recorded CRC-32s."""
    index = yaml.safe_load(run.checkpoint_index.read_text())
    for entry in index["checkpoints"]:
        entry.pop("crc32", None)
    run.checkpoint_index.write_text(yaml.safe_dump(index, sort_keys=False))


@pytest.mark.parametrize("fraction", [0.01, 0.3, 0.5, 0.9, 0.999])
@pytest.mark.parametrize("role", ["model", "vecnormalize", "replay_buffer", "state"])
def test_without_checksums_every_file_is_still_loaded(sac_source, tmp_path, role, fraction):
    """A truncated pickle is caught by loading it, a truncated zip by its own CRCs."""
    from rlzoo_real.train.checkpoint import check_checkpoint, load_state, read_index

    run = _copy(sac_source, tmp_path)
    _without_checksums(run)
    latest = read_index(run)[-1]
    assert latest.crc32 is None and check_checkpoint(run, latest) is None
    path = run.checkpoint_files(600)[role]
    _truncate(fraction)(path)
    problem = check_checkpoint(run, latest)
    if role == "state":  # loaded by find_resumable itself
        assert problem is None
        with pytest.raises(Exception, match=f"its state file {path.name} does not load"):
            load_state(path)
    else:
        assert problem is not None and f"its {role} file {path.name}" in problem


def test_a_truncated_replay_buffer_without_checksums_falls_back(sac_source, tmp_path):
    run = _copy(sac_source, tmp_path)
    _without_checksums(run)
    path = run.checkpoint_files(600)["replay_buffer"]
    _truncate(0.5)(path)
    result = _resume(run, 700)
    _assert_fell_back(result, run, path.name, 400, 700)
    assert f"its replay_buffer file {path.name} does not load" in _notes(result)


def test_no_usable_checkpoint_left_is_an_error_naming_each(ppo_source, tmp_path):
    run = _copy(ppo_source, tmp_path)
    for steps in PPO_STEPS:
        _flip(run.checkpoint_files(steps)["model"])
    before = _digest(run.path)
    result = _resume(run, 768)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    notes = _notes(result)
    assert "no usable checkpoint is left" in notes
    for steps in PPO_STEPS:
        assert f"rl_model_{steps}_steps.zip" in notes
    assert _digest(run.path) == before


# -- logs ----------------------------------------------------------------------------------


def _rows(path: Path) -> list[str]:
    return path.read_text().splitlines()[2:]


def test_bad_bytes_in_a_monitor_row_cut_it_back_with_a_note(ppo_source, tmp_path):
    run = _copy(ppo_source, tmp_path)
    monitor = run.path / "1.monitor.csv"
    lines = monitor.read_bytes().splitlines(keepends=True)
    assert len(lines) > 8
    lines[6] = lines[6][:3] + b"\xff\xfe" + lines[6][5:]  # the 5th episode row
    monitor.write_bytes(b"".join(lines))
    good = [line.decode().rstrip("\r\n") for line in lines[2:6]]
    result = _resume(run, 640)
    assert result.returncode == 0, result.stderr
    assert "Note: 1.monitor.csv: line 7 is damaged, so the file was cut back to the 4 good" in (
        _notes(result)
    )
    rows = _rows(monitor)
    assert rows[:4] == good and len(rows) > 4  # the good rows, then the resumed run's
    from stable_baselines3.common.monitor import load_results

    assert len(load_results(str(run.path))) > 0  # readable again


@pytest.mark.parametrize("where", ["header", "missing"])
def test_a_damaged_or_missing_monitor_header_is_restored(ppo_source, tmp_path, where):
    run = _copy(ppo_source, tmp_path)
    monitor = run.path / "0.monitor.csv"
    header = b"".join(monitor.read_bytes().splitlines(keepends=True)[:2])
    if where == "header":
        monitor.write_bytes(b'#{"t_st\x00\xff' + monitor.read_bytes()[9:])
    else:
        monitor.unlink()
    result = _resume(run, 640)
    assert result.returncode == 0, result.stderr
    expected = "its header lines were damaged" if where == "header" else "was missing"
    assert "Note: 0.monitor.csv" in result.stderr and expected in _notes(result)
    assert monitor.read_bytes().startswith(header)


def test_bad_bytes_in_progress_csv_cut_it_back_with_a_note(ppo_source, tmp_path):
    run = _copy(ppo_source, tmp_path)
    lines = run.progress_file.read_bytes().splitlines(keepends=True)
    assert len(lines) >= 4
    lines[2] = b"\x00\x00" + lines[2][2:]
    run.progress_file.write_bytes(b"".join(lines))
    result = _resume(run, 640)
    assert result.returncode == 0, result.stderr
    assert "Note: progress.csv: line 3 is damaged, so the file was cut back to the 1 good" in (
        _notes(result)
    )
    text = run.progress_file.read_text()  # valid UTF-8 again, the resumed rows appended
    assert text.splitlines()[1] == lines[1].decode().rstrip("\n")
    assert len(text.splitlines()) > 2


def test_a_damaged_progress_header_is_moved_aside(ppo_source, tmp_path):
    run = _copy(ppo_source, tmp_path)
    original = run.progress_file.read_bytes()
    run.progress_file.write_bytes(b"\xff" + original[1:])
    result = _resume(run, 640)
    assert result.returncode == 0, result.stderr
    assert "moved aside to progress.csv.damaged" in _notes(result)
    assert (run.path / "progress.csv.damaged").read_bytes() == b"\xff" + original[1:]
    assert run.progress_file.read_text().startswith(("time/", "train/", "rollout/"))


# -- run files -----------------------------------------------------------------------------


def _cut_lines(path: Path, keep: int) -> None:
    path.write_text("".join(path.read_text().splitlines(keepends=True)[:keep]))


@pytest.mark.parametrize(
    ("file", "damage", "fragment"),
    [
        ("config", lambda p: _cut_lines(p, 4), "SHA-256 differs"),  # normalize lost, valid YAML
        ("config", lambda p: p.write_bytes(p.read_bytes()[:60]), "config.yml is not valid YAML"),
        (
            "config",
            lambda p: p.write_bytes(b"\xff\xfe" + p.read_bytes()),
            "config.yml cannot be read",
        ),
        ("config", lambda p: p.unlink(), "config.yml is missing"),
        ("args", lambda p: _cut_lines(p, 3), "SHA-256 differs"),
        ("args", lambda p: p.write_bytes(p.read_bytes()[:-25]), "args.yml"),
        ("manifest", lambda p: p.write_bytes(p.read_bytes()[:50] + b"\n- ]"), "not valid YAML"),
        ("manifest", lambda p: _cut_lines(p, 3), "manifest.yml lacks start_time"),
    ],
)
def test_a_damaged_run_file_is_an_error_naming_it(sac_source, tmp_path, file, damage, fragment):
    run = _copy(sac_source, tmp_path)
    path = {"config": run.config_file, "args": run.args_file, "manifest": run.manifest_file}[file]
    damage(path)
    before = _digest(run.path)
    result = _resume(run, 800)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    message = _notes(result)
    assert message.startswith("Error: ") and fragment in message
    assert str(path.name) in message and "restore the file" in message
    assert _digest(run.path) == before  # nothing touched


def test_an_older_run_without_digests_still_refuses_a_config_that_lost_normalize(
    sac_source, tmp_path
):
    run = _copy(sac_source, tmp_path)
    manifest = _manifest(run)
    del manifest["run_files"]  # runs written before realzoo recorded the digests
    run.manifest_file.write_text(yaml.safe_dump(manifest, sort_keys=False))
    config = yaml.safe_load(run.config_file.read_text())
    del config["normalize"]
    run.config_file.write_text(yaml.safe_dump(config))
    result = _resume(run, 800)
    assert result.returncode == 2, result.stderr
    assert "config.yml says normalize off, but the checkpoint at 600 steps was saved with" in (
        _notes(result)
    )


# -- orphans -------------------------------------------------------------------------------


def test_orphaned_checkpoint_files_are_removed_at_the_next_start(ppo_source, tmp_path):
    run = _copy(ppo_source, tmp_path)
    listed = {p.name for p in run.path.glob("rl_model_*")}
    orphans = [
        run.path / "rl_model_replay_buffer_256_steps.pkl",  # a buffer whose removal was cut off
        run.path / "rl_model_state_300_steps.pkl",  # a checkpoint never listed
    ]
    orphans[0].write_bytes(b"old buffer")
    shutil.copy(run.checkpoint_files(384)["state"], orphans[1])
    result = _resume(run, 640)
    assert result.returncode == 0, result.stderr
    notes = _notes(result)
    assert "Note: removed 2 checkpoint file(s) that checkpoints.yml does not list" in notes
    assert all(p.name in notes and not p.exists() for p in orphans)
    assert listed <= {p.name for p in run.path.glob("rl_model_*")}  # the listed ones stay
