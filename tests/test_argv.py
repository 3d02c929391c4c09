"""The RL Zoo's argparse habits on realzoo's command line: option prefixes, several values
after one flag, single-dash long options, and Zoo flags refused or already true.

The rewrite works on the called subcommand's own option table, inside the app's group, so
these tests go through the app as a user types it (and once through a real process).
"""

from __future__ import annotations

import pytest
import typer
from typer.testing import CliRunner

from rlzoo_real.cli import app
from rlzoo_real.cli._argv import AmbiguousOption, expand_multi_value_options, translate_argv
from rlzoo_real.cli._zoo import zoo_flags_for
from tests.conftest import run_realzoo

GROUP = typer.main.get_command(app)


def _leaf_commands(command=GROUP, path=()):
    commands = getattr(command, "commands", None)
    if not isinstance(commands, dict):
        yield path, command
        return
    for name, sub in commands.items():
        yield from _leaf_commands(sub, (*path, name))


LEAVES = dict(_leaf_commands())


def test_zoo_style_values_become_repeated_options():
    argv = ["train", "-params", "a:1", "b:2", "--env-kwargs", "x:1", "y:-2", "--seed", "3"]
    assert expand_multi_value_options(argv) == [
        "train",
        "-params",
        "a:1",
        "-params",
        "b:2",
        "--env-kwargs",
        "x:1",
        "--env-kwargs",
        "y:-2",
        "--seed",
        "3",
    ]


def test_negative_numbers_are_values_and_double_dash_stops():
    argv = ["train", "--wandb-tags", "a", "-1", "--", "-params", "x", "y"]
    assert expand_multi_value_options(argv) == [
        "train",
        "--wandb-tags",
        "a",
        "--wandb-tags",
        "-1",
        "--",
        "-params",
        "x",
        "y",
    ]


def test_single_values_are_left_alone_and_the_rewrite_is_idempotent():
    argv = ["train", "-params", "a:1", "-params", "b:2", "--eval-freq", "-1"]
    assert expand_multi_value_options(argv) == argv
    once = expand_multi_value_options(["train", "--env-kw", "g:9.8", "x:1", "--eval-fr", "5"])
    assert expand_multi_value_options(once) == once


def test_prefixes_of_long_options_are_completed_as_argparse_does():
    argv = ["train", "--env-kwarg", "g:9.8", "--eval-fr", "1000", "--env", "Pendulum-v1"]
    assert expand_multi_value_options(argv) == [
        "train",
        "--env-kwargs",
        "g:9.8",
        "--eval-freq",
        "1000",
        "--env",  # an exact name wins over the longer names it begins
        "Pendulum-v1",
    ]
    # single-dash long options too, and --name=value
    assert expand_multi_value_options(["train", "-optim", "--n-tri=3", "-para", "a:1"]) == [
        "train",
        "-optimize",
        "--n-trials=3",
        "-params",
        "a:1",
    ]


def test_a_value_is_never_taken_for_an_option():
    # the word after an option that takes a value is its value, whatever it looks like
    argv = ["train", "--tensorboard-log", "--eval", "--wandb-entity", "-tb"]
    assert expand_multi_value_options(argv) == argv


def test_multi_value_options_come_from_the_command_called():
    # -f takes several folders on plot (the Zoo's all_plots -f a b), one on enjoy
    assert expand_multi_value_options(["plot", "eval", "-f", "a", "b", "-a", "PPO", "A2C"]) == [
        "plot",
        "eval",
        "-f",
        "a",
        "-f",
        "b",
        "-a",
        "PPO",
        "-a",
        "A2C",
    ]
    assert expand_multi_value_options(["enjoy", "-f", "logs", "run"]) == [
        "enjoy",
        "-f",
        "logs",
        "run",
    ]


