"""Starting training from a trained model (``--trained-agent``, the RL Zoo's ``-i``), safely.

The new model is built from the run's own config; only the saved model's weights, step
count and (off-policy) replay buffer are read into it, by the safe readers of
:mod:`rlzoo_real.runs.safe_files`: nothing of the given files is unpickled.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from typing import Any

from rlzoo_real.errors import UserError
from rlzoo_real.runs.safe_files import (
    WEIGHT_ERRORS,
    inside_run,
    inspect_model_file,
    read_normalization,
)

__all__ = ["check_warm_start_files", "saved_policy_kwargs", "spaces_only_env", "warm_start"]


def check_warm_start_files(path: Path, *, off_policy: bool) -> None:
    """Read what ``train -i`` will take from another run, before any run folder exists.

    The model's description, its normalization statistics and (off-policy) replay
    buffer, each by the readers that unpickle no object.

    Raises:
        UserError: a file that is not what it should be, or one that leads out of its run.
    """
    from rlzoo_real.runs.folder import params_dirs
    from rlzoo_real.runs.safe_files import read_replay_buffer

    inspect_model_file(path)
    for params in params_dirs(path.parent):
        stats = params / "vecnormalize.pkl"
        if stats.is_file() or stats.is_symlink():
            inside_run(stats, path.parent)
            read_normalization(stats)
    buffer_file = path.parent / "replay_buffer.pkl"
    if off_policy and (buffer_file.is_file() or buffer_file.is_symlink()):
        inside_run(buffer_file, path.parent)
        read_replay_buffer(buffer_file)


def saved_policy_kwargs(path: Path) -> dict[str, Any]:
    """The ``policy_kwargs`` a model was trained with, read from its zip's ``data`` as JSON.

    As the RL Zoo's warm start does, ``train -i`` keeps the policy of the model it
    continues. SB3 stores ``policy_kwargs`` as a cloudpickle blob plus a readable copy
    of each value; only the readable copy is used: plain values as they are, classes
    (``"<class 'torch.nn.modules.activation.ReLU'>"``) as the names realzoo knows.

    Raises:
        UserError: a class realzoo does not know (the model needs ``--unsafe-pickle-load``
            elsewhere, or training from scratch).
    """
    import json

    from rlzoo_real.runs.safe_files import known_name_for

    inspect_model_file(path)  # sizes checked before reading
    with zipfile.ZipFile(path) as archive:
        data = json.loads(archive.read("data"))
    saved = data.get("policy_kwargs") if isinstance(data, dict) else None
    if not isinstance(saved, dict):
        return {}
    out: dict[str, Any] = {}
    for key, value in saved.items():
        if key.startswith(":"):
            continue
        match = re.fullmatch(r"<class '([\w.]+)'>", value) if isinstance(value, str) else None
        if match:
            name = known_name_for(match.group(1))
            if name is None:
                raise UserError(
                    f"-i {str(path)!r}: its policy_kwargs name {key}={match.group(1)}, a class "
                    "realzoo does not load from a model file. Train from scratch, or give a "
                    "model whose policy uses torch.nn / torch.optim classes."
                )
            from rlzoo_real.config.literals import KnownName

            value = KnownName(name)
        out[key] = value
    return out


def warm_start(
    model: Any,
    path: Path,
    *,
    off_policy: bool,
    device: str = "auto",
    truncate_last_trajectory: bool = True,
) -> None:
    """Continue from another run's model (``train -i``) without unpickling its files.

    The model is built from the user's hyperparameters; the other run gives its weights
    (``set_parameters``: the zip's weight files only, never its pickled ``data``), its
    step count (read as JSON) and, off-policy, its ``replay_buffer.pkl`` (arrays read by
    a restricted unpickler). Its ``vecnormalize.pkl`` is read the same way by the caller.
    With a HER buffer, ``truncate_last_trajectory`` ends its last, unfinished episode, as
    SB3's ``load_replay_buffer(truncate_last_traj=...)`` does.

    Raises:
        UserError: a file that is not what it should be, or weights of another shape.
    """
    import numpy as np

    from rlzoo_real.runs.safe_files import BUFFER_FIELDS, HER_FIELDS, read_replay_buffer

    info = inspect_model_file(path)
    try:
        model.set_parameters(str(path), exact_match=True, device=device)
    except WEIGHT_ERRORS as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
        raise UserError(
            f"-i {str(path)!r}: its weights do not fit the model these hyperparameters describe "
            f"({type(exc).__name__}: {first}). Warm start needs the same policy (net_arch, "
            "policy_kwargs) as the model was trained with."
        ) from None
    if info.num_timesteps is not None:
        model.num_timesteps = info.num_timesteps
    buffer_file = path.parent / "replay_buffer.pkl"
    if not off_policy or not buffer_file.is_file():
        return
    inside_run(buffer_file, path.parent)
    saved = read_replay_buffer(buffer_file)
    buffer = model.replay_buffer
    for key in (*BUFFER_FIELDS, *HER_FIELDS):
        if key not in saved or not hasattr(buffer, key):
            continue
        target, value = getattr(buffer, key), saved[key]
        pairs = (
            [(target[k], value.get(k)) for k in target]
            if isinstance(target, dict) and isinstance(value, dict)
            else [(target, value)]
        )
        for t, v in pairs:
            if t is None and v is None:
                continue
            if not isinstance(v, np.ndarray) or t is None or v.shape != t.shape:
                raise UserError(
                    f"-i: the replay buffer {str(buffer_file)!r} holds {key} of shape "
                    f"{getattr(v, 'shape', None)}, but this run's buffer needs "
                    f"{getattr(t, 'shape', None)} (give the same buffer_size, or remove the file)."
                )
            t[...] = v
    buffer.pos, buffer.full = saved["pos"], saved["full"]
    if truncate_last_trajectory and hasattr(buffer, "truncate_last_trajectory"):  # HER
        buffer.truncate_last_trajectory()


def spaces_only_env(n_envs: int, observation_space: Any, action_space: Any) -> Any:
    """A VecEnv with the right spaces and number of envs that cannot step (to build a model)."""
    from stable_baselines3.common.vec_env import VecEnv

    class SpacesOnlyVecEnv(VecEnv):
        def reset(self) -> Any:
            raise RuntimeError("a stand-in env cannot be reset")

        def step_async(self, actions: Any) -> None:
            raise RuntimeError("a stand-in env cannot step")

        def step_wait(self) -> Any:
            raise RuntimeError("a stand-in env cannot step")

        def close(self) -> None:
            return None

        def get_attr(self, attr_name: str, indices: Any = None) -> list[Any]:
            return [None] * self.num_envs

        def set_attr(self, attr_name: str, value: Any, indices: Any = None) -> None:
            return None

        def env_method(
            self, method_name: str, *args: Any, indices: Any = None, **kwargs: Any
        ) -> Any:
            return [None] * self.num_envs

        def env_is_wrapped(self, wrapper_class: Any, indices: Any = None) -> list[bool]:
            return [False] * self.num_envs

    return SpacesOnlyVecEnv(n_envs, observation_space, action_space)
