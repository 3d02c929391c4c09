"""Reading a run's files without running code from them.

A run folder holds three kinds of files that other tools read with pickle: the RL
Zoo's ``args.yml``/``config.yml`` (Python-object YAML tags, read by the Zoo with
``yaml.UnsafeLoader``), the model zip's ``data`` entry (cloudpickle) and
``vecnormalize.pkl`` (pickle). Each reader here constructs plain data only:

- :func:`read_run_yaml` (in :mod:`rlzoo_real.runs.yaml_io`, re-exported here): a SafeLoader
  that builds the Zoo's ``OrderedDict``, tuples and known class names (``nn.ReLU``) as plain
  values and refuses any other Python tag;
- :func:`inspect_model_file`: the zip's ``data`` entry read as JSON text, nothing
  deserialized (the weights themselves are read by ``model.set_parameters``, which uses
  ``torch.load(weights_only=True)``);
- :func:`read_normalization`: a restricted unpickler that knows numpy arrays, puts plain
  stand-ins in place of the few classes such a file names, and refuses every other global.
"""

from __future__ import annotations

import json
import pickle
import re
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rlzoo_real.errors import UserError
from rlzoo_real.runs.yaml_io import known_name_for, read_run_yaml

__all__ = [
    "UNSAFE_FLAG",
    "apply_normalization",
    "ModelFileInfo",
    "NormalizationStats",
    "inspect_model_file",
    "known_name_for",
    "read_normalization",
    "read_replay_buffer",
    "read_run_yaml",
]

#: The largest ``data`` entry and the largest unpacked model zip realzoo opens (a zip bomb
#: is refused before it is unpacked).
MAX_DATA_BYTES = 64 * 2**20
MAX_MODEL_BYTES = 4 * 2**30
#: The command-line flag that turns plain pickle loading on.
UNSAFE_FLAG = "--unsafe-pickle-load"
_READ_ERRORS = (
    OSError,
    EOFError,
    pickle.UnpicklingError,
    AttributeError,
    ValueError,
    TypeError,
    IndexError,
    KeyError,
    ImportError,
)


class _UnsafeTag(Exception):
    """A global an unpickler here refuses (its module and name)."""


# -- the model file ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelFileInfo:
    """What a Stable-Baselines3 zip says about itself, read as JSON text (nothing unpickled).

    Attributes:
        policy_module: module of the saved policy class, e.g. ``stable_baselines3.sac.policies``.
        num_timesteps: steps the model was trained for.
        observation_shape: shape of the observation space it was trained on.
        action_space: class name of its action space (``Box``, ``Discrete``, ...).
    """

    policy_module: str | None
    num_timesteps: int | None
    observation_shape: tuple[int, ...] | None
    action_space: str | None


def inspect_model_file(path: Path) -> ModelFileInfo:
    """Check that ``path`` is a Stable-Baselines3 model and read its description.

    Raises:
        UserError: not a zip, or a zip without the parts of an SB3 model.
    """
    bad = (
        f"{str(path)!r} is not a Stable-Baselines3 model (a corrupt or truncated zip, or "
        "another kind of file)"
    )
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            weights = {"policy.pth", "jax_params.pth"}  # torch, or realzoo's sbx backend
            if not names & weights or "data" not in names:
                raise UserError(f"{bad}: it lacks policy.pth (or jax_params.pth) or data.")
            sizes = {i.filename: i.file_size for i in archive.infolist()}
            if sizes["data"] > MAX_DATA_BYTES or sum(sizes.values()) > MAX_MODEL_BYTES:
                raise UserError(
                    f"{bad}: its entries unpack to {sum(sizes.values())} bytes (data: "
                    f"{sizes['data']}), more than a model holds (data up to {MAX_DATA_BYTES}, "
                    f"all up to {MAX_MODEL_BYTES}); realzoo does not unpack it."
                )
            data = json.loads(archive.read("data"))
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, KeyError) as exc:
        raise UserError(f"{bad}: {exc}.") from None
    if not isinstance(data, dict):
        raise UserError(f"{bad}: its data entry is not a mapping.")

    def entry(key: str) -> dict[str, Any]:
        value = data.get(key)
        return value if isinstance(value, dict) else {}

    shape = entry("observation_space").get("_shape")
    space_type = str(entry("action_space").get(":type:", ""))
    match = re.search(r"\.(\w+)'>", space_type)
    steps = data.get("num_timesteps")
    return ModelFileInfo(
        policy_module=entry("policy_class").get("__module__"),
        num_timesteps=int(steps) if isinstance(steps, int) else None,
        observation_shape=tuple(int(s) for s in shape) if isinstance(shape, list) else None,
        action_space=match.group(1) if match else None,
    )


