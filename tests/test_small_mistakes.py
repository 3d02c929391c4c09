"""Small mistakes that used to pass silently or end in a traceback: -n 0, a YAML key
written twice, a full disk, normalize without gamma."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from rlzoo_real.errors import UserError
from rlzoo_real.runs.folder import RunFolder

_BASE = ("-f", "logs", "--eval-freq", "-1", "--verbose", "0", "--seed", "1")


@pytest.mark.parametrize("n", ["0", "-5"])
def test_a_budget_that_is_not_positive_is_refused(cli, tiny_conf, tmp_path, monkeypatch, n):
    monkeypatch.chdir(tmp_path)
    result = cli(
        "train", "-a", "ppo", "-e", "CartPole-v1", "--conf-file", tiny_conf, "-n", n, *_BASE
    )
    assert result.exit_code == 2, result.output
    assert "-n/--n-timesteps must be a positive number of steps" in result.output
    assert f"got {n}" in result.output
    assert not (tmp_path / "logs").exists()  # nothing trained, no run folder


def test_a_resume_with_a_budget_that_is_not_positive_is_refused(cli, tiny_conf, tmp_path):
    result = cli("train", "--resume", tmp_path / "nowhere", "-n", "0")
    assert result.exit_code == 2 and "must be a positive number of steps" in result.output


# -- duplicate keys ------------------------------------------------------------------------

_DUPLICATED = """\
CartPole-v1:
  n_timesteps: 512
  policy: MlpPolicy
  n_steps: 64
  n_timesteps: 100000
