"""The JAX backend (``--backend sbx``): same run folder, enjoy, runs, tune and resume.

Trainings run as real processes (``python -m rlzoo_real``): JAX compiles each
algorithm's update once per process (3-8 s here), so the fast tests train one algorithm
and the others are ``slow``.
"""

from __future__ import annotations

import importlib.util
import re
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from tests.conftest import REPO, WAIT_S, Processes, run_realzoo, wait_for

HAS_SBX = importlib.util.find_spec("sbx") is not None
needs_sbx = pytest.mark.skipif(
    not HAS_SBX, reason="the sbx extra is not installed (pip install 'rlzoo-real[sbx]')"
)

#: small entries: a few hundred steps, small networks, torch names that the backend translates
SBX_YAML = """\
Pendulum-v1:
  n_timesteps: 300
  policy: MlpPolicy
  learning_starts: 100
  batch_size: 32
  buffer_size: 5000
  normalize: "dict(norm_obs=True, norm_reward=False)"
  policy_kwargs: "dict(net_arch=[16, 16], activation_fn=nn.Tanh)"
CartPole-v1:
  n_timesteps: 300
  policy: MlpPolicy
  learning_starts: 100
  batch_size: 32
  buffer_size: 5000
  policy_kwargs: "dict(net_arch=[16, 16])"
"""
#: on-policy and algorithm-specific keys for the other algorithms
EXTRA = {
    "ppo": {"Pendulum-v1": {"n_steps": 64, "n_epochs": 2}},
    "tqc": {"Pendulum-v1": {"policy_kwargs": "dict(net_arch=[16, 16], n_quantiles=5)"}},
    "crossq": {"Pendulum-v1": {"policy_kwargs": "dict(net_arch=[16, 16])"}},
    "droq": {
        "Pendulum-v1": {
            "gradient_steps": 4,
            "policy_kwargs": "dict(net_arch=[16, 16], dropout_rate=0.01, layer_norm=True)",
        }
    },
}


def _conf(tmp_path: Path, algo: str) -> Path:
    table = yaml.safe_load(SBX_YAML)
    for env, values in EXTRA.get(algo, {}).items():
        table[env].update(values)
    if algo == "ppo":
        for entry in table.values():
            for key in ("learning_starts", "buffer_size"):
                entry.pop(key)
    path = tmp_path / f"{algo}.yml"
    path.write_text(yaml.safe_dump(table))
    return path


