# The two commands of the quick start: `make run` and `make test` (each sets everything up first).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: setup run test test-fast bench clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -c constraints.txt -e ".[dev]"
	touch $(STAMP)

setup: $(STAMP)

run: setup  ## train, validate and test an image classifier on the built-in data
	$(BIN)/taskhub run task=vision

test: setup  ## the whole test suite (what CI runs)
	$(BIN)/pytest

test-fast: setup  ## skip the slow tests
	$(BIN)/pytest -m "not slow"

bench: setup
	$(BIN)/python bench/mnist_cnn.py

clean:
	rm -rf $(VENV) runs multiruns outputs