"""


def test_a_hyperparameter_file_with_a_key_twice_is_refused_with_both_lines(cli, tmp_path):
    conf = tmp_path / "dup.yml"
    conf.write_text(_DUPLICATED)
    result = cli("train", "-a", "ppo", "-e", "CartPole-v1", "--conf-file", conf, "-f", tmp_path)
    assert result.exit_code == 2, result.output
    message = " ".join(result.output.split())
    assert "duplicate key 'n_timesteps' (at line 2 and again at line 5" in message
    assert str(conf) in message
    assert not (tmp_path / "ppo").exists()


def test_an_env_id_twice_is_refused_too(cli, tmp_path):
    conf = tmp_path / "dup.yml"
    conf.write_text(
        "Pendulum-v1:\n  n_timesteps: 100\nCartPole-v1: {}\nPendulum-v1:\n  gamma: 0.9\n"
    )
    result = cli("train", "-a", "sac", "-e", "Pendulum-v1", "--conf-file", conf, "-f", tmp_path)
    assert result.exit_code == 2
    assert "duplicate key 'Pendulum-v1' (at line 1 and again at line 4" in " ".join(
        result.output.split()
    )


def test_a_search_space_with_a_key_twice_is_refused(tmp_path):
    from rlzoo_real.algos.registry import get_algo
    from rlzoo_real.tuning.spaces import load_space

    space = tmp_path / "space.yml"
    space.write_text(
        "learning_rate: {low: 1e-5, high: 1e-3, scale: log}\ngamma: 0.99\n"
        "learning_rate: {low: 1e-4, high: 1e-2, scale: log}\n"
    )
    with pytest.raises(
        UserError, match=r"duplicate key 'learning_rate' \(at line 1 and again at line 3"
    ):
        load_space(get_algo("ppo"), space)


def test_run_files_read_back_refuse_a_key_twice(tmp_path):
    from rlzoo_real.runs.folder import read_plain_yaml, read_yaml
    from rlzoo_real.runs.safe_files import read_run_yaml
    from rlzoo_real.runs.yaml_io import DuplicateKeyError

    args = tmp_path / "args.yml"
    args.write_text("algo: sac\nenv: Pendulum-v1\nseed: 1\nalgo: ppo\n")
    with pytest.raises(DuplicateKeyError) as caught:
        read_yaml(args)
    assert (caught.value.key, caught.value.first_line, caught.value.line) == ("algo", 1, 4)
    assert read_plain_yaml(args) is None  # listings: unreadable, as any malformed file
    with pytest.raises(UserError, match=r"duplicate key 'algo' \(at line 1 and again at line 4"):
        read_run_yaml(args)  # enjoy, export, warm start


def test_merge_keys_may_still_be_overridden():
    from rlzoo_real.runs.yaml_io import safe_load

    text = "base: &b {gamma: 0.9, n_steps: 8}\nenv:\n  <<: *b\n  gamma: 0.99\n"
    assert safe_load(text)["env"] == {"gamma": 0.99, "n_steps": 8}
    assert safe_load(text, fast=True)["env"] == {"gamma": 0.99, "n_steps": 8}


def test_a_resume_refuses_a_config_with_a_key_twice(cli, tiny_conf, tmp_path):
    assert (
        cli(
            "train",
            "-a",
            "ppo",
            "-e",
            "CartPole-v1",
            "--conf-file",
            tiny_conf,
            "-f",
            tmp_path,
            "-n",
            "256",
            "--save-freq",
            "128",
            "--eval-freq",
            "-1",
            "--verbose",
            "0",
        ).exit_code
        == 0
    )
    run = RunFolder(tmp_path / "ppo" / "CartPole-v1_1", "CartPole-v1")
    run.config_file.write_text(run.config_file.read_text() + "n_steps: 32\n")
    result = cli("train", "--resume", run.path, "-n", "512")
    assert result.exit_code == 2, result.output
    assert "duplicate key 'n_steps'" in result.output and str(run.config_file) in result.output


# -- normalize without gamma -----------------------------------------------------------------


def test_normalize_true_without_gamma_writes_the_best_models_statistics(cli, tmp_path):
    conf = tmp_path / "norm.yml"
    conf.write_text(
        "CartPole-v1:\n  n_envs: 2\n  n_timesteps: 256\n  policy: MlpPolicy\n  n_steps: 64\n"
        "  batch_size: 64\n  n_epochs: 1\n  normalize: true\n"
        '  policy_kwargs: "dict(net_arch=[8])"\n'
    )
    result = cli(
        "train",
        "-a",
        "ppo",
        "-e",
        "CartPole-v1",
        "--conf-file",
        conf,
        "-f",
        tmp_path,
        "--eval-freq",
        "128",
        "--eval-episodes",
        "1",
        "--verbose",
        "0",
        "--seed",
        "0",
    )
    assert result.exit_code == 0, result.output
    run = RunFolder(tmp_path / "ppo" / "CartPole-v1_1", "CartPole-v1")
    assert yaml.safe_load(run.config_file.read_text())["normalize"] is True  # no gamma in it
    assert run.best_model.is_file()
    import pickle

    from stable_baselines3.common.vec_env import VecNormalize

    with run.best_vecnormalize_file.open("rb") as handle:
        stats = pickle.load(handle)
    assert isinstance(stats, VecNormalize) and stats.obs_rms.count > 1


# -- a full disk ---------------------------------------------------------------------------

_FULL_DISK_SCRIPT = """\
set -u
mount -t tmpfs -o size=700k tmpfs "$MNT" || exit 99
"$PY" -m rlzoo_real train -a sac -e Pendulum-v1 --conf-file "$CONF" -f "$MNT/logs" -n 600 \
  --save-freq 100 --save-replay-buffer --seed 1 --eval-freq -1 --verbose 0 \
  >"$OUT/train.out" 2>"$OUT/train.err"
echo $? > "$OUT/train.rc"
cp -a "$MNT/logs" "$OUT/after_failure"
mount -o remount,size=64m "$MNT"
"$PY" -m rlzoo_real train --resume "$MNT/logs/sac/Pendulum-v1_1" --verbose 0 \
  >"$OUT/resume.out" 2>"$OUT/resume.err"
