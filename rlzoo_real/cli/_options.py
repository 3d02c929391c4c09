"""Options that several commands share (train, tune, sweep, benchmark, plot), declared once.

``opt("env_kwargs", panel=...)`` gives the ``typer.Option`` with the shared flags, metavar
and help; a command passes its own ``help`` where the option means something more
specific there (e.g. ``--num-threads`` per tuning worker).
"""

from __future__ import annotations

from typing import Any

import typer

__all__ = ["opt"]


def _algorithms() -> str:
    from rlzoo_real.algos.registry import (
        ALGOS,
    )  # light: the registry imports classes only when used

    return f"Algorithm: {', '.join(ALGOS)}."


#: name -> (flags, metavar, help)
_SHARED: dict[str, tuple[tuple[str, ...], str | None, str]] = {
    "env": (("--env", "-e"), None, "Gymnasium env id, e.g. Pendulum-v1."),
    "log_folder": (("--log-folder", "-f"), None, "Root of the log tree."),
    "hyperparams": (
        ("-params", "--hyperparams"),
        "KEY:VALUE ...",
        "Override hyperparameters, e.g. -params learning_rate:1e-3 n_envs:4.",
    ),
    "conf_file": (
        ("--conf-file", "-conf"),
        None,
        "Hyperparameter YAML file, or a Python module with a 'hyperparams' dict, instead of "
        "hyperparams/<algo>.yml.",
    ),
    "preset": (
        ("--preset",),
        None,
        "Read hyperparams/<preset>/<algo>.yml instead of hyperparams/<algo>.yml "
        "(e.g. gsde: the gSDE configurations).",
    ),
    "backend": (
        ("--backend",),
        None,
        "sb3 (PyTorch) or sbx (JAX: sac, droq, tqc, crossq, td3, ddpg, ppo, dqn; needs the sbx "
        "extra). Runs go to logs/<algo>_sbx/.",
    ),
    "env_kwargs": (("--env-kwargs",), "KEY:VALUE ...", "Keyword arguments for the env."),
    "eval_env_kwargs": (
        ("--eval-env-kwargs",),
        "KEY:VALUE ...",
        "Keyword arguments for the evaluation env (default: those of --env-kwargs).",
    ),
    "gym_packages": (("--gym-packages",), "MODULE ...", "Modules to import that register envs."),
    "vec_env": (("--vec-env",), None, "dummy (one process) or subproc."),
    "device": (("--device",), None, "auto, cpu or cuda."),
    "num_threads": (
        ("--num-threads",),
        None,
        "Torch threads per process (1: processes run side by side without fighting over "
        "cores, and results repeat exactly); <= 0 keeps torch's default.",
    ),
    "eval_episodes": (("--eval-episodes",), None, "Episodes per evaluation."),
    "n_eval_envs": (("--n-eval-envs",), None, "Envs used for evaluation."),
    "n_workers": (("--n-workers",), None, "Training processes at once."),
    "reps": (("--reps",), None, "Bootstrap resamples."),
    "updates_between_episodes": (
        ("--updates-between-episodes",),
        None,
        "Off-policy, one env: gradient updates only after each episode, never between "
        "control steps (train_freq [1, episode], gradient_steps -1 unless -params sets it).",
    ),
}


def opt(name: str, *, help: str | None = None, panel: str | None = None) -> Any:
    """The shared ``typer.Option`` called ``name`` (its help replaced by ``help`` if given)."""
    flags: tuple[str, ...]
    if name == "algo":
        flags, metavar, default = ("--algo", "-a"), None, _algorithms()
    else:
        flags, metavar, default = _SHARED[name]
    return typer.Option(*flags, metavar=metavar, help=help or default, rich_help_panel=panel)
