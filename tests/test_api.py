"""The public Python API: real training, loading and evaluation from Python, a user's own env
class from a module gymnasium knows nothing of, errors as exceptions, signal handlers restored,
and the same request from the CLI and from Python."""

from __future__ import annotations

import csv
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

import rlzoo_real as rz
from tests.conftest import REPO, TINY_YAML
from tests.tune_helpers import load_trials, make_tiny

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


# -- the output a notebook sees, the caller's signal handlers -------------------------------


@pytest.fixture
def own_handlers() -> Iterator[Any]:
    """A handler of the test's own on SIGINT and SIGTERM (the caller's), put back at the end."""

    def mine(signum: int, frame: Any) -> None:
        pass

    before = {s: signal.signal(s, mine) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield mine
    finally:
        for s, handler in before.items():
            signal.signal(s, handler)


def _handlers() -> tuple[Any, Any]:
    return signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)


def test_quiet_unless_asked(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    small = {"hyperparams": {**TINY, "n_envs": 1}, "n_timesteps": 64, "eval_freq": -1}
    quiet = _train(tmp_path / "quiet", **small)
    out, err = capfd.readouterr()
    assert quiet.status == "finished" and (out, err) == ("", "")
    told = _train(tmp_path / "told", verbose=1, **small)
    out, _ = capfd.readouterr()
    assert told.status == "finished"
    assert "Training ppo on CartPole-v1 to 64 steps" in out
    assert "| rollout/" in out and "| time/" in out  # SB3's table, asked for


@pytest.mark.filterwarnings("ignore:rich is experimental")  # SB3's progress bar (tqdm.rich)
def test_progress_shows_a_bar_and_no_table(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    bar = _train(
        tmp_path, hyperparams={**TINY, "n_envs": 1}, n_timesteps=64, eval_freq=-1, progress=True
    )
    out, _ = capfd.readouterr()
    assert bar.status == "finished"
    assert "64/64" in out and "| rollout/" not in out


# -- tune and sweep from Python --------------------------------------------------------------


def test_tune_a_small_study(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], own_handlers: Any
) -> None:
    tiny = make_tiny(tmp_path)
    lines: list[str] = []
    result = rz.tune(
        "ppo", "CartPole-v1", n_trials=2, n_timesteps=256, log_folder=tiny["logs"],
        conf_file=str(tiny["conf"]), search_space=str(tiny["space"]), seed=5,
        n_evaluations=1, eval_episodes=2, plots=False, echo=lines.append,
    )  # fmt: skip
    assert capfd.readouterr() == ("", "")  # quiet: the lines went to echo
    assert _handlers() == (own_handlers, own_handlers)
    assert (result.status, result.exit_code, result.ran, result.problems) == ("finished", 0, 2, [])
    assert result.counts["COMPLETE"] == 2 and len(lines) >= 2
    study = tiny["logs"] / "ppo" / "tune_CartPole-v1"
    assert sorted(result.files) == sorted([study / "trials.csv", study / "best.yml"])
    # the result's best trial is the study's, as its journal and its files record it
    trials = load_trials(study)
    best = max(trials, key=lambda t: t.value)
    assert (result.best.number, result.best.value) == (best.number, best.value)
    assert result.best.params == best.params and set(best.params) == {
        "learning_rate", "one_minus_gamma", "n_epochs",
    }  # fmt: skip
    rows = list(csv.DictReader((study / "trials.csv").read_text().splitlines()))
    assert [r["state"] for r in rows] == ["COMPLETE", "COMPLETE"]
    assert max(float(r["value"]) for r in rows) == pytest.approx(result.best.value)
    text = (study / "best.yml").read_text()
    assert f"trial {best.number}, value {best.value:.4g}" in text
    entry = yaml.safe_load(text)["CartPole-v1"]
    assert entry["learning_rate"] == pytest.approx(best.params["learning_rate"])
    assert entry["gamma"] == pytest.approx(1 - best.params["one_minus_gamma"])
    assert entry["n_epochs"] == best.params["n_epochs"] and entry["n_timesteps"] == 256
    # a second call continues the same study
    more = rz.tune(
        "ppo", "CartPole-v1", n_trials=1, n_timesteps=256, log_folder=tiny["logs"],
        conf_file=str(tiny["conf"]), search_space=str(tiny["space"]), seed=5,
        n_evaluations=1, eval_episodes=2, plots=False,
    )  # fmt: skip
    assert (more.ran, more.counts["COMPLETE"]) == (1, 3) and len(load_trials(study)) == 3


@pytest.mark.slow  # two realzoo train processes: ~25 s on a busy 2-core machine
def test_sweep_two_runs_then_skips_them(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], own_handlers: Any
) -> None:
    conf = tmp_path / "tiny.yml"
    conf.write_text(TINY_YAML)
    logs = tmp_path / "logs"
    options: dict[str, Any] = {
        "seeds": [0, 1], "log_folder": logs, "conf_file": str(conf), "n_timesteps": 256,
        "eval_freq": -1, "n_workers": 2,
    }  # fmt: skip
    lines: list[str] = []
    result = rz.sweep(["ppo"], ["CartPole-v1"], echo=lines.append, **options)
    assert capfd.readouterr() == ("", "")
    assert _handlers() == (own_handlers, own_handlers)
    assert result.exit_code == 0 and [o.status for o in result.outcomes] == ["finished"] * 2
    folders = sorted(o.run for o in result.outcomes if o.run is not None)
    assert folders == [logs / "ppo" / "CartPole-v1_1", logs / "ppo" / "CartPole-v1_2"]
    records = {Path(r["path"]): r for r in rz.runs(logs)}
    assert sorted(records) == folders
    assert sorted((r["seed"], r["steps"], r["status"]) for r in records.values()) == [
        (0, 256, "finished"), (1, 256, "finished"),
    ]  # fmt: skip
    assert result.summary_file is not None and result.summary_file.is_file()
    summary = yaml.safe_load(result.summary_file.read_text())
    assert [j["status"] for j in summary["jobs"]] == ["finished", "finished"]
    assert any("seed 1" in line and "done" in line for line in lines)
    again = rz.sweep(["ppo"], ["CartPole-v1"], **options)
    assert again.exit_code == 0 and [o.status for o in again.outcomes] == ["skipped"] * 2
    assert sorted(o.run for o in again.outcomes if o.run is not None) == folders
    assert sorted(p.name for p in (logs / "ppo").iterdir()) == ["CartPole-v1_1", "CartPole-v1_2"]


