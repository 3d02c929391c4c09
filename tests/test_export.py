"""``realzoo export --format onnx``: parity with the torch policy, as a deployed controller sees it.

The reference is Stable-Baselines3 itself (``Algo.load``, ``VecNormalize.load``,
``model.predict``), built without realzoo's loading code; the ONNX file is run with
``onnxruntime`` and numpy alone, on raw observations, as a robot's controller would.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from rlzoo_real.runs.folder import RunFolder
from tests.trained_runs import make_cli, train_run

ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

CASES = {
    # name: (conf, algo class, action kind, normalized, frame stack)
    "ppo-discrete": ("ppo-CartPole", "PPO", "discrete", False, None),
    "ppo-continuous": ("ppo-Pendulum", "PPO", "clipped", True, None),
    "sac": ("sac-Pendulum", "SAC", "squashed", True, None),
    "td3": ("td3-Pendulum", "TD3", "squashed", False, None),
    "dqn": ("dqn-CartPole", "DQN", "discrete", False, 2),
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, RunFolder]:
    folder = tmp_path_factory.mktemp("export")
    cli = make_cli()
    return {
        name: train_run(cli, folder / name, conf, "--eval-freq", "-1")
        for name, (conf, *_) in CASES.items()
    }


def reference_rollout(
    name: str, run: RunFolder, *, steps: int, seed: int
) -> tuple[np.ndarray, np.ndarray, object, object]:
    """Raw observations of a rollout with SB3's own objects, and ``model.predict`` on them."""
    import stable_baselines3
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import VecFrameStack, VecNormalize

    _, cls, _, normalized, frame_stack = CASES[name]
    model = getattr(stable_baselines3, cls).load(run.final_model, device="cpu")
    env = make_vec_env(run.env_id, n_envs=1, seed=seed)
    if frame_stack:
        env = VecFrameStack(env, frame_stack)
    if normalized:
        env = VecNormalize.load(str(run.vecnormalize_file), env)
        env.training, env.norm_reward = False, False
    raws, actions = [], []
    obs = env.reset()
    for _ in range(steps):
        raw = env.get_original_obs() if normalized else obs
        action, _ = model.predict(obs, deterministic=True)
        raws.append(raw[0].copy())
        actions.append(action[0])
        obs, _, _, _ = env.step(action)
    env.close()
    return np.array(raws, dtype=np.float32), np.array(actions), model, env


def onnx_actions(path: Path, obs: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {"obs": obs.astype(np.float32)})[0]


@pytest.mark.parametrize("name", list(CASES))
def test_export_matches_the_torch_policy(cli, runs, name):
    run = runs[name]
    _, cls, kind, normalized, frame_stack = CASES[name]
    result = cli("export", run.path, "--format", "onnx")
    assert result.exit_code == 0, result.output
    path = run.final_model.with_suffix(".onnx")
    out = result.output
    assert f"Exported {cls.lower()} on {run.env_id} (final model) to {path}" in out
    match = re.search(
        r"on 256 observations from the env: max \|difference\| (\S+) \(limit 1e-04\)", out
    )
    assert match and float(match.group(1)) <= 1e-4, out
    assert ("normalization is inside the graph" in out) == normalized
    obs_dim = (3 if run.env_id == "Pendulum-v1" else 4) * (frame_stack or 1)
    assert f"Input 'obs': float32 [batch, {obs_dim}]" in out
    if kind == "discrete":
        assert "Output 'action': int64 [batch], action index" in out
    else:
        assert "Output 'action': float32 [batch, 1], within [-2, 2]" in out

    raws, expected, model, env = reference_rollout(name, run, steps=300, seed=11)
    got = onnx_actions(path, raws)
    if kind == "discrete":
        assert got.dtype == np.int64
        np.testing.assert_array_equal(got, expected)
    else:
        np.testing.assert_allclose(got, expected, atol=1e-4, rtol=0)
        assert np.all(np.abs(got) <= 2.0)
    # far outside the training distribution: normalization clips, actions saturate and must be
    # rescaled (squashed policies) or clipped (PPO) exactly as model.predict does it
    rng = np.random.default_rng(0)
    wild = (rng.normal(size=(200, obs_dim)) * 20).astype(np.float32)
    policy_input = env.normalize_obs(wild) if normalized else wild  # type: ignore[attr-defined]
    expected_wild, _ = model.predict(policy_input, deterministic=True)  # type: ignore[attr-defined]
    got_wild = onnx_actions(path, wild)
    if kind == "discrete":
        np.testing.assert_array_equal(got_wild, expected_wild)
    else:
        np.testing.assert_allclose(got_wild, expected_wild, atol=1e-4, rtol=0)
    if kind == "clipped":  # the ReLU net's unclipped means leave [-2, 2]: clipping is exercised
        assert np.mean(np.abs(got_wild) == 2.0) > 0.05
    if kind == "squashed":  # tanh outputs in [-1, 1] stretched to [-2, 2]
        assert np.max(np.abs(got_wild)) > 1.0


