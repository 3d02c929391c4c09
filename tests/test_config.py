"""Config resolution: RL Zoo files load unchanged, overrides, fallbacks, and clear errors."""

from pathlib import Path

import pytest
import yaml

from rlzoo_real.algos.registry import get_algo
from rlzoo_real.config.literals import ClassRef, KnownName, LinearSchedule
from rlzoo_real.config.spec import resolve_run_spec
from rlzoo_real.config.tables import load_table, parse_key_values
from rlzoo_real.errors import UserError

# An entry written the way the RL Zoo writes them (tags, strings, wrapper forms).
ZOO_STYLE = """\
HalfCheetah-v5:
  env_wrapper:
    - rl_zoo3.wrappers.TimeFeatureWrapper
    - gymnasium.wrappers.TimeLimit:
        max_episode_steps: 100
  normalize: "{'norm_obs': True, 'norm_reward': False}"
  n_envs: 1
  n_timesteps: !!float 1e6
  policy: 'MlpPolicy'
  learning_rate: !!float 7.3e-4
  buffer_size: 300000
  train_freq: 8
  gradient_steps: 8
  use_sde: True
  policy_kwargs: "dict(log_std_init=-3, net_arch=[400, 300], activation_fn=nn.ReLU)"
  replay_buffer_class: HerReplayBuffer
  replay_buffer_kwargs: "dict(n_sampled_goal=4, goal_selection_strategy='future')"
  noise_type: 'normal'
  noise_std: 0.1
atari:
  policy: 'CnnPolicy'
  n_timesteps: !!float 1e7
  frame_stack: 4
defaults:
  policy: 'MlpPolicy'
  n_timesteps: !!float 1e5
"""


def _table(tmp_path: Path, text: str = ZOO_STYLE) -> dict:
    path = tmp_path / "sac.yml"
    path.write_text(text)
    return load_table(path)


def test_zoo_entry_is_interpreted(tmp_path):
    spec, notice = resolve_run_spec(
        get_algo("sac"), "HalfCheetah-v5", table=_table(tmp_path), source="sac.yml"
    )
    assert notice is None
    assert spec.n_timesteps == 1_000_000 and spec.n_envs == 1 and spec.policy == "MlpPolicy"
    assert spec.normalize == {"norm_obs": True, "norm_reward": False}
    assert spec.env_wrappers == (
        ClassRef("rl_zoo3.wrappers.TimeFeatureWrapper", {}),
        ClassRef("gymnasium.wrappers.TimeLimit", {"max_episode_steps": 100}),
    )
    assert spec.action_noise == ("normal", 0.1)
    kwargs = spec.model_kwargs
    assert kwargs["policy_kwargs"]["activation_fn"] == KnownName("nn.ReLU")
    assert kwargs["replay_buffer_class"] == KnownName("HerReplayBuffer")
    assert kwargs["replay_buffer_kwargs"] == {
        "n_sampled_goal": 4,
        "goal_selection_strategy": "future",
    }
    assert "noise_type" not in kwargs and "n_timesteps" not in kwargs


def test_config_yml_round_trips_to_the_same_spec(tmp_path):
    algo = get_algo("sac")
    overrides = parse_key_values(
        [
            "learning_rate:lin_0.001",
            "policy_kwargs:dict(net_arch=[64], activation_fn=nn.Tanh)",
            "train_freq:(1, 'episode')",
        ],
        option="-params",
    )
    spec, _ = resolve_run_spec(
        algo, "HalfCheetah-v5", table=_table(tmp_path), source="sac.yml", overrides=overrides
    )
    assert spec.model_kwargs["learning_rate"] == LinearSchedule(0.001)
    dumped = yaml.safe_load(yaml.safe_dump(dict(spec.hyperparams)))
    again, _ = resolve_run_spec(
        algo, "HalfCheetah-v5", table={"HalfCheetah-v5": dumped}, source="config.yml"
    )
    assert again.model_kwargs == spec.model_kwargs
    assert again.hyperparams == spec.hyperparams
    assert dumped["policy_kwargs"] == "dict(net_arch=[64], activation_fn=nn.Tanh)"


