"""Small real run folders for the enjoy and export tests, made with ``realzoo train``."""

from __future__ import annotations

from pathlib import Path

from rlzoo_real.runs.folder import RunFolder

#: Tiny hyperparameter entries by name (each trains in a second or two on 2 cores).
CONFS = {
    "ppo-CartPole": """\
CartPole-v1:
  n_envs: 2
  n_timesteps: 256
  policy: MlpPolicy
  n_steps: 64
  batch_size: 64
  n_epochs: 1
  policy_kwargs: "dict(net_arch=[16], activation_fn=nn.Tanh)"
""",
    "ppo-Pendulum": """\
Pendulum-v1:
  n_envs: 2
  n_timesteps: 256
  policy: MlpPolicy
  n_steps: 64
  batch_size: 64
  n_epochs: 1
  normalize: "dict(norm_obs=True, norm_reward=True, clip_obs=100.0)"
  policy_kwargs: "dict(net_arch=[32], activation_fn=nn.ReLU, ortho_init=False)"
""",
    "sac-Pendulum": """\
Pendulum-v1:
  n_timesteps: 400
  policy: MlpPolicy
  learning_starts: 100
  batch_size: 32
  buffer_size: 5000
  normalize: "dict(norm_obs=True, norm_reward=False)"
  policy_kwargs: "dict(net_arch=[16])"
""",
    "td3-Pendulum": """\
Pendulum-v1:
  n_timesteps: 300
  policy: MlpPolicy
  learning_starts: 100
  batch_size: 32
  buffer_size: 5000
  noise_type: normal
  noise_std: 0.1
  policy_kwargs: "dict(net_arch=[16])"
""",
    "dqn-CartPole": """\
CartPole-v1:
  n_timesteps: 300
  policy: MlpPolicy
  learning_starts: 100
  buffer_size: 1000
  batch_size: 32
  frame_stack: 2
  policy_kwargs: "dict(net_arch=[16])"
""",
}


def train_run(
    cli: object,
    folder: Path,
    conf: str,
    *extra: str,
    seed: int = 1,
) -> RunFolder:
    """Train the tiny entry ``conf`` (e.g. ``"sac-Pendulum"``) into ``folder/logs``.

    Returns the new run folder. ``extra`` are more ``realzoo train`` arguments.
    """
    algo, env = conf.split("-", 1)
    env_id = f"{env}-v1"
    folder.mkdir(parents=True, exist_ok=True)
    conf_file = folder / f"{conf}.yml"
    conf_file.write_text(CONFS[conf])
    logs = folder / "logs"
    before = set((logs / algo).glob(f"{env_id}_*"))
    result = cli(  # type: ignore[operator]
        "train",
        "--algo",
        algo,
        "--env",
        env_id,
        "--conf-file",
        conf_file,
        "-f",
        logs,
        "--seed",
        str(seed),
        "--verbose",
        "0",
        *extra,
    )
    assert result.exit_code == 0, result.output
    (path,) = set((logs / algo).glob(f"{env_id}_*")) - before
    return RunFolder(path, env_id)


def make_cli() -> object:
    """The ``cli`` fixture of conftest.py, for module-scoped fixtures."""
    from typer.testing import CliRunner

    from rlzoo_real.cli import app
    from rlzoo_real.cli._argv import expand_multi_value_options

    runner = CliRunner()

    def invoke(*args: object) -> object:
        return runner.invoke(app, expand_multi_value_options([str(a) for a in args]))

    return invoke
