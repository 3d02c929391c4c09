"""gSDE noise in checkpoints, so that a resumed gSDE run continues exactly.

With generalized State-Dependent Exploration (``use_sde``) the exploration noise is
a matrix drawn from torch's random generator (``exploration_mat`` and
``exploration_matrices`` of the policy's ``StateDependentNoiseDistribution``). It is
not a parameter, so ``model.save`` does not keep it. Stable-Baselines3 draws a new
matrix at the start of every rollout, just *before* the callbacks' rollout start,
where realzoo writes its checkpoints: the saved random state is the one after that
draw. A resumed run would draw again from it and explore with another matrix than
the run left alone. So a checkpoint taken at a rollout start keeps the matrices, and
on resume the first draw is replaced by putting them back, consuming no random
numbers: from there on both runs draw the same numbers.

SBX (``--backend sbx``) keeps gSDE noise in JAX keys instead: ``reset_noise`` splits the
policy's ``key`` into a new ``key`` and ``noise_key``, and actions are sampled with
``noise_key``. The same holds there: the keys at a rollout start are the ones after the
draw, and loading a model splits them once more. So the checkpoint keeps both keys, and
on resume the first draw puts them back instead of splitting.
"""

from __future__ import annotations

from typing import Any

__all__ = ["capture_noise", "restore_noise"]


def _distributions(model: Any) -> list[Any]:
    """The model's gSDE distributions, in a fixed order (module traversal order)."""
    from stable_baselines3.common.distributions import StateDependentNoiseDistribution

    policy = getattr(model, "policy", None)
    if policy is None or not getattr(model, "use_sde", False):
        return []
    found: list[Any] = []
    for module in policy.modules():
        dist = getattr(module, "action_dist", None)
        if isinstance(dist, StateDependentNoiseDistribution) and all(d is not dist for d in found):
            found.append(dist)
    return found


def _jax_policy(model: Any) -> Any:
    """The model's SBX policy when it uses gSDE (its noise is in JAX keys), else None."""
    policy = getattr(model, "policy", None)
    if not getattr(model, "use_sde", False) or not hasattr(policy, "noise_key"):
        return None
    return policy


def capture_noise(model: Any) -> list[dict[str, Any]] | None:
    """The current gSDE matrices of ``model`` (None when it does not use gSDE).

    For an SBX model: one entry with the policy's JAX ``key`` and ``noise_key``.
    """
    import numpy as np

    policy = _jax_policy(model)
    if policy is not None:
        return [{name: np.array(getattr(policy, name)) for name in ("key", "noise_key")}]
    dists = _distributions(model)
    if not dists:
        return None
    saved = []
    for dist in dists:
        saved.append(
            {
                name: getattr(dist, name).detach().cpu().clone()
                for name in ("exploration_mat", "exploration_matrices")
                if getattr(dist, name, None) is not None
            }
        )
    return saved


def restore_noise(model: Any, saved: list[dict[str, Any]]) -> bool:
    """Make the next draw of each gSDE matrix give back the saved one instead.

    Call it right before ``learn``, after the random states are restored.

    Returns:
        False (and changes nothing) when the model's gSDE layout does not match ``saved``.
    """
    policy = _jax_policy(model)
    if policy is not None:
        if len(saved) != 1 or set(saved[0]) != {"key", "noise_key"}:
            return False
        _restore_jax_keys(model, policy, saved[0])
        return True

    import torch as th
    from torch.distributions import Normal

    dists = _distributions(model)
    if len(dists) != len(saved) or any("exploration_mat" not in s for s in saved):
        return False

    for dist, matrices in zip(dists, saved, strict=True):

        def sample_once(
            log_std: th.Tensor,
            batch_size: int = 1,
            *,
            dist: Any = dist,
            matrices: dict[str, Any] = matrices,
        ) -> None:
            del dist.sample_weights  # one draw only: the class's method again from now on
            std = dist.get_std(log_std)
            dist.weights_dist = Normal(th.zeros_like(std), std)
            device = log_std.device
            dist.exploration_mat = matrices["exploration_mat"].to(device)
            kept = matrices.get("exploration_matrices")
            if kept is not None and kept.shape[0] == batch_size:
                dist.exploration_matrices = kept.to(device)
            else:  # not expected at a rollout start; draw as the class would
                dist.exploration_matrices = dist.weights_dist.rsample((batch_size,))

        dist.sample_weights = sample_once
    return True


def _restore_jax_keys(model: Any, policy: Any, keys: dict[str, Any]) -> None:
    """Put the saved keys back and make the next ``reset_noise`` keep them (one draw).

    SB3 calls ``policy.reset_noise`` (on-policy) or ``actor.reset_noise`` (off-policy),
    which SBX sets to the policy's bound method when it builds the actor; each is
    replaced, for one call.
    """
    import jax.numpy as jnp

    policy.key = jnp.asarray(keys["key"], dtype=jnp.uint32)
    policy.noise_key = jnp.asarray(keys["noise_key"], dtype=jnp.uint32)
    holders = [policy]
    for actor in (getattr(model, "actor", None), getattr(policy, "actor", None)):
        if actor is not None and all(actor is not h for h in holders):
            holders.append(actor)
    originals = [(holder, vars(holder).get("reset_noise")) for holder in holders]

    def keep_once(batch_size: int = 1) -> None:
        del batch_size  # the keys are the ones this draw gave in the run left alone
        for holder, original in originals:
            if original is None:
                delattr(holder, "reset_noise")  # the class's method again
            else:
                setattr(holder, "reset_noise", original)  # noqa: B010 - same as SBX's build

    for holder in holders:
        setattr(holder, "reset_noise", keep_once)  # noqa: B010
