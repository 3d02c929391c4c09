"""The shipped hyperparameters learn: PPO solves CartPole-v1, SAC swings up Pendulum-v1.

Slow (minutes): full ``n_timesteps`` runs of ``realzoo train`` as real processes.
"""

import numpy as np
import pytest

from tests.conftest import run_realzoo


def _best_mean_eval(run_dir) -> float:
    with np.load(run_dir / "evaluations.npz") as data:
        return float(data["results"].mean(axis=1).max())


@pytest.mark.slow
@pytest.mark.timeout(2400)  # a full run: minutes on 2 idle cores, many more on a busy machine
@pytest.mark.parametrize(
    ("algo", "env", "eval_freq", "goal"),
    [("ppo", "CartPole-v1", 10000, 500.0), ("sac", "Pendulum-v1", 2000, -200.0)],
)
def test_shipped_hyperparameters_reach_the_goal(tmp_path, algo, env, eval_freq, goal):
    done = run_realzoo(
        "train",
        "--algo",
        algo,
        "--env",
        env,
        "-f",
        tmp_path,
        "--seed",
        "0",
        "--eval-freq",
        eval_freq,
        "--eval-episodes",
        "10",
        "--verbose",
        "0",
        cwd=tmp_path,
        timeout=2300,
    )
    assert done.returncode == 0, done.stderr
    best = _best_mean_eval(tmp_path / algo / f"{env}_1")
    print(f"{algo} {env}: best mean evaluation return {best:.1f} (goal {goal})")
    assert best >= goal if goal > 0 else best > goal
