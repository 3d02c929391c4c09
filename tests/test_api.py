"""The public Python API: real training, loading and evaluation from Python, a user's own env
class from a module gymnasium knows nothing of, errors as exceptions, signal handlers restored,
and the same request from the CLI and from Python."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

import rlzoo_real as rz
from tests.conftest import REPO

#: a PPO entry that trains in a second
TINY = {"n_steps": 64, "batch_size": 64, "n_epochs": 2, "policy_kwargs": {"net_arch": [16]}}


def _train(log_folder: Path, env: Any = "CartPole-v1", **kwargs: Any) -> rz.TrainingResult:
    options: dict[str, Any] = {
        "hyperparams": TINY,
        "n_timesteps": 128,
        "seed": 3,
        "log_folder": log_folder,
        "eval_freq": 64,
        "eval_episodes": 2,
    }
    options.update(kwargs)
    return rz.train("ppo", env, **options)


@pytest.fixture(scope="module")
def user_run(tmp_path_factory: pytest.TempPathFactory) -> rz.TrainingResult:
    """One run on tests.user_envs.LineWalk, given as the class itself, torch classes inside."""
    import torch

    logs = tmp_path_factory.mktemp("user_env") / "logs"
    hyperparams = {**TINY, "policy_kwargs": {"net_arch": [16], "activation_fn": torch.nn.ReLU}}
    from tests.user_envs import LineWalk

    return _train(
        logs, LineWalk, hyperparams=hyperparams, env_kwargs={"length": 3}, n_timesteps=256
    )


def test_import_is_light() -> None:
    code = (
        "import sys, rlzoo_real as rz; assert callable(rz.train) and callable(rz.runs); "
        "heavy = [m for m in ('torch', 'stable_baselines3', 'gymnasium', 'optuna', "
        "'matplotlib') if m in sys.modules]; "
        "print(heavy, sorted(rz.__all__) == sorted(set(rz.__all__)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[] True"
    missing = [name for name in rz.__all__ if not hasattr(rz, name)]
    assert missing == []


def test_user_env_class_trains_loads_and_evaluates(user_run: rz.TrainingResult) -> None:
    assert user_run.status == "finished" and user_run.steps == 256
    assert user_run.env == "tests.user_envs:LineWalk"
    assert user_run.best_model is not None and user_run.best_model.is_file()
    assert user_run.final_model.is_file() and user_run.best_eval >= user_run.last_eval - 1e-9
    params = user_run.run_folder / "tests.user_envs-LineWalk"
    args = yaml.safe_load((params / "args.yml").read_text())
    config = yaml.safe_load((params / "config.yml").read_text())
    assert args["env"] == "tests.user_envs:LineWalk" and args["env_kwargs"] == {"length": 3}
    assert config["policy_kwargs"] == "dict(net_arch=[16], activation_fn=nn.ReLU)"
    with rz.load(user_run, model="best", allow_import=["tests.user_envs"]) as run:
        assert run.env_id == "tests.user_envs:LineWalk" and run.model_path.name == "best_model.zip"
        assert run.config["n_steps"] == 64
        assert type(run.model.policy.mlp_extractor.policy_net[1]).__name__ == "ReLU"
        episodes = rz.evaluate(run, n_episodes=3)
    assert len(episodes.returns) == 3 and len(episodes.lengths) == 3
    # the env kwargs as trained: each episode ends within 2 * length = 6 steps
    assert all(1 <= n <= 6 for n in episodes.lengths)
    assert episodes.mean_return == pytest.approx(sum(episodes.returns) / 3)
    rows = rz.runs(user_run.run_folder.parent.parent)
    assert [(r["env"], r["steps"], r["status"]) for r in rows] == [
        ("tests.user_envs:LineWalk", 256, "finished")
    ]


def test_user_env_run_enjoyed_from_the_cli(user_run: rz.TrainingResult, cli: Any) -> None:
    refused = cli("enjoy", str(user_run.run_folder), "-n", "5", "--no-render")
    assert refused.exit_code != 0 and "--allow-import tests.user_envs" in refused.output
    result = cli(
        "enjoy", str(user_run.run_folder), "-n", "5", "--no-render",
        "--allow-import", "tests.user_envs",
    )  # fmt: skip
    assert result.exit_code == 0, result.output


def test_factory_path_and_resume(tmp_path: Path) -> None:
    first = _train(tmp_path, "tests.user_envs:make_line_walk", n_timesteps=128)
    assert first.env == "tests.user_envs:make_line_walk" and first.steps == 128
    more = rz.resume(first.run_folder, n_timesteps=256)
    assert (more.run_folder, more.status, more.steps) == (first.run_folder, "finished", 256)
    assert len(rz.runs(tmp_path)) == 1


def test_signal_handlers_restored(tmp_path: Path) -> None:
    def mine(signum: int, frame: Any) -> None:
        pass

    before = {s: signal.signal(s, mine) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        result = _train(tmp_path, n_timesteps=64, eval_freq=-1)
        assert result.status == "finished"
        assert signal.getsignal(signal.SIGINT) is mine and signal.getsignal(signal.SIGTERM) is mine
        with pytest.raises(rz.UserError):
            _train(tmp_path, hyperparams={"n_stepz": 64})
        assert signal.getsignal(signal.SIGINT) is mine
    finally:
        for s, handler in before.items():
            signal.signal(s, handler)


def _local_env() -> Any:
    class Local:  # defined in a function: nothing can import it again
        pass

    return Local


def _callable_schedule(folder: Path) -> Any:
    return rz.train(
        "ppo", "CartPole-v1", hyperparams={"learning_rate": lambda p: p}, log_folder=folder
    )


@pytest.mark.parametrize(
    ("call", "kind", "words"),
    [
        (lambda f: rz.train("ppo", lambda: None, log_folder=f), rz.EnvError, "lambda"),
        (lambda f: rz.train("ppo", _local_env(), log_folder=f), rz.EnvError, "inside a function"),
        (lambda f: rz.train("ppo", "CartPole-v0x", log_folder=f), rz.EnvError, "Unknown env"),
        (_callable_schedule, rz.ConfigError, "cannot be recorded"),
        (lambda f: rz.train("ppo", "CartPole-v1", eval_frq=5), rz.ConfigError, "eval_"),
        (lambda f: rz.load(f / "nothing"), rz.RunNotFoundError, "not a run folder"),
        (lambda f: rz.runs(f / "nothing"), rz.RunNotFoundError, "does not exist"),
    ],
)  # fmt: skip
def test_mistakes_are_typed_exceptions(
    tmp_path: Path, call: Any, kind: type[Exception], words: str
) -> None:
    with pytest.raises(kind, match=words) as info:
        call(tmp_path)
    assert isinstance(info.value, rz.UserError)
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_cli_and_api_record_the_same_run(tmp_path: Path, cli: Any) -> None:
    api = _train(tmp_path / "api", n_timesteps=64, eval_freq=-1)
    typed = cli(
        "train", "--algo", "ppo", "--env", "CartPole-v1", "-n", "64", "--seed", "3",
        "-f", str(tmp_path / "cli"), "--eval-freq", "-1", "--eval-episodes", "2",
        "-params", "n_steps:64", "batch_size:64", "n_epochs:2", "policy_kwargs:dict(net_arch=[16])",
    )  # fmt: skip
    assert typed.exit_code == 0, typed.output
    params = "ppo/CartPole-v1_1/CartPole-v1"
    configs = [
        yaml.safe_load((tmp_path / side / params / "config.yml").read_text())
        for side in ("api", "cli")
    ]
    assert configs[0] == configs[1]
    assert api.run_folder == tmp_path / "api/ppo/CartPole-v1_1"


def test_plot_functions_return_figures(user_run: rz.TrainingResult) -> None:
    logs = user_run.run_folder.parent.parent
    figure = rz.plot_evaluations(logs)
    assert type(figure).__name__ == "Figure" and figure.axes
    assert rz.plot_training(logs, window=2).axes
