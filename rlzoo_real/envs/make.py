"""Making environments: registration checks, wrappers from YAML, vectorization,
frame stacking and normalization.

Training and evaluation envs are built by the same function, so evaluation sees
exactly the observations the agent was trained on; the evaluation env's
normalization statistics are frozen and synced from training.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from rlzoo_real.config.literals import ClassRef
from rlzoo_real.config.spec import RunSpec
from rlzoo_real.errors import EnvError, UserError, suggest

__all__ = [
    "WrapperChain",
    "accepted_arguments",
    "check_class_refs",
    "check_env_id",
    "import_gym_packages",
    "is_atari",
    "make_vec_env_for",
    "resolve_class",
]


def import_gym_packages(names: Iterable[str]) -> None:
    """Import modules that register extra envs (``--gym-packages``).

    Only names the user gave on the command line (or that a run the user resumes
    recorded) come here: a run being opened has its own list checked by
    :func:`rlzoo_real.runs.trust.check_gym_packages` first.
    """
    for name in names:
        try:
            importlib.import_module(name)
        except ImportError as exc:
            raise UserError(
                f"--gym-packages: cannot import {name!r} ({exc}). Give the name of an installed "
                "Python module that registers gymnasium envs when imported."
            ) from None


def check_env_id(env_id: str) -> None:
    """Raise an :class:`EnvError` (with close names) unless ``env_id`` is registered.

    A user's class or factory named ``module:Name`` is registered here first
    (:func:`rlzoo_real.envs.spec.ensure_registered`).
    """
    import gymnasium as gym

    from rlzoo_real.envs.spec import ensure_registered

    if ensure_registered(env_id) in gym.registry:
        return
    hint = suggest(env_id, gym.registry.keys())
    raise EnvError(
        f"Unknown environment {env_id!r}: gymnasium has no env registered under that id.{hint} "
        "Check the spelling and version suffix (e.g. Pendulum-v1), or import the package that "
        "registers it with --gym-packages."
    )


def is_atari(env_id: str) -> bool:
    """True for envs from the Arcade Learning Environment."""
    import gymnasium as gym

    entry = str(gym.registry[env_id].entry_point) if env_id in gym.registry else ""
    return "AtariEnv" in entry or "ale_py" in entry


def resolve_class(path: str, *, kind: str, where: str = "") -> Any:
    """The class of ``kind`` named by ``path``, from realzoo's allowlist (RL Zoo aliases
    understood) and checked for its kind: see :func:`rlzoo_real.runs.trust.resolve`."""
    from rlzoo_real.runs.trust import resolve

    return resolve(path, kind=kind, where=where)


def check_class_refs(refs: Sequence[ClassRef], *, kind: str, leading: int, where: str = "") -> None:
    """Resolve each class (allowlist, kind) and check its keyword arguments fit its signature.

    ``leading`` is the number of positional arguments realzoo passes itself (the env).
    """
    for ref in refs:
        cls = resolve_class(ref.path, kind=kind, where=where)
        try:
            inspect.signature(cls).bind(*([None] * leading), **dict(ref.kwargs))
        except TypeError as exc:
            raise UserError(
                f"{kind} {ref.path}: wrong arguments {dict(ref.kwargs)} ({exc}). "
                f"{accepted_arguments(cls, leading)}"
            ) from None
        except ValueError:
            continue  # no introspectable signature: let the call itself decide


def accepted_arguments(cls: Any, leading: int) -> str:
    """``ClipAction takes low, high (default ...).`` from the class's signature."""
    try:
        params = list(inspect.signature(cls).parameters.values())[leading:]
    except (TypeError, ValueError):
        return ""
    shown = [
        p.name if p.default is inspect.Parameter.empty else f"{p.name}={p.default!r}"
        for p in params
        if p.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    ]
    name = getattr(cls, "__name__", str(cls))
    return f"{name} takes: {', '.join(shown)}." if shown else f"{name} takes no arguments."


class WrapperChain:
    """Apply the ``env_wrapper`` list to one env (picklable, for subprocess envs).

    The classes are resolved (allowlist, kind check) when the chain is made, in the
    process that read the file; a subprocess env gets the checked classes.
    """

    def __init__(self, refs: Sequence[ClassRef], *, where: str = "") -> None:
        self.refs = tuple(refs)
        self.classes = tuple(resolve_class(r.path, kind="env_wrapper", where=where) for r in refs)

    def __call__(self, env: Any) -> Any:
        for ref, cls in zip(self.refs, self.classes, strict=True):
            env = cls(env, **dict(ref.kwargs))
        return env


@contextlib.contextmanager
def _refused(what: str, cls: Any) -> Iterator[None]:
    """A class that refuses its keyword values becomes a :class:`UserError` naming them."""
    try:
        yield
    except (TypeError, ValueError, AssertionError) as exc:
        raise UserError(f"{what}: {str(exc).rstrip('.')}. {accepted_arguments(cls, 1)}") from None


