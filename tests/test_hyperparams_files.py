"""Every entry we ship in hyperparams/ resolves, fits its env, and builds a model."""

import gymnasium as gym
import pytest

from rlzoo_real.algos.registry import ALGOS, get_algo
from rlzoo_real.config.spec import resolve_run_spec
from rlzoo_real.config.tables import bundled_hyperparams_dir, load_table

FILES = sorted(bundled_hyperparams_dir().glob("*.yml"))
#: an env to try the fallback entries on, by the action spaces the algorithm handles
FALLBACK_ENV = {True: "CartPole-v1", False: "Pendulum-v1"}
#: algorithms that drive MuJoCo joints try their fallback entry on a MuJoCo env
FALLBACK_ENV_OF = {"openloop": "Swimmer-v5"}


def _entries() -> list[tuple[str, str, str]]:
    found = []
    for path in FILES:
        algo = get_algo(path.stem)
        for key in load_table(path):
            if key == "atari":
                continue
            env_id = key
            if key == "defaults":
                env_id = FALLBACK_ENV_OF.get(
                    algo.name, FALLBACK_ENV["Discrete" in algo.action_spaces]
                )
            found.append((path.stem, key, env_id))
    return found


ENTRIES = _entries()


def test_one_file_per_registered_algorithm():
    assert {p.stem for p in FILES} == set(ALGOS)
    for path in FILES:
        assert "defaults" in load_table(path), f"{path.name} has no defaults entry"


@pytest.mark.parametrize(("algo_name", "key", "env_id"), ENTRIES, ids=lambda v: str(v))
def test_entry_resolves_and_fits_its_env(algo_name, key, env_id):
    algo = get_algo(algo_name)
    table = load_table(bundled_hyperparams_dir() / f"{algo_name}.yml")
    if key == "defaults":
        table = {k: v for k, v in table.items() if k == "defaults"}
    spec, _ = resolve_run_spec(algo, env_id, table=table, source=f"{algo_name}.yml")
    assert spec.n_timesteps > 0
    env = gym.make(env_id)
    assert type(env.action_space).__name__ in algo.action_spaces
    env.close()


@pytest.mark.slow
@pytest.mark.parametrize(("algo_name", "key", "env_id"), ENTRIES, ids=lambda v: str(v))
def test_entry_builds_a_model(algo_name, key, env_id):
    table = load_table(bundled_hyperparams_dir() / f"{algo_name}.yml")
    table = {env_id: table[key]}
    spec, _ = resolve_run_spec(get_algo(algo_name), env_id, table=table, source=algo_name)
    _build_and_act(spec)


def _build_and_act(spec):
    """Build the entry's env and model; its first actions must fit the env's action space."""
    from rlzoo_real.algos.build import build_model
    from rlzoo_real.envs.make import make_vec_env_for

    env = make_vec_env_for(spec, n_envs=spec.n_envs, seed=0, env_kwargs={})
    try:
        model = build_model(spec, env, seed=0, device="cpu")
        actions, _ = model.predict(env.reset(), deterministic=True)
        assert len(actions) == env.num_envs
        assert all(env.action_space.contains(action) for action in actions), actions
    finally:
        env.close()


# -- presets: hyperparams/<preset>/<algo>.yml (realzoo train --preset NAME) ------------------

PRESET_FILES = sorted(bundled_hyperparams_dir().glob("*/*.yml"))
PRESET_ENTRIES = [(path, key) for path in PRESET_FILES for key in load_table(path)]


def _preset_id(value: object) -> str:
    return f"{value.parent.name}/{value.stem}" if hasattr(value, "stem") else str(value)


def test_preset_files_are_for_registered_algorithms():
    assert PRESET_FILES, "no preset is shipped"
    for path in PRESET_FILES:
        assert path.stem in ALGOS, path


@pytest.mark.parametrize(("path", "key"), PRESET_ENTRIES, ids=_preset_id)
def test_preset_entry_resolves_and_fits_its_env(path, key):
    algo = get_algo(path.stem)
    spec, notice = resolve_run_spec(algo, key, table=load_table(path), source=str(path))
    assert notice is None and spec.n_timesteps > 0
    if path.parent.name == "gsde":
        assert spec.hyperparams["use_sde"] is True
    env = gym.make(key)
    assert type(env.action_space).__name__ in algo.action_spaces
    env.close()


@pytest.mark.slow
@pytest.mark.parametrize(("path", "key"), PRESET_ENTRIES, ids=_preset_id)
def test_preset_entry_builds_a_model(path, key):
    spec, _ = resolve_run_spec(get_algo(path.stem), key, table=load_table(path), source=str(path))
    _build_and_act(spec)
