"""Malicious run folders: opening a stranger's run runs none of its code.

One real run (SAC on Pendulum, normalized, with checkpoints, a replay buffer and a
best model) is trained once per module by ``realzoo train``. Each test
copies it, plants one trick, and runs the real commands that open a run (``enjoy``,
``export``, ``record``, ``train -i``, and the listings ``runs`` and ``plot``). For each:
the exit status and the message (naming the file's entry and the flag that would allow
it), no payload ran (the payload would create a sentinel file, or import a module that
creates one), and no file under the test's folder changed, appeared or disappeared
(every file hashed before and after).

The commands run in the test's process (:func:`tests.inprocess.run_cli`, isolated as a new
process: working directory, ``sys.path``, modules imported from the planted folder), where
the payload is a command (``os.system``, a pickle) that the sentinel file reveals wherever it
runs. Where the payload is an *import* (a run's ``gym_packages``, a module-prefixed env id,
a user's wrapper module), the commands run as fresh processes: only an interpreter that has
imported nothing yet shows that opening the run imports nothing.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import pickle
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.inprocess import run_cli

REPO = Path(__file__).resolve().parents[1]
ENV = "Pendulum-v1"
CONF = """\
Pendulum-v1:
  n_timesteps: 300
  policy: MlpPolicy
  learning_starts: 100
  batch_size: 32
  buffer_size: 1000
  normalize: "dict(norm_obs=True, norm_reward=False)"
  policy_kwargs: "dict(net_arch=[16])"
