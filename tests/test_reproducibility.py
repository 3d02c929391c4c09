"""Same seed, same machine, same thread count: identical evaluations.npz."""

import numpy as np
import pytest


@pytest.mark.parametrize(("algo", "env"), [("ppo", "CartPole-v1"), ("sac", "Pendulum-v1")])
def test_same_seed_same_evaluations(cli, tiny_conf, tmp_path, algo, env):
    def run(seed: int) -> dict:
        result = cli(
            "train",
            "-a",
            algo,
            "-e",
            env,
            "--conf-file",
            tiny_conf,
            "-f",
            tmp_path,
            "--seed",
            seed,
            "--eval-freq",
            "128",
            "--eval-episodes",
            "2",
            "--verbose",
            "0",
        )
        assert result.exit_code == 0, result.output
        latest = max((tmp_path / algo).iterdir(), key=lambda p: int(p.name.rsplit("_", 1)[1]))
        with np.load(latest / "evaluations.npz") as data:
            return {k: data[k].copy() for k in data.files}

    first, second, other = run(7), run(7), run(8)
    assert first.keys() == second.keys() == {"timesteps", "results", "ep_lengths"}
    for key in first:
        np.testing.assert_array_equal(first[key], second[key])
    # a different seed gives different numbers, so the equality above means something
    assert not np.array_equal(first["results"], other["results"])
