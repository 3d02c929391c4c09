"""A training request as a ``realzoo train`` command line: the one place that writes it.

A sweep job runs as ``realzoo train`` with these words (and Slurm tasks with the same), and
a tuning trial records them in its ``command.txt``; the command line parses them back
into the same :class:`~rlzoo_real.train.request.TrainArgs`.
"""

from __future__ import annotations

import dataclasses
import shlex
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from rlzoo_real.errors import UserError

if TYPE_CHECKING:
    from rlzoo_real.train.request import TrainArgs

__all__ = ["FLAGS", "train_argv", "train_command"]

#: ``realzoo train`` flags for the fields of :class:`~rlzoo_real.train.request.TrainArgs`
#: a command line carries; any other field set to a non-default value is refused.
FLAGS = {
    "log_folder": "-f",
    "n_timesteps": "-n",
    "eval_freq": "--eval-freq",
    "eval_episodes": "--eval-episodes",
    "n_eval_envs": "--n-eval-envs",
    "save_freq": "--save-freq",
    "keep_checkpoints": "--keep-checkpoints",
    "seed": "--seed",
    "conf_file": "--conf-file",
    "vec_env": "--vec-env",
    "device": "--device",
    "num_threads": "--num-threads",
    "trained_agent": "-i",
    "verbose": "--verbose",
    "hyperparams": "-params",
    "env_kwargs": "--env-kwargs",
    "eval_env_kwargs": "--eval-env-kwargs",
    "gym_packages": "--gym-packages",
    "backend": "--backend",
    "preset": "--preset",
    "updates_between_episodes": "--updates-between-episodes",  # a switch: no value
}


def train_argv(args: TrainArgs) -> list[str]:
    """The ``realzoo train`` arguments that reproduce ``args`` (defaults left out).

    Overrides given as a mapping of values (the Python API) become ``key:value`` words that
    the command line reads back to the same values.

    Raises:
        UserError: when ``args`` sets an option this command line does not carry.
    """
    from rlzoo_real.train.request import TrainArgs

    defaults = TrainArgs(algo=args.algo, env=args.env)
    argv = ["train", "--algo", args.algo, "--env", args.env]
    unsupported = []
    for item in dataclasses.fields(TrainArgs):
        name = item.name
        value = getattr(args, name)
        if name in ("algo", "env") or (value == getattr(defaults, name) and name != "seed"):
            continue
        flag = FLAGS.get(name)
        if flag is None:
            unsupported.append(name)
        elif isinstance(value, bool):
            argv += [flag] if value else []
        elif isinstance(value, list | Mapping):
            for word in _words(value):
                argv += [flag, word]
        elif value is not None:
            argv += [flag, str(value)]
    if unsupported:
        raise UserError(
            f"A realzoo train command line does not carry {', '.join(unsupported)}; "
            f"it takes {', '.join(sorted(FLAGS))}."
        )
    return argv


def train_command(args: TrainArgs) -> str:
    """:func:`train_argv` as the shell line a user would type (``realzoo train ...``)."""
    return shlex.join(["realzoo", *train_argv(args)])


def _words(value: list[Any] | Mapping[str, Any]) -> list[str]:
    if not isinstance(value, Mapping):
        return [str(word) for word in value]
    from rlzoo_real.config.literals import format_value
    from rlzoo_real.config.tables import PARSED_KEYS

    # a parsed key's string is already the parser's text (a Python table's known names)
    return [
        f"{key}:{item if key in PARSED_KEYS and isinstance(item, str) else format_value(item)}"
        for key, item in value.items()
    ]
