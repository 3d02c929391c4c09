"""Python values -> the typed training request, the one way both the API and the CLI build it.

:func:`train_args` is called by :func:`rlzoo_real.train` with Python values and by
``realzoo train`` with the values it parsed from its words, so the two cannot drift: the same
checks, the same names, the same request.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from rlzoo_real.errors import ConfigError, suggest
from rlzoo_real.train.request import TrainArgs, Words

__all__ = ["train_args", "words_or_values"]

#: fields :func:`train_args` sets itself (the rest are options with the same name)
_SET_HERE = ("algo", "env", "hyperparams", "env_kwargs", "eval_env_kwargs", "seed", "n_timesteps")


def train_args(
    *,
    algo: str = "",
    env: str | type | Callable[..., Any] = "",
    hyperparams: Mapping[str, Any] | Sequence[str] | None = None,
    env_kwargs: Mapping[str, Any] | Sequence[str] | None = None,
    eval_env_kwargs: Mapping[str, Any] | Sequence[str] | None = None,
    seed: int | None = None,
    n_timesteps: int | None = None,
    **options: Any,
) -> TrainArgs:
    """Build the training request from Python values (nothing is checked against files yet).

    Args:
        algo: algorithm name (``ppo``, ``sac``, ``sac_sbx`` ...); empty with ``resume``.
        env: a gymnasium id, ``"module:Name"``, or an env class or factory function defined
            at the top level of an importable module (recorded as ``module:Name``).
        hyperparams: overrides of the hyperparameter entry: a dict of Python values (classes
            such as ``torch.nn.ReLU`` are recorded by name), or ``key:value`` words.
        env_kwargs, eval_env_kwargs: keyword arguments of the training / evaluation envs,
            in the same two forms.
        seed: random seed; None or a negative number draws one (recorded in ``args.yml``).
        n_timesteps: training steps; None or -1 for the entry's ``n_timesteps``.
        **options: any other field of :class:`~rlzoo_real.train.request.TrainArgs`
            (``log_folder``, ``eval_freq``, ``device``, ``verbose``, ``progress`` ...).

    Returns:
        The request, as ``realzoo train`` would build it from the same settings.

    Raises:
        ConfigError: an unknown option, or a value that cannot be recorded in the run folder.
        EnvError: an env that cannot be recorded by its import path (a lambda, a local class).
    """
    from rlzoo_real.envs.spec import env_name

    fields = {f.name for f in dataclasses.fields(TrainArgs)} - set(_SET_HERE)
    unknown = sorted(set(options) - fields)
    if unknown:
        raise ConfigError(
            f"Unknown training option {unknown[0]!r}.{suggest(unknown[0], fields)} The options "
            f"are: {', '.join(sorted(fields))} (and {', '.join(_SET_HERE)})."
        )
    return TrainArgs(
        algo=algo,
        env=env_name(env) if env != "" else "",
        hyperparams=words_or_values(hyperparams, where="hyperparams"),
        env_kwargs=words_or_values(env_kwargs, where="env_kwargs"),
        eval_env_kwargs=words_or_values(eval_env_kwargs, where="eval_env_kwargs"),
        seed=seed if seed is None or seed >= 0 else None,  # the RL Zoo's --seed -1: drawn
        n_timesteps=-1 if n_timesteps is None else int(n_timesteps),
        **options,
    )


def words_or_values(given: Mapping[str, Any] | Sequence[str] | None, *, where: str) -> Words:
    """Overrides as a request carries them: words kept as typed, a mapping made plain.

    A mapping's values are turned into what ``config.yml`` and ``args.yml`` can hold
    (:func:`rlzoo_real.config.tables.plain_overrides`); words (``["n_steps:64"]``) stay words
    (sweeps match finished runs by them, and runs written before the API hold them).

    Raises:
        ConfigError: a value that cannot be recorded (a function, an object), or neither form.
    """
    from rlzoo_real.config.tables import plain_overrides

    if given is None:
        return []
    if isinstance(given, Mapping):
        return plain_overrides(dict(given), where)
    if isinstance(given, str) or not all(isinstance(w, str) for w in given):
        raise ConfigError(
            f"{where} must be a dict of names to values (e.g. {{'learning_rate': 3e-4}}) or a "
            f"list of 'key:value' words; got {given!r}."
        )
    return list(given)
