"""Loading a run from Python: :func:`load` the model and the env as trained, :func:`evaluate`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rlzoo_real.api.results import Evaluation, Loaded, TrainingResult

__all__ = ["evaluate", "load"]


def load(
    run_folder: str | Path | TrainingResult,
    model: str | int = "last",
    *,
    allow_import: Sequence[str] = (),
    device: str = "auto",
    seed: int = 0,
    n_envs: int = 1,
    render_mode: str | None = None,
) -> Loaded:
    """Load a run: the model, the env as it was trained (wrappers, normalization), the config.

    The model is rebuilt from the run's ``config.yml`` and its weights read without
    unpickling (as ``realzoo enjoy`` does); classes the run's files name must be realzoo's
    known ones or allowed by ``allow_import``.

    Args:
        run_folder: a run folder (or the result of :func:`rlzoo_real.train`).
        model: ``"last"`` (the final model), ``"best"`` (``best_model.zip``),
            ``"last_checkpoint"``, or a number of steps (the checkpoint at those steps).
        allow_import: modules (or dotted class paths) the run's files may name beyond
            realzoo's allowlist, e.g. your env's module ``"my_robot.envs"``: importing a
            module runs its code, so a run's files never do it on their own say-so.
        device: torch device of the model.
        seed: seed of the env (env ``i`` gets ``seed + i``) and the model.
        n_envs: number of envs.
        render_mode: passed to the env (``"rgb_array"``, ``"human"``).

    Returns:
        A :class:`Loaded`; close it (or use ``with``) to close the env.

    Raises:
        RunNotFoundError: no such folder, or no such model in it (the message lists those there).
        UserError: a run whose files name modules that ``allow_import`` does not allow, damaged
            files, weights that do not fit.
    """
    from rlzoo_real.errors import RunNotFoundError, UserError
    from rlzoo_real.replay.finding import RunRequest
    from rlzoo_real.replay.loading import open_run
    from rlzoo_real.runs.folder import read_plain_yaml

    path = Path(run_folder.run_folder if isinstance(run_folder, TrainingResult) else run_folder)
    if not path.is_dir():
        raise RunNotFoundError(
            f"load: {str(path)!r} is not a run folder (expected <log_folder>/<algo>/<env>_<N>, "
            "e.g. TrainingResult.run_folder or a path from rlzoo_real.runs())."
        )
    choice: dict[str, Any] = {}
    if model == "best":
        choice["load_best"] = True
    elif model == "last_checkpoint":
        choice["load_last_checkpoint"] = True
    elif isinstance(model, int) and not isinstance(model, bool) and model > 0:
        choice["load_checkpoint"] = model
    elif model != "last":
        raise UserError(
            f"load: model={model!r}; expected 'last' (the final model), 'best', "
            "'last_checkpoint' or a positive number of steps (a checkpoint)."
        )
    request = RunRequest(
        target=str(path), device=device, allow_import=tuple(allow_import), **choice
    )
    try:
        loaded = open_run(request, n_envs=n_envs, seed=seed, render_mode=render_mode)
    except UserError as exc:
        if "has no" in str(exc) and not isinstance(exc, RunNotFoundError):
            raise RunNotFoundError(str(exc)) from None
        raise
    record = loaded.record
    args = (read_plain_yaml(record.folder.args_file) or {}) if record is not None else {}
    config = dict(record.config or {}) if record is not None else {}
    return Loaded(
        run_folder=path,
        algo=loaded.algo,
        env_id=loaded.env_id,
        model=loaded.model,
        env=loaded.env,
        config=config,
        args=args,
        model_path=loaded.choice.path,
        label=loaded.choice.label,
        notes=list(loaded.notes),
    )


def evaluate(
    run: Loaded | TrainingResult | str | Path,
    n_episodes: int = 10,
    *,
    deterministic: bool = True,
    model: str | int = "last",
    allow_import: Sequence[str] = (),
    seed: int = 0,
) -> Evaluation:
    """Play ``n_episodes`` episodes with a run's policy and return their returns and lengths.

    Args:
        run: a :class:`Loaded` run (its env is used and left open), or a run folder / a
            :class:`TrainingResult` (loaded with ``model`` and ``allow_import``, then closed).
        n_episodes: episodes to play.
        deterministic: the policy's deterministic action (else sampled).
        model: which model when ``run`` is not loaded yet (see :func:`load`).
        allow_import: as :func:`load`.
        seed: env seed when ``run`` is not loaded yet.

    Returns:
        The episodes' returns (undiscounted, on the env's own reward scale even when the run
        normalizes rewards) and lengths.

    Raises:
        UserError: ``n_episodes`` below 1, or what :func:`load` raises.
    """
    from rlzoo_real.errors import UserError

    if n_episodes < 1:
        raise UserError(f"evaluate: n_episodes must be at least 1, got {n_episodes}.")
    if isinstance(run, Loaded):
        return _play(run, n_episodes, deterministic)
    with load(run, model, allow_import=allow_import, seed=seed) as loaded:
        return _play(loaded, n_episodes, deterministic)


def _play(loaded: Loaded, n_episodes: int, deterministic: bool) -> Evaluation:
    import warnings

    from stable_baselines3.common.evaluation import evaluate_policy

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # evaluate_policy's Monitor remark
        returns, lengths = evaluate_policy(
            loaded.model,
            loaded.env,
            n_eval_episodes=n_episodes,
            deterministic=deterministic,
            return_episode_rewards=True,
        )
    return Evaluation(
        tuple(float(r) for r in returns),  # type: ignore[union-attr]
        tuple(int(n) for n in lengths),  # type: ignore[union-attr]
    )
