"""Every entry of every hyperparameter file of the installed RL Zoo (rl_zoo3), trained by realzoo.

The files are read where ``rl_zoo3`` is installed (``importlib.resources``), not from a copy,
so a new Zoo release is tested as it is. Each entry is one test (pytest-xdist spreads them):
realzoo resolves it unchanged (the ``default`` entries against a standard env the file has
no entry for), builds the env and the model exactly as ``realzoo train`` does, and trains.

An entry is skipped only when its env cannot exist here (Atari ROMs, PyBullet, MiniGrid,
panda-gym, highway-env, gymnasium-robotics, MuJoCo v2/v3 that need mujoco-py, private envs,
ids gymnasium 1.x no longer registers); ``test_zoo_entries_summary`` prints the count per
reason and fails on an entry that fits none of them.

How the test stays cheap and still meaningful: the entry's values are all kept (network sizes,
buffer sizes, n_envs, schedules, normalization, wrappers, noise), except three that only set
how long the run lasts: episodes end after 20 steps (``max_episode_steps`` through the env's
``gym.make``), off-policy algorithms start learning after at most 64 steps, and on-policy
rollouts collect at most 256 transitions (``n_steps`` lowered, ``batch_size`` capped to the
rollout). The budget is then chosen so that every entry does at least one gradient update
(one rollout and its epochs, or a few off-policy train steps after ``learning_starts``; ARS
one population update), which the test checks in the model's own update counter. Each entry
trains in well under a second or two on one CPU thread.
"""

from __future__ import annotations

import collections
import functools
import importlib.resources
import importlib.util
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

#: max steps per episode during the test (keeps episode-based updates and ARS cheap)
EPISODE_STEPS = 20
#: off-policy algorithms learn after at most this many steps
LEARNING_STARTS = 64
#: on-policy rollouts collect at most this many transitions (n_steps * n_envs)
ROLLOUT = 256

#: the hyperparameter files of the installed RL Zoo
ZOO_DIR = Path(str(importlib.resources.files("rl_zoo3") / "hyperparams"))

#: entries the RL Zoo itself cannot run: realzoo must refuse them with its own error
ZOO_BROKEN = {
    # RecurrentPPO has no MlpPolicy (its policies are MlpLstmPolicy, ...); rl_zoo3 fails on
    # this fallback entry with a KeyError.
    ("ppo_lstm", "default"): "'MlpPolicy' is not a policy of ppo_lstm",
}


def _needs_missing_package(algo_name: str, key: str) -> str | None:
    """A package the entry's own wrappers need that is not installed (its env exists here)."""
    from rlzoo_real.envs.wrappers import ZOO_ALIASES

    entry = yaml.safe_load((ZOO_DIR / f"{algo_name}.yml").read_text())[key] or {}
    wrappers = entry.get("env_wrapper") or []
    for item in wrappers if isinstance(wrappers, list) else [wrappers]:
        path = next(iter(item)) if isinstance(item, dict) else str(item)
        top = ZOO_ALIASES.get(path, path).split(".")[0]
        if _missing(top):
            return f"package {top} (for the wrapper {path}), not published or not installed"
        if "ResizeObservation" in path and _missing("cv2"):
            return "opencv (cv2), which gymnasium's ResizeObservation needs"
    return None


def _zoo_entries() -> Iterator[tuple[str, str]]:
    for path in sorted(ZOO_DIR.glob("*.yml")):
        for key in yaml.safe_load(path.read_text()) or {}:
            yield path.stem, str(key)


ENTRIES = list(_zoo_entries())


def _missing(module: str) -> bool:
    return importlib.util.find_spec(module) is None


def _register_zoo_envs() -> None:
    """The Zoo's own envs (CartPoleNoVel-v1, ...), registered the way a user asks realzoo to."""
    from rlzoo_real.envs.make import import_gym_packages

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # optional packages it probes
        import_gym_packages(["rl_zoo3.import_envs"])


