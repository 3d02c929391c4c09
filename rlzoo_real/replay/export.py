"""Exporting a trained policy for deployment: ``realzoo export RUN --format onnx``.

The ONNX file is self-contained: it takes observations as the env returns them (after
frame stacking, which is stateful and stays with the caller) and gives actions ready
for ``env.step``. Inside the graph, in order:

1. observation normalization with the run's frozen ``VecNormalize`` statistics
   (``clip((obs - mean) / sqrt(var + eps), -clip_obs, clip_obs)``), when the run
   normalizes;
2. the HWC -> CHW transpose of image observations, when training applied one;
3. the policy's deterministic action (mean, mode, ``tanh`` of the mean for SAC/TQC,
   ``argmax`` of Q-values for DQN);
4. action post-processing exactly as ``model.predict`` does it: squashed actions in
   [-1, 1] (SAC, TQC, TD3, DDPG, gSDE with squashing) rescaled to the bounds, other Box
   actions clipped to the bounds.

Before the file is put in place it is checked against ``model.predict`` (the full SB3
path, normalization included) on a batch of real observations from the env; the
export is refused when the largest difference exceeds :data:`MAX_DIFF`.
"""

from __future__ import annotations

import dataclasses
import os
import warnings
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from rlzoo_real.errors import UserError
from rlzoo_real.replay.loading import LoadedRun, RunRequest

__all__ = ["FORMATS", "MAX_DIFF", "ExportResult", "export", "export_onnx", "onnx_policy"]

#: Formats ``realzoo export --format`` writes.
FORMATS = ("onnx",)
#: The largest difference from the torch policy an export may have.
MAX_DIFF = 1e-4
_OPSET = 17


@dataclass(frozen=True)
class ExportResult:
    """A written export and how it was checked.

    Attributes:
        path: the ``.onnx`` file.
        algo, env_id: what the policy is.
        model_label: which model of the run (``final model``, ``best model``, ...).
        input_shape, input_dtype: the ``obs`` input (batch dimension first, ``None``).
        output_shape, output_dtype: the ``action`` output.
        action_bounds: ``(low, high)`` lists for Box actions, else None.
        normalized: whether observation normalization is inside the graph.
        frame_stack: frames the caller must stack, or None.
        n_checked: observations the parity check used.
        max_diff: largest absolute difference from ``model.predict`` on them.
        env_wrappers: the run's ``env_wrapper`` list (innermost first), each with its
            arguments and where it lives when deployed (see :func:`wrapper_deployment`).
    """

    path: Path
    algo: str
    env_id: str
    model_label: str
    input_shape: tuple[int | None, ...]
    input_dtype: str
    output_shape: tuple[int | None, ...]
    output_dtype: str
    action_bounds: tuple[list[float], list[float]] | None
    normalized: bool
    frame_stack: int | None
    n_checked: int
    max_diff: float
    env_wrappers: tuple[dict[str, Any], ...] = ()


def _require_export_extra() -> None:
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError:
        raise UserError(
            "Exporting to ONNX needs the export extra: pip install 'rlzoo-real[export]' "
            "(onnx and onnxruntime)."
        ) from None


def export(
    request: RunRequest,
    *,
    fmt: str = "onnx",
    output: str | None = None,
    n_check: int = 256,
    seed: int = 0,
    max_diff: float = MAX_DIFF,
) -> ExportResult:
    """Load the run and model of ``request`` and export its policy.

    Args:
        request: which run and model (loaded on the CPU).
        fmt: the format, one of :data:`FORMATS`.
        output: the file to write (default: the model's path with ``.onnx``).
        n_check: real observations for the parity check.
        seed: seed of the env that produces them.
        max_diff: refuse the export above this difference from ``model.predict``.

    Raises:
        UserError: a bad request, an unsupported policy, or a failed parity check.
    """
    from rlzoo_real.replay.loading import open_run

    if fmt.lower() not in FORMATS:
        raise UserError(f"--format {fmt!r} is not supported; formats: {', '.join(FORMATS)}.")
    if n_check < 1:
        raise UserError(f"--n-check must be at least 1, got {n_check}.")
    _require_export_extra()
    from rlzoo_real.runs.trust import opening

    with opening(request.allow_import):  # the run's names resolved as open_run allowed them
        loaded = open_run(dataclasses.replace(request, device="cpu"), n_envs=1, seed=seed)
        try:
            path = Path(output) if output else loaded.choice.path.with_suffix(".onnx")
            return export_onnx(loaded, path=path, n_check=n_check, max_diff=max_diff)
        finally:
            loaded.close()


