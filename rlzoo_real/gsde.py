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


def capture_noise(model: Any) -> list[dict[str, Any]] | None:
    """The current gSDE matrices of ``model`` (None when it does not use gSDE)."""
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
