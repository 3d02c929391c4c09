"""DroQ on PyTorch: SAC whose critics have dropout and layer normalization.

DroQ (Hiraoka et al., 2021, "Dropout Q-Functions for Doubly Efficient Reinforcement
Learning") makes many gradient steps per environment step (an update-to-data ratio of
about 20) affordable: a small dropout rate (0.01) and layer normalization after each
hidden layer of the critics regularize the Q-functions as well as a large ensemble
(REDQ) does, with two critics.

Choices, as in the authors' code and SBX (``sbx-rl``'s SAC with ``dropout_rate`` and
``layer_norm``):

- the order in each hidden layer of a critic is Linear -> Dropout -> LayerNorm -> activation;
- dropout is on wherever the critics are used in training: the current critics, their
  targets (so the target critics are kept in training mode) and the critic that scores
  the actor's actions;
- the actor is SAC's (no dropout, no layer norm), so replay and ONNX export treat DroQ
  exactly like SAC.

The update-to-data ratio is ``gradient_steps`` (``hyperparams/droq.yml`` sets 20); like
SB3's SAC, the actor is updated at every gradient step.
"""

from __future__ import annotations

from typing import Any, ClassVar

from stable_baselines3 import SAC
from stable_baselines3.common.policies import ContinuousCritic
from stable_baselines3.common.torch_layers import CombinedExtractor
from stable_baselines3.sac.policies import SACPolicy
from torch import nn

__all__ = ["DroQ", "DroQCritic", "DroQMultiInputPolicy", "DroQPolicy"]


class DroQCritic(ContinuousCritic):
    """SAC's twin critics with Dropout and LayerNorm after each hidden layer.

    Args:
        *args, **kwargs: those of :class:`~stable_baselines3.common.policies.ContinuousCritic`.
        dropout_rate: the dropout probability (0 turns dropout off).
        layer_norm: whether to normalize each hidden layer's output.
    """

    def __init__(
        self, *args: Any, dropout_rate: float = 0.01, layer_norm: bool = True, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        net_arch: list[int] = list(kwargs["net_arch"])
        activation_fn: type[nn.Module] = kwargs.get("activation_fn", nn.ReLU)
        sac_net = self.q_networks[0]
        assert isinstance(sac_net, nn.Sequential) and isinstance(sac_net[0], nn.Linear)
        first = sac_net[0]
        self.q_networks = []
        for idx in range(self.n_critics):
            layers: list[nn.Module] = []
            width = first.in_features
            for units in net_arch:
                layers.append(nn.Linear(width, units))
                if dropout_rate > 0:
                    layers.append(nn.Dropout(dropout_rate))
                if layer_norm:
                    layers.append(nn.LayerNorm(units))
                layers.append(activation_fn())
                width = units
            layers.append(nn.Linear(width, 1))
            q_net = nn.Sequential(*layers)
            self.add_module(f"qf{idx}", q_net)  # replaces SAC's plain network of that name
            self.q_networks.append(q_net)


class DroQPolicy(SACPolicy):
    """SAC's policy with :class:`DroQCritic` critics.

    Args:
        *args, **kwargs: those of :class:`~stable_baselines3.sac.policies.SACPolicy`.
        dropout_rate: dropout probability in the critics' hidden layers (DroQ: 0.01).
        layer_norm: layer normalization in the critics' hidden layers (DroQ: True).
    """

    def __init__(
        self, *args: Any, dropout_rate: float = 0.01, layer_norm: bool = True, **kwargs: Any
    ) -> None:
        if not 0.0 <= dropout_rate < 1.0:
            raise ValueError(f"dropout_rate must be in [0, 1), got {dropout_rate}")
        self.dropout_rate = float(dropout_rate)  # read by make_critic, during super().__init__
        self.layer_norm = bool(layer_norm)
        super().__init__(*args, **kwargs)

    def _build(self, lr_schedule: Any) -> None:
        super()._build(lr_schedule)
        # SAC keeps target critics in eval mode; DroQ's targets use dropout too.
        self.critic_target.set_training_mode(True)

    def make_critic(self, features_extractor: Any = None) -> ContinuousCritic:
        """Build the critics (dropout and layer norm in their hidden layers)."""
        critic_kwargs = self._update_features_extractor(self.critic_kwargs, features_extractor)
        return DroQCritic(
            **critic_kwargs, dropout_rate=self.dropout_rate, layer_norm=self.layer_norm
        ).to(self.device)

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()
        data.update(dropout_rate=self.dropout_rate, layer_norm=self.layer_norm)
        return data


class DroQMultiInputPolicy(DroQPolicy):
    """:class:`DroQPolicy` for dict observations (goal-conditioned envs, HER)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("features_extractor_class", CombinedExtractor)
        super().__init__(*args, **kwargs)


class DroQ(SAC):
    """SAC with DroQ critics (:class:`DroQPolicy`); set the update-to-data ratio with
    ``gradient_steps`` (about 20 in the paper)."""

    policy_aliases: ClassVar[dict[str, type[Any]]] = {
        "MlpPolicy": DroQPolicy,
        "MultiInputPolicy": DroQMultiInputPolicy,
    }