@cache
def _policy_module_class() -> type:
    import torch

    class OnnxPolicy(torch.nn.Module):
        """Normalization, the deterministic policy and action post-processing in one module."""

        obs_mean: torch.Tensor
        obs_scale: torch.Tensor
        clip_obs: torch.Tensor
        low: torch.Tensor
        high: torch.Tensor

        def __init__(self, policy: Any, constants: dict[str, Any]) -> None:
            super().__init__()
            self.policy = policy
            self.normalize = "obs_mean" in constants
            self.transpose = bool(constants.get("transpose"))
            self.squash = bool(constants.get("squash"))
            self.box = "low" in constants
            self.action_shape = tuple(constants.get("action_shape", ()))
            for name in ("obs_mean", "obs_scale", "clip_obs", "low", "high"):
                if name in constants:
                    self.register_buffer(name, torch.as_tensor(constants[name]))

        def forward(self, obs: Any) -> Any:
            x = obs
            if self.normalize:
                x = (x.to(torch.float32) - self.obs_mean) * self.obs_scale
                x = torch.maximum(torch.minimum(x, self.clip_obs), -self.clip_obs)
            if self.transpose:
                x = x.permute(0, 3, 1, 2)
            actions = self.policy._predict(x, deterministic=True)
            if not self.box:
                return actions
            actions = actions.reshape(-1, *self.action_shape)
            if self.squash:
                return self.low + 0.5 * (actions + 1.0) * (self.high - self.low)
            return torch.maximum(torch.minimum(actions, self.high), self.low)

    return OnnxPolicy


def onnx_policy(loaded: LoadedRun) -> tuple[Any, Any]:
    """The torch module that the ONNX file holds, and the dtype of its input.

    Raises:
        UserError: observation or policy kinds the export does not handle.
    """
    import numpy as np
    from gymnasium import spaces
    from stable_baselines3.common.preprocessing import is_image_space
    from stable_baselines3.common.vec_env import VecNormalize, VecTransposeImage

    model, env = loaded.model, loaded.env
    if getattr(loaded.spec, "backend", "sb3") == "sbx":
        raise UserError(
            f"{loaded.algo} was trained with --backend sbx: its policy is a JAX (flax) network, "
            "and realzoo exports torch policies only. Replay it with realzoo enjoy, or train "
            "with --backend sb3 to export to ONNX."
        )
    if hasattr(model.policy, "lstm_actor"):
        raise UserError(
            f"{loaded.algo} has a recurrent policy: its hidden state is not part of a "
            "one-observation ONNX graph, so realzoo does not export it."
        )
    if getattr(model.policy, "time_driven", False):
        raise UserError(
            f"{loaded.algo} is driven by time: its actions follow oscillator phases that run "
            "from the start of each episode, which a one-observation ONNX graph cannot hold, "
            "so realzoo does not export it. Its few parameters are in the model file "
            "(replay it with realzoo enjoy)."
        )
    obs_space = model.observation_space
    if not isinstance(obs_space, spaces.Box):
        raise UserError(
            f"Export handles Box observations; {loaded.env_id} gives {type(obs_space).__name__}."
        )
    transpose = isinstance(env, VecTransposeImage)
    inner = env.venv if transpose else env
    constants: dict[str, Any] = {"transpose": transpose}
    if isinstance(inner, VecNormalize) and inner.norm_obs:
        rms: Any = inner.obs_rms
        constants["obs_mean"] = np.asarray(rms.mean, dtype=np.float32)
        constants["obs_scale"] = (1.0 / np.sqrt(rms.var + inner.epsilon)).astype(np.float32)
        constants["clip_obs"] = np.float32(inner.clip_obs)
    action_space = model.action_space
    if isinstance(action_space, spaces.Box):
        constants["low"] = np.asarray(action_space.low, dtype=np.float32)
        constants["high"] = np.asarray(action_space.high, dtype=np.float32)
        constants["squash"] = bool(model.policy.squash_output)
        constants["action_shape"] = action_space.shape
    model.policy.set_training_mode(False)
    module = _policy_module_class()(model.policy, constants).eval()
    image = is_image_space(inner.observation_space) and "obs_mean" not in constants
    return module, np.uint8 if image else np.float32