# -- normalization statistics ----------------------------------------------------------------


class _State:
    """Stand-in for a pickled object whose state is only read (VecNormalize, spaces, RNGs)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.state: dict[str, Any] = {}

    def __setstate__(self, state: Any) -> None:
        if isinstance(state, tuple) and len(state) == 2 and isinstance(state[1], dict):
            state = {**(state[0] or {}), **state[1]}  # (dict, slots) form
        self.state = state if isinstance(state, dict) else {"value": state}


_NUMPY_GLOBALS = {
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "scalar"),
    ("collections", "OrderedDict"),
    ("_codecs", "encode"),
}
#: Packages whose classes a vecnormalize.pkl names; they are read as plain :class:`_State`.
_STANDIN_PACKAGES = (
    "stable_baselines3.common.vec_env.vec_normalize",
    "stable_baselines3.common.running_mean_std",
    "gymnasium.spaces",
    "numpy.random",
)


class _StatsUnpickler(pickle.Unpickler):
    """Knows numpy arrays; a VecNormalize's own classes become :class:`_State`; refuses others."""

    standins: tuple[str, ...] = _STANDIN_PACKAGES

    def find_class(self, module: str, name: str) -> Any:
        if module.startswith("numpy.core."):  # numpy 1.x names; numpy 2 warns on them
            module = "numpy._core." + module.removeprefix("numpy.core.")
        if (module, name) in _NUMPY_GLOBALS:
            return super().find_class(module, name)
        if any(module == p or module.startswith(p + ".") for p in self.standins):
            return _State
        raise _UnsafeTag(f"{module}.{name}")


class _BufferUnpickler(_StatsUnpickler):
    """A replay buffer's arrays; its own class, its spaces and its torch device as stand-ins."""

    standins = (*_STANDIN_PACKAGES, "stable_baselines3.common.buffers", "stable_baselines3.her")

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == ("torch", "device"):
            return _State
        if (module.replace("numpy.core.", "numpy._core."), name) == (
            "numpy._core.numeric",
            "_frombuffer",  # numpy's own reader of large arrays (protocol 5 buffers)
        ):
            return pickle.Unpickler.find_class(self, "numpy._core.numeric", name)
        return super().find_class(module, name)


#: The parts of a replay buffer copied into a fresh one (arrays, position, fullness).
BUFFER_FIELDS = ("observations", "next_observations", "actions", "rewards", "dones", "timeouts")
#: The episode bookkeeping a ``HerReplayBuffer`` keeps beside its arrays.
HER_FIELDS = ("ep_start", "ep_length", "_current_ep_start")


def read_replay_buffer(path: Path) -> dict[str, Any]:
    """Read the arrays of a replay buffer saved by ``save_replay_buffer``, unpickling no object.

    Returns ``{"observations": ..., ..., "pos": int, "full": bool}`` to copy into a
    buffer built by the model itself.

    Raises:
        UserError: unreadable file, or one that names a class a replay buffer does not hold.
    """
    try:
        with path.open("rb") as handle:
            obj = _BufferUnpickler(handle).load()
    except _UnsafeTag as exc:
        raise UserError(
            f"{str(path)!r} names {exc}, which is not part of a replay buffer; realzoo does not "
            "unpickle it."
        ) from None
    except _READ_ERRORS as exc:
        raise UserError(f"Cannot read the replay buffer {str(path)!r}: {exc!r}.") from None
    state = obj.state if isinstance(obj, _State) else {}
    if "observations" not in state or "pos" not in state:
        raise UserError(f"{str(path)!r} is not a replay buffer saved by Stable-Baselines3.")
    out = {k: state[k] for k in (*BUFFER_FIELDS, *HER_FIELDS) if k in state}
    out["pos"], out["full"] = int(state["pos"]), bool(state.get("full", False))
    return out


@dataclass(frozen=True)
class NormalizationStats:
    """Observation and return statistics of a ``VecNormalize`` (``vecnormalize.pkl``)."""

    obs_rms: Any  # {"mean", "var", "count"} or a dict of those by observation key
    ret_rms: Mapping[str, Any] | None
    settings: Mapping[str, Any] = field(default_factory=dict)


