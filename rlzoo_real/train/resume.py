"""``realzoo train --resume``: find the run, check the request against it, load its checkpoint.

A resumed run continues in its own folder, with the arguments and hyperparameters it
was started with (``args.yml``, ``config.yml``); only the budget (``-n``) and the
options that do not change what is learned (verbosity, progress bar, time limit,
checkpoints to keep) may differ. Anything else that contradicts the saved run is an
error, and nothing on disk is touched before every check has passed. A run whose latest
checkpoint already reached its budget but that is not finished (stopped on its last
rollout, or killed before its final model was written) is finished without more training.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rlzoo_real.errors import UserError
from rlzoo_real.runs.folder import RunFolder, env_folder_name, latest_run_id

if TYPE_CHECKING:
    from rlzoo_real.train.checkpoint import CheckpointRecord
    from rlzoo_real.train.request import Prepared, TrainArgs

__all__ = ["ResumePoint", "locate_run", "prepare_resume"]

#: options a resumed run takes from the new command line
_RESUME_OPTIONS = ("verbose", "progress", "time_limit", "keep_checkpoints", "resume")
#: options that must match the saved run when given again
_FIXED_OPTIONS = (
    "hyperparams",
    "env_kwargs",
    "eval_env_kwargs",
    "conf_file",
    "trained_agent",
    "updates_between_episodes",
    "preset",
)


@dataclass(frozen=True)
class ResumePoint:
    """Where a resumed run starts: its folder, checkpoint, training state and manifest."""

    run: RunFolder
    record: CheckpointRecord
    state: dict[str, Any]
    manifest: dict[str, Any]
    notes: list[str]


def locate_run(target: str, *, algo: str, env: str, log_folder: str, backend: str = "sb3") -> Path:
    """The run folder named by ``--resume``: a path, ``latest`` or a run id (with -a/-e/-f).

    Reads no file of the run (it is read under the run's lock, by :func:`prepare_resume`).
    """
    return _run_path(target, algo=algo, env=env, log_folder=log_folder, backend=backend)[0]


def _locate(
    target: str, *, algo: str, env: str, log_folder: str, backend: str
) -> tuple[RunFolder, Path, dict[str, Any], bytes]:
    """:func:`locate_run`, with the ``args.yml`` it read: its path, content and bytes."""
    path, args_file = _run_path(target, algo=algo, env=env, log_folder=log_folder, backend=backend)
    saved, raw = _read_mapping_with_bytes(args_file)
    return RunFolder(path, str(saved.get("env", args_file.parent.name))), args_file, saved, raw


def _run_path(
    target: str, *, algo: str, env: str, log_folder: str, backend: str
) -> tuple[Path, Path]:
    """The run folder ``--resume`` names and its ``args.yml`` (not read)."""
    if target == "latest" or target.isdigit():
        if not algo or not env:
            raise UserError(
                f"--resume {target} needs --algo and --env (and -f if the log folder is not "
                "'logs') to find the run; or give the run folder itself: --resume logs/sac/X_1."
            )
        from rlzoo_real.algos.registry import get_algo

        log_path = Path(log_folder) / get_algo(algo, backend=backend).folder  # sac or sac_sbx
        run_id = latest_run_id(log_path, env) if target == "latest" else int(target)
        pattern = re.compile(rf"{re.escape(env_folder_name(env))}_{run_id}(_[0-9a-f\-]{{36}})?")
        matches = (
            sorted(p for p in log_path.glob("*") if pattern.fullmatch(p.name)) if run_id else []
        )
        if not matches:
            raise UserError(
                f"No run of {algo} on {env} with id {target} in {log_path}. "
                f"Runs there: {_listing(log_path)}."
            )
        path = matches[0]
    else:
        path = Path(target)
    if not path.is_dir():
        raise UserError(
            f"--resume {target}: no run folder at {path}. Runs in {path.parent}: "
            f"{_listing(path.parent)}."
        )
    args_files = sorted(path.glob("*/args.yml"))
    if not args_files:
        raise UserError(
            f"--resume {target}: {path} is not a realzoo run folder (no <env>/args.yml in it)."
        )
    return path, args_files[0]


def _listing(folder: Path) -> str:
    if not folder.is_dir():
        return "(the folder does not exist)"
    names = sorted(p.name for p in folder.iterdir() if p.is_dir())
    return ", ".join(names) if names else "(none)"


_DAMAGED = (
    "the run is damaged: restore the file (from a backup or a copy of the run), or start "
    "a new run (warm-start it from a checkpoint with -i)"
)


def _read_mapping(path: Path) -> dict[str, Any]:
    from rlzoo_real.runs.yaml_io import read_mapping

    return read_mapping(path, advice=_DAMAGED)


def _read_mapping_with_bytes(path: Path) -> tuple[dict[str, Any], bytes]:
    from rlzoo_real.runs.yaml_io import read_mapping_with_bytes

    return read_mapping_with_bytes(path, advice=_DAMAGED)


def _check_run_files(
    run: RunFolder, manifest: dict[str, Any], saved: dict[str, Any], raw: dict[Path, bytes]
) -> None:
    """``args.yml`` and ``config.yml`` as the run wrote them, with what resume needs.

    A run records the SHA-256 of both files in its manifest (``run_files``); a file that
    no longer matches was cut short, damaged or edited, and resuming from it would train a
    different run (a truncated ``config.yml`` can lose ``normalize``). ``raw``: the bytes
    of both files as they were read and parsed.
    """
    import hashlib

    recorded = manifest.get("run_files")
    if isinstance(recorded, dict):
        for path in (run.args_file, run.config_file):
            digest = recorded.get(path.name)
            if digest and hashlib.sha256(raw[path]).hexdigest() != digest:
                raise UserError(
                    f"{path} is not the file this run wrote (its SHA-256 differs from the one "
                    f"recorded in {run.manifest_file.name}): it was cut short, damaged or edited. "
                    "A resumed run keeps its arguments and hyperparameters, so it refuses to "
                    f"continue from a different file; {_DAMAGED}."
                )
    missing = [key for key in ("algo", "env", "seed") if saved.get(key) in (None, "")]
    if missing or not isinstance(saved.get("seed"), int):
        raise UserError(
            f"{run.args_file} lacks what resume needs ({', '.join(missing) or 'an integer seed'}); "
            f"{_DAMAGED}."
        )
    missing = [key for key in ("status", "seed", "start_time") if key not in manifest]
    if missing or manifest["seed"] != saved["seed"]:
        problem = f"lacks {', '.join(missing)}" if missing else "has another seed than args.yml"
        raise UserError(f"{run.manifest_file} {problem}; {_DAMAGED}.")


def prepare_resume(args: TrainArgs) -> tuple[Prepared, ResumePoint]:
    """Check a ``--resume`` request and load the checkpoint it continues from (writes nothing)."""
    from rlzoo_real.algos.registry import get_algo
    from rlzoo_real.config.spec import resolve_run_spec
    from rlzoo_real.envs.make import check_env_id, import_gym_packages
    from rlzoo_real.train.checkpoint import find_resumable
    from rlzoo_real.train.request import Prepared, TrainArgs, parse_env_kwargs

    assert args.resume is not None
    run, located, saved_dict, args_raw = _locate(
        args.resume, algo=args.algo, env=args.env, log_folder=args.log_folder, backend=args.backend
    )
    fields = {f.name for f in dataclasses.fields(TrainArgs)}
    if located != run.args_file:  # another env's folder was found first: read the run's own
        saved_dict, args_raw = _read_mapping_with_bytes(run.args_file)
    manifest = _read_mapping(run.manifest_file)
    config, config_raw = _read_mapping_with_bytes(run.config_file)
    _check_run_files(
        run, manifest, saved_dict, {run.args_file: args_raw, run.config_file: config_raw}
    )
    try:
        saved = TrainArgs(**{k: v for k, v in saved_dict.items() if k in fields})
    except TypeError as exc:
        raise UserError(
            f"{run.args_file} does not hold a run's arguments ({exc}); {_DAMAGED}."
        ) from None
    _check_contradictions(args, saved, saved_dict.get("seed"), run)
    if args.n_timesteps <= 0 and not isinstance(config.get("n_timesteps"), int | float):
        raise UserError(f"{run.config_file} has no n_timesteps (the run's budget); {_DAMAGED}.")

    algo = get_algo(saved.algo, backend=saved.backend)
    import_gym_packages(saved.gym_packages)
    check_env_id(saved.env)
    total = args.n_timesteps if args.n_timesteps > 0 else int(config.get("n_timesteps", 0))
    record, state, notes = find_resumable(run)
    if record.steps >= total and manifest.get("status") == "finished":
        raise UserError(
            f"{run.path} already finished: it trained {record.steps} steps, its budget. "
            f"To train it longer, resume with a larger total, "
            f"e.g. --resume {run.path} -n {2 * total}."
        )
    budget = saved.n_timesteps if saved.n_timesteps > 0 else int(config.get("n_timesteps", 0))
    if 0 < args.n_timesteps < record.steps and args.n_timesteps < budget:
        raise UserError(
            f"--resume {run.path} -n {args.n_timesteps}: its latest checkpoint is already at "
            f"{record.steps} steps, and -n is the total, not the steps still to train. Leave "
            f"-n out to continue to its budget ({budget} steps), or give a total above "
            f"{record.steps}."
        )
    # a checkpoint at -n of a run that is not finished (stopped on its last rollout, or
    # killed before its final model was written): the session trains no more and finishes it
    spec, _ = resolve_run_spec(
        algo, saved.env, table={saved.env: config}, source=str(run.config_file), n_timesteps=total
    )
    if (spec.normalize is not None) != ("vecnormalize" in record.files):
        saved_as = "with" if "vecnormalize" in record.files else "without"
        raise UserError(
            f"{run.config_file} says normalize {'on' if spec.normalize is not None else 'off'}, "
            f"but the checkpoint at {record.steps} steps was saved {saved_as} normalization "
            f"statistics: the file does not describe this run; {_DAMAGED}."
        )
    new_values = {name: getattr(args, name) for name in _RESUME_OPTIONS}
    merged = dataclasses.replace(saved, n_timesteps=total, **new_values)
    env_kwargs, eval_env_kwargs = parse_env_kwargs(merged, spec)
    prepared = Prepared(
        merged, algo, spec, env_kwargs, eval_env_kwargs, int(saved_dict["seed"]), None
    )
    return prepared, ResumePoint(run, record, state, manifest, notes)


def _check_contradictions(args: TrainArgs, saved: TrainArgs, seed: Any, run: RunFolder) -> None:
    problems = []
    for name in ("algo", "env"):
        given = getattr(args, name)
        if given and given.lower().removesuffix("_sbx") != str(getattr(saved, name)).lower():
            problems.append(f"--{name} {given} (the run is {getattr(saved, name)})")
    for name in _FIXED_OPTIONS:
        given = getattr(args, name)
        if given and given != getattr(saved, name):
            problems.append(f"--{name.replace('_', '-')} {given} (saved: {getattr(saved, name)})")
    saved_backend = getattr(saved, "backend", None) or "sb3"
    if args.backend != "sb3" and args.backend != saved_backend:
        problems.append(f"--backend {args.backend} (the run's backend is {saved_backend})")
    if args.algo.lower().endswith("_sbx") and saved_backend != "sbx":
        problems.append(f"--algo {args.algo} (the run's backend is {saved_backend})")
    if args.seed is not None and args.seed != seed:
        problems.append(f"--seed {args.seed} (the run's seed is {seed})")
    if problems:
        raise UserError(
            f"--resume {run.path}: these options contradict the saved run: {'; '.join(problems)}. "
            "A resumed run keeps its arguments and hyperparameters (see its args.yml and "
            "config.yml); only -n, --time-limit, --keep-checkpoints, --verbose and --progress may "
            "change. Start a new run (or warm-start one with -i) to change the others."
        )