def _train(tmp_path: Path, algo: str, env: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return run_realzoo(
        "train",
        "-a",
        algo,
        "-e",
        env,
        "--backend",
        "sbx",
        "--conf-file",
        _conf(tmp_path, algo),
        "-f",
        tmp_path / "logs",
        "--seed",
        "3",
        "--eval-freq",
        "150",
        "--eval-episodes",
        "1",
        "--verbose",
        "0",
        *extra,
        cwd=tmp_path,
    )


def _returns(output: str) -> list[float]:
    return [float(v) for v in re.findall(r"Episode \d+: return (-?[\d.]+)", output)]


def _check_run(tmp_path: Path, algo: str, env: str) -> Path:
    run = tmp_path / "logs" / f"{algo}_sbx" / f"{env}_1"
    args = yaml.safe_load((run / env / "args.yml").read_text())
    assert (args["algo"], args["backend"]) == (algo, "sbx")
    assert (run / f"{env}.zip").is_file() and (run / "evaluations.npz").is_file()
    manifest = yaml.safe_load((run / env / "manifest.yml").read_text())
    assert manifest["status"] == "finished" and manifest["num_timesteps"] >= 300
    return run


@pytest.mark.slow  # end to end with several processes (see the commit)
@needs_sbx
def test_sac_trains_into_a_run_folder_and_replays_without_pickle(cli, tmp_path):
    done = _train(tmp_path, "sac", "Pendulum-v1")
    assert done.returncode == 0, done.stderr[-2000:]
    run = _check_run(tmp_path, "sac", "Pendulum-v1")
    with __import__("zipfile").ZipFile(run / "Pendulum-v1.zip") as archive:
        assert "jax_params.pth" in archive.namelist()  # the weights, readable without pickle

    # Replay rebuilds the model from config.yml and loads the weights as tensors: its actions
    # are those of the whole pickled model, so the weights are really in place. By name,
    # sac_sbx is the JAX backend's sac.
    from rlzoo_real.algos.sbx import SAC
    from rlzoo_real.replay.loading import RunRequest, open_run

    loaded = open_run(
        RunRequest(algo="sac_sbx", env="Pendulum-v1", log_folder=str(tmp_path / "logs"))
    )
    try:
        observations = np.stack([loaded.env.observation_space.sample() for _ in range(32)])
        actions, _ = loaded.model.predict(observations, deterministic=True)
    finally:
        loaded.close()
    pickled = SAC.load(run / "Pendulum-v1.zip", device="cpu")
    np.testing.assert_array_equal(actions, pickled.predict(observations, deterministic=True)[0])
    fresh = SAC("MlpPolicy", "Pendulum-v1", seed=0, policy_kwargs={"net_arch": [16, 16]})
    assert not np.allclose(actions, fresh.predict(observations, deterministic=True)[0])

    listing = cli("runs", "-f", tmp_path / "logs")
    assert re.search(r"sac_sbx\s+Pendulum-v1\s+1\s+3\s+300", listing.output), listing.output
    export = cli("export", run)
    assert export.exit_code == 2 and "--backend sbx" in export.output


def test_missing_extra_names_it(tmp_path):
    fake = tmp_path / "fake" / "sbx"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError(\"No module named 'jax'\")\n")
    done = subprocess.run(
        [sys.executable, "-m", "rlzoo_real", "train", "-a", "sac", "-e", "Pendulum-v1",
         "--backend", "sbx", "-f", str(tmp_path / "logs")],
        cwd=tmp_path,
        env={"PYTHONPATH": f"{fake.parent}:{REPO}", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert "pip install 'rlzoo-real[sbx]'" in done.stderr
    assert "No module named 'jax'" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "logs").exists()


@pytest.mark.parametrize(
    ("words", "fragments"),
    [
        (["-a", "sac", "--backend", "jax"], ["Unknown backend 'jax'", "sb3, sbx"]),
        (["-a", "a2c", "--backend", "sbx"], ["no algorithm 'a2c'", "crossq, ddpg, dqn, droq"]),
        (
            ["-a", "sac", "--backend", "sbx", "-params", "target_update_interval:2"],
            ["unknown hyperparameter 'target_update_interval'", "--backend sbx"],
        ),
        (
            ["-a", "td3", "--backend", "sbx", "-params", "policy:SimbaPolicy"],
            ["'SimbaPolicy' is not a policy of td3 with --backend sbx", "MlpPolicy"],
        ),
        (
            ["-a", "sac", "--backend", "sbx", "-params", "policy_kwargs:dict(optimizer_kwargs={})"],
            ["policy_kwargs.optimizer_kwargs", "--backend sbx"],
        ),
        (
            ["-a", "sac", "--backend", "sbx", "-params", "policy_kwargs:"
             "dict(activation_fn=nn.Mish)"],
            ["policy_kwargs.activation_fn", "nn.ReLU, nn.Tanh"],
        ),
    ],
)  # fmt: skip
def test_bad_backend_requests_are_user_errors(cli, tmp_path, words, fragments):
    if "sbx" in words and "jax" not in words and not HAS_SBX:
        pytest.skip("the sbx extra is not installed")
    result = cli("train", *words, "-e", "Pendulum-v1", "-f", tmp_path / "logs", "-n", "200")
    assert result.exit_code == 2, result.output
    for fragment in fragments:
        assert fragment in result.output
    assert not (tmp_path / "logs").exists()


@needs_sbx
@pytest.mark.slow
@pytest.mark.parametrize(
    ("algo", "env"),
    [
        ("droq", "Pendulum-v1"),
        ("tqc", "Pendulum-v1"),
        ("crossq", "Pendulum-v1"),
        ("td3", "Pendulum-v1"),
        ("ddpg", "Pendulum-v1"),
        ("ppo", "Pendulum-v1"),
        ("dqn", "CartPole-v1"),
    ],
)
def test_every_sbx_algorithm_trains_and_replays(tmp_path, algo, env):
    done = _train(tmp_path, algo, env)
    assert done.returncode == 0, done.stderr[-2000:]
    run = _check_run(tmp_path, algo, env)
    replay = run_realzoo("enjoy", run, "-n", "100", "--no-render", cwd=tmp_path)
    assert replay.returncode == 0, replay.stderr[-2000:]
    assert "100 steps" in replay.stdout


@needs_sbx
@pytest.mark.slow
def test_simba_policy_from_the_yaml(tmp_path):
    done = _train(tmp_path, "sac", "Pendulum-v1", "-params", "policy:SimbaPolicy")
    assert done.returncode == 0, done.stderr[-2000:]
    run = _check_run(tmp_path, "sac", "Pendulum-v1")
    assert yaml.safe_load((run / "Pendulum-v1" / "config.yml").read_text())["policy"] == (
        "SimbaPolicy"
    )
    replay = run_realzoo("enjoy", run, "-n", "100", "--no-render", cwd=tmp_path)
    assert replay.returncode == 0, replay.stderr[-2000:]


@needs_sbx
@pytest.mark.slow
def test_tune_two_trials(tmp_path):
    done = run_realzoo(
        "tune", "-a", "sac", "-e", "Pendulum-v1", "--backend", "sbx", "--conf-file",
        _conf(tmp_path, "sac"), "-f", tmp_path / "logs", "--n-trials", "2", "-n", "300",
        "--n-evaluations", "1", "--eval-episodes", "1", "--seed", "0", "--no-plots",
        cwd=tmp_path, timeout=400,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "--backend sbx" in done.stdout
    trials = [p for p in (tmp_path / "logs" / "sac_sbx").rglob("args.yml")]
    assert len(trials) == 2
    assert all(yaml.safe_load(p.read_text())["backend"] == "sbx" for p in trials)


def _stop_resume_and_repeat(processes: Processes, tmp_path: Path, *extra: str) -> tuple[Path, Path]:
    """SAC on sbx, 1000 steps: stopped by SIGINT after its 600-step checkpoint and resumed,
    then trained again uninterrupted. Returns the two run folders (resumed, uninterrupted)."""
    common = ["-n", "1000", "--save-freq", "100", "--eval-freq", "500", *extra]
    command = [
        sys.executable, "-m", "rlzoo_real", "train", "-a", "sac", "-e", "Pendulum-v1",
        "--backend", "sbx", "--conf-file", str(_conf(tmp_path, "sac")), "-f",
        str(tmp_path / "logs"), "--seed", "5", "--eval-episodes", "1", "--verbose", "0", *common,
    ]  # fmt: skip
    process = processes.start(command, cwd=tmp_path, stdout=subprocess.DEVNULL, text=True)
    index = tmp_path / "logs" / "sac_sbx" / "Pendulum-v1_1" / "checkpoints.yml"
    wait_for(
        lambda: index.is_file() and "steps: 600" in index.read_text(),
        "the 600-step checkpoint",
        process=process,
        interval=0.2,
    )
    process.send_signal(signal.SIGINT)
    assert process.wait(WAIT_S) == 130
    first = tmp_path / "logs" / "sac_sbx" / "Pendulum-v1_1"
    stopped = yaml.safe_load((first / "Pendulum-v1" / "manifest.yml").read_text())
    assert stopped["status"] == "stopped" and stopped["num_timesteps"] < 1000

    resumed = run_realzoo("train", "--resume", first, cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "Note" not in resumed.stdout + resumed.stderr  # nothing inexact to report
    again = subprocess.run(command, cwd=tmp_path, capture_output=True, timeout=900, check=False)
    assert again.returncode == 0
    second = tmp_path / "logs" / "sac_sbx" / "Pendulum-v1_2"
    a, b = np.load(first / "evaluations.npz"), np.load(second / "evaluations.npz")
    assert list(a["timesteps"]) == list(b["timesteps"]) == [500, 1000]
    np.testing.assert_array_equal(a["results"], b["results"])
    return first, second


@needs_sbx
@pytest.mark.slow
def test_resume_after_sigint_is_exact(tmp_path, processes):
    _stop_resume_and_repeat(processes, tmp_path)


@needs_sbx
@pytest.mark.slow
def test_resume_of_a_gsde_run_after_sigint_is_exact(tmp_path, processes):
    """gSDE on JAX: the checkpoint keeps the policy's noise keys; same weights at the end."""
    from stable_baselines3.common.save_util import load_from_zip_file

    from rlzoo_real.runs.folder import RunFolder

    first, second = _stop_resume_and_repeat(processes, tmp_path, "-params", "use_sde:True")
    config = yaml.safe_load((first / "Pendulum-v1" / "config.yml").read_text())
    assert dict(config)["use_sde"] is True
    weights = []
    for path in (first, second):
        model = RunFolder(path, "Pendulum-v1").final_model
        _, params, _ = load_from_zip_file(model, device="cpu", load_data=False)
        weights.append(params["jax_params"])
    assert weights[0].keys() == weights[1].keys()
    for name, tensor in weights[0].items():
        assert np.array_equal(tensor.numpy(), weights[1][name].numpy()), name


@needs_sbx
def test_every_shipped_entry_translates_for_sbx():
    from rlzoo_real.algos.registry import BACKENDS
    from rlzoo_real.algos.sbx import adapt_model_kwargs
    from rlzoo_real.config.spec import resolve_run_spec
    from rlzoo_real.config.tables import bundled_hyperparams_dir, load_table

    checked = 0
    for name, algo in sorted(BACKENDS["sbx"].items()):
        table = load_table(bundled_hyperparams_dir() / f"{name}.yml")
        aliases = algo.load_class().policy_aliases
        for key, entry in table.items():
            if key == "atari":
                continue
            env = {"defaults": "Pendulum-v1"}.get(key, key)
            spec, _ = resolve_run_spec(algo, env, table={env: entry}, source=f"{name}.yml")
            kwargs = adapt_model_kwargs(dict(spec.model_kwargs), algo=name, where=spec.source)
            activation = kwargs.get("policy_kwargs", {}).get("activation_fn")
            assert activation is None or activation.__module__.startswith("jax"), (key, activation)
            assert spec.policy in aliases, (name, key)
            checked += 1
    assert checked > 50