def test_n_timesteps_flag_and_overrides_win(tmp_path):
    overrides = parse_key_values(["buffer_size:1000", "ent_coef:auto_0.1"], option="-params")
    spec, _ = resolve_run_spec(
        get_algo("sac"),
        "HalfCheetah-v5",
        table=_table(tmp_path),
        source="x",
        overrides=overrides,
        n_timesteps=1234,
    )
    assert spec.n_timesteps == 1234
    assert spec.model_kwargs["buffer_size"] == 1000
    assert spec.model_kwargs["ent_coef"] == "auto_0.1"


def test_fallback_entries(tmp_path):
    table = _table(tmp_path)
    spec, notice = resolve_run_spec(get_algo("sac"), "Pendulum-v1", table=table, source="sac.yml")
    assert spec.n_timesteps == 100_000 and "defaults" in notice
    spec, notice = resolve_run_spec(
        get_algo("sac"), "ALE/Pong-v5", table=table, source="sac.yml", is_atari=True
    )
    assert spec.frame_stack == 4 and "atari" in notice


def test_no_entry_lists_what_exists(tmp_path):
    table = {"HalfCheetah-v5": {"n_timesteps": 10}, "Hopper-v5": {"n_timesteps": 10}}
    with pytest.raises(
        UserError, match="no entry for 'HalfCheetah-v4'.*Did you mean HalfCheetah-v5"
    ):
        resolve_run_spec(get_algo("sac"), "HalfCheetah-v4", table=table, source="sac.yml")


def test_unknown_hyperparameter_names_key_algo_and_accepted(tmp_path):
    table = {"Pendulum-v1": {"n_timesteps": 10, "learning_rat": 0.1}}
    with pytest.raises(UserError) as info:
        resolve_run_spec(get_algo("sac"), "Pendulum-v1", table=table, source="mine.yml")
    message = str(info.value)
    assert "'learning_rat'" in message and "sac" in message and "mine.yml" in message
    assert "Did you mean learning_rate" in message and "Accepted keys:" in message


def test_cli_only_keys_are_refused():
    with pytest.raises(UserError, match="--seed"):
        resolve_run_spec(
            get_algo("ppo"),
            "CartPole-v1",
            table={"CartPole-v1": {"n_timesteps": 1, "seed": 3}},
            source="x",
        )


def test_malformed_yaml_names_file_and_line(tmp_path):
    path = tmp_path / "bad.yml"
    path.write_text("CartPole-v1:\n  n_envs: 8\n  policy: [unclosed\n")
    with pytest.raises(UserError, match=r"bad\.yml.*line \d+"):
        load_table(path)


def test_not_a_table(tmp_path):
    path = tmp_path / "list.yml"
    path.write_text("- a\n- b\n")
    with pytest.raises(UserError, match="not a hyperparameter table"):
        load_table(path)


