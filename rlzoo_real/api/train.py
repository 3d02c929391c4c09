"""Training from Python: :func:`train` a new run, :func:`resume` a stopped one."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rlzoo_real.api.results import TrainingResult

if TYPE_CHECKING:
    from rlzoo_real.runs.folder import RunFolder
    from rlzoo_real.train.request import Prepared, TrainArgs
    from rlzoo_real.train.session import TrainResult

__all__ = ["resume", "train"]


def train(
    algo: str,
    env: str | type | Callable[..., Any],
    *,
    hyperparams: Mapping[str, Any] | None = None,
    n_timesteps: int | None = None,
    seed: int | None = None,
    log_folder: str | Path = "logs",
    env_kwargs: Mapping[str, Any] | None = None,
    eval_env_kwargs: Mapping[str, Any] | None = None,
    conf_file: str | Path | None = None,
    preset: str | None = None,
    backend: str = "sb3",
    eval_freq: int = 25000,
    eval_episodes: int = 5,
    save_freq: int = 0,
    device: str = "auto",
    num_threads: int = 1,
    progress: bool = False,
    verbose: int = 0,
    **options: Any,
) -> TrainingResult:
    """Train one run into ``<log_folder>/<algo>/<env>_<N>/``, as ``realzoo train`` does.

    The hyperparameters are the entry for ``env`` in ``hyperparams/<algo>.yml`` (or
    ``conf_file``, or a ``preset``), with ``hyperparams`` over it; the run folder records
    them as plain YAML, so that ``realzoo enjoy``, ``export``, :func:`resume` and
    :func:`rlzoo_real.load` rebuild the run from its files alone.

    Args:
        algo: algorithm name: ``ppo``, ``sac``, ``dqn``, ``tqc`` ... (``sac_sbx`` or
            ``backend="sbx"`` for the JAX backend).
        env: a gymnasium id (``"CartPole-v1"``), or your own env class or factory function
            (or its path ``"my_robot.envs:RobotEnv"``), defined at the top level of an
            importable module: it is recorded by that path. A lambda, a class defined in a
            function or in ``__main__`` (a notebook) is refused: nothing could rebuild it.
        hyperparams: overrides as Python values: numbers, strings, lists, dicts, classes where
            SB3 takes them (``{"policy_kwargs": {"activation_fn": torch.nn.ReLU}}``, recorded
            as ``nn.ReLU``), schedules as the Zoo writes them (``"lin_0.001"``). A callable
            schedule is refused: ``config.yml`` could not record it.
        n_timesteps: training steps (None: the entry's ``n_timesteps``).
        seed: random seed (None: drawn at random and recorded).
        log_folder: root of the log tree.
        env_kwargs, eval_env_kwargs: keyword arguments of the training / evaluation envs
            (``eval_env_kwargs`` defaults to ``env_kwargs``).
        conf_file: a hyperparameter table (YAML file, ``.py`` file or module) instead of the
            bundled one.
        preset: a bundled variant of the tables (``hyperparams/<preset>/<algo>.yml``).
        backend: ``sb3`` (PyTorch) or ``sbx`` (JAX).
        eval_freq: evaluate every N steps (-1: never); the best model is kept.
        eval_episodes: episodes per evaluation.
        save_freq: resumable checkpoint every N steps (0: about ten per run; -1: none).
        device: ``auto``, ``cpu``, ``cuda[:N]``.
        num_threads: torch threads (1 is fastest for small networks on CPU; 0: torch's choice).
        progress: show a progress bar (tqdm/rich, as SB3's ``progress_bar``).
        verbose: 0 quiet; 1 SB3's tables and realzoo's lines; 2 debug.
        **options: the other options of ``realzoo train`` by their field name in
            :class:`~rlzoo_real.train.request.TrainArgs` (``n_eval_envs``, ``vec_env``,
            ``time_limit``, ``keep_checkpoints``, ``track``, ``tensorboard_log`` ...).

    Returns:
        The run folder, steps, best and last evaluation, and status (``finished``, or
        ``stopped`` after Ctrl-C / SIGTERM / ``time_limit``, then resumable with :func:`resume`).

    Raises:
        UserError: (and its kinds ConfigError, EnvError) for anything wrong in the request,
            checked before the run folder is created; no SystemExit. Signal handlers
            installed for the run are restored before it returns.
    """
    from rlzoo_real.api.request import train_args

    args = train_args(
        algo=algo,
        env=env,
        hyperparams=hyperparams,
        n_timesteps=n_timesteps,
        seed=seed,
        env_kwargs=env_kwargs,
        eval_env_kwargs=eval_env_kwargs,
        log_folder=str(log_folder),
        conf_file=str(conf_file) if conf_file is not None else None,
        preset=preset,
        backend=backend,
        eval_freq=eval_freq,
        eval_episodes=eval_episodes,
        save_freq=save_freq,
        device=device,
        num_threads=num_threads,
        progress=progress,
        verbose=verbose,
        **options,
    )
    return run_request(args, command=_python_call("train", algo=algo, env=args.env))


def resume(
    run_folder: str | Path,
    *,
    n_timesteps: int | None = None,
    time_limit: float | None = None,
    progress: bool = False,
    verbose: int = 0,
) -> TrainingResult:
    """Continue a stopped run from its latest complete checkpoint, in its own folder.

    Args:
        run_folder: the run folder (``<log_folder>/<algo>/<env>_<N>``).
        n_timesteps: a new total budget (None: the run's own).
        time_limit: hours of wall-clock time for this call (None: no limit).
        progress: show a progress bar.
        verbose: 0 quiet; 1 SB3's tables and realzoo's lines.

    Returns:
        As :func:`train`.

    Raises:
        RunNotFoundError: ``run_folder`` is not a folder.
        UserError: a finished run (give a larger ``n_timesteps``), damaged files, no checkpoint.
    """
    from rlzoo_real.errors import RunNotFoundError
    from rlzoo_real.train.request import TrainArgs

    if not Path(run_folder).is_dir():
        raise RunNotFoundError(
            f"resume: {str(run_folder)!r} is not a folder; give a run folder such as "
            "logs/ppo/CartPole-v1_1 (TrainingResult.run_folder)."
        )
    args = TrainArgs(
        resume=str(run_folder),
        n_timesteps=-1 if n_timesteps is None else int(n_timesteps),
        time_limit=time_limit,
        progress=progress,
        verbose=verbose,
    )
    return run_request(args, command=_python_call("resume", run_folder=str(run_folder)))


def run_request(
    args: TrainArgs,
    *,
    command: str,
    on_start: Callable[[Prepared, RunFolder], None] | None = None,
) -> TrainingResult:
    """Train the request (``realzoo train`` and :func:`train` both end here).

    Args:
        args: the request (see :func:`rlzoo_real.api.request.train_args`).
        command: what to record in ``command.txt``.
        on_start: called when the run folder is ready (None: a line when ``verbose`` >= 1).
    """
    from rlzoo_real.train.run import train as run_training

    if on_start is None and args.verbose >= 1:
        on_start = announce
    started: list[Prepared] = []

    def start(prepared: Prepared, run: RunFolder) -> None:
        started.append(prepared)  # the result's algo and seed, without reading args.yml again
        if on_start is not None:
            on_start(prepared, run)

    result = run_training(args, command=command, on_start=start)
    return to_result(result, started[0] if started else None)


def announce(prepared: Prepared, run: RunFolder) -> None:
    """One line: what is trained, where, with which seed (a fallback notice on stderr)."""
    import sys

    if prepared.notice:
        print(f"Note: {prepared.notice}", file=sys.stderr)
    spec = prepared.spec
    verb = "Resuming" if prepared.args.resume else "Training"
    print(
        f"{verb} {spec.algo} on {spec.env_id} to {spec.n_timesteps} steps "
        f"({spec.source}, seed {prepared.seed}) in {run.path}",
        flush=True,
    )


def to_result(result: TrainResult, prepared: Prepared | None = None) -> TrainingResult:
    """The API's record of a finished or stopped session.

    ``prepared``: the request as it was trained (its algorithm and seed); None reads them
    from the run's ``args.yml``.
    """
    from rlzoo_real.plotting.logs import read_evaluations
    from rlzoo_real.runs.folder import read_plain_yaml

    run = result.run
    log, _ = read_evaluations(run)
    best = float(log.mean_returns.max()) if log is not None else math.nan
    last = float(log.mean_returns[-1]) if log is not None else math.nan
    if prepared is not None:
        saved: dict[str, Any] = {"algo": prepared.args.algo, "seed": prepared.seed}
    else:
        saved = read_plain_yaml(run.args_file) or {}
    seed = saved.get("seed")
    return TrainingResult(
        run_folder=run.path,
        algo=str(saved.get("algo", "")),
        env=run.env_id,
        seed=seed if isinstance(seed, int) else None,
        status=result.status,
        steps=int(result.num_timesteps),
        best_eval=best,
        last_eval=last,
        wall_time_s=float(result.wall_time),
        final_model=run.final_model,
        best_model=run.best_model if run.best_model.is_file() else None,
        stop_reason=result.stop_reason,
        checkpoint_steps=result.checkpoint.steps if result.checkpoint is not None else None,
        exit_code=int(result.exit_code),
        notes=tuple(result.notes),
    )


def _python_call(name: str, **shown: Any) -> str:
    words = ", ".join(f"{key}={value!r}" for key, value in shown.items())
    return f"python: rlzoo_real.{name}({words}, ...)"
