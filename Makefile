# Two commands on a fresh machine with Python 3.11+:  make demo  /  make test
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: demo test install check-db clean

$(BIN)/fridge-monitor: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@

install: $(BIN)/fridge-monitor

demo: install
	$(BIN)/fridge-monitor demo

test: install
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) data/demo .pytest_cache .hypothesis
