# Two commands do all the set-up on a fresh machine: `make demo` (the main job) and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
MODEL ?= recipes/models/tiny-gpt2.json
RECIPE ?= recipes/gpt2-gradual-magnitude-70.yaml
OUT ?= outputs/demo
SUITE ?= quick
DATA ?= ../shared/data
# The audit's toxicity scorer: the reference scorer when `make reference` has built it, else Detoxify (Hub).
SCORER_ARGS ?= $(shell [ -x $(PY) ] && $(PY) benchmarks/reference/locate.py scorer)
DATA_ARGS := $(if $(wildcard $(DATA)),--audit_data_dir $(DATA),)

.PHONY: install test lint demo bench reference seed-study perf clean

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

# Main job: compress -> audit base and result (quick suite) -> compare -> report and model card.
demo: install
	rm -rf $(OUT) $(OUT).partial
	$(VENV)/bin/hf-fair-compress compress --model $(MODEL) --recipe $(RECIPE) --output-dir $(OUT) \
		--audit_suite $(SUITE) $(SCORER_ARGS) $(DATA_ARGS) $(ARGS)

# Reference LM and toxicity scorer trained offline on ../shared/data (cached under ~/.cache/hf_fair_compress).
reference: install
	$(PY) benchmarks/reference/build_scorer.py --data-dir $(DATA)
	$(PY) benchmarks/reference/build_lm.py --data-dir $(DATA)

seed-study: reference
	$(PY) benchmarks/seed_study.py --data-dir $(DATA)

bench: install
	$(PY) benchmarks/perf.py

clean:
	rm -rf $(VENV) outputs build dist *.egg-info
