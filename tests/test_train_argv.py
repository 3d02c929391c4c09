"""One place turns a training request into a ``realzoo train`` command line (train/argv.py):
the command line parses those words back into the same request."""

from __future__ import annotations

import dataclasses
import shlex

import pytest
import typer

from rlzoo_real.errors import UserError
from rlzoo_real.train.argv import FLAGS, train_argv, train_command
from rlzoo_real.train.request import TrainArgs, as_values


@pytest.fixture
def parse_back(cli, monkeypatch):
    """Run ``realzoo train`` on the words and return the request it would train."""
    import rlzoo_real.api.train

    seen: list[TrainArgs] = []

    def capture(args: TrainArgs, **_: object) -> None:
        seen.append(args)
        raise typer.Exit(0)

    monkeypatch.setattr(rlzoo_real.api.train, "run_request", capture)

    def parse(argv: list[str]) -> TrainArgs:
        result = cli(*argv)
        assert result.exit_code == 0 and len(seen) == 1, result.output
        return seen.pop()

    return parse


EVERYTHING = TrainArgs(
    algo="sac",
    env="Pendulum-v1",
    backend="sbx",
    log_folder="some logs",
    n_timesteps=5000,
    eval_freq=500,
    eval_episodes=3,
    n_eval_envs=2,
    save_freq=-1,
    keep_checkpoints=2,
    seed=0,
    hyperparams=[
        "learning_rate:0.0003",
        "policy_kwargs:dict(net_arch=dict(pi=[64, 64], qf=[400, 300]), log_std_init=-2)",
        "train_freq:(1, 'episode')",
        "replay_buffer_kwargs:{'handle_timeout_termination': True}",
        "normalize:False",
    ],
    env_kwargs=["g:9.81", "render_mode:'rgb_array'"],
    eval_env_kwargs=["g:-3.7"],
    conf_file="my conf.yml",
    vec_env="subproc",
    device="cpu",
    num_threads=2,
    trained_agent="logs/sac/Pendulum-v1_1/Pendulum-v1.zip",
    gym_packages=["my_envs", "more_envs"],
    verbose=0,
    updates_between_episodes=True,
    preset="gsde",
)


@pytest.mark.parametrize(
    "request_",
    [
        EVERYTHING,
        TrainArgs(algo="ppo", env="CartPole-v1"),  # defaults only: nothing but algo and env
        TrainArgs(algo="ppo", env="CartPole-v1", seed=3, hyperparams=["n_steps:64"]),
    ],
    ids=["every-flag", "defaults", "a-few"],
)
def test_a_request_made_a_command_line_parses_back_to_the_same_request(parse_back, request_):
    argv = train_argv(request_)
    assert argv[:5] == ["train", "--algo", request_.algo, "--env", request_.env]
    assert parse_back(argv) == request_
    # the shell line recorded in command.txt reads back to the same words
    assert shlex.split(train_command(request_)) == ["realzoo", *argv]


def test_every_flag_of_the_builder_is_exercised_by_the_round_trip():
    differs = {
        f.name
        for f in dataclasses.fields(TrainArgs)
        if getattr(EVERYTHING, f.name) != getattr(TrainArgs(), f.name)
    }
    assert set(FLAGS) <= differs  # the round trip above covers each flag


def test_overrides_given_as_values_become_words_that_read_back_to_them(parse_back):
    values = {
        "learning_rate": 3e-4,
        "policy_kwargs": {"net_arch": {"pi": [64, 64], "qf": [400, 300]}, "log_std_init": -2.0},
        "train_freq": [1, "episode"],
        "ent_coef": "auto",
        "use_sde": True,
    }
    request = TrainArgs(algo="sac", env="Pendulum-v1", hyperparams=values, env_kwargs={"g": 9.81})
    back = parse_back(train_argv(request))
    assert as_values(back.hyperparams, option="-params") == values
    assert as_values(back.env_kwargs, option="--env-kwargs") == {"g": 9.81}


def test_a_request_the_command_line_cannot_carry_is_refused():
    with pytest.raises(UserError, match="does not carry track, wandb_tags; it takes"):
        train_argv(TrainArgs(algo="ppo", env="CartPole-v1", track=True, wandb_tags=["a"]))
