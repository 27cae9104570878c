# The two commands a newcomer needs: `make run` and `make test`.
# Each creates .venv and installs the project on first use.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
STAMP := $(VENV)/.installed
# Linux x86_64 wheels of requirements.txt for the Lambda package, fetched once
# so that packaging (and the tests that package) never reach the network.
WHEELHOUSE := build/wheelhouse
WHEELS := $(WHEELHOUSE)/.fetched
# axe-core for the browser tests, installed from tests/browser's lock file.
AXE := tests/browser/node_modules/.package-lock.json

.PHONY: run test install package wheelhouse bench clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) is needed (Lambda runs Python 3.11)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

$(WHEELS): requirements.txt $(STAMP)
	$(BIN)/pip download --quiet --dest $(WHEELHOUSE) --only-binary=:all: \
		--platform manylinux2014_x86_64 --implementation cp --python-version 3.11 -r requirements.txt
	touch $(WHEELS)

wheelhouse: $(WHEELS)

# The prod stage as a CloudFormation package in build/package, linted.
package: $(STAMP) $(WHEELS)
	PATH="$(CURDIR)/$(BIN):$$PATH" scripts/package.sh prod build/package

$(AXE): tests/browser/package.json tests/browser/package-lock.json
	@if command -v npm >/dev/null; then cd tests/browser && npm ci --no-audit --no-fund --loglevel=error; \
	else echo "npm not found: the browser tests will skip (install Node.js and npm to run them)"; fi

# The API, and the example website on http://localhost:8080/.
run: $(STAMP)
	$(BIN)/nlc-api local --port $(PORT)

test: $(STAMP) $(WHEELS) $(AXE)
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info tests/browser/node_modules
