# Two commands on a fresh machine with Python 3.11+:  make demo  /  make test
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: demo test lint install check-db clean

$(BIN)/fridge-monitor: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,lint]'
	@touch $@

install: $(BIN)/fridge-monitor

demo: install
	$(BIN)/fridge-monitor demo

# Four workers: many tests wait on processes, brokers and databases, not on the two cores. An idle worker
# takes tests queued on a busy one (worksteal), so a few long tests do not end the run on one worker.
# Bytecode is cached even where the environment says PYTHONDONTWRITEBYTECODE: each of the many processes
# the tests start would otherwise compile the whole application from source again.
test: install
	env -u PYTHONDONTWRITEBYTECODE $(BIN)/python -m pytest -n 4 --dist worksteal

# ruff (style and likely bugs), the import contracts (layers, a pure core) and mypy (strict on the core).
lint: install
	$(BIN)/ruff check fridge_monitor sensors tests benchmarks migrations
	$(BIN)/lint-imports
	$(BIN)/mypy

clean:
	rm -rf $(VENV) data/demo .pytest_cache .hypothesis
