"""The JAX backend (``--backend sbx``): SBX's algorithms, fitted to realzoo's run folder.

`SBX <https://github.com/araffin/sbx>`_ (``sbx-rl``, the ``sbx`` extra) reimplements
Stable-Baselines3 algorithms in JAX with SB3's interface (``learn``, ``predict``,
``save``/``load``, callbacks, replay buffers, VecNormalize), so training, checkpoints,
evaluation and resume use the same code as the torch algorithms. Three things differ:

- Weights. An SBX model file keeps the flax train states only inside its pickled
  ``data``. The classes here also write them as plain tensors (``jax_params.pth``), and
  read them back in :meth:`set_parameters`, so that ``enjoy`` rebuilds the model from
  ``config.yml`` and loads weights without unpickling anything (as for torch runs).
- Hyperparameters. The same ``hyperparams/<algo>.yml`` entries work: torch activation
  names (``nn.ReLU``) become flax functions, ``th.optim.Adam``/``AdamW`` become optax's;
  torch-only settings (feature extractors, other optimizers, optimizer kwargs) are
  refused with a message naming the key and the backend.
- Threads. XLA's CPU thread pool is not torch's: ``--num-threads 1`` also asks XLA for
  one thread (``XLA_FLAGS``), set before JAX starts its CPU backend.

This module imports sbx (and so JAX) when it is imported; the registry imports it only
for ``--backend sbx`` runs, after checking that the extra is installed.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import sbx
from stable_baselines3.common.save_util import load_from_zip_file

from rlzoo_real.errors import UserError

__all__ = [
    "DDPG",
    "DQN",
    "PPO",
    "SAC",
    "TD3",
    "TQC",
    "CrossQ",
    "adapt_model_kwargs",
    "configure_threads",
    "jax_state_tensors",
    "restore_jax_states",
]

#: the name of the weights entry in an SBX model file written by realzoo (``jax_params.pth``)
PARAMS_NAME = "jax_params"

_ACTIVATIONS = {
    "ReLU": "relu",
    "Tanh": "tanh",
    "ELU": "elu",
    "LeakyReLU": "leaky_relu",
    "GELU": "gelu",
    "SiLU": "silu",
    "Sigmoid": "sigmoid",
    "Softplus": "softplus",
    "SELU": "selu",
    "CELU": "celu",
    "Hardswish": "hard_swish",
}
_OPTIMIZERS = {"Adam": "adam", "AdamW": "adamw", "SGD": "sgd", "RMSprop": "rmsprop"}
#: policy_kwargs that only mean something to torch policies
_TORCH_ONLY = frozenset(
    {"features_extractor_class", "features_extractor_kwargs", "optimizer_kwargs"}
)


def _jax_states(model: Any) -> dict[str, Any]:
    """The flax train states of ``model`` and its policy, by attribute path."""
    from flax.training.train_state import TrainState

    found: dict[str, Any] = {}
    for prefix, owner in (("", model), ("policy.", getattr(model, "policy", None))):
        if owner is None:
            continue
        for name, value in sorted(vars(owner).items()):
            if isinstance(value, TrainState):
                found[prefix + name] = value
    return found


def _flat(state: Any) -> dict[str, Any]:
    from flax.serialization import to_state_dict
    from flax.traverse_util import flatten_dict

    return flatten_dict(to_state_dict(state), keep_empty_nodes=True, sep="/")


def jax_state_tensors(model: Any) -> dict[str, Any]:
    """Every array of the model's train states as a torch tensor, keyed ``state/path``."""
    import numpy as np
    import torch
    from flax.traverse_util import empty_node

    tensors: dict[str, Any] = {}
    for name, state in _jax_states(model).items():
        for key, value in _flat(state).items():
            if value is empty_node:
                continue
            tensors[f"{name}/{key}"] = torch.as_tensor(np.array(value))
    return tensors


def restore_jax_states(model: Any, tensors: Mapping[str, Any], *, exact_match: bool) -> None:
    """Put tensors from :func:`jax_state_tensors` back into ``model``'s train states.

    Raises:
        ValueError: missing or unexpected entries (with ``exact_match``), or a shape that
            does not fit the model.
    """
    import jax.numpy as jnp
    from flax.serialization import from_state_dict
    from flax.traverse_util import empty_node, unflatten_dict

    states = _jax_states(model)
    used: set[str] = set()
    for name, state in states.items():
        flat = _flat(state)
        for key, value in flat.items():
            full = f"{name}/{key}"
            if value is empty_node:
                continue
            if full not in tensors:
                if exact_match:
                    raise ValueError(f"the file has no weights for {full}")
                continue
            saved = tensors[full].numpy()
            if tuple(saved.shape) != tuple(jnp.shape(value)):
                raise ValueError(
                    f"{full} has shape {tuple(saved.shape)} in the file, the model expects "
                    f"{tuple(jnp.shape(value))}"
                )
            flat[key] = jnp.asarray(saved, dtype=jnp.asarray(value).dtype)
            used.add(full)
        restored = from_state_dict(state, unflatten_dict(flat, sep="/"))
        owner, attr = (model.policy, name[7:]) if name.startswith("policy.") else (model, name)
        setattr(owner, attr, restored)
    extra = sorted(set(tensors) - used)
    if extra and exact_match:
        raise ValueError(f"the file has weights the model does not have: {', '.join(extra[:3])}")