def _real_observations(loaded: LoadedRun, n: int) -> tuple[Any, Any]:
    """``n`` raw observations (what the ONNX input takes) from the env acted on by the
    policy, and ``model.predict``'s deterministic actions for them (the reference)."""
    import numpy as np
    from stable_baselines3.common.vec_env import VecNormalize, VecTransposeImage

    env, model = loaded.env, loaded.model
    transpose = isinstance(env, VecTransposeImage)
    inner = env.venv if transpose else env
    norm = inner if isinstance(inner, VecNormalize) else None
    raws: list[Any] = []
    actions: list[Any] = []
    obs = env.reset()
    while sum(map(len, raws)) < n:
        if norm is not None:
            raw = norm.get_original_obs()
        else:
            raw = np.transpose(obs, (0, 2, 3, 1)) if transpose else obs
        action, _ = model.predict(obs, deterministic=True)
        raws.append(np.array(raw))
        actions.append(np.array(action))
        obs, _, _, _ = env.step(action)
    return np.concatenate(raws)[:n], np.concatenate(actions)[:n]


def export_onnx(
    loaded: LoadedRun,
    *,
    path: Path,
    n_check: int = 256,
    max_diff: float = MAX_DIFF,
) -> ExportResult:
    """Write the ONNX policy of ``loaded`` to ``path``, after checking it on real observations.

    The file is written next to ``path`` under a temporary name and renamed into place
    only when the check passes.

    Raises:
        UserError: an unsupported policy, or a difference above ``max_diff``.
    """
    import numpy as np
    import torch

    _require_export_extra()
    module, input_dtype = onnx_policy(loaded)
    raw, reference = _real_observations(loaded, n_check)
    raw = raw.astype(input_dtype)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with torch.no_grad(), warnings.catch_warnings():
            # The TorchScript exporter (dynamo=False, see shared/TRAPS.md) warns that it is
            # legacy, and the tracer that distribution checks become constants: both expected.
            warnings.simplefilter("ignore", category=torch.jit.TracerWarning)
            warnings.simplefilter("ignore", category=DeprecationWarning)
            torch.onnx.export(
                module,
                (torch.as_tensor(raw[:2]),),
                str(tmp),
                dynamo=False,
                opset_version=_OPSET,
                input_names=["obs"],
                output_names=["action"],
                dynamic_axes={"obs": {0: "batch"}, "action": {0: "batch"}},
            )
        outputs = _run_onnx(tmp, raw)
        single = _run_onnx(tmp, raw[:1])
        diff = _max_diff(outputs, reference)
        diff = max(diff, _max_diff(single, reference[:1]))
        if not diff <= max_diff:
            raise UserError(
                f"The ONNX policy differs from the torch policy by up to {diff:.3g} on "
                f"{len(raw)} observations from {loaded.env_id} (the limit is {max_diff:g}); "
                "nothing was written. This is a bug in the export: please report it."
            )
        result = ExportResult(
            path=path,
            algo=loaded.algo,
            env_id=loaded.env_id,
            model_label=loaded.choice.label,
            input_shape=(None, *raw.shape[1:]),
            input_dtype=np.dtype(input_dtype).name,
            output_shape=(None, *np.asarray(outputs).shape[1:]),
            output_dtype=np.asarray(outputs).dtype.name,
            action_bounds=_bounds(loaded),
            normalized=bool(getattr(module, "normalize", False)),
            frame_stack=loaded.spec.frame_stack,
            n_checked=len(raw),
            max_diff=diff,
            env_wrappers=wrapper_deployment(loaded.spec),
        )
        _add_metadata(tmp, loaded, result)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return result