@pytest.mark.parametrize("path", sorted(LEAVES), ids=" ".join)
def test_every_long_option_of_every_command_takes_its_shortest_unambiguous_prefix(path):
    command = LEAVES[path]
    options = [p for p in command.params if p.param_type_name == "option"]
    names = [n for p in options for n in (*p.opts, *p.secondary_opts) if len(n) > 2]
    names += ["--help", *(f for f in zoo_flags_for(path) if len(f) > 2 and f not in names)]
    checked = 0
    for name in names:
        if name.startswith("--") and "/" in name:
            continue
        longer = [n for n in names if n != name and n.startswith(name)]
        if longer:  # only the exact name selects it (--env beside --env-kwargs)
            continue
        size = next(
            size
            for size in range(3, len(name) + 1)
            if [n for n in names if n.startswith(name[:size])] == [name]
            or all(_same_param(command, n, name) for n in names if n.startswith(name[:size]))
        )
        zoo = zoo_flags_for(path)
        if name in zoo and name not in [n for p in options for n in p.opts]:
            if zoo[name][0] == "refuse":  # refused with its reason, prefix or not
                with pytest.raises(AmbiguousOption, match=f"{name} \\(an RL Zoo flag\\)"):
                    translate_argv(GROUP, [*path, name[:size]])
            else:  # accepted and dropped: realzoo always does it
                assert translate_argv(GROUP, [*path, name[:size]]) == list(path)
            checked += 1
            continue
        rewritten = translate_argv(GROUP, [*path, name[:size]])
        assert rewritten[:-1] == list(path), rewritten
        assert _same_param(command, rewritten[-1], name), (name, name[:size], rewritten)
        checked += 1
    assert checked >= 1


def _same_param(command, a, b):
    if a == b:
        return True
    for param in command.params:
        spelled = (*param.opts, *param.secondary_opts)
        if a in spelled and b in spelled:
            return True
    return False


def test_an_ambiguous_prefix_is_one_paragraph_listing_the_candidates(cli):
    result = cli("train", "--algo", "ppo", "--eval", "1000")
    assert result.exit_code == 2
    message = result.output.strip()
    assert message.startswith("Error: --eval is ambiguous for 'realzoo train'")
    for candidate in ("--eval-freq", "--eval-episodes", "--eval-env-kwargs"):
        assert candidate in message
    assert "Traceback" not in result.output and "\n" not in message


def test_the_console_entry_point_and_the_test_runner_take_the_same_path(tmp_path):
    # CliRunner on the bare app (no argv preparation) sees the same rewrite as main()
    runner = CliRunner()
    plain = runner.invoke(app, ["train", "--eval", "1"])
    process = run_realzoo("train", "--eval", "1", cwd=tmp_path, timeout=120)
    assert plain.exit_code == process.returncode == 2
    assert plain.output.strip() == process.stderr.strip()
    assert process.stdout == ""


def test_unknown_options_still_get_clicks_suggestions(cli):
    result = cli("train", "--evl-freq", "3")
    assert result.exit_code == 2
    assert "No such option: --evl-freq" in result.output


def test_refused_zoo_flags_say_why_and_already_true_ones_are_accepted():
    refused = CliRunner().invoke(app, ["plot", "all", "-latex"])
    assert refused.exit_code == 2
    assert "-latex (an RL Zoo flag) is not taken by 'realzoo plot all'" in refused.output
    assert "LaTeX" in refused.output
    # a prefix of a refused flag is completed first, as any option
    assert (
        "--no-million (an RL Zoo flag)"
        in CliRunner().invoke(app, ["plot", "train", "--no-mil"]).output
    )
    # already true: dropped from argv, nothing left to do
    assert translate_argv(GROUP, ["plot", "aggregate", "-r", "-vs", "-iqm", "--no-display"]) == [
        "plot",
        "aggregate",
    ]


def test_a_two_letter_word_is_a_prefix_of_a_single_dash_long_option(tiny_conf) -> None:
    """argparse reads the Zoo's ``-c file`` as ``-conf file`` (the Zoo's own test_enjoy does)."""
    words = translate_argv(GROUP, ["train", "-a", "ppo", "-e", "CartPole-v1", "-c", str(tiny_conf)])
    assert words[words.index(str(tiny_conf)) - 1] in {"-conf", "--conf-file"}
