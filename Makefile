# reinfuse: `make demo` and `make test` work on a fresh clone.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
OUT ?= out/demo

.PHONY: demo test lint typecheck unit bench fuzz lock clean

$(VENV)/.installed: pyproject.toml requirements.lock
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install -q --disable-pip-version-check -r requirements.lock
	@$(PY) -m pip install -q --disable-pip-version-check --no-deps -e .
	@touch $@

$(VENV)/.dev-installed: $(VENV)/.installed requirements-dev.lock
	@$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.lock
	@touch $@

demo: $(VENV)/.installed
	@$(VENV)/bin/reinfuse demo --out $(OUT)

test: $(VENV)/.dev-installed
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/mypy
	$(VENV)/bin/pytest -n auto --dist loadfile

# A long fuzzing run: new random inputs, many more examples than `make test` (FUZZ_EXAMPLES).
FUZZ_EXAMPLES ?= 2000
fuzz: $(VENV)/.dev-installed
	REINFUSE_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) REINFUSE_FUZZ_RANDOM=1 $(VENV)/bin/pytest tests/fuzz -q -p no:cacheprovider

bench: $(VENV)/.installed
	$(PY) benchmarks/bench_read_validate.py
	$(PY) benchmarks/bench_report.py
	$(PY) benchmarks/bench_crs_grading.py
	$(PY) benchmarks/bench_kinetics.py
	$(PY) benchmarks/bench_stats.py
	$(PY) benchmarks/bench_flow.py

lock:
	$(PY) -m pip freeze --exclude-editable > requirements.lock.new && echo "review requirements.lock.new"

clean:
	rm -rf $(VENV) out .pytest_cache .mypy_cache .ruff_cache
