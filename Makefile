# Two entry points (see README): `make demo` and `make test`. Both build their own venv.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv demo serve test lint bench bench-http bench-labels clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test,bench]'
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m voxhub.demo $(if $(STORE),--store $(STORE),)

# Serve the demo store over HTTP (built first if absent); `voxhub serve` prints the URL.
DEMO_STORE ?= demo-store
serve: $(STAMP)
	@test -e $(DEMO_STORE) || $(BIN)/python -m voxhub.demo --store $(DEMO_STORE)
	$(BIN)/voxhub serve --store $(DEMO_STORE) $(if $(PORT),--port $(PORT),)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

test: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python -m bench.run
	$(BIN)/python -m bench.http
	$(BIN)/python -m bench.labels

# Only the HTTP benchmark (voxhub serve vs tensorstore over a static Range server).
bench-http: $(STAMP)
	$(BIN)/python -m bench.http

# Only the labelmap benchmark (Voronoi segmentation vs tensorstore compressed_segmentation).
bench-labels: $(STAMP)
	$(BIN)/python -m bench.labels

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
