"""realzoo: reproducible, crash-safe reinforcement-learning experiments on Stable-Baselines3.

The public Python API (``import rlzoo_real as rz``)::

    result = rz.train("ppo", "CartPole-v1", n_timesteps=10_000, seed=0)
    with rz.load(result.run_folder, model="best") as run:
        print(rz.evaluate(run, n_episodes=10).mean_return)
    rows = rz.runs("logs")              # records for pandas.DataFrame(rows)

Names are imported on first use, so ``import rlzoo_real`` stays light (no torch, no SB3).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: public name -> the module that defines it
_EXPORTS = {
    "train": "rlzoo_real.api.train",
    "resume": "rlzoo_real.api.train",
    "load": "rlzoo_real.api.load",
    "evaluate": "rlzoo_real.api.load",
    "runs": "rlzoo_real.api.runs",
    "tune": "rlzoo_real.api.studies",
    "sweep": "rlzoo_real.api.studies",
    "plot_training": "rlzoo_real.api.plots",
    "plot_evaluations": "rlzoo_real.api.plots",
    "TrainingResult": "rlzoo_real.api.results",
    "Loaded": "rlzoo_real.api.results",
    "Evaluation": "rlzoo_real.api.results",
    "UserError": "rlzoo_real.errors",
    "ConfigError": "rlzoo_real.errors",
    "EnvError": "rlzoo_real.errors",
    "RunNotFoundError": "rlzoo_real.errors",
}

__all__ = [
    "ConfigError",
    "EnvError",
    "Evaluation",
    "Loaded",
    "RunNotFoundError",
    "TrainingResult",
    "UserError",
    "__version__",
    "evaluate",
    "load",
    "plot_evaluations",
    "plot_training",
    "resume",
    "runs",
    "sweep",
    "train",
    "tune",
]

if TYPE_CHECKING:
    from rlzoo_real.api.load import evaluate, load
    from rlzoo_real.api.plots import plot_evaluations, plot_training
    from rlzoo_real.api.results import Evaluation, Loaded, TrainingResult
    from rlzoo_real.api.runs import runs
    from rlzoo_real.api.studies import sweep, tune
    from rlzoo_real.api.train import resume, train
    from rlzoo_real.errors import ConfigError, EnvError, RunNotFoundError, UserError


# ``train`` and ``runs`` are also subpackages (rlzoo_real/train/, rlzoo_real/runs/); loading a
# subpackage binds its name here, over the function. Load both now (docstrings only, cheap) and
# drop those bindings: later imports of their modules find them loaded and bind nothing, so
# ``rz.train`` and ``rz.runs`` stay the API's functions (see __getattr__), while
# ``import rlzoo_real.train.request`` still works.
importlib.import_module("rlzoo_real.train")
importlib.import_module("rlzoo_real.runs")
for _name in ("train", "runs"):
    globals().pop(_name, None)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'rlzoo_real' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