@functools.cache
def unavailable(env_id: str) -> str | None:
    """Why ``env_id`` cannot exist here, or None when it can be made."""
    import gymnasium as gym

    _register_zoo_envs()
    if env_id == "atari" or "NoFrameskip" in env_id or env_id.startswith("ALE/"):
        return "Atari (ale-py and its ROMs are not installed)" if _missing("ale_py") else None
    if env_id in gym.registry:
        try:
            gym.make(env_id).close()
        except (gym.error.DependencyNotInstalled, ImportError) as exc:
            if "mujoco v2 and v3" in str(exc) or "mujoco_py" in str(exc):
                return "MuJoCo v2/v3 (need mujoco-py, which gymnasium 1.x dropped)"
            raise
        return None
    packages = (
        ("Bullet", "pybullet_envs_gymnasium", "PyBullet (pybullet_envs_gymnasium not installed)"),
        ("MiniGrid-", "minigrid", "MiniGrid (minigrid not installed)"),
        ("Panda", "panda_gym", "panda-gym (not installed)"),
        ("parking-", "highway_env", "highway-env (not installed)"),
        ("Fetch", "gymnasium_robotics", "gymnasium-robotics (not installed)"),
        ("donkey-", "gym_donkeycar", "gym-donkeycar (not installed)"),
        ("RocketLander", "rocket_lander_gym", "rocket_lander_gym (not installed)"),
        ("A1", "custom_envs", "the Zoo authors' private envs (custom_envs, not published)"),
        ("Neck", "custom_envs", "the Zoo authors' private envs (custom_envs, not published)"),
    )
    for marker, module, reason in packages:
        if marker in env_id:
            if _missing(module):
                return reason
            raise AssertionError(f"{module} is installed but does not register {env_id}")
    return "an id gymnasium 1.x no longer registers (e.g. CarRacing-v0, LunarLander*-v2)"


#: standard envs a ``default`` entry is tried on: the first the file has no entry for
_DEFAULT_ENVS = {
    "Discrete": (
        "CartPole-v1",
        "Acrobot-v1",
        "MountainCar-v0",
        "LunarLander-v3",
        "CartPoleNoVel-v1",
    ),
    "Box": ("Pendulum-v1", "MountainCarContinuous-v0", "BipedalWalker-v3", "PendulumNoVel-v1"),
}


def _target_env(algo_name: str, key: str) -> tuple[str, str | None]:
    """The env an entry is tried on, and why that env cannot exist here (None: it can)."""
    if key != "default":
        return key, unavailable(key)
    from rlzoo_real.algos.registry import get_algo

    table = yaml.safe_load((ZOO_DIR / f"{algo_name}.yml").read_text())
    kind = "Discrete" if "Discrete" in get_algo(algo_name).action_spaces else "Box"
    env_id = next(env for env in _DEFAULT_ENVS[kind] if env not in table)
    return env_id, unavailable(env_id)