class _RealzooWeights:
    """Mixin: model files also hold the JAX weights as tensors, loaded back without pickle;
    a loaded model keeps its saved JAX random key (SBX draws a new one from the seed), and
    its ``actor``/``qf`` are its policy's own again."""

    def _setup_model(self) -> None:
        # When loading, the saved attributes (policy, key) are there before _setup_model.
        loading = getattr(self, "policy", None) is not None
        key = self.__dict__.get("key")
        super()._setup_model()  # type: ignore[misc]
        if loading and key is not None:
            self.key = key  # the key at the checkpoint: resume continues the same random stream
        if loading:
            # The model file pickles ``actor`` apart from ``policy``: loaded, it is a copy
            # whose ``reset_noise`` splits the keys of another policy copy, so a loaded gSDE
            # model would never draw new noise. Point them back at the policy's modules.
            policy = self.__dict__["policy"]
            for name in ("actor", "qf"):
                if name in self.__dict__ and hasattr(policy, name):
                    setattr(self, name, getattr(policy, name))

    def get_parameters(self) -> dict[str, dict[str, Any]]:
        """The weights to write into the model zip (``jax_params.pth``)."""
        return {PARAMS_NAME: jax_state_tensors(self)}

    def set_parameters(
        self, load_path_or_dict: Any, exact_match: bool = True, device: Any = "auto"
    ) -> None:
        """Load weights written by :meth:`get_parameters` (a model zip, or its params dict)."""
        if isinstance(load_path_or_dict, dict):
            params = load_path_or_dict
        else:
            _, params, _ = load_from_zip_file(load_path_or_dict, device="cpu", load_data=False)
        tensors = params.get(PARAMS_NAME)
        if tensors is None:
            if exact_match:
                raise ValueError(
                    "the model file holds no JAX weights (jax_params.pth); it was not written "
                    "by realzoo's sbx backend"
                )
            return
        restore_jax_states(self, tensors, exact_match=exact_match)


class SAC(_RealzooWeights, sbx.SAC):
    """SBX's SAC (also DroQ: ``policy_kwargs: dict(dropout_rate=0.01, layer_norm=True)``)."""


class TQC(_RealzooWeights, sbx.TQC):
    """SBX's TQC."""


class CrossQ(_RealzooWeights, sbx.CrossQ):
    """SBX's CrossQ."""


class TD3(_RealzooWeights, sbx.TD3):
    """SBX's TD3."""


class DDPG(_RealzooWeights, sbx.DDPG):
    """SBX's DDPG."""


class PPO(_RealzooWeights, sbx.PPO):
    """SBX's PPO."""


class DQN(_RealzooWeights, sbx.DQN):
    """SBX's DQN."""


def adapt_model_kwargs(kwargs: dict[str, Any], *, algo: str, where: str) -> dict[str, Any]:
    """Translate a torch-flavoured entry's keyword arguments for SBX, or refuse them.

    Args:
        kwargs: the algorithm's keyword arguments (known names not yet materialized).
        algo: the algorithm's name, for messages.
        where: the entry's source, for messages.

    Raises:
        UserError: a setting that has no JAX counterpart (the message names the key).
    """
    from rlzoo_real.config.literals import KnownName

    def refuse(key: str, value: Any, why: str) -> UserError:
        return UserError(
            f"{where}: {key}={value} cannot be used with --backend sbx ({algo} on JAX): {why}. "
            "Drop it with your own entry (--conf-file) or train with --backend sb3."
        )

    out = dict(kwargs)
    policy_kwargs = dict(out.get("policy_kwargs") or {})
    for key, value in list(policy_kwargs.items()):
        shown = f"policy_kwargs.{key}"
        if key in _TORCH_ONLY:
            raise refuse(shown, value, "it configures torch modules, which SBX does not use")
        if key == "activation_fn":
            name = value.name.rsplit(".", 1)[-1] if isinstance(value, KnownName) else None
            if name not in _ACTIVATIONS:
                raise refuse(shown, value, f"known activations: nn.{', nn.'.join(_ACTIVATIONS)}")
            policy_kwargs[key] = _flax_function(_ACTIVATIONS[name])
        if key == "optimizer_class":
            name = value.name.rsplit(".", 1)[-1] if isinstance(value, KnownName) else None
            if name not in _OPTIMIZERS:
                raise refuse(
                    shown, value, f"known optimizers: th.optim.{', th.optim.'.join(_OPTIMIZERS)}"
                )
            policy_kwargs[key] = _optax_function(_OPTIMIZERS[name])
    if "policy_kwargs" in out:
        out["policy_kwargs"] = policy_kwargs
    for key, value in out.items():
        if isinstance(value, KnownName) and key != "replay_buffer_class":
            raise refuse(key, value, "it names a torch class")
    return out


def _flax_function(name: str) -> Any:
    import flax.linen

    return getattr(flax.linen, name)


def _optax_function(name: str) -> Any:
    import optax

    return getattr(optax, name)


def configure_threads(num_threads: int) -> None:
    """Ask XLA's CPU backend for ``num_threads`` threads (<= 0: XLA's default).

    Takes effect only before JAX creates its CPU backend (the first computation), which
    realzoo's train does not reach before this is called.
    """
    if num_threads <= 0:
        return
    flags = os.environ.get("XLA_FLAGS", "")
    if "intra_op_parallelism_threads" in flags or "xla_cpu_multi_thread_eigen" in flags:
        return  # the user's own setting wins
    extra = f"--xla_cpu_multi_thread_eigen={'true' if num_threads > 1 else 'false'}"
    extra += f" intra_op_parallelism_threads={num_threads}"
    os.environ["XLA_FLAGS"] = f"{flags} {extra}".strip()