class EnvMaker:
    """Make training env ``rank`` (picklable, for subprocess envs).

    As Stable-Baselines3's ``make_vec_env`` does it (``render_mode="rgb_array"`` unless
    given, the action space seeded with ``seed + rank``, a ``Monitor``, then the
    ``env_wrapper`` chain), with one addition: Box-action envs get the
    :class:`~rlzoo_real.envs.continuity.ContinuityCost` measure right inside the Monitor, so
    it sees the actions after every wrapper and ``monitor.csv`` has its column.
    """

    def __init__(
        self,
        env_id: str,
        env_kwargs: dict[str, Any],
        *,
        rank: int,
        seed: int,
        monitor_dir: str | None,
        append: bool,
        measure: bool,
        wrappers: WrapperChain | None,
        monitor_kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        self.env_id, self.env_kwargs, self.rank, self.seed = env_id, env_kwargs, rank, seed
        self.monitor_dir, self.append, self.measure = monitor_dir, append, measure
        self.wrappers = wrappers
        self.monitor_kwargs = dict(monitor_kwargs or {})  # an entry's monitor_kwargs

    def __call__(self) -> Any:
        import os

        import gymnasium as gym
        from stable_baselines3.common.monitor import Monitor

        from rlzoo_real.envs.continuity import KEY, ContinuityCost, measurable
        from rlzoo_real.envs.spec import ensure_registered

        ensure_registered(self.env_id)  # a user's class: registered in this (sub)process too
        try:
            env = gym.make(self.env_id, **{"render_mode": "rgb_array", **self.env_kwargs})
        except TypeError:
            env = gym.make(self.env_id, **self.env_kwargs)
        env.action_space.seed(self.seed + self.rank)
        keywords: tuple[str, ...] = ()
        if measurable(env.action_space):
            env = ContinuityCost(env)
            keywords = (KEY,) if self.measure else ()
        path = None
        if self.monitor_dir is not None:
            os.makedirs(self.monitor_dir, exist_ok=True)
            path = os.path.join(self.monitor_dir, str(self.rank))
        extra = dict(self.monitor_kwargs)
        keywords = (*extra.pop("info_keywords", ()), *keywords)
        env = Monitor(
            env,
            filename=path,
            info_keywords=keywords,
            override_existing=not self.append,
            **extra,
        )
        try:
            return self.wrappers(env) if self.wrappers is not None else env
        except BaseException:
            env.close()  # the Monitor's file
            raise


def _monitor_lacks_column(monitor_dir: Path | None) -> bool:
    """A monitor file made before the continuity column existed (appending must match it)."""
    from rlzoo_real.envs.continuity import KEY

    path = Path(monitor_dir) / "0.monitor.csv" if monitor_dir is not None else None
    if path is None or not path.is_file():
        return False
    with path.open() as handle:
        handle.readline()
        header = handle.readline().strip()
    return bool(header) and KEY not in header.split(",")


def make_vec_env_for(
    spec: RunSpec,
    *,
    n_envs: int,
    seed: int,
    env_kwargs: Mapping[str, Any],
    vec_env: str = "dummy",
    monitor_dir: Path | None = None,
    append_monitor: bool = False,
    for_eval: bool = False,
    normalize_stats: Path | None = None,
) -> Any:
    """Build the vectorized env for a run, training or evaluation alike.

    Args:
        spec: the run's resolved hyperparameters (wrappers, frame stack, normalization).
        n_envs: number of parallel envs.
        seed: seed of the first env (env ``i`` gets ``seed + i``).
        env_kwargs: keyword arguments for ``gymnasium.make``.
        vec_env: ``"dummy"`` (one process) or ``"subproc"`` (one process per env).
        monitor_dir: where ``<i>.monitor.csv`` files go (None: not written).
        append_monitor: continue existing monitor files (a resumed run) instead of new ones.
        for_eval: evaluation env: normalization frozen and rewards left unnormalized.
        normalize_stats: a ``vecnormalize.pkl`` to load statistics from (warm start).
    """
    from stable_baselines3.common.preprocessing import is_image_space, is_image_space_channels_first
    from stable_baselines3.common.vec_env import (
        DummyVecEnv,
        SubprocVecEnv,
        VecFrameStack,
        VecNormalize,
        VecTransposeImage,
    )

    vec_cls = SubprocVecEnv if vec_env == "subproc" and n_envs > 1 else DummyVecEnv
    from rlzoo_real.runs.trust import check_env_id_imports

    check_env_id_imports(spec.env_id, where=spec.source)
    chain = WrapperChain(spec.env_wrappers, where=spec.source) if spec.env_wrappers else None
    vec_classes = [
        resolve_class(ref.path, kind="vec_env_wrapper", where=spec.source)
        for ref in spec.vec_env_wrappers
    ]
    makers: list[Callable[[], Any]] = [
        EnvMaker(
            spec.env_id,
            dict(env_kwargs),
            rank=i,
            seed=seed,
            monitor_dir=str(monitor_dir) if monitor_dir is not None else None,
            append=append_monitor,
            measure=not (append_monitor and _monitor_lacks_column(monitor_dir)),
            wrappers=chain,
            monitor_kwargs=spec.monitor_kwargs,
        )
        for i in range(n_envs)
    ]
    try:
        env: Any = vec_cls(makers)
        env.seed(seed)
    except TypeError as exc:
        raise UserError(
            f"Could not create {spec.env_id} with env kwargs {dict(env_kwargs)}: {exc}. "
            "Check --env-kwargs / --eval-env-kwargs against the env's constructor."
        ) from None
    inner = env
    try:
        for ref, cls in zip(spec.vec_env_wrappers, vec_classes, strict=True):
            with _refused(f"vec_env_wrapper {ref.path} {dict(ref.kwargs)}", cls):
                env = cls(env, **dict(ref.kwargs))
        if spec.frame_stack:
            env = VecFrameStack(env, spec.frame_stack)
        if spec.normalize is not None and not (normalize_stats and normalize_stats.is_file()):
            with _refused(f"{spec.source}: normalize {dict(spec.normalize)}", VecNormalize):
                env = VecNormalize(env, **dict(spec.normalize))
    except BaseException:
        inner.close()  # the monitor files it opened
        raise
    if spec.normalize is not None:
        if normalize_stats is not None and normalize_stats.is_file():
            env = VecNormalize.load(str(normalize_stats), env)
        if for_eval:
            env.training = False
            env.norm_reward = False
    obs_space = env.observation_space
    if is_image_space(obs_space) and not is_image_space_channels_first(obs_space):
        env = VecTransposeImage(env)
    return env