def test_controller_loop_from_the_readme_reaches_enjoys_return(cli, runs):
    """The README's control loop, onnxruntime + numpy only, scores what ``realzoo enjoy`` does."""
    import gymnasium as gym

    run = runs["sac"]
    assert cli("export", run.path, "-o", run.path / "policy.onnx").exit_code == 0
    enjoy = cli("enjoy", run.path, "--no-render", "--n-episodes", "1", "--seed", "3")
    assert enjoy.exit_code == 0, enjoy.output
    enjoy_return = float(re.search(r"Episode 1: return (-?[\d.]+)", enjoy.output).group(1))

    session = ort.InferenceSession(str(run.path / "policy.onnx"))
    env = gym.make("Pendulum-v1")
    obs, _ = env.reset(seed=3)
    total, done = 0.0, False
    while not done:
        action = session.run(None, {"obs": obs[None].astype(np.float32)})[0][0]
        obs, reward, terminated, truncated, _ = env.step(action)
        total += float(reward)
        done = terminated or truncated
    env.close()
    assert total == pytest.approx(enjoy_return, abs=0.01)
    meta = session.get_modelmeta()
    assert meta.producer_name == "realzoo"
    props = meta.custom_metadata_map
    assert props["algo"] == "sac" and props["env_id"] == "Pendulum-v1"
    assert props["observation_normalization"] == "true" and props["frame_stack"] == "0"
    assert "normalization is inside the graph" in props["input"]


def test_export_options(cli, runs, tmp_path):
    run = runs["dqn"]
    result = cli(
        "export",
        "-a",
        "dqn",
        "-e",
        "CartPole-v1",
        "-f",
        run.path.parents[1],
        "-o",
        tmp_path / "sub" / "dqn.onnx",
    )
    assert result.exit_code == 0, result.output
    assert "the last 2 frames stacked" in result.output
    session = ort.InferenceSession(str(tmp_path / "sub" / "dqn.onnx"))
    assert session.get_inputs()[0].shape[1] == 8
    assert session.get_modelmeta().custom_metadata_map["frame_stack"] == "2"


def test_an_output_path_that_cannot_be_written_is_a_clear_error(cli, runs, tmp_path):
    (tmp_path / "afile").write_text("not a folder")
    run = runs["dqn"]
    result = cli("export", run.path, "-o", tmp_path / "afile" / "dqn.onnx")
    assert result.exit_code == 2, result.output
    assert "Cannot use" in result.output and "afile" in result.output
    assert "Traceback" not in result.output
    assert (tmp_path / "afile").read_text() == "not a folder"


def test_export_refuses_a_policy_that_differs(cli, runs, tmp_path, monkeypatch):
    import rlzoo_real.replay.export as export

    original = export._run_onnx
    monkeypatch.setattr(export, "_run_onnx", lambda path, obs: original(path, obs) + 1e-3)
    target = tmp_path / "bad.onnx"
    result = cli("export", runs["td3"].path, "-o", target)
    assert result.exit_code == 2, result.output
    assert "differs from the torch policy by up to 0.001" in result.stderr
    assert "nothing was written" in result.stderr
    assert not target.exists() and list(tmp_path.iterdir()) == []


def test_export_mistakes(cli, runs, monkeypatch):
    run = runs["sac"]
    result = cli("export", run.path, "--format", "torchscript")
    assert result.exit_code == 2 and "formats: onnx" in result.stderr
    result = cli("export", run.path, "--load-checkpoint", "7")
    assert result.exit_code == 2 and "no checkpoint at 7 steps" in result.stderr
    monkeypatch.setitem(__import__("sys").modules, "onnxruntime", None)
    result = cli("export", run.path)
    assert result.exit_code == 2 and "pip install 'rlzoo-real[export]'" in result.stderr
    assert "Traceback" not in result.output