"""


def _realzoo(
    args: Sequence[object], *, cwd: Path, extra_path: Path | None = None, process: bool = True
) -> subprocess.CompletedProcess[str]:
    """``realzoo ARGS`` in ``cwd``, ``extra_path`` first on ``PYTHONPATH``: a fresh process,
    or (``process=False``) in this one, isolated as a process (:mod:`tests.inprocess`)."""
    if not process:
        return run_cli(args, cwd=cwd, extra_path=[extra_path] if extra_path else [])
    env = dict(os.environ)
    paths = [str(REPO)]
    if extra_path is not None:
        paths.insert(0, str(extra_path))
    if env.get("PYTHONPATH"):
        paths.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(paths)
    return subprocess.run(
        [sys.executable, "-m", "rlzoo_real", *map(str, args)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="module")
def base_logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real tiny run, trained once for the module: ``<dir>/logs/sac/Pendulum-v1_1``."""
    root = tmp_path_factory.mktemp("base")
    (root / "conf.yml").write_text(CONF)
    result = _realzoo(
        ["train", "--algo", "sac", "--env", ENV, "--conf-file", "conf.yml", "-f", "logs",
         "--seed", "1", "--verbose", "0", "--save-freq", "150", "--save-replay-buffer",
         "--eval-freq", "150", "--eval-episodes", "1"],
        cwd=root, process=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    run = root / "logs" / "sac" / f"{ENV}_1"
    for name in ("Pendulum-v1.zip", "replay_buffer.pkl", "rl_model_state_300_steps.pkl"):
        assert (run / name).is_file(), name
    return root / "logs"


@dataclass
class Case:
    """One copied run folder to tamper with, and what to check after each command."""

    root: Path  # everything the test owns; hashed before and after
    logs: Path
    run: Path
    params: Path
    sentinel: Path  # what a payload would create
    site: Path  # on PYTHONPATH: modules whose import creates the sentinel
    out: Path  # outside the hashed tree: where a successful export writes

    @property
    def payload(self) -> str:
        return f"touch {self.sentinel}"

    def edit_yaml(self, name: str, edit: Callable[[str], str]) -> None:
        path = self.params / name
        path.write_text(edit(path.read_text()))

    def set_args(self, key: str, value: str) -> None:
        lines = (self.params / "args.yml").read_text().splitlines()
        lines = [f"{key}: {value}" if ln.startswith(f"{key}:") else ln for ln in lines]
        (self.params / "args.yml").write_text("\n".join(lines) + "\n")

    def add_config(self, text: str) -> None:
        path = self.params / "config.yml"
        path.write_text(path.read_text() + text)


@pytest.fixture
def case(base_logs: Path, tmp_path: Path) -> Case:
    root = tmp_path / "tree"
    logs = root / "logs"
    shutil.copytree(base_logs, logs, symlinks=True)
    run = logs / "sac" / f"{ENV}_1"
    site = root / "site"
    site.mkdir()
    sentinel = tmp_path / "PAYLOAD_RAN"
    (site / "evil_pkg.py").write_text(
        f"import pathlib\npathlib.Path({str(sentinel)!r}).write_text('imported')\n"
    )
    (root / "conf.yml").write_text(CONF)
    (root / "cwd").mkdir()
    out = tmp_path / "out"
    out.mkdir()
    return Case(root, logs, run, run / ENV, sentinel, site, out)


class _Payload:
    """Pickles as ``os.system(command)``: unpickling it runs the command."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, (self.command,))


def _snapshot(root: Path) -> dict[str, tuple[str, ...]]:
    found: dict[str, tuple[str, ...]] = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        if path.is_symlink():
            found[rel] = ("link", os.readlink(path))
        elif path.is_file():
            found[rel] = ("file", hashlib.sha256(path.read_bytes()).hexdigest())
        else:
            found[rel] = ("dir",)
    return found


ENJOY = ("enjoy", "{run}", "--no-render", "-n", "5")
EXPORT = ("export", "{run}", "-o", "{out}/policy.onnx", "--n-check", "8")
RECORD = ("record", "{run}", "-n", "5", "-o", "{out}")
TRAIN_I = (
    "train", "--algo", "sac", "--env", ENV, "--conf-file", "{root}/conf.yml",
    "-f", "{root}/newlogs", "-i", "{run}/Pendulum-v1.zip", "-n", "50",
    "--eval-freq", "-1", "--verbose", "0",
)  # fmt: skip
RUNS = ("runs", "-f", "{logs}")
PLOT = ("plot", "train", "-f", "{logs}", "-o", "{out}/plots")


def _check(
    case: Case,
    command: Sequence[str],
    *,
    status: int = 2,
    says: Sequence[str] = (),
    extra: Sequence[str] = (),
    hashed: Path | None = None,
    process: bool = False,
) -> str:
    """Run one command on the tampered run; the payload must not run, nothing may change.

    ``hashed``: the tree that must stay as it is (default: all the test's files).
    ``process``: run it as a fresh process (for payloads that are imports), else in this one.
    """
    hashed = hashed or case.root
    before = _snapshot(hashed)
    fields = {"run": case.run, "logs": case.logs, "root": case.root, "out": case.out}
    args = [part.format(**fields) for part in command] + list(extra)
    result = _realzoo(args, cwd=case.root / "cwd", extra_path=case.site, process=process)
    output = result.stdout + result.stderr
    assert result.returncode == status, f"{args}: {result.returncode}\n{output}"
    assert "Traceback" not in output, output
    for words in says:
        assert words in output, f"{args}: {words!r} not in\n{output}"
    assert not case.sentinel.exists(), f"{args}: the payload ran\n{output}"
    assert _snapshot(hashed) == before, f"{args}: files changed\n{output}"
    return output


# -- classes named in config.yml ---------------------------------------------------------------


def test_env_wrapper_naming_os_system_is_refused(case: Case) -> None:
    case.add_config(f'env_wrapper:\n- os.system:\n    command: "{case.payload}"\n')
    for command in (ENJOY, EXPORT, RECORD):
        _check(case, command, says=["env_wrapper", "os.system", "--allow-import os"])


def test_chained_callables_as_env_wrappers_are_refused(case: Case) -> None:
    """``str(env)`` then ``open(<that>, mode="w")``: the old chain that wrote a file."""
    case.add_config('env_wrapper:\n- builtins.str\n- builtins.open:\n    mode: "w"\n')
    for command in (ENJOY, EXPORT):
        _check(case, command, says=["env_wrapper", "builtins.str", "--allow-import builtins"])


def test_a_trusted_wrapper_followed_by_subprocess_is_refused_before_any_is_built(
    case: Case,
) -> None:
    case.add_config(
        "env_wrapper:\n- rlzoo_real.envs.wrappers.ClipAction:\n    low: -1.0\n    high: 1.0\n"
        f'- subprocess.getoutput:\n    cmd: "{case.payload}"\n'
    )
    _check(case, ENJOY, says=["env_wrapper", "subprocess.getoutput", "--allow-import subprocess"])


def test_vec_env_wrapper_naming_subprocess_is_refused(case: Case) -> None:
    case.add_config(f'vec_env_wrapper:\n- subprocess.run:\n    args: "{case.payload}"\n')
    for command in (ENJOY, EXPORT):
        _check(case, command, says=["vec_env_wrapper", "subprocess.run", "--allow-import"])


def test_callback_entry_naming_os_system_is_refused(case: Case) -> None:
    case.add_config(f'callback:\n- os.system:\n    command: "{case.payload}"\n')
    for command in (ENJOY, EXPORT):
        _check(case, command, says=["callback", "os.system", "--allow-import os"])


def test_allowing_a_module_still_calls_only_classes_of_the_right_kind(case: Case) -> None:
    """``--allow-import os`` lets the name through; the kind check still refuses a function."""
    case.add_config(f'env_wrapper:\n- os.system:\n    command: "{case.payload}"\n')
    _check(
        case,
        ENJOY,
        extra=["--allow-import", "os"],
        says=["env_wrapper", "os.system", "not a class", "gymnasium.Wrapper"],
    )


def test_a_class_of_another_kind_is_refused_as_a_wrapper(case: Case) -> None:
    """An allowlisted class, but a callback where an env wrapper belongs."""
    case.add_config("env_wrapper:\n- stable_baselines3.common.callbacks.EvalCallback\n")
    _check(case, ENJOY, says=["env_wrapper", "EvalCallback"])


def test_policy_kwargs_naming_os_system_is_refused(case: Case) -> None:
    case.edit_yaml(
        "config.yml",
        lambda t: t.replace(
            "policy_kwargs: dict(net_arch=[16])",
            "policy_kwargs: dict(net_arch=[16], activation_fn=os.system)",
        ),
    )
    for command in (ENJOY, EXPORT):
        _check(case, command, says=["policy_kwargs", "os.system"])


def test_policy_kwargs_class_of_another_kind_is_refused(case: Case) -> None:
    """A name the parser knows (ReplayBuffer) where an nn.Module class is expected."""
    case.edit_yaml(
        "config.yml",
        lambda t: t.replace(
            "policy_kwargs: dict(net_arch=[16])",
            "policy_kwargs: dict(net_arch=[16], activation_fn=ReplayBuffer)",
        ),
    )
    _check(case, ENJOY, says=["activation_fn", "ReplayBuffer", "torch.nn.Module"])


# -- YAML tags ---------------------------------------------------------------------------------


def test_yaml_python_tag_in_config_is_refused(case: Case) -> None:
    case.add_config(f'env_wrapper: !!python/object/apply:os.system ["{case.payload}"]\n')
    for command in (ENJOY, EXPORT):
        _check(case, command, says=["config.yml", "python/object/apply:os.system"])


def test_yaml_python_name_tag_in_config_is_refused(case: Case) -> None:
    case.edit_yaml(
        "config.yml",
        lambda t: t.replace(
            "policy_kwargs: dict(net_arch=[16])",
            "policy_kwargs: {activation_fn: !!python/name:os.system ''}",
        ),
    )
    _check(case, ENJOY, says=["config.yml", "python/name:os.system"])


def test_yaml_python_tag_in_args_is_refused_and_listing_survives(case: Case) -> None:
    case.set_args(
        "seed", f'!!python/object/apply:subprocess.check_call [["touch", "{case.sentinel}"]]'
    )
    _check(case, ENJOY, says=["args.yml", "subprocess.check_call"])
    _check(case, RUNS, status=0, says=["sac"])


# -- args.yml: gym_packages and env ids --------------------------------------------------------


@pytest.mark.slow  # three or more fresh processes (the payload is an import)
def test_gym_packages_of_a_run_are_not_imported(case: Case) -> None:
    case.set_args("gym_packages", "[evil_pkg]")
    for command in (ENJOY, EXPORT, RECORD):
        _check(
            case,
            command,
            says=["gym_packages", "evil_pkg", "--gym-packages evil_pkg"],
            process=True,
        )
    _check(case, RUNS, status=0, says=["sac"], process=True)
    _check(case, PLOT, status=0, process=True)


def test_module_prefixed_env_id_imports_nothing(case: Case) -> None:
    case.set_args("env", "evil_pkg:Pendulum-v1")
    for command in (ENJOY, EXPORT):
        _check(
            case, command, says=["evil_pkg:Pendulum-v1", "--allow-import evil_pkg"], process=True
        )
    _check(case, RUNS, status=0, process=True)


# -- pickles -----------------------------------------------------------------------------------


def test_crafted_vecnormalize_pickle_is_refused(case: Case) -> None:
    (case.params / "vecnormalize.pkl").write_bytes(pickle.dumps(_Payload(case.payload)))
    for command in (ENJOY, EXPORT, TRAIN_I):
        _check(case, command, says=["vecnormalize.pkl", "system"])


def test_crafted_checkpoint_normalization_pickle_is_refused(case: Case) -> None:
    (case.run / "rl_model_vecnormalize_300_steps.pkl").write_bytes(
        pickle.dumps(_Payload(case.payload))
    )
    _check(
        case,
        ENJOY,
        extra=["--load-checkpoint", "300"],
        says=["rl_model_vecnormalize_300_steps.pkl", "system"],
    )


def test_crafted_replay_buffer_is_refused_by_warm_start(case: Case) -> None:
    (case.run / "replay_buffer.pkl").write_bytes(pickle.dumps(_Payload(case.payload)))
    _check(case, TRAIN_I, says=["replay_buffer.pkl", "system"])


def test_crafted_checkpoint_state_pickle_is_never_read(case: Case) -> None:
    """Only resume reads a checkpoint's state pickle: opening and warm start leave it alone."""
    for steps in (150, 300):
        (case.run / f"rl_model_state_{steps}_steps.pkl").write_bytes(
            pickle.dumps(_Payload(case.payload))
        )
    _check(case, ENJOY, status=0, extra=["--load-last-checkpoint"])
    _check(case, EXPORT, status=0, extra=["--load-last-checkpoint"])


def _rewrite_zip(path: Path, edit: Callable[[str, bytes], bytes]) -> None:
    with zipfile.ZipFile(path) as archive:
        entries = {name: archive.read(name) for name in archive.namelist()}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, edit(name, data))


def test_model_zip_with_a_serialized_callable_is_not_deserialized(case: Case) -> None:
    """The zip's data holds cloudpickled schedules; SB3's load would run this one."""
    blob = base64.b64encode(pickle.dumps(_Payload(case.payload))).decode()

    def plant(name: str, data: bytes) -> bytes:
        if name != "data":
            return data
        content = json.loads(data)
        for key in ("lr_schedule", "learning_rate"):
            content[key] = {":type:": "<class 'function'>", ":serialized:": blob}
        return json.dumps(content).encode()

    _rewrite_zip(case.run / "Pendulum-v1.zip", plant)
    _check(case, ENJOY, status=0)
    _check(case, EXPORT, status=0)
    _check(case, TRAIN_I, status=0, hashed=case.logs)  # warm start: weights only


def test_zip_bomb_model_is_refused_before_unpacking(case: Case) -> None:
    big = b"0" * (80 * 2**20)  # compresses to ~80 KiB; unpacks past the 64 MiB data limit
    _rewrite_zip(case.run / "Pendulum-v1.zip", lambda n, d: big if n == "data" else d)
    for command in (ENJOY, EXPORT, TRAIN_I):
        _check(case, command, says=["Pendulum-v1.zip", "unpack"])


# -- path tricks -------------------------------------------------------------------------------


def test_symlinked_statistics_leading_outside_the_run_are_refused(case: Case) -> None:
    outside = case.root / "elsewhere.pkl"
    shutil.copy(case.params / "vecnormalize.pkl", outside)
    (case.params / "vecnormalize.pkl").unlink()
    (case.params / "vecnormalize.pkl").symlink_to(outside)
    for command in (ENJOY, EXPORT):
        _check(case, command, says=["vecnormalize.pkl", "outside the run folder"])


def test_symlinked_model_leading_outside_the_run_is_refused(case: Case) -> None:
    outside = case.root.parent / "someone-elses.zip"  # not under the hashed tree
    shutil.copy(case.run / "Pendulum-v1.zip", outside)
    (case.run / "Pendulum-v1.zip").unlink()
    (case.run / "Pendulum-v1.zip").symlink_to(outside)
    _check(case, ENJOY, says=["Pendulum-v1.zip", "outside the run folder"])


def test_symlinked_config_leading_outside_the_run_is_refused(case: Case) -> None:
    outside = case.root / "config.yml"
    outside.write_text(
        (case.params / "config.yml").read_text()
        + f'env_wrapper:\n- os.system:\n    command: "{case.payload}"\n'
    )
    (case.params / "config.yml").unlink()
    (case.params / "config.yml").symlink_to(outside)
    _check(case, ENJOY, says=["config.yml", "outside the run folder"])


def test_dotdot_and_absolute_checkpoint_names_are_not_followed(case: Case) -> None:
    """checkpoints.yml names files; opening a run finds checkpoints by name in the folder."""
    outside = case.root / "outside"
    outside.mkdir()
    (outside / "evil.pkl").write_bytes(pickle.dumps(_Payload(case.payload)))
    index = case.run / "checkpoints.yml"
    index.write_text(
        index.read_text()
        .replace("rl_model_vecnormalize_300_steps.pkl", "../../../outside/evil.pkl")
        .replace("rl_model_vecnormalize_150_steps.pkl", str(outside / "evil.pkl"))
    )
    _check(case, ENJOY, status=0, extra=["--load-last-checkpoint"])
    _check(case, ENJOY, status=0, extra=["--load-checkpoint", "150"])


# -- the user's own files at train time --------------------------------------------------------


@pytest.mark.parametrize(
    ("entry", "fragments"),
    [
        ({"env_wrapper": ["gymnasium.make"]}, ["env_wrapper", "gymnasium.make", "not a class"]),
        (
            {"vec_env_wrapper": ["gymnasium.wrappers.TimeLimit"]},
            ["vec_env_wrapper", "TimeLimit", "VecEnvWrapper"],
        ),
        ({"callback": ["os.system"]}, ["callback", "os.system", "BaseCallback"]),
        (
            {"policy_kwargs": "dict(net_arch=[16], activation_fn=ReplayBuffer)"},
            ["activation_fn", "ReplayBuffer", "torch.nn.Module"],
        ),
        (
            {"policy_kwargs": "dict(net_arch=[16], optimizer_class=nn.ReLU)"},
            ["optimizer_class", "nn.ReLU", "torch.optim.Optimizer"],
        ),
        (
            {"replay_buffer_class": "NatureCNN"},
            ["replay_buffer_class", "NatureCNN", "ReplayBuffer"],
        ),
    ],
)
def test_own_hyperparameters_of_the_wrong_kind_are_refused_at_train(
    cli: Callable[..., Any], tmp_path: Path, entry: dict[str, object], fragments: list[str]
) -> None:
    import yaml

    entries = yaml.safe_load(CONF)
    entries[ENV].update(entry)
    conf = tmp_path / "conf.yml"
    conf.write_text(yaml.safe_dump(entries))
    logs = tmp_path / "logs"
    result = cli("train", "-a", "sac", "-e", ENV, "--conf-file", conf, "-f", logs, "-n", "50")
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in result.output, result.output
    assert not logs.exists() or not any(logs.rglob("*.zip"))


@pytest.mark.slow  # three fresh processes: which of them imports the user's module is the point
def test_own_wrapper_trains_without_a_flag_and_replays_with_allow_import(tmp_path: Path) -> None:
    """The author's class: train imports it; opening the run later needs --allow-import."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "my_wrappers.py").write_text(
        "import gymnasium as gym\n\n\n"
        "class Scale(gym.RewardWrapper):\n"
        "    def __init__(self, env, factor=1.0):\n"
        "        super().__init__(env)\n"
        "        self.factor = factor\n\n"
        "    def reward(self, reward):\n"
        "        return reward * self.factor\n"
    )
    conf = tmp_path / "conf.yml"
    conf.write_text(
        "Pendulum-v1:\n  n_timesteps: 200\n  policy: MlpPolicy\n  learning_starts: 100\n"
        '  batch_size: 32\n  buffer_size: 1000\n  policy_kwargs: "dict(net_arch=[16])"\n'
        "  env_wrapper:\n  - my_wrappers.Scale:\n      factor: 0.5\n"
    )
    trained = _realzoo(
        ["train", "-a", "sac", "-e", ENV, "--conf-file", conf, "-f", "logs", "--seed", "1",
         "--verbose", "0", "--eval-freq", "-1"],
        cwd=tmp_path, extra_path=site,
    )  # fmt: skip
    assert trained.returncode == 0, trained.stdout + trained.stderr
    run = tmp_path / "logs" / "sac" / f"{ENV}_1"
    refused = _realzoo(["enjoy", run, "--no-render", "-n", "5"], cwd=tmp_path, extra_path=site)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "--allow-import my_wrappers.Scale" in refused.stderr, refused.stderr
    allowed = _realzoo(
        ["enjoy", run, "--no-render", "-n", "5", "--allow-import", "my_wrappers"],
        cwd=tmp_path,
        extra_path=site,
    )
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