def test_python_module_conf_file(tmp_path, monkeypatch):
    (tmp_path / "my_hparams.py").write_text(
        "hyperparams = {'CartPole-v1': {'n_timesteps': 100, 'policy': 'MlpPolicy'}}\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    assert load_table("my_hparams")["CartPole-v1"]["n_timesteps"] == 100
    with pytest.raises(UserError, match="neither an existing YAML file"):
        load_table("no_such_module_here")


@pytest.mark.parametrize("word", ["novalue", ":1", "a b:1", "k:__import__('os')", "k:nn.Relu"])
def test_bad_key_value_words(word):
    with pytest.raises(UserError):
        parse_key_values([word], option="-params")


def test_bare_words_are_strings():
    assert parse_key_values(["policy:MlpPolicy", "x:[1,2]"], option="-params") == {
        "policy": "MlpPolicy",
        "x": [1, 2],
    }


def test_invalid_special_values():
    algo = get_algo("td3")
    for entry, match in [
        ({"n_timesteps": 10, "noise_type": "pink"}, "noise_type"),
        ({"n_timesteps": 10, "n_envs": 0}, "n_envs"),
        ({"n_timesteps": 10, "normalize": "[1]"}, "normalize"),
        ({"n_timesteps": 10, "env_wrapper": [{"a": 1, "b": 2}]}, "env_wrapper"),
        ({"n_timesteps": 10, "policy_kwargs": "[64, 64]"}, "policy_kwargs"),
        ({"policy": "MlpPolicy"}, "n_timesteps"),
    ]:
        with pytest.raises(UserError, match=match):
            resolve_run_spec(algo, "Pendulum-v1", table={"Pendulum-v1": entry}, source="x")


def test_normalize_takes_the_algorithm_gamma():
    spec, _ = resolve_run_spec(
        get_algo("ppo"),
        "CartPole-v1",
        table={"CartPole-v1": {"n_timesteps": 10, "normalize": True, "gamma": 0.9}},
        source="x",
    )
    assert spec.normalize == {"gamma": 0.9}


# --- the RL Zoo's keys and spellings (issue 11) ------------------------------------------------


def test_zoo_default_entry_is_the_fallback(tmp_path):
    table = _table(tmp_path, "default:\n  policy: MlpPolicy\n  n_timesteps: !!float 1e6\n")
    spec, notice = resolve_run_spec(get_algo("ppo"), "Acrobot-v1", table=table, source="ppo.yml")
    assert spec.n_timesteps == 1_000_000 and "'default' entry" in notice


def test_yaml11_exponent_strings_are_numbers_everywhere(tmp_path):
    text = (
        "Pendulum-v1:\n  n_timesteps: 5e5\n  policy: MlpPolicy\n  learning_rate: 1e-3\n"
        "  buffer_size: 1.0e6\n  tau: '-1e-2'\n  learning_starts: 1e2\n"
        "  env_kwargs: {g: 9.8e0}\n  train_freq: [1.0e0, episode]\n"
    )
    table = _table(tmp_path, text)
    assert table["Pendulum-v1"]["learning_rate"] == "1e-3"  # what PyYAML (YAML 1.1) gives
    with pytest.raises(UserError, match=r"tau: -0.01 is not accepted by sac; tau takes a number"):
        resolve_run_spec(get_algo("sac"), "Pendulum-v1", table=table, source="f")
    spec, _ = resolve_run_spec(
        get_algo("sac"),
        "Pendulum-v1",
        table=table,
        source="f",
        overrides=parse_key_values(["tau:5e-3", "gamma:9.9e-1"], option="-params"),
    )
    kwargs = spec.model_kwargs
    assert spec.n_timesteps == 500_000 and kwargs["learning_rate"] == 0.001
    assert kwargs["buffer_size"] == 1_000_000 and type(kwargs["buffer_size"]) is int
    assert kwargs["learning_starts"] == 100 and type(kwargs["learning_starts"]) is int
    assert kwargs["tau"] == 0.005 and kwargs["gamma"] == 0.99
    assert kwargs["train_freq"] == (1, "episode") and type(kwargs["train_freq"][0]) is int
    assert spec.env_kwargs == {"g": 9.8}
    assert parse_key_values(["g:1e1"], option="--env-kwargs") == {"g": 10.0}


def test_dotted_policy_paths_map_to_the_algorithms_names(tmp_path):
    for path, algo, name in (
        ("stable_baselines3.ppo.MlpPolicy", "ppo", "MlpPolicy"),
        ("stable_baselines3.common.policies.ActorCriticCnnPolicy", "a2c", "CnnPolicy"),
        ("stable_baselines3.sac.policies.MultiInputPolicy", "sac", "MultiInputPolicy"),
        ("sb3_contrib.tqc.MlpPolicy", "tqc", "MlpPolicy"),
        ("sb3_contrib.ppo_recurrent.MlpLstmPolicy", "ppo_lstm", "MlpLstmPolicy"),
    ):
        table = {"E": {"n_timesteps": 10, "policy": path}}
        spec, _ = resolve_run_spec(get_algo(algo), "E", table=table, source="f")
        assert spec.policy == name, path
    for path, fragment in (
        ("os.system", "does not import classes named in a hyperparameter file"),
        ("my_pkg.policies.CustomPolicy", "does not import classes"),
        ("stable_baselines3.sac.MlpPolicy", "not a policy class of ppo"),
        ("stable_baselines3.nothere.MlpPolicy", "not a policy class of ppo"),
    ):
        table = {"E": {"n_timesteps": 10, "policy": path}}
        with pytest.raises(UserError, match=fragment):
            resolve_run_spec(get_algo("ppo"), "E", table=table, source="f")


def test_zoo_normalize_forms_and_gamma():
    for value, expected in (
        (True, {"gamma": 0.9}),
        ({"norm_obs": False}, {"norm_obs": False, "gamma": 0.9}),
        ("dict(norm_obs=True, norm_reward=False)", {"norm_obs": True, "norm_reward": False}),
        ("{'norm_obs': False, 'norm_reward': True}", {"norm_obs": False, "norm_reward": True}),
        ("dict(clip_obs=1e1, gamma=0.5)", {"clip_obs": 10.0, "gamma": 0.9}),  # the Zoo's rule
    ):
        entry = {"n_timesteps": 10, "normalize": value, "gamma": 0.9}
        spec, _ = resolve_run_spec(get_algo("ppo"), "E", table={"E": entry}, source="f")
        assert spec.normalize == {**expected, "gamma": 0.9}, value


def test_zoo_callback_monitor_and_noise_forms():
    entry = {
        "n_timesteps": 10,
        "callback": [
            "rl_zoo3.callbacks.ParallelTrainCallback",
            {"stable_baselines3.common.callbacks.CheckpointCallback": {"save_freq": 1e3}},
        ],
        "monitor_kwargs": {"info_keywords": ["is_success"]},
        "noise_type": "ornstein-uhlenbeck",
        "noise_std": "5e-1",
    }
    spec, _ = resolve_run_spec(get_algo("td3"), "E", table={"E": entry}, source="f")
    assert spec.callbacks == (
        ClassRef("rl_zoo3.callbacks.ParallelTrainCallback", {}),
        ClassRef("stable_baselines3.common.callbacks.CheckpointCallback", {"save_freq": 1000.0}),
    )
    assert spec.monitor_kwargs == {"info_keywords": ("is_success",)}
    assert spec.action_noise == ("ornstein-uhlenbeck", 0.5)
    single = {"n_timesteps": 10, "callback": "a.B", "noise_type": None}
    spec, _ = resolve_run_spec(get_algo("td3"), "E", table={"E": single}, source="f")
    assert spec.callbacks == (ClassRef("a.B", {}),) and spec.action_noise is None


def test_a_python_table_is_recorded_as_a_yaml_table_would_hold_it(tmp_path) -> None:
    """Classes in a Python -conf table become names, so config.yml stays plain YAML."""
    table_file = tmp_path / "objects_table.py"
    table_file.write_text(
        "from torch import nn\n"
        "from sb3_contrib.common.wrappers import TimeFeatureWrapper\n"
        "hyperparams = {\n"
        "  'Pendulum-v1': {'policy': 'MlpPolicy',\n"
        "                  'env_wrapper': [{TimeFeatureWrapper: {'max_steps': 9}}],\n"
        "                  'policy_kwargs': {'net_arch': (8,), 'activation_fn': nn.Tanh}},\n"
        "  'CartPole-v1': {'policy': 'MlpPolicy', 'learning_rate': lambda progress: 0.1},\n"
        "}\n"
    )
    table = load_table(table_file)
    entry = table["Pendulum-v1"]
    assert entry["env_wrapper"] == [
        {"sb3_contrib.common.wrappers.time_feature.TimeFeatureWrapper": {"max_steps": 9}}
    ]
    assert entry["policy_kwargs"] == "dict(net_arch=[8], activation_fn=nn.Tanh)"
    assert yaml.safe_load(yaml.safe_dump(entry)) == entry
    with pytest.raises(UserError, match=r"\[CartPole-v1\] learning_rate: a Python function"):
        resolve_run_spec(get_algo("ppo"), "CartPole-v1", table=table, source="t")
