"""One training session: envs, model and callbacks built, ``learn`` run, results saved.

A session either starts a run (fresh, or warm-started from another model) or continues
one from a checkpoint (:class:`~rlzoo_real.train.resume.ResumePoint`). Both end the same way:
a final checkpoint, the final model, the manifest updated.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rlzoo_real.errors import UserError
from rlzoo_real.runs.folder import RunFolder
from rlzoo_real.train.stopping import (
    DiskFull,
    Diverged,
    TrainingDiverged,
    _failed_file,
    non_finite_parameter,
)

if TYPE_CHECKING:
    from rlzoo_real.train.checkpoint import CheckpointRecord
    from rlzoo_real.train.request import Prepared, TrainArgs
    from rlzoo_real.train.resume import ResumePoint
    from rlzoo_real.train.stopping import StopRequest

__all__ = ["Session", "TrainResult"]


@dataclass(frozen=True)
class TrainResult:
    """What a finished or stopped training session left behind."""

    run: RunFolder
    status: str  # finished, stopped
    num_timesteps: int
    best_mean_reward: float | None
    wall_time: float
    exit_code: int = 0
    stop_reason: str | None = None
    checkpoint: CheckpointRecord | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def resume_command(self) -> str:
        """The command that continues this run."""
        import shlex

        return f"realzoo train --resume {shlex.quote(str(self.run.path))}"


@dataclass
class Session:
    """The live objects of one training session (see :meth:`build`)."""

    prepared: Prepared
    run: RunFolder
    model: Any
    callbacks: list[Any]
    eval_callback: Any
    control: Any
    stop: StopRequest
    wandb_run: Any
    resume: ResumePoint | None = None
    notes: list[str] = field(default_factory=list)
    guard: Any = None  # the DivergenceGuard, first of the callbacks

    @classmethod
    def build(
        cls,
        prepared: Prepared,
        run: RunFolder,
        stop: StopRequest,
        resume: ResumePoint | None,
        extra_callbacks: Sequence[Any] = (),
    ) -> Session:
        """Build envs, model, logger and callbacks (restored from ``resume`` when given)."""
        from stable_baselines3.common.utils import set_random_seed

        from rlzoo_real.envs.make import make_vec_env_for

        args, spec = prepared.args, prepared.spec
        set_random_seed(prepared.seed)
        notes = list(resume.notes) if resume else []
        normalize_stats = None
        if resume is not None:
            from rlzoo_real.train.checkpoint import discard_after
            from rlzoo_real.train.run_logs import trim_logs

            notes.extend(discard_after(run, resume.record.steps))
            notes.extend(trim_logs(run, resume.state["logs"]))
            normalize_stats = resume.record.path(run, "vecnormalize")
        env = make_vec_env_for(
            spec,
            n_envs=spec.n_envs,
            seed=prepared.seed,
            env_kwargs=prepared.env_kwargs,
            vec_env=args.vec_env,
            monitor_dir=run.path,
            append_monitor=resume is not None,
            normalize_stats=normalize_stats,
        )
        if resume is None and args.trained_agent and spec.normalize is not None:
            _warm_start_normalization(env, Path(args.trained_agent).parent / run.name)
        wandb_run = None
        try:
            if resume is not None:
                model = _load_for_resume(prepared, resume, env, run, notes)
            else:
                from rlzoo_real.algos.build import build_model

                model = build_model(
                    spec,
                    env,
                    seed=prepared.seed,
                    device=args.device,
                    verbose=args.verbose,
                    trained_agent=args.trained_agent,
                    truncate_last_trajectory=args.truncate_last_trajectory,
                )
            callbacks, eval_callback = _make_callbacks(prepared, run)
            from rlzoo_real.train.callbacks import DivergenceGuard

            guard = DivergenceGuard()  # first: sees a step's NaN before evaluation or checkpoint
            callbacks.insert(0, guard)
            if resume is not None and eval_callback is not None and resume.state["eval"]:
                from rlzoo_real.train.state import restore_eval_callback

                problem = restore_eval_callback(eval_callback, resume.state["eval"])
                if problem:
                    notes.append(f"evaluation env state not restored ({problem})")
            from rlzoo_real.envs.realtime import realtime_callbacks

            callbacks.extend(realtime_callbacks(spec))  # overruns into progress.csv
            callbacks.extend(extra_callbacks)
            control = _make_control(prepared, run, stop, eval_callback, resume)
            callbacks.append(control)
            wandb_run = _start_wandb(prepared, run, resume) if args.track else None
            model.set_logger(_make_logger(args, run, wandb_run, resume is not None))
        except BaseException:
            env.close()
            if wandb_run is not None:
                wandb_run.finish(exit_code=1)
            raise
        return cls(
            prepared,
            run,
            model,
            callbacks,
            eval_callback,
            control,
            stop,
            wandb_run,
            resume,
            notes,
            guard,
        )

    def learn(self, manifest: dict[str, Any]) -> TrainResult:
        """Train to the run's budget (or until stopped), then save and close everything."""
        from rlzoo_real.runs.folder import write_yaml_atomic
        from rlzoo_real.runs.manifest import now_iso
        from rlzoo_real.train.callbacks import StopTraining

        args, spec, model = self.prepared.args, self.prepared.spec, self.model
        if self.wandb_run is not None:
            manifest["wandb_run_id"] = self.wandb_run.id
            write_yaml_atomic(self.run.manifest_file, manifest)
        kwargs: dict[str, Any] = {"progress_bar": args.progress}
        if args.log_interval > -1:
            kwargs["log_interval"] = args.log_interval
        elif args.log_interval < -1:  # the RL Zoo's -2: no logging by the algorithm
            kwargs["log_interval"] = None
        if self.resume is not None:
            from rlzoo_real.train.state import restore_rng

            steps, reset = spec.n_timesteps - model.num_timesteps, False
            self.notes.extend(restore_rng(model, self.resume.state["rng"]))  # last, before learn
        elif args.trained_agent:
            steps, reset = spec.n_timesteps, False  # the Zoo's warm start: this many more steps
        else:
            steps, reset = spec.n_timesteps, True
        # where this session ends: -n, or (warm start) this many steps past the loaded model's
        target = steps if reset else model.num_timesteps + max(steps, 0)
        status, record = "failed", None
        failure: UserError | None = None
        start = time.monotonic()
        try:
            try:
                if steps > 0:
                    with contextlib.suppress(StopTraining):  # its checkpoint is written
                        model.learn(
                            steps, callback=self.callbacks, reset_num_timesteps=reset, **kwargs
                        )
                    self.guard.check_losses()  # the last update's, which no rollout start saw
                else:  # resumed from a checkpoint at -n: only the final files are missing
                    self.notes.append(
                        f"the checkpoint at {model.num_timesteps} steps already reached its "
                        f"budget (-n {spec.n_timesteps}): no more training; the run is finished "
                        "with the final model saved from it"
                    )
                # a stop request that came once the budget was reached stops nothing
                reached = model.num_timesteps >= target
                status = "stopped" if self.stop.requested and not reached else "finished"
                if steps > 0 and (status == "stopped" or self.control.save_freq > 0):
                    record = self.control.checkpoint()  # checks the parameters first
                self._save_final()
            except Diverged as exc:
                status, failure = "failed", self._diverged(exc)
            except ValueError as exc:
                text = str(exc)  # torch's distributions, given a NaN
                if "Expected parameter" not in text or "invalid values" not in text:
                    raise
                bad = non_finite_parameter(model)
                what = f"NaN or inf in {bad}" if bad else "NaN in the policy's action distribution"
                status, failure = "failed", self._diverged(Diverged(what, model.num_timesteps))
            except OSError as exc:
                if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
                    raise
                status, failure = "failed", self._disk_full(exc)
        except KeyboardInterrupt:
            status = "stopped"  # a second signal: out at once, files stay consistent
        finally:
            exit_code = (
                failure.exit_code
                if failure is not None
                else {"finished": 0, "failed": 1}.get(status, self.stop.exit_code or 130)
            )
            manifest.update(
                status=status,
                stop_reason=self.stop.reason,  # also when it came as a finished run ended
                failure=str(failure) if failure is not None else None,
                exit_code=exit_code,
                end_time=now_iso(),
                train_seconds=round(
                    float(manifest.get("train_seconds") or 0.0) + time.monotonic() - start, 3
                ),
                num_timesteps=int(model.num_timesteps),
                last_checkpoint=self._last_checkpoint(),
            )
            try:
                write_yaml_atomic(self.run.manifest_file, manifest)
            except OSError as exc:
                if not (isinstance(failure, DiskFull) and exc.errno == failure.errno):
                    raise
            self._close(status)
        if failure is not None:
            raise failure
        best = self.eval_callback.best_mean_reward if self.eval_callback is not None else None
        return TrainResult(
            run=self.run,
            status=status,
            num_timesteps=int(model.num_timesteps),
            best_mean_reward=float(best) if best is not None and best > -float("inf") else None,
            wall_time=time.monotonic() - start,
            exit_code=manifest["exit_code"],
            stop_reason=self.stop.reason,
            checkpoint=record,
            notes=self.notes,
        )

    def _last_checkpoint(self) -> int | None:
        return self.control.last_checkpoint or None

    def _diverged(self, exc: Diverged) -> UserError:
        last = self._last_checkpoint()
        kept = "no checkpoint had been written yet"
        if last:
            name = self.run.checkpoint_files(last)["model"].name
            kept = f"the last good checkpoint, at {last} steps ({name}), is kept"
        return TrainingDiverged(
            f"Training diverged: {exc.what} at step {exc.step}. Nothing from that point on was "
            f"saved: {kept}, no final model was written, and {self.run.manifest_file} says "
            "failed. Resuming would repeat the same updates: start a new run with a smaller "
            "learning rate or other hyperparameters, or check the env for NaN observations or "
            "rewards."
        )

    def _disk_full(self, exc: OSError) -> DiskFull:
        import shutil

        name = _failed_file(exc)
        last = self._last_checkpoint()
        try:
            free = f"{shutil.disk_usage(self.run.path).free / 2**20:.1f} MiB free now"
        except OSError:
            free = "free space unknown"
        if last:
            kept = (
                f"Its last complete checkpoint, at {last} steps, is intact (a file cut short is "
                "never used). Free space on that filesystem (delete old runs or checkpoints; "
                "--keep-checkpoints K keeps only the last K), then continue with: "
                f"realzoo train --resume {self.run.path}"
            )
        else:
            kept = "It had no checkpoint yet: free space and start it again"
        return DiskFull(
            f"No space left on the device while writing {name or 'a file of the run'} "
            f"(step {self.model.num_timesteps}; {free} in {self.run.path.parent}). {kept}.",
            errno_=exc.errno,
        )

    def _save_final(self) -> None:
        from rlzoo_real.runs.atomic import write_atomic

        model = self.model
        bad = non_finite_parameter(model)
        if bad is not None:  # never a NaN model over a good one
            raise Diverged(f"NaN or inf in {bad}", model.num_timesteps)
        write_atomic(self.run.final_model, lambda p: model.save(p))
        vec_normalize = model.get_vec_normalize_env()
        if vec_normalize is not None:
            write_atomic(self.run.vecnormalize_file, lambda p: vec_normalize.save(str(p)))
        if self.prepared.args.save_replay_buffer and getattr(model, "replay_buffer", None):
            write_atomic(self.run.path / "replay_buffer.pkl", lambda p: model.save_replay_buffer(p))

    def _close(self, status: str) -> None:
        self.model.logger.close()
        self.model.get_env().close()
        if self.eval_callback is not None:
            self.eval_callback.eval_env.close()
        if self.wandb_run is not None:
            self.wandb_run.finish(exit_code=0 if status == "finished" else 1)