echo $? > "$OUT/resume.rc"
cp -a "$MNT/logs" "$OUT/after_resume"
"""


def _can_mount_a_private_tmpfs(where: Path) -> bool:
    if shutil.which("unshare") is None:
        return False
    where.mkdir()
    probe = subprocess.run(
        [
            "unshare",
            "--user",
            "--map-root-user",
            "--mount",
            "sh",
            "-c",
            f"mount -t tmpfs -o size=64k tmpfs {where}",
        ],
        capture_output=True,
        timeout=60,
        check=False,
    )
    return probe.returncode == 0


@pytest.mark.slow
def test_a_full_disk_names_the_file_and_the_run_resumes_once_there_is_space(tiny_conf, tmp_path):
    """A real full filesystem: a 700 KiB tmpfs in a private mount namespace (unshare, no
    root needed where user namespaces are allowed), enlarged after the failure."""
    mnt = tmp_path / "mnt"
    if not _can_mount_a_private_tmpfs(mnt):
        pytest.skip("cannot mount a private tmpfs here (unshare --user --mount)")
    script = tmp_path / "full.sh"
    script.write_text(_FULL_DISK_SCRIPT)
    env = {
        **os.environ,
        "MNT": str(mnt),
        "OUT": str(tmp_path),
        "CONF": str(tiny_conf),
        "PY": sys.executable,
    }
    done = subprocess.run(
        ["unshare", "--user", "--map-root-user", "--mount", "sh", str(script)],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )  # the namespace (and the tmpfs) ends with the shell: no mount is left behind
    assert done.returncode == 0, done.stderr
    train_err = (tmp_path / "train.err").read_text()
    assert (tmp_path / "train.rc").read_text().strip() == "74", train_err
    assert "Traceback" not in train_err
    message = " ".join(train_err.split())
    assert message.startswith("Error: No space left on the device while writing ")
    written = message.split("while writing ")[1].split(" (step")[0]
    assert written.startswith(str(mnt / "logs" / "sac" / "Pendulum-v1_1") + "/")
    assert "realzoo train --resume " in message

    failed = RunFolder(tmp_path / "after_failure" / "sac" / "Pendulum-v1_1", "Pendulum-v1")
    index = yaml.safe_load(failed.checkpoint_index.read_text())["checkpoints"]
    last = index[-1]["steps"]
    assert f"last complete checkpoint, at {last} steps" in message
    assert not list(failed.path.glob(".tmp-*"))  # the partial write was removed

    assert (tmp_path / "resume.rc").read_text().strip() == "0", (
        tmp_path / "resume.err"
    ).read_text()
    resumed = RunFolder(tmp_path / "after_resume" / "sac" / "Pendulum-v1_1", "Pendulum-v1")
    manifest = yaml.safe_load(resumed.manifest_file.read_text())
    assert manifest["status"] == "finished" and manifest["num_timesteps"] == 600
    assert manifest["resumes"][-1]["from_step"] == last
    assert resumed.final_model.is_file()


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize("log", ["monitor", "progress"])
def test_a_log_write_on_a_full_device_is_named(tmp_path, log):
    """Logs are written through open handles, whose errors carry no file name: the train
    loop finds it in the failed write's frames. /dev/full answers every write with ENOSPC."""
    import errno

    from rlzoo_real.train.session import _failed_file

    path = tmp_path / ("0.monitor.csv" if log == "monitor" else "progress.csv")
    path.symlink_to("/dev/full")
    if log == "monitor":
        from stable_baselines3.common.monitor import ResultsWriter

        writer = ResultsWriter(str(path), override_existing=False)  # appends, as a resume
        write = lambda: writer.write_row({"r": 1.0, "l": 1, "t": 0.1})  # noqa: E731
        expected = "/dev/full"  # SB3's Monitor opens the real path behind a link
    else:
        from stable_baselines3.common.logger import CSVOutputFormat

        writer = CSVOutputFormat(str(path))
        writer.keys = ["train/loss"]  # the header is out: no re-reading (of /dev/full) for it
        write = lambda: writer.write({"train/loss": 1.0}, {"train/loss": ()})  # noqa: E731
        expected = str(path)
    try:
        with pytest.raises(OSError) as caught:
            for _ in range(10_000):  # until the buffer is flushed
                write()
    finally:
        with contextlib.suppress(OSError):  # closing flushes what is left: ENOSPC again
            writer.close()
    assert caught.value.errno == errno.ENOSPC
    assert _failed_file(caught.value) == expected
