"""Building the model of a run: the algorithm's class, its keyword arguments as Python
values, action noise, and (``--trained-agent``) the Zoo's warm start from a saved model.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from rlzoo_real.algos.registry import AlgoSpec, get_algo
from rlzoo_real.config.spec import RunSpec
from rlzoo_real.errors import UserError

__all__ = ["build_model"]


def build_model(
    spec: RunSpec,
    env: Any,
    *,
    seed: int,
    device: str = "auto",
    verbose: int = 0,
    trained_agent: str | None = None,
    truncate_last_trajectory: bool = True,
    algo: AlgoSpec | None = None,
) -> Any:
    """Build the algorithm for ``spec`` on ``env`` (or load ``trained_agent`` to continue it).

    A ``replay_buffer.pkl`` next to ``trained_agent`` is loaded with it (off-policy); with a
    HER buffer, ``truncate_last_trajectory`` drops its last, unfinished episode (SB3's
    ``truncate_last_traj``; the RL Zoo's ``--truncate-last-trajectory``). ``algo``: the
    :class:`AlgoSpec` of ``spec.algo`` when the caller has resolved it already.

    Raises:
        UserError: when the algorithm rejects a hyperparameter value.
    """
    from rlzoo_real.config.literals import materialize

    if algo is None:  # the caller may have resolved spec.algo already
        algo = get_algo(spec.algo, backend=spec.backend)
    algo_cls = algo.load_class()
    kwargs = dict(spec.model_kwargs)
    if trained_agent and algo.run_backend != "sbx":  # the Zoo's warm start: the model's policy
        from rlzoo_real.replay.warmstart import saved_policy_kwargs
        from rlzoo_real.runs.trust import check_model_kwargs

        kwargs["policy_kwargs"] = saved_policy_kwargs(Path(trained_agent))
        check_model_kwargs(kwargs, where=f"-i {trained_agent}")
    if algo.run_backend == "sbx":
        from rlzoo_real.algos.sbx import adapt_model_kwargs

        kwargs = adapt_model_kwargs(kwargs, algo=algo.name, where=spec.source)
    kwargs = materialize(kwargs)
    if isinstance(kwargs.get("train_freq"), list):  # YAML has no tuples: [1, episode]
        kwargs["train_freq"] = tuple(kwargs["train_freq"])
    if spec.action_noise is not None:
        kwargs["action_noise"] = _action_noise(spec.action_noise, env)
    common = {"seed": seed, "verbose": verbose, "device": device}
    try:
        if trained_agent and algo.run_backend == "sbx":  # JAX params: no weights-only reader
            kwargs.pop("policy_kwargs", None)
            return algo_cls.load(trained_agent, env=env, **common, **kwargs)
        with warnings.catch_warnings():
            if trained_agent:  # as the Zoo's warm start: the given values, no advice on them
                warnings.simplefilter("ignore", category=UserWarning)
            model = algo_cls(spec.policy, env, **common, **kwargs)
    except (ValueError, TypeError, AssertionError, KeyError) as exc:
        raise UserError(
            f"{algo.name} rejected the hyperparameters from {spec.source}: "
            f"{type(exc).__name__}: {exc}"
        ) from None
    if trained_agent:  # weights, step count and replay buffer; nothing of it unpickled
        from rlzoo_real.replay.warmstart import warm_start

        warm_start(
            model,
            Path(trained_agent),
            off_policy=algo.off_policy,
            device=device,
            truncate_last_trajectory=truncate_last_trajectory,
        )
    return model


def _action_noise(noise: tuple[str, float], env: Any) -> Any:
    import numpy as np
    from stable_baselines3.common.noise import NormalActionNoise, OrnsteinUhlenbeckActionNoise

    kind, std = noise
    n_actions = int(np.prod(env.action_space.shape))
    mean, sigma = np.zeros(n_actions), std * np.ones(n_actions)
    if kind == "normal":
        return NormalActionNoise(mean=mean, sigma=sigma)
    return OrnsteinUhlenbeckActionNoise(mean=mean, sigma=sigma)