def _load_for_resume(
    prepared: Prepared, resume: ResumePoint, env: Any, run: RunFolder, notes: list[str]
) -> Any:
    from rlzoo_real.train.state import restore_vec_env

    args, record = prepared.args, resume.record
    algo_cls = prepared.algo.load_class()
    model = algo_cls.load(
        record.path(run, "model"),
        env=env,
        device=args.device,
        force_reset=False,
        verbose=args.verbose,
    )
    buffer = record.path(run, "replay_buffer")
    if buffer is not None:
        model.load_replay_buffer(buffer)
    elif prepared.algo.off_policy:
        notes.append("the checkpoint holds no replay buffer: learning restarts from an empty one")
    problem = restore_vec_env(model.get_env(), resume.state["train_env"])
    if problem:
        model._last_obs = None  # new episodes start when learning resumes
        notes.append(f"training env state not restored ({problem}): new episodes start")
    return model


def _make_control(
    prepared: Prepared,
    run: RunFolder,
    stop: StopRequest,
    eval_callback: Any,
    resume: ResumePoint | None,
) -> Any:
    from rlzoo_real.train.callbacks import RunControl

    args, spec = prepared.args, prepared.spec
    save_freq = args.save_freq
    if save_freq == 0:  # auto: about ten checkpoints over the run
        save_freq = max(spec.n_timesteps // 10, 1)
    return RunControl(
        run=run,
        save_freq=save_freq,
        keep=args.keep_checkpoints,
        keep_buffers=args.save_replay_buffer,
        stop=stop,
        eval_callback=eval_callback,
        last_checkpoint=resume.record.steps if resume is not None else 0,
        verbose=min(args.verbose, 1),
    )


def _make_logger(args: TrainArgs, run: RunFolder, wandb_run: Any, resumed: bool) -> Any:
    from stable_baselines3.common.logger import Logger, make_output_format

    from rlzoo_real.train.callbacks import ContinuedCSVOutputFormat

    formats: list[Any] = []
    if args.verbose >= 1:
        formats.append(make_output_format("stdout", str(run.path)))
    if resumed and run.progress_file.is_file():
        formats.append(ContinuedCSVOutputFormat(str(run.progress_file)))
    else:
        formats.append(make_output_format("csv", str(run.path)))
    if args.tensorboard_log:
        tb_dir = Path(args.tensorboard_log) / run.path.parent.name / run.path.name
        formats.append(make_output_format("tensorboard", str(tb_dir)))
    if wandb_run is not None:
        from rlzoo_real.train.callbacks import WandbWriter

        formats.append(WandbWriter(wandb_run))
    return Logger(folder=str(run.path), output_formats=formats)


def _warm_start_normalization(env: Any, params_dir: Path) -> None:
    """The warm-start model's statistics (read without unpickling), still learning."""
    from stable_baselines3.common.vec_env import VecNormalize

    from rlzoo_real.runs.safe_files import apply_normalization, inside_run, read_normalization

    path = params_dir / "vecnormalize.pkl"
    if not path.is_file():
        return
    inside_run(path, params_dir.parent)
    venv = env
    while not isinstance(venv, VecNormalize) and venv is not None:
        venv = getattr(venv, "venv", None)
    if venv is None:
        return
    norm_reward = venv.norm_reward
    try:
        apply_normalization(env, read_normalization(path), path)
    except BaseException:
        env.close()
        raise
    venv.training, venv.norm_reward = True, norm_reward


def _make_callbacks(prepared: Prepared, run: RunFolder) -> tuple[list[Any], Any]:
    from rlzoo_real.envs.continuity import ContinuityEvalCallback, ContinuityLogger
    from rlzoo_real.envs.make import make_vec_env_for, resolve_class
    from rlzoo_real.train.callbacks import SaveBestNormalization

    args, spec = prepared.args, prepared.spec
    callbacks: list[Any] = [
        resolve_class(ref.path, kind="callback", where=spec.source)(**dict(ref.kwargs))
        for ref in spec.callbacks
    ]
    callbacks.append(ContinuityLogger())  # rollout/continuity_cost, current in every log row
    eval_callback = None
    if args.eval_freq > 0:
        eval_env = make_vec_env_for(
            spec,
            n_envs=args.n_eval_envs,
            seed=prepared.seed + 10_000,
            env_kwargs=prepared.eval_env_kwargs,
            vec_env=args.vec_env,
            for_eval=True,
        )
        # `normalize: true` without gamma is an empty dict of VecNormalize arguments: on, not off
        on_best = (
            SaveBestNormalization(run.best_vecnormalize_file)
            if spec.normalize is not None
            else None
        )
        eval_callback = ContinuityEvalCallback(  # EvalCallback + eval/continuity_cost
            eval_env,
            callback_on_new_best=on_best,
            n_eval_episodes=args.eval_episodes,
            eval_freq=max(args.eval_freq // spec.n_envs, 1),
            log_path=str(run.path),
            best_model_save_path=str(run.path),
            deterministic=True,
            verbose=args.verbose,
        )
        callbacks.append(eval_callback)
    return callbacks, eval_callback


def _start_wandb(prepared: Prepared, run: RunFolder, resume: ResumePoint | None) -> Any:
    from rlzoo_real.errors import UserError

    try:
        import wandb
    except ImportError:
        raise UserError("--track needs Weights & Biases: pip install wandb.") from None
    args = prepared.args
    run_id = resume.manifest.get("wandb_run_id") if resume is not None else None
    return wandb.init(
        project=args.wandb_project_name,
        entity=args.wandb_entity,
        group=args.wandb_group,
        tags=list(args.wandb_tags),
        name=f"{run.path.parent.name}/{run.path.name}",
        dir=str(run.path),
        id=run_id,
        resume="allow" if run_id else None,
        config={
            **dataclasses.asdict(args),
            "seed": prepared.seed,
            "overrides": args.hyperparams,
            "hyperparams": dict(prepared.spec.hyperparams),
        },
    )