def read_normalization(path: Path, *, unsafe: bool = False) -> NormalizationStats:
    """Read normalization statistics saved by ``VecNormalize.save`` (realzoo or RL Zoo).

    Args:
        path: the ``.pkl`` file.
        unsafe: use plain ``pickle`` (runs code from the file) instead of the restricted reader.

    Raises:
        UserError: unreadable or corrupt file, or one that names classes it should not.
    """
    try:
        with path.open("rb") as handle:
            if unsafe:
                obj: Any = pickle.load(handle)  # noqa: S301 - the user asked for it
            else:
                obj = _StatsUnpickler(handle).load()
    except _UnsafeTag as exc:
        raise UserError(
            f"{str(path)!r} names {exc}, which is not part of normalization statistics; realzoo "
            f"does not unpickle it. If you trust the file, pass {UNSAFE_FLAG}."
        ) from None
    except _READ_ERRORS as exc:
        raise UserError(f"Cannot read normalization statistics {str(path)!r}: {exc!r}.") from None
    state = obj.state if isinstance(obj, _State) else getattr(obj, "__dict__", {})
    if "obs_rms" not in state:
        raise UserError(
            f"{str(path)!r} is not normalization statistics saved by VecNormalize (no obs_rms)."
        )

    def rms(value: Any) -> Any:
        if isinstance(value, dict):
            return {key: rms(v) for key, v in value.items()}
        fields = value.state if isinstance(value, _State) else vars(value)
        return {k: fields[k] for k in ("mean", "var", "count")}

    keys = ("norm_obs", "norm_obs_keys", "clip_obs", "clip_reward", "gamma", "epsilon")
    ret = state.get("ret_rms")
    try:
        return NormalizationStats(
            obs_rms=rms(state["obs_rms"]),
            ret_rms=rms(ret) if ret is not None else None,
            settings={k: state[k] for k in keys if k in state},
        )
    except (KeyError, TypeError, AttributeError) as exc:
        raise UserError(
            f"{str(path)!r} is not normalization statistics saved by VecNormalize ({exc!r})."
        ) from None


def apply_normalization(env: Any, stats: NormalizationStats, path: Path) -> None:
    """Put saved statistics into the VecNormalize of ``env`` and freeze it.

    Raises:
        UserError: statistics of another observation shape.
    """
    import numpy as np
    from stable_baselines3.common.vec_env import VecNormalize

    venv = env
    while not isinstance(venv, VecNormalize):
        venv = getattr(venv, "venv", None)
        if venv is None:
            return

    def fill(target: Any, source: Any) -> None:
        if isinstance(source, dict) and "mean" not in source:
            for key, value in source.items():
                if key in target:
                    fill(target[key], value)
            return
        mean = np.asarray(source["mean"], dtype=np.float64)
        if mean.shape != target.mean.shape:
            raise UserError(
                f"The normalization statistics {str(path)!r} are for observations of shape "
                f"{mean.shape}, but the env gives {target.mean.shape}."
            )
        target.mean = mean
        target.var = np.asarray(source["var"], dtype=np.float64)
        target.count = float(source["count"])

    fill(venv.obs_rms, stats.obs_rms)
    if stats.ret_rms is not None:
        fill(venv.ret_rms, stats.ret_rms)
    for key, value in stats.settings.items():
        setattr(venv, key, value)
    venv.training = False
    venv.norm_reward = False


WEIGHT_ERRORS = (
    ValueError,
    RuntimeError,
    KeyError,
    OSError,
    EOFError,
    zipfile.BadZipFile,
    pickle.UnpicklingError,
)


def inside_run(path: Path, run_path: Path) -> None:
    """Refuse a run's file that is (or links to) a file outside the run folder.

    A run folder from someone else could hold ``vecnormalize.pkl -> ~/.ssh/...`` or a
    model linked to another run's; realzoo reads a run's files from inside it only.

    Raises:
        UserError: naming the file and where it leads.
    """
    if not path.exists() and not path.is_symlink():
        return
    root = run_path.resolve()
    target = path.resolve()
    if target != root and root not in target.parents:
        raise UserError(
            f"{str(path)!r} leads to {str(target)!r}, outside the run folder {str(run_path)!r} "
            "(a symbolic link or a path with '..'). realzoo reads a run's files only from "
            "inside its folder; copy the file in if you mean to use it."
        )
