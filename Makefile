# Two entry points (see README): `make serve` and `make test`. Both build .venv/ themselves.
# `make serve` installs only what serving needs (extras `server` and `mesh`: the demo's
# precomputed view serves body meshes); `make test` installs every
# extra. Each install has its own stamp, so one never re-runs the other's.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-all
SERVE_STAMP := $(VENV)/.installed-server
HOST ?= 127.0.0.1
PORT ?= 8000
# pytest workers for `make test` (CI has 2 cores; much of the suite waits on servers). Each
# starts with half the tests, and one that runs out takes half of the other's queue
# (--dist worksteal): neither idles while the other still has tests waiting.
TEST_WORKERS ?= 2

.PHONY: venv demo serve test lint bench bench-http bench-labels bench-versions bench-annotations fuzz clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(STAMP): pyproject.toml setup.py src/voxhub/codecs/_cseg_native.c | $(BIN)/python
	$(BIN)/pip install -q -e '.[server,mesh,s3,io,import,test,bench]'
	touch $(STAMP) $(SERVE_STAMP)

$(SERVE_STAMP): pyproject.toml setup.py src/voxhub/codecs/_cseg_native.c | $(BIN)/python
	$(BIN)/pip install -q -e '.[server,mesh]'
	touch $(SERVE_STAMP)

venv: $(STAMP)

demo: $(SERVE_STAMP)
	$(BIN)/python -m voxhub.demo $(if $(STORE),--store $(STORE),)

# Serve the demo store over HTTP (built first if absent); `voxhub serve` prints the URL.
# `make serve HOST=0.0.0.0 PORT=8080` to listen elsewhere (refused without authentication:
# add users with `voxhub auth`, or SERVE_ARGS=--insecure); SERVE_ARGS go to voxhub serve.
SERVE_ARGS ?=
DEMO_STORE ?= demo-store
serve: $(SERVE_STAMP)
	@test -e $(DEMO_STORE) || $(BIN)/python -m voxhub.demo --store $(DEMO_STORE)
	$(BIN)/voxhub serve --store $(DEMO_STORE) --host $(HOST) --port $(PORT) $(SERVE_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

# pytest writes bytecode caches even where the environment turns them off
# (PYTHONDONTWRITEBYTECODE): the suite starts many voxhub processes (servers, CLI calls of
# the README's blocks), and each would otherwise recompile voxhub (~0.3 s of CPU each).
test: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports
	PYTHONDONTWRITEBYTECODE= $(BIN)/python -m pytest -q --durations=15 -n $(TEST_WORKERS) --dist worksteal

bench: $(STAMP)
	$(BIN)/python -m bench.run
	$(BIN)/python -m bench.http
	$(BIN)/python -m bench.labels
	$(BIN)/python -m bench.versions

# Only the HTTP benchmark (voxhub serve vs tensorstore over a static Range server).
bench-http: $(STAMP)
	$(BIN)/python -m bench.http

# Only the labelmap benchmark (Voronoi segmentation vs tensorstore compressed_segmentation).
bench-labels: $(STAMP)
	$(BIN)/python -m bench.labels

# Only the annotation benchmark (1M synapses on a 2,000-body labelmap; --quick: a smoke test).
bench-annotations: $(STAMP)
	$(BIN)/python -m bench.annotations

# Only the versions benchmark (history costs vs Icechunk 2.x in its own Python 3.12 venv).
bench-versions: $(STAMP)
	$(BIN)/python -m bench.versions

# schemathesis against a real voxhub serve on a throwaway demo store (bench/README.md).
fuzz: $(STAMP)
	$(BIN)/python -m bench.fuzz

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
