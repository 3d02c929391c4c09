"""The RL Zoo's ``tests/test_enjoy.py``, translated command for command into realzoo.

``python enjoy.py ...`` becomes ``realzoo enjoy ...``, ``python -m rl_zoo3.record_video``
becomes ``realzoo record``, with the Zoo's flag spellings: through the app in the test's
process (``zoo_command``, isolated as a new process would be), or, in the tests marked slow,
as a real ``python -m rlzoo_real`` process, the suite's end-to-end runs of the entry point.
The agents to replay are trained by the installed RL Zoo itself, a process of its own.

Not translated: ``test_record_training`` (``rl_zoo3.record_training`` films every checkpoint
into one mp4 and a gif; realzoo has no such command: ``realzoo record --load-checkpoint N``
films one checkpoint, see ``test_record_video_of_a_checkpoint``), and ``test_benchmark``
(``rl_zoo3.benchmark`` replays every published agent into a table; realzoo has no
benchmark command: ``realzoo plot table`` tabulates runs' evaluations instead).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.zoo_examples import EXAMPLES, ok, zoo_command

N_STEPS = 100

#: "Summary: ..." is the line realzoo enjoy prints after every replay
SUMMARY = re.compile(r"^Summary: ", re.M)


@pytest.fixture(scope="module")
def trained_agents(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small rl-trained-agents folder, trained here by the installed RL Zoo (rl_zoo3.train).

    The Zoo's test replays its published agents (rl-trained-agents and the Hugging Face Hub);
    neither is here, so the agents are the Zoo's own output for two of the same pairs.
    """
    pytest.importorskip("rl_zoo3")
    folder = tmp_path_factory.mktemp("rl-trained-agents")
    common = ["--seed", "1", "--eval-freq", "-1", "--num-threads", "1", "-f", str(folder)]
    for args in (
        ["--algo", "ppo", "--env", "CartPole-v1", "-n", "128", "-params", "n_envs:2"],
        ["--algo", "sac", "--env", "Pendulum-v1", "-n", "200", "-params", "normalize:True"]
        + ["learning_starts:100", "buffer_size:1000", "policy_kwargs:dict(net_arch=[16])"],
    ):
        done = subprocess.run(
            [sys.executable, "-m", "rl_zoo3.train", *args, *common],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-3000:]
    return folder


@pytest.mark.parametrize(("algo", "env_id"), [("ppo", "CartPole-v1"), ("sac", "Pendulum-v1")])
def test_trained_agents(trained_agents, tmp_path, algo, env_id):
    """tests/test_enjoy.py::test_trained_agents (on agents the installed RL Zoo trained)."""
    cmd = f"realzoo enjoy --algo {algo} --env {env_id} -n {N_STEPS} -f {trained_agents} --no-render"
    output = ok(zoo_command(cmd, cwd=tmp_path))
    assert SUMMARY.search(output)
    assert "an rl_zoo3 run" in output


