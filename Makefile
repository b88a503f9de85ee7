# glassnet: two commands for a fresh machine.
#   make demo   sets up .venv and trains the default network on two-moons
#   make test   sets up .venv and runs the whole test suite and ruff
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
OUT ?= runs/demo
# Benchmarks run with OpenBLAS choosing its own kernels: some machines set OPENBLAS_CORETYPE
# (and OPENBLAS_L2_SIZE) for older OpenBLAS builds, which slows a current NumPy's products
# 1.6-1.9x (Haswell kernels on an AVX-512 CPU) and not JAX's or PyTorch's. Each report records
# the kernel it ran. Tests keep the machine's settings.
BENCH := env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(BIN)/python

.PHONY: demo test lint playground bench bench-mnist bench-sklearn bench-dask bench-playground \
	bench-optimizers bench-inference bench-estimators bench-tables bench-smoke fuzz clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/glassnet train --out $(OUT) --overwrite

test: $(STAMP)
	$(BIN)/ruff check src tests bench examples fuzz
	$(BIN)/python -m pytest -n 2 -q

playground: $(STAMP)
	$(BIN)/glassnet playground

lint: $(STAMP)
	$(BIN)/ruff check src tests bench examples fuzz

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet "torch==2.13.0" || echo "torch not installed: PyTorch columns skipped"
	$(BIN)/python -m pip install --quiet "jax[cpu]>=0.4.30" "optax>=0.2" || echo "JAX not installed: its column skipped"
	$(BENCH) bench/run.py --out bench/results.md

bench-mnist: $(STAMP)
	$(BENCH) bench/mnist.py --data ../shared/data/mnist --out bench/mnist.md
	$(BENCH) bench/run.py --render bench/results.json --out bench/results.md

bench-dask: $(STAMP)
	$(BENCH) bench/data_parallel.py --out bench/data_parallel.md

bench-optimizers: $(STAMP)
	$(BIN)/python -m pip install --quiet "torch==2.13.0" || echo "torch not installed: PyTorch columns skipped"
	$(BIN)/python -m pip install --quiet "jax[cpu]>=0.4.30" "optax>=0.2" || echo "JAX not installed: its column skipped"
	$(BENCH) bench/optimizers.py --out bench/optimizers.md

bench-inference: $(STAMP)
	$(BIN)/python -m pip install --quiet "torch==2.13.0" || echo "torch not installed: PyTorch columns skipped"
	$(BENCH) bench/inference.py --out bench/inference.md

bench-estimators: $(STAMP)
	$(BENCH) bench/estimators.py --out bench/estimators.md

bench-tables: $(STAMP)
	$(BENCH) bench/tables.py --out bench/tables.md

bench-playground: $(STAMP)
	$(BENCH) bench/playground.py --out bench/playground.md

bench-sklearn: $(STAMP)
	$(BENCH) bench/sklearn_parity.py --out bench/sklearn_parity.md

bench-smoke: $(STAMP)
	$(BIN)/python bench/run.py --smoke

fuzz: $(STAMP)
	$(BIN)/python -m pip install --quiet "atheris>=2.3"
	$(BIN)/python fuzz/fuzz_load.py -max_total_time=60
	$(BIN)/python fuzz/fuzz_checkpoint.py -max_total_time=60
	$(BIN)/python fuzz/fuzz_fields.py -max_total_time=60
	$(BIN)/python fuzz/fuzz_server.py -max_total_time=60
	$(BIN)/python fuzz/fuzz_readers.py -max_total_time=60

clean:
	rm -rf $(VENV) runs build *.egg-info src/*.egg-info .pytest_cache .ruff_cache