# -- a bad call of each function: a UserError, never SystemExit, nothing written -------------


def _empty_run(folder: Path) -> Path:
    (folder / "empty").mkdir()
    return folder / "empty"


@pytest.mark.parametrize(
    ("call", "kind", "words"),
    [
        (lambda f: rz.resume(f / "nothing"), rz.RunNotFoundError, "is not a folder"),
        (lambda f: rz.resume(_empty_run(f)), rz.UserError, "not a realzoo run folder"),
        (lambda f: rz.load(_empty_run(f), model="worst"), rz.UserError, "expected 'last'"),
        (lambda f: rz.load(_empty_run(f)), rz.RunNotFoundError, "no <env>/args.yml"),
        (lambda f: rz.evaluate(f, n_episodes=0), rz.UserError, "at least 1"),
        (lambda f: rz.evaluate(f / "nothing"), rz.RunNotFoundError, "not a run folder"),
        (lambda f: rz.runs(_empty_run(f)), rz.RunNotFoundError, "No run folders"),
        (lambda f: rz.tune("ppo", "CartPole-v1", log_folder=f, samplr="tpe"), rz.ConfigError,
         "Did you mean sampler"),
        (lambda f: rz.tune("ppo", "CartPole-v1", log_folder=f, sampler="nope", n_trials=1),
         rz.UserError, "Unknown sampler"),
        (lambda f: rz.tune("ppo", "CartPole-v0x", log_folder=f, n_trials=1), rz.EnvError,
         "Unknown environment"),
        (lambda f: rz.tune("ppo", "CartPole-v1", log_folder=f, hyperparams={"lr": lambda p: p}),
         rz.ConfigError, "cannot be recorded"),
        (lambda f: rz.sweep(["ppo"], ["CartPole-v1"], log_folder=f, eval_frq=3), rz.ConfigError,
         "Did you mean eval_freq"),
        (lambda f: rz.sweep(["ppo"], ["CartPole-v1"], log_folder=f, hyperparams={"n_steps": 64}),
         rz.ConfigError, "non-empty list"),
        (lambda f: rz.sweep(["ppx"], ["CartPole-v1"], log_folder=f), rz.UserError,
         "Unknown algorithm"),
        (lambda f: rz.sweep(["ppo"], ["CartPole-v1"], log_folder=f,
                            hyperparams={"n_stepz": [64]}), rz.UserError, "Did you mean n_steps"),
        (lambda f: rz.plot_training(f / "nothing"), rz.UserError, "does not exist"),
        (lambda f: rz.plot_evaluations(_empty_run(f)), rz.UserError, "No runs found"),
        (lambda f: rz.train("ppo", "CartPole-v1", log_folder=f, backend="tf"), rz.UserError,
         "Unknown backend"),
        (lambda f: rz.train("ppo", "CartPole-v1", log_folder=f, device="tpu"), rz.UserError,
         "--device must be"),
    ],
)  # fmt: skip
def test_a_bad_call_of_each_function_raises_a_user_error(
    tmp_path: Path, call: Any, kind: type[Exception], words: str
) -> None:
    try:
        call(tmp_path)
    except SystemExit as exc:  # pragma: no cover - the failure this test exists for
        pytest.fail(f"SystemExit({exc.code}) instead of a UserError")
    except rz.UserError as exc:
        assert isinstance(exc, kind) and words in str(exc), repr(exc)
    else:
        pytest.fail("no error")
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []  # nothing written


