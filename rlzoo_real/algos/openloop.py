"""Open-loop oscillators: the baseline of Raffin et al. (2024) as a realzoo algorithm.

One oscillator per actuated joint gives the joint's desired position,

    q_des_i(t) = a_i * sin(theta_i(t) + phi_i) + b_i,
    d theta_i / dt = omega_swing if sin(theta_i + phi_i) > 0 else omega_stance,

with the two frequencies shared by all joints (one frequency when ``swing_stance`` is
off). A PD controller tracks it: ``torque = kp * (q_des - q) - kd * dq``, clipped to the
action bounds. ``q`` and ``dq`` are read from the observation at the indices the MuJoCo
model gives (gymnasium v5's ``observation_structure``); the oscillators themselves never
look at the observation.

:class:`OpenLoop` is an ordinary Stable-Baselines3 algorithm: its policy holds the
oscillator parameters as torch parameters (so save, load, ``set_parameters``, checkpoints
and replay work as for any other algorithm), and carries the oscillator phases in
``predict``'s recurrent ``state`` (reset by ``episode_start``). ``learn`` is a black-box
search with an Optuna sampler (CMA-ES by default, built by
:func:`~rlzoo_real.tuning.samplers.make_sampler`): each training env plays one episode
with one candidate and the episode's return is told to the study. Every env step counts in
``num_timesteps`` and goes through the callbacks, so evaluation, monitor files,
checkpoints, stop requests and ``progress.csv`` work as for RL runs. The policy holds the
best candidate found so far (the CMA-ES mean is never played, so its return is unknown).
The study lives in memory and is saved with the model, so a run resumed from a checkpoint
continues the same search exactly.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import torch as th
from gymnasium import spaces
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.policies import BasePolicy

from rlzoo_real.algos.joints import MADE_FOR, JointLayout, check_probe, joint_layout
from rlzoo_real.algos.oscillators import oscillator_torques, search_space, unit_to_params

__all__ = ["MADE_FOR", "JointLayout", "OpenLoop", "OscillatorPolicy", "check_probe", "joint_layout"]


@contextlib.contextmanager
def _quiet_optuna() -> Iterator[None]:
    import optuna

    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        yield
    finally:
        optuna.logging.set_verbosity(verbosity)


class OscillatorPolicy(BasePolicy):
    """The oscillators, their PD controller and where the joints are in the observation.

    The oscillator parameters and the joint layout are the policy's state dict, so a
    model file is complete on its own: replay rebuilds the policy from the run's config
    on an env it never looks into, then reads them with ``set_parameters``.
    """

    #: its actions depend on the time since the episode started, not on one observation
    time_driven = True
    q_index: th.Tensor
    qd_index: th.Tensor
    joint_low: th.Tensor
    joint_high: th.Tensor
    joint_rest: th.Tensor
    dt: th.Tensor

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Box,
        *,
        kp: float,
        kd: float,
    ) -> None:
        super().__init__(observation_space, action_space)
        n = int(np.prod(action_space.shape))
        self.kp, self.kd = float(kp), float(kd)
        self.amplitude = th.nn.Parameter(th.zeros(n, dtype=th.float64), requires_grad=False)
        self.phase = th.nn.Parameter(th.zeros(n, dtype=th.float64), requires_grad=False)
        self.offset = th.nn.Parameter(th.zeros(n, dtype=th.float64), requires_grad=False)
        self.omega_swing = th.nn.Parameter(th.zeros((), dtype=th.float64), requires_grad=False)
        self.omega_stance = th.nn.Parameter(th.zeros((), dtype=th.float64), requires_grad=False)
        self.register_buffer("q_index", th.zeros(n, dtype=th.long))
        self.register_buffer("qd_index", th.zeros(n, dtype=th.long))
        self.register_buffer("joint_low", th.zeros(n, dtype=th.float64))
        self.register_buffer("joint_high", th.zeros(n, dtype=th.float64))
        self.register_buffer("joint_rest", th.zeros(n, dtype=th.float64))
        self.register_buffer("dt", th.zeros((), dtype=th.float64))

    def set_layout(self, layout: JointLayout) -> None:
        """Record where the joints are in the observation (from the env's MuJoCo model)."""
        with th.no_grad():
            self.q_index.copy_(th.as_tensor(layout.q_index))
            self.qd_index.copy_(th.as_tensor(layout.qd_index))
            self.joint_low.copy_(th.as_tensor(layout.low))
            self.joint_high.copy_(th.as_tensor(layout.high))
            self.joint_rest.copy_(th.as_tensor(layout.rest))
            self.dt.fill_(layout.dt)

    def layout(self) -> JointLayout:
        """The joint layout held in the state dict."""
        return JointLayout(
            self.q_index.cpu().numpy(),
            self.qd_index.cpu().numpy(),
            self.joint_low.cpu().numpy(),
            self.joint_high.cpu().numpy(),
            self.joint_rest.cpu().numpy(),
            float(self.dt),
        )

    def oscillator_params(self) -> dict[str, np.ndarray]:
        """The oscillator parameters as numpy arrays (physical units: rad, rad/s)."""
        names = ("amplitude", "phase", "offset", "omega_swing", "omega_stance")
        return {name: getattr(self, name).detach().cpu().numpy().copy() for name in names}

    def set_oscillator_params(self, params: Mapping[str, np.ndarray]) -> None:
        """Replace the oscillator parameters."""
        with th.no_grad():
            for name, value in params.items():
                target = getattr(self, name)
                target.copy_(
                    th.as_tensor(np.asarray(value, dtype=np.float64)).reshape(target.shape)
                )

    def _predict(self, observation: Any, deterministic: bool = False) -> th.Tensor:
        raise NotImplementedError("OscillatorPolicy acts through predict(), which keeps the phase")

    def predict(
        self,
        observation: np.ndarray | dict[str, np.ndarray],
        state: tuple[np.ndarray, ...] | None = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = False,
    ) -> tuple[np.ndarray, tuple[np.ndarray, ...] | None]:
        """Torques for ``observation``; ``state`` holds the oscillator phases (one row per env).

        The policy is deterministic: ``deterministic`` changes nothing.
        """
        obs = np.asarray(observation, dtype=np.float64)
        single = obs.ndim == 1
        obs = obs.reshape(1, -1) if single else obs.reshape(obs.shape[0], -1)
        n_envs, n_joints = obs.shape[0], self.amplitude.shape[0]
        theta = np.zeros((n_envs, n_joints)) if state is None else np.array(state[0], dtype=float)
        if episode_start is not None:
            theta[np.asarray(episode_start, dtype=bool).reshape(-1)] = 0.0
        assert isinstance(self.action_space, spaces.Box)
        torques, theta = oscillator_torques(
            obs,
            theta,
            self.oscillator_params(),
            kp=self.kp,
            kd=self.kd,
            layout=self.layout(),
            action_low=self.action_space.low,
            action_high=self.action_space.high,
        )
        return (torques[0] if single else torques), (theta,)


class OpenLoop(BaseAlgorithm):
    """Open-loop oscillators tracked by a PD controller, found by black-box search.

    Args:
        policy: ``MlpPolicy`` or ``OscillatorPolicy`` (the same: there is one policy).
        env: a MuJoCo locomotion env (see :data:`MADE_FOR`).
        kp: proportional gain of the PD controller (action per radian or meter). Mind the
            control period: HalfCheetah (0.05 s) and Ant chatter and run backwards with
            kp 10, kd 0.5 even when holding still; 1 to 2 and 0.05 to 0.1 are stable there.
        kd: derivative gain (action per radian or meter per second).
        swing_stance: two shared frequencies (swing when ``sin(theta + phi) > 0``,
            stance otherwise) instead of one.
        min_frequency: lowest oscillator frequency searched, in Hz.
        max_frequency: highest oscillator frequency searched, in Hz.
        amplitude_scale: the largest amplitude searched, as a fraction of half the
            joint's range.
        offset_scale: offsets are searched around the joint's rest position, this
            fraction of half its range on each side (0: no offsets, one parameter less
            per joint).
        sampler: the Optuna sampler of the search (``cmaes``, ``tpe``, ``random``, ``gp``).
        n_steps: steps per env between two rollout boundaries (checkpoints and log rows).
        stats_window_size: episodes averaged in the ``rollout/`` log entries.
        verbose: 0 quiet, 1 log rows.
        seed: seed of the sampler and the envs.
        device: torch device of the policy (its few parameters live on the CPU anyway).
    """

    policy_aliases = {"MlpPolicy": OscillatorPolicy, "OscillatorPolicy": OscillatorPolicy}  # noqa: RUF012
    policy: OscillatorPolicy

    def __init__(
        self,
        policy: str | type[OscillatorPolicy],
        env: Any,
        kp: float = 2.0,
        kd: float = 0.1,
        swing_stance: bool = True,
        min_frequency: float = 0.2,
        max_frequency: float = 3.0,
        amplitude_scale: float = 1.0,
        offset_scale: float = 0.5,
        sampler: str = "cmaes",
        n_steps: int = 1000,
        stats_window_size: int = 100,
        verbose: int = 0,
        seed: int | None = None,
        device: th.device | str = "auto",
        _init_setup_model: bool = True,
    ) -> None:
        from rlzoo_real.tuning.samplers import SAMPLERS

        super().__init__(
            policy,
            env,
            learning_rate=0.0,
            stats_window_size=stats_window_size,
            verbose=verbose,
            device=device,
            support_multi_env=True,
            seed=seed,
            supported_action_spaces=(spaces.Box,),
        )
        if kp < 0 or kd < 0:
            raise ValueError(f"kp and kd must be non-negative, got kp={kp}, kd={kd}")
        if not 0 < min_frequency <= max_frequency:
            raise ValueError(
                f"need 0 < min_frequency <= max_frequency, got {min_frequency}, {max_frequency}"
            )
        if amplitude_scale <= 0 or not 0 <= offset_scale <= 1:
            raise ValueError(
                "amplitude_scale must be positive and offset_scale within [0, 1], got "
                f"{amplitude_scale}, {offset_scale}"
            )
        if sampler not in SAMPLERS:
            raise ValueError(f"sampler must be one of {', '.join(SAMPLERS)}, got {sampler!r}")
        if n_steps < 1:
            raise ValueError(f"n_steps must be at least 1, got {n_steps}")
        self.kp, self.kd = float(kp), float(kd)
        self.swing_stance = bool(swing_stance)
        self.min_frequency, self.max_frequency = float(min_frequency), float(max_frequency)
        self.amplitude_scale, self.offset_scale = float(amplitude_scale), float(offset_scale)
        self.sampler_name = sampler
        self.n_steps = int(n_steps)
        # The search, saved in the model file (SB3 pickles these): Optuna storage and sampler,
        # the candidate each env plays, its phases and its return so far.
        self.search_storage: Any = None
        self.search_sampler: Any = None
        self.env_trials: list[int] = []
        self.env_params: dict[str, np.ndarray] = {}
        self.env_theta: np.ndarray | None = None
        self.env_returns: np.ndarray | None = None
        self.best_return = -math.inf
        self.n_trials_done = 0
        self._study: Any = None
        if _init_setup_model:
            self._setup_model()

    def _excluded_save_params(self) -> list[str]:
        return [*super()._excluded_save_params(), "_study"]

    def _setup_model(self) -> None:
        self.set_random_seed(self.seed)
        assert isinstance(self.action_space, spaces.Box)
        self.policy = self.policy_class(  # type: ignore[assignment]
            self.observation_space, self.action_space, kp=self.kp, kd=self.kd
        ).to(self.device)
        layout = self._env_layout()
        if isinstance(layout, str):
            raise ValueError(f"openloop cannot drive this env: {layout}")
        if layout is not None:
            self.policy.set_layout(layout)
        self._study = None

    def _env_layout(self) -> JointLayout | str | None:
        """The joint layout of the training env (None: a stand-in env with spaces only)."""
        if self.env is None:
            return None
        unwrapped = self.env.get_attr("unwrapped", [0])[0]
        if unwrapped is None:
            return None
        layout = joint_layout(unwrapped)
        if isinstance(layout, JointLayout):
            expected = getattr(unwrapped, "observation_space", None)
            if expected is None or expected.shape != self.observation_space.shape:
                return "wrappers change its observation, so the joints are not where expected"
        return layout

    # -- the search -------------------------------------------------------------------------

    def _distributions(self) -> dict[str, Any]:
        return search_space(
            int(self.policy.amplitude.shape[0]),
            offsets=self.offset_scale > 0,
            swing_stance=self.swing_stance,
        )

    def candidate(self, unit: Mapping[str, float]) -> dict[str, np.ndarray]:
        """Oscillator parameters from a point of the unit cube the search samples
        (:func:`~rlzoo_real.algos.oscillators.unit_to_params` with this model's ranges)."""
        return unit_to_params(
            unit,
            self.policy.layout(),
            amplitude_scale=self.amplitude_scale,
            offset_scale=self.offset_scale,
            min_frequency=self.min_frequency,
            max_frequency=self.max_frequency,
            swing_stance=self.swing_stance,
        )

    def _get_study(self) -> Any:
        import optuna

        from rlzoo_real.tuning.samplers import make_sampler

        if self._study is None:
            if self.search_storage is None:
                self.search_storage = optuna.storages.InMemoryStorage()
                self.search_sampler = make_sampler(
                    self.sampler_name, seed=self.seed, n_startup_trials=0
                )
                with _quiet_optuna():
                    optuna.create_study(
                        storage=self.search_storage, study_name="openloop", direction="maximize"
                    )
            self._study = optuna.load_study(
                study_name="openloop", storage=self.search_storage, sampler=self.search_sampler
            )
        return self._study

    def _ask(self, env_index: int) -> None:
        study = self._get_study()
        with _quiet_optuna():
            trial = study.ask(self._distributions())
        params = self.candidate(trial.params)
        self.env_trials[env_index] = trial.number
        for name, value in params.items():
            self.env_params[name][env_index] = value
        assert self.env_theta is not None and self.env_returns is not None
        self.env_theta[env_index] = 0.0
        self.env_returns[env_index] = 0.0

    def _tell(self, env_index: int) -> None:
        assert self.env_returns is not None
        value = float(self.env_returns[env_index])
        study = self._get_study()
        with _quiet_optuna():  # no log line per episode
            study.tell(self.env_trials[env_index], value)
        self.n_trials_done += 1
        if value > self.best_return:
            self.best_return = value
            self.policy.set_oscillator_params(
                {name: array[env_index] for name, array in self.env_params.items()}
            )

    def _start_search(self) -> None:
        """Give every env a candidate (unless a resumed search already did)."""
        n_envs, n = self.n_envs, int(self.policy.amplitude.shape[0])
        if len(self.env_trials) == n_envs:
            return
        self.env_trials = [-1] * n_envs
        self.env_params = {
            "amplitude": np.zeros((n_envs, n)),
            "phase": np.zeros((n_envs, n)),
            "offset": np.zeros((n_envs, n)),
            "omega_swing": np.zeros((n_envs, 1)),
            "omega_stance": np.zeros((n_envs, 1)),
        }
        self.env_theta = np.zeros((n_envs, n))
        self.env_returns = np.zeros(n_envs)
        for i in range(n_envs):
            self._ask(i)

    def learn(
        self,
        total_timesteps: int,
        callback: Any = None,
        log_interval: int = 1,
        tb_log_name: str = "OpenLoop",
        reset_num_timesteps: bool = True,
        progress_bar: bool = False,
    ) -> OpenLoop:
        """Search oscillator parameters for ``total_timesteps`` env steps (one episode per try).

        Each env plays one candidate for one episode and the episode's return is told to
        the study; the policy keeps the best candidate so far.
        """
        fresh = reset_num_timesteps or self._last_obs is None  # new episodes start in every env
        total_timesteps, callback = self._setup_learn(
            total_timesteps, callback, reset_num_timesteps, tb_log_name, progress_bar
        )
        if fresh or len(self.env_trials) != self.n_envs:
            self.env_trials = []  # fresh episodes: fresh candidates (old ones stay unfinished)
        self._start_search()
        callback.on_training_start(locals(), globals())
        assert self.env is not None and self._last_obs is not None
        assert isinstance(self.action_space, spaces.Box)
        layout = self.policy.layout()
        low, high = self.action_space.low, self.action_space.high
        iteration = 0
        while self.num_timesteps < total_timesteps:
            callback.on_rollout_start()
            for _ in range(self.n_steps):
                obs = np.asarray(self._last_obs, dtype=np.float64).reshape(self.n_envs, -1)
                assert self.env_theta is not None and self.env_returns is not None
                actions, self.env_theta = oscillator_torques(
                    obs,
                    self.env_theta,
                    self.env_params,
                    kp=self.kp,
                    kd=self.kd,
                    layout=layout,
                    action_low=low,
                    action_high=high,
                )
                new_obs, rewards, dones, infos = self.env.step(actions)
                self.num_timesteps += self.n_envs
                self.env_returns += rewards
                self._update_info_buffer(infos, dones)
                for i in np.flatnonzero(dones):
                    self._tell(int(i))
                    self._ask(int(i))
                self._last_obs = new_obs  # type: ignore[assignment]
                self._last_episode_starts = dones
                callback.update_locals(locals())
                if not callback.on_step():
                    callback.on_training_end()
                    return self
                if self.num_timesteps >= total_timesteps:
                    break
            callback.on_rollout_end()
            iteration += 1
            if log_interval > 0 and iteration % log_interval == 0:
                self._dump_logs()
        callback.on_training_end()
        return self

    def _dump_logs(self) -> None:
        import time

        from stable_baselines3.common.utils import safe_mean

        assert self.ep_info_buffer is not None
        elapsed = max(time.time_ns() - self.start_time, 1) / 1e9
        if self.ep_info_buffer:
            self.logger.record(
                "rollout/ep_rew_mean", safe_mean([e["r"] for e in self.ep_info_buffer])
            )
            self.logger.record(
                "rollout/ep_len_mean", safe_mean([e["l"] for e in self.ep_info_buffer])
            )
        self.logger.record("openloop/trials", self.n_trials_done)
        if self.best_return > -math.inf:
            self.logger.record("openloop/best_return", self.best_return)
        steps = self.num_timesteps - self._num_timesteps_at_start
        self.logger.record("time/fps", int(steps / elapsed))
        self.logger.record("time/time_elapsed", int(elapsed), exclude="tensorboard")
        self.logger.record("time/total_timesteps", self.num_timesteps, exclude="tensorboard")
        self.logger.dump(step=self.num_timesteps)