def test_trained_agents_no_hub_download(tmp_path):
    """tests/test_enjoy.py::test_trained_agents (its Hugging Face Hub agents).

    Differs on purpose: realzoo downloads nothing (a Hub model is a pickle that runs code
    when loaded); with no local run it says what it searched, exit 2, and stops.
    """
    cmd = f"realzoo enjoy --algo ppo --env CartPole-v1 -n {N_STEPS} -f {tmp_path} --no-render"
    done = zoo_command(cmd, cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    message = " ".join(done.stderr.split())
    assert "No ppo run on CartPole-v1" in message and str(tmp_path) in message


def _load_runs(tmp_path: Path, train_cmd: str, *, enjoy_progress: str) -> None:
    """Train, then replay three models (slow: real processes)."""
    ok(zoo_command(train_cmd, cwd=tmp_path, process=True))
    run = tmp_path / "a2c" / "Pendulum-v1_1"
    assert (run / "best_model.zip").is_file()
    assert (run / "rl_model_500_steps.zip").is_file()
    base_cmd = f"realzoo enjoy --algo a2c --env Pendulum-v1 -n {N_STEPS} -f {tmp_path} --no-render "
    for extra in (
        f"--load-best {enjoy_progress}",
        "--load-checkpoint 500",
        "--load-last-checkpoint",
    ):
        assert SUMMARY.search(ok(zoo_command(base_cmd + extra, cwd=tmp_path, process=True))), extra


@pytest.mark.slow
def test_load(tmp_path):
    """tests/test_enjoy.py::test_load, the Zoo's spellings (-c, -P, env_kwargs in the file)."""
    conf = EXAMPLES / "pendulum_no_gravity.yml"
    cmd = (
        f"realzoo train -c {conf} --algo a2c --env Pendulum-v1 -n 1000 -f {tmp_path} "
        "-params n_envs:1 --eval-freq 500 --save-freq 500 -P"
    )
    _load_runs(tmp_path, cmd, enjoy_progress="-P")


@pytest.mark.slow
def test_load_realzoo_spellings(tmp_path):
    """tests/test_enjoy.py::test_load, with realzoo's long spellings (--conf-file, --progress,
    --env-kwargs) where the Zoo's (-c, -P, env_kwargs in the file) are not accepted yet."""
    conf = tmp_path / "pendulum.yml"
    conf.write_text(
        "\n".join(
            line
            for line in (EXAMPLES / "pendulum_no_gravity.yml").read_text().splitlines()
            if not line.strip().startswith(("env_kwargs", "g:"))
        )
    )
    cmd = (
        f"realzoo train --conf-file {conf} --algo a2c --env Pendulum-v1 -n 1000 -f {tmp_path} "
        "-params n_envs:1 --eval-freq 500 --save-freq 500 --progress --env-kwargs g:0.0"
    )
    _load_runs(tmp_path, cmd, enjoy_progress="")


def _train_sac(tmp_path: Path) -> Path:
    cmd = (
        f"realzoo train -n 200 --algo sac --env Pendulum-v1 -f {tmp_path / 'logs'} "
        "-params learning_starts:100 --save-freq 100 --eval-freq -1"
    )
    ok(zoo_command(cmd, cwd=tmp_path, process=True))
    return tmp_path / "logs"


@pytest.mark.slow  # trains its own run as a process, then records it (test_enjoy records fast)
def test_record_video(tmp_path):
    """tests/test_enjoy.py::test_record_video (rl_zoo3.record_video -> realzoo record).

    The Zoo skips it without an X server; realzoo renders offscreen, so it always runs. The
    Zoo reads rl-trained-agents by default; here -f names a run trained first.
    """
    logs = _train_sac(tmp_path)
    videos = tmp_path / "videos"
    cmd = f"realzoo record -n 100 --algo sac --env Pendulum-v1 -f {logs} -o {videos}"
    ok(zoo_command(cmd, cwd=tmp_path, process=True))
    video = videos / "final-model-sac-Pendulum-v1-step-0-to-step-100.mp4"
    assert video.stat().st_size > 0, "Recorded video is empty"


@pytest.mark.slow
def test_record_video_of_a_checkpoint(tmp_path):
    """tests/test_enjoy.py::test_record_training, as far as realzoo goes: one checkpoint filmed.

    rl_zoo3.record_training films every checkpoint into one video and a gif; realzoo has no
    such command, so this films the checkpoints one at a time.
    """
    logs = _train_sac(tmp_path)
    videos = tmp_path / "videos"
    for steps in (100, 200):
        cmd = (
            f"realzoo record -n 100 --algo sac --env Pendulum-v1 -f {logs} -o {videos} "
            f"--load-checkpoint {steps}"
        )
        ok(zoo_command(cmd, cwd=tmp_path, process=True))
        video = videos / f"checkpoint-{steps}-sac-Pendulum-v1-step-0-to-step-100.mp4"
        assert video.stat().st_size > 0
