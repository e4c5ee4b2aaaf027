# Two commands do all the set-up on a fresh machine: `make demo` (the main job) and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
MODEL ?= recipes/models/tiny-gpt2.json
RECIPE ?= recipes/gpt2-gradual-magnitude-70.yaml
OUT ?= outputs/demo

.PHONY: install test lint demo bench clean

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# CPU machines: the local torch 2.13.0 wheel, so pip does not pull the multi-GB CUDA build.
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e ".[dev]"
	touch $@

install: $(VENV)/.installed

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: lint
	$(VENV)/bin/pytest -q

demo: install
	rm -rf $(OUT) $(OUT).partial
	$(VENV)/bin/hf-fair-compress compress --model $(MODEL) --recipe $(RECIPE) --output-dir $(OUT) $(ARGS)

bench: install
	$(PY) benchmarks/step_overhead.py

clean:
	rm -rf $(VENV) outputs build dist *.egg-info