def _cheap_overrides(algo: Any, entry: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """Values that shorten the run (not the entry's meaning) and a budget with one update."""
    from rlzoo_real.config.checks import whole as _whole
    from rlzoo_real.config.literals import coerce_yaml_numbers

    entry = {k: _whole(coerce_yaml_numbers(v)) for k, v in entry.items()}
    n_envs = entry.get("n_envs", 1)
    overrides: dict[str, Any] = {}
    if algo.name == "ars":
        # any budget runs one whole population update: 2 * n_delta short episodes
        budget = 1
    elif algo.off_policy:
        starts = min(entry.get("learning_starts", 100), LEARNING_STARTS)
        overrides["learning_starts"] = starts
        freq = entry.get("train_freq", 1)
        steps = EPISODE_STEPS if isinstance(freq, list) else int(freq)
        budget = starts + 2 * (steps + 1) * n_envs
    else:
        n_steps = entry.get("n_steps", 2048 if algo.name != "a2c" else 5)
        if n_steps * n_envs > ROLLOUT:
            n_steps = max(2, ROLLOUT // n_envs)
            overrides["n_steps"] = n_steps
        rollout = n_steps * n_envs
        batch = entry.get("batch_size")
        if batch is not None and (batch > rollout or rollout % batch):
            overrides["batch_size"] = rollout
        budget = rollout
    return overrides, budget


def _updates(model: Any) -> int:
    """Gradient updates the model has done (SB3's own counter; ARS counts iterations)."""
    if hasattr(model, "_n_updates"):
        return int(model._n_updates)
    return int(model.num_timesteps > 0)


#: warnings that the Zoo's own entries cause, named one by one
ZOO_WARNINGS = pytest.mark.filterwarnings(
    # gymnasium 1.x still registers the MuJoCo v4 envs the Zoo tuned, and says they are old
    "ignore:.*is out of date. You should consider upgrading to version `v5`:DeprecationWarning",
    # the Zoo's large replay buffers (1e6) are allocated lazily; SB3 compares them with free RAM
    "ignore:This system does not have apparently enough memory:UserWarning",
)


@pytest.mark.slow  # all entries together: several CPU minutes (each a second or two, a few more)
@ZOO_WARNINGS
@pytest.mark.parametrize(("algo_name", "key"), ENTRIES, ids=[f"{a}-{k}" for a, k in ENTRIES])
def test_zoo_entry_trains(algo_name: str, key: str, tmp_path: Path) -> None:
    from rlzoo_real.algos.build import build_model
    from rlzoo_real.algos.registry import get_algo
    from rlzoo_real.config.spec import resolve_run_spec
    from rlzoo_real.config.tables import load_table
    from rlzoo_real.envs.make import make_vec_env_for
    from rlzoo_real.errors import UserError

    path = ZOO_DIR / f"{algo_name}.yml"
    table = load_table(path)
    env_id, reason = _target_env(algo_name, key)
    if reason is not None:
        pytest.skip(f"env cannot exist here: {reason}")
    algo = get_algo(algo_name)
    source = f"rl_zoo3/hyperparams/{path.name}"
    if (algo_name, key) in ZOO_BROKEN:
        from rlzoo_real.train.request import _check_policy

        spec, _ = resolve_run_spec(algo, env_id, table=table, source=source)
        with pytest.raises(UserError, match=ZOO_BROKEN[algo_name, key]):
            _check_policy(algo, spec)
        return

    # unchanged entry: resolves, and the algorithm accepts every value
    spec, notice = resolve_run_spec(algo, env_id, table=table, source=source)
    missing = _needs_missing_package(algo_name, key)
    if missing is not None:  # not skipped: building its env must fail for that reason alone
        import gymnasium as gym

        word = "cv2" if "cv2" in missing else missing.split()[1]
        with pytest.raises((UserError, gym.error.DependencyNotInstalled), match=word):
            make_vec_env_for(spec, n_envs=1, seed=0, env_kwargs={}).close()
        return
    assert (notice is None) == (key != "default")
    overrides, budget = _cheap_overrides(algo, table[key] or {})
    spec, _ = resolve_run_spec(
        algo, env_id, table=table, source=source, overrides=overrides, n_timesteps=budget
    )
    env_kwargs = {**spec.env_kwargs, "max_episode_steps": EPISODE_STEPS}
    env = make_vec_env_for(
        spec, n_envs=spec.n_envs, seed=0, env_kwargs=env_kwargs, monitor_dir=tmp_path
    )
    try:
        model = build_model(spec, env, seed=0)
        model.learn(spec.n_timesteps)
        assert model.num_timesteps >= spec.n_timesteps
        assert _updates(model) >= 1, f"{algo_name} {key}: no gradient update in {budget} steps"
    finally:
        env.close()
    assert sorted(tmp_path.glob("*.monitor.csv")), "the training envs wrote no monitor file"


@ZOO_WARNINGS
def test_zoo_entries_summary(capsys: pytest.CaptureFixture[str]) -> None:
    """Counts entries per outcome; every skip must be an env that cannot exist here."""
    outcomes: collections.Counter[str] = collections.Counter()
    for algo_name, key in ENTRIES:
        _, reason = _target_env(algo_name, key)
        if reason is not None:
            outcomes[f"skipped: {reason}"] += 1
        elif (needs := _needs_missing_package(algo_name, key)) is not None:
            outcomes[f"resolved; env build refused, needs {needs}"] += 1
        elif (algo_name, key) in ZOO_BROKEN:
            outcomes["refused with realzoo's error (the Zoo cannot run it either)"] += 1
        else:
            outcomes["trained"] += 1
    assert outcomes["trained"] > 0
    with capsys.disabled():
        print(f"\nRL Zoo hyperparameter entries in {ZOO_DIR} ({len(ENTRIES)}):")
        for outcome, count in sorted(outcomes.items()):
            print(f"  {count:4d}  {outcome}")


# --- the Zoo's keys end to end, through ``realzoo train`` --------------------------------------

ZOO_KEYS_FILE = """\
default:
  n_timesteps: !!float 3e2
  policy: stable_baselines3.sac.MlpPolicy
  learning_rate: 1e-3
  buffer_size: 1.0e3
  learning_starts: 5e1
  batch_size: 16
  train_freq: [1, "episode"]
  gradient_steps: -1
  normalize: "dict(norm_obs=True, norm_reward=False)"
  policy_kwargs: "dict(net_arch=[16])"
  env_kwargs:
    max_episode_steps: 7
  monitor_kwargs: "dict(info_keywords=('x_position',))"
  callback:
    - stable_baselines3.common.callbacks.StopTrainingOnMaxEpisodes:
        max_episodes: 1000
"""


def test_zoo_keys_reach_training_and_evaluation(cli, tmp_path):
    """``default`` entry, dotted policy, YAML 1.1 numbers, env/monitor kwargs, callback args."""
    import numpy as np

    from rlzoo_real.runs.folder import RunFolder

    conf, logs = tmp_path / "sac.yml", tmp_path / "logs"
    conf.write_text(ZOO_KEYS_FILE)
    args = ["train", "-a", "sac", "-e", "HalfCheetah-v5", "--conf-file", conf, "-f", logs]
    result = cli(*args, "--eval-freq", "150", "--eval-episodes", "2", "--seed", "1")
    assert result.exit_code == 0, result.output
    assert "'default' entry" in result.output
    (folder,) = (logs / "sac").glob("HalfCheetah-v5_*")
    run = RunFolder(folder, "HalfCheetah-v5")
    monitor = (run.path / "0.monitor.csv").read_text().splitlines()
    assert monitor[1].split(",") == ["r", "l", "t", "x_position", "continuity_cost"]
    assert {line.split(",")[1] for line in monitor[2:]} == {"7"}  # training env: env_kwargs
    with np.load(run.evaluations) as evaluations:
        assert evaluations["ep_lengths"].size and (evaluations["ep_lengths"] == 7).all()
    config = yaml.safe_load(run.config_file.read_text())
    assert config["env_kwargs"] == {"max_episode_steps": 7}
    assert config["learning_rate"] == 1e-3 and config["learning_starts"] == 50.0


def test_env_kwargs_option_replaces_the_entry_as_in_the_zoo(tmp_path):
    from rlzoo_real.train.request import TrainArgs, prepare

    conf = tmp_path / "sac.yml"
    conf.write_text(ZOO_KEYS_FILE)
    base = TrainArgs(algo="sac", env="HalfCheetah-v5", conf_file=str(conf), seed=0)
    prepared = prepare(base)
    assert prepared.env_kwargs == prepared.eval_env_kwargs == {"max_episode_steps": 7}
    prepared = prepare(TrainArgs(**{**base.__dict__, "env_kwargs": ["forward_reward_weight:2e0"]}))
    assert prepared.env_kwargs == prepared.eval_env_kwargs == {"forward_reward_weight": 2.0}
    prepared = prepare(TrainArgs(**{**base.__dict__, "eval_env_kwargs": ["max_episode_steps:9"]}))
    assert prepared.env_kwargs == {"max_episode_steps": 7}
    assert prepared.eval_env_kwargs == {"max_episode_steps": 9}


# --- values an algorithm refuses: realzoo's one-paragraph error, no run folder ------------------

REFUSED_FILE = """\
CartPole-v1:
  n_timesteps: 100
  policy: MlpPolicy
  n_steps: 32
  batch_size: 32
"""


@pytest.mark.parametrize(
    ("algo", "where", "text", "fragments"),
    [
        ("ppo", "params", "learning_rate:fast", ["learning_rate", "'fast'", "lin_<number>"]),
        ("ppo", "file", "learning_rate: fast", ["learning_rate", "'fast'", "lin_<number>"]),
        ("ppo", "file", "batch_size: -64", ["batch_size", "-64", "an integer >= 2"]),
        ("ppo", "params", "gamma:'0.99x'", ["gamma", "'0.99x'", "a number between 0.0 and 1.0"]),
        ("ppo", "file", "gamma: high", ["gamma", "'high'", "between 0.0 and 1.0"]),
        ("ppo", "file", "n_steps: 0", ["n_steps", "0", "an integer >= 1"]),
        ("ppo", "file", "n_epochs: 2.5", ["n_epochs", "2.5", "an integer >= 1"]),
        ("ppo", "file", "clip_range: lin_x", ["clip_range", "lin_x", "lin_<number>"]),
        ("ppo", "file", "ent_coef: auto", ["ent_coef", "'auto'", "a non-negative number."]),
        ("sac", "file", "ent_coef: autox", ["ent_coef", "'autox'", '"auto_<initial value>"']),
        ("ppo", "file", "frame_stack: 0", ["frame_stack", "0", "positive integer"]),
        ("ppo", "file", "n_envs: two", ["n_envs", "'two'", "positive integer"]),
        ("ppo", "file", "use_sde: maybe", ["use_sde", "'maybe'", "true or false"]),
        ("dqn", "file", "train_freq: [1, 2, 3]", ["train_freq", "[1, 2, 3]", '[1, "episode"]']),
        ("dqn", "params", "train_freq:[4,'epoch']", ["train_freq", "[4, 'epoch']", '"step"']),
        ("dqn", "file", "train_freq: 0", ["train_freq", "0", "an integer >= 1"]),
        ("dqn", "file", "buffer_size: 1500.5", ["buffer_size", "1500.5", "an integer >= 1"]),
        ("dqn", "file", "exploration_fraction: 2", ["exploration_fraction", "2", "between"]),
        ("dqn", "file", "policy: foo.bar.MlpPolicy", ["policy", "foo.bar.MlpPolicy", "MlpPolicy"]),
        ("dqn", "file", "policy: stable_baselines3.ppo.CnnPolicy", ["not a policy class of dqn"]),
        (
            "dqn",
            "file",
            "monitor_kwargs: {bogus: 1}",
            ["monitor_kwargs", "'bogus'", "info_keywords"],
        ),
        ("dqn", "file", "env_kwargs: '[1, 2]'", ["env_kwargs", "[1, 2]", "mapping"]),
    ],
)
def test_refused_values_name_entry_key_value_and_what_is_accepted(
    cli, tmp_path, algo, where, text, fragments
):
    conf, logs = tmp_path / "conf.yml", tmp_path / "logs"
    extra: list[str] = []
    if where == "file":  # the key replaces the base's line (a key written twice is refused)
        key = text.split(":")[0]
        base = "".join(
            line
            for line in REFUSED_FILE.splitlines(keepends=True)
            if not line.startswith(f"  {key}:")
        )
        conf.write_text(base + f"  {text}\n")
    else:
        conf.write_text(REFUSED_FILE)
        extra = ["-params", text]
    if algo == "dqn":  # an on-policy key would be refused as unknown: drop them
        conf.write_text(conf.read_text().replace("  n_steps: 32\n", ""))
    result = cli("train", "-a", algo, "-e", "CartPole-v1", "--conf-file", conf, "-f", logs, *extra)
    assert result.exit_code == 2, result.output
    message = result.output
    assert "Traceback" not in message and "AssertionError" not in message
    assert f"{conf} [CartPole-v1]" in message
    for fragment in fragments:
        assert fragment in message, message
    assert ("(set by -params)" in message) == (where == "params")
    assert not logs.exists() or not list(logs.rglob("*")), "a run folder was left behind"


def test_search_space_files_read_yaml11_numbers(tmp_path):
    from rlzoo_real.algos.registry import get_algo
    from rlzoo_real.tuning.spaces import load_space

    path = tmp_path / "space.yml"
    path.write_text(
        "learning_rate: {low: 1e-5, high: 1e-3, scale: log}\n"
        "buffer_size: {low: 1e4, high: 1.0e6, type: int}\n"
        "gamma: {choices: [9.9e-1, 0.999]}\n"
    )
    space = load_space(get_algo("dqn"), path)
    params = {p.name: p for p in space.params}
    assert (params["learning_rate"].low, params["learning_rate"].high) == (1e-5, 1e-3)
    assert (params["buffer_size"].low, params["buffer_size"].high) == (10_000, 1_000_000)
    assert params["buffer_size"].kind == "int" and type(params["buffer_size"].low) is int
    assert params["gamma"].choices == (0.99, 0.999)