def wrapper_deployment(spec: Any) -> tuple[dict[str, Any], ...]:
    """Where each of the run's env wrappers lives once the policy is exported.

    The graph is stateless: it holds :class:`~rlzoo_real.envs.wrappers.ClipAction` (its box is
    the policy's action space, so the graph's actions stay within it), nothing else.
    Stateful action filters (``RateLimit``, ``LowPassFilter``) must run in the control
    loop on the graph's output (:mod:`rlzoo_real.envs.filters` has them in numpy), in reverse
    list order; observation wrappers (``HistoryWrapper``, the time feature) must build
    the graph's input, in list order. Each entry: ``wrapper`` (as in config.yml),
    ``class`` (dotted path), ``kwargs`` and ``where`` (``graph``, ``actions``,
    ``observations`` or ``unknown``).
    """
    from sb3_contrib.common.wrappers import TimeFeatureWrapper

    from rlzoo_real.envs.make import resolve_class
    from rlzoo_real.envs.wrappers import ClipAction, HistoryWrapper, LowPassFilter, RateLimit

    entries = []
    for ref in spec.env_wrappers:
        cls = resolve_class(ref.path, kind="env_wrapper")
        if not isinstance(cls, type):  # a factory function named as a wrapper
            where = "unknown"
        elif issubclass(cls, ClipAction):
            where = "graph"
        elif issubclass(cls, RateLimit | LowPassFilter):
            where = "actions"
        elif issubclass(cls, HistoryWrapper | TimeFeatureWrapper):
            where = "observations"
        else:
            where = "unknown"
        entries.append(
            {
                "wrapper": ref.path,
                "class": f"{cls.__module__}.{cls.__qualname__}",
                "kwargs": dict(ref.kwargs),
                "where": where,
            }
        )
    return tuple(entries)


def _run_onnx(path: Path, obs: Any) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return session.run(None, {"obs": obs})[0]


def _max_diff(actual: Any, expected: Any) -> float:
    import numpy as np

    actual = np.asarray(actual, dtype=np.float64).reshape(len(expected), -1)
    expected = np.asarray(expected, dtype=np.float64).reshape(len(expected), -1)
    if actual.shape != expected.shape:
        return float("inf")
    return float(np.max(np.abs(actual - expected))) if actual.size else 0.0


def _bounds(loaded: LoadedRun) -> tuple[list[float], list[float]] | None:
    from gymnasium import spaces

    space = loaded.model.action_space
    if isinstance(space, spaces.Box):
        return space.low.ravel().tolist(), space.high.ravel().tolist()
    return None


def _add_metadata(path: Path, loaded: LoadedRun, result: ExportResult) -> None:
    """Record in the file what it is and how to feed it (``session.get_modelmeta()``)."""
    import json

    import onnx

    from rlzoo_real import __version__

    def shape(dims: tuple[int | None, ...]) -> str:
        return "[" + ", ".join("batch" if d is None else str(d) for d in dims) + "]"

    inputs = (
        f"obs: {result.input_dtype}{shape(result.input_shape)}, observations as the env returns "
        "them"
        + (f", the last {result.frame_stack} stacked" if result.frame_stack else "")
        + ("; normalization is inside the graph" if result.normalized else "")
    )
    outputs = f"action: {result.output_dtype}{shape(result.output_shape)}" + (
        f", within [{result.action_bounds[0]}, {result.action_bounds[1]}]"
        if result.action_bounds
        else ", action index"
    )
    props = {
        "producer": f"realzoo {__version__}",
        "algo": result.algo,
        "env_id": result.env_id,
        "model": f"{loaded.choice.path.name} ({result.model_label})",
        "num_timesteps": str(loaded.info.num_timesteps),
        "input": inputs,
        "output": outputs,
        "action_space": repr(loaded.model.action_space),
        "frame_stack": str(result.frame_stack or 0),
        "observation_normalization": str(result.normalized).lower(),
        "parity_max_diff": f"{result.max_diff:.3g} on {result.n_checked} observations",
        "env_wrappers": json.dumps(list(result.env_wrappers)),
    }
    proto = onnx.load(str(path))
    proto.producer_name = "realzoo"
    proto.producer_version = __version__
    proto.doc_string = f"{result.algo} policy for {result.env_id}. {inputs}. {outputs}."
    onnx.helper.set_model_props(proto, props)
    onnx.save(proto, str(path))
