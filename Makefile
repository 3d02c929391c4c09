# realzoo: the project's habits in one place. Everything runs inside .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# torch is pinned here, not in pyproject.toml: 2.13.0 is the local CPU build
# (an unpinned torch pulls gigabytes of CUDA wheels).
TORCH := torch==2.13.0

# The suite runs on every core (pytest-xdist): one worker process per core, and
# work stealing, so that an idle worker takes queued tests (slow ones included) from a
# busy one instead of waiting for it at the end. `make test WORKERS=0` runs it in one process.
WORKERS ?= auto
PYTEST := $(BIN)/python -m pytest -q -rs -n $(WORKERS) --dist worksteal

.PHONY: install demo test test-fast lint format type check bench sizes graph clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(TORCH)
	$(BIN)/python -m pip install --quiet -e ".[dev,envs,export,video,zoo,tune,postgres,sbx]" $(TORCH)
	$(BIN)/python -c "import rliable.library, stable_baselines3, sb3_contrib, optuna"
	touch $(STAMP)

## Train PPO on CartPole-v1 with the shipped hyperparameters (about a minute on 2 cores).
demo: install
	$(BIN)/realzoo train --algo ppo --env CartPole-v1 --seed 0 --eval-freq 10000

## The whole suite, slow end-to-end checks included (what CI runs).
test: install
	$(PYTEST)

## The fast suite only: every test but those marked slow (minutes, not the suite's 20).
test-fast: install
	$(PYTEST) -m "not slow"

lint: install
	$(BIN)/ruff check rlzoo_real tests scripts
	$(BIN)/ruff format --check rlzoo_real tests scripts

format: install
	$(BIN)/ruff format rlzoo_real tests scripts
	$(BIN)/ruff check --fix rlzoo_real tests scripts

type: install
	$(BIN)/mypy rlzoo_real

check: lint type test

## Speed benchmarks (figures as ratios against a baseline measured in the same run).
bench: install
	$(BIN)/python scripts/bench_startup.py
	$(BIN)/python scripts/bench_overhead.py
	$(BIN)/python scripts/bench_checkpoint.py
	$(BIN)/python scripts/bench_tune.py
	$(BIN)/python scripts/bench_export_latency.py
	$(BIN)/python scripts/bench_plot.py
	$(BIN)/python scripts/bench_sbx.py
	$(BIN)/python scripts/bench_realtime.py

## The house: lines per module of rlzoo_real, largest first (over 500 flagged).
sizes:
	$(PYTHON) scripts/house.py sizes

## The house: which module of rlzoo_real imports which (import circles flagged).
graph:
	$(PYTHON) scripts/house.py graph

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache *.egg-info