def test_load_a_checkpoint_by_steps_and_evaluate_a_folder(tmp_path: Path) -> None:
    import torch

    result = _train(
        tmp_path, hyperparams={**TINY, "n_envs": 1}, n_timesteps=256, eval_freq=-1, save_freq=128
    )
    assert (result.steps, result.checkpoint_steps, result.best_model) == (256, 256, None)

    def weights(model: Any) -> list[Any]:
        return [p.detach().clone() for p in model.policy.parameters()]

    loaded = {}
    for choice in ("last", "last_checkpoint", 128, 256):
        with rz.load(result, model=choice) as run:
            loaded[choice] = (run.model_path.name, weights(run.model))
    assert [loaded[c][0] for c in ("last", "last_checkpoint", 128, 256)] == [
        "CartPole-v1.zip", "rl_model_256_steps.zip", "rl_model_128_steps.zip",
        "rl_model_256_steps.zip",
    ]  # fmt: skip
    same = [torch.equal(a, b) for a, b in zip(loaded["last"][1], loaded[256][1], strict=True)]
    assert all(same)  # the final model is the last checkpoint's
    moved = [torch.equal(a, b) for a, b in zip(loaded[128][1], loaded[256][1], strict=True)]
    assert not all(moved)  # 128 more steps of training changed the policy
    with pytest.raises(rz.RunNotFoundError, match="checkpoints there: 128, 256"):
        rz.load(result.run_folder, model=100)
    with pytest.raises(rz.RunNotFoundError, match="no best_model.zip"):
        rz.load(result.run_folder, model="best")
    episodes = rz.evaluate(result.run_folder, n_episodes=2, model=128)  # loaded, played, closed
    assert len(episodes.returns) == 2 and all(n >= 1 for n in episodes.lengths)
    assert episodes.returns == tuple(float(n) for n in episodes.lengths)  # CartPole: 1 a step
    assert [r["id"] for r in rz.runs(tmp_path, algos=["ppo"], envs=["CartPole-v1"])] == [1]
    with pytest.raises(rz.RunNotFoundError, match="--algos sac"):
        rz.runs(tmp_path, algos=["sac"])
