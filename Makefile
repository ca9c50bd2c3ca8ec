# Total Place data platform. `make help` lists the targets.
# Everything runs from the project's own venv; nothing needs to be installed by hand beyond Python 3.11.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STATE  ?= $(CURDIR)/.totalplace
STAMP  := $(VENV)/.installed

export TOTALPLACE_STATE_DIR := $(STATE)
export XDG_RUNTIME_DIR      := $(STATE)/run
export DBT_SEND_ANONYMOUS_USAGE_STATS := False
export GX_ANALYTICS_ENABLED := false
export AIRFLOW__COSMOS__ENABLE_TELEMETRY := False
export AIRFLOW__CORE__LOAD_EXAMPLES := False
export DO_NOT_TRACK := 1

.DEFAULT_GOAL := help
.PHONY: help setup browser redis cluster demo test attack chaos bench lint airflow report up down status clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev,celery,s3]'
	$(BIN)/python -m pip check
	@touch $(STAMP)

$(STATE)/run:
	@mkdir -p -m 700 $(STATE)/run

setup: $(STAMP) $(STATE)/run ## Create .venv and install the pinned dependencies (constraints.txt)

# The profiles' browser test opens the site in headless Chromium (Debian package `chromium`).
browser: ## Install headless Chromium for the site's browser test (Debian/Ubuntu, needs root or sudo)
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null 2>&1 || \
	  { $$SUDO apt-get update -q >/dev/null && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null; }; }
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1

# `totalplace airflow --workers N` and its test take their Celery tasks from Redis (Debian package `redis-server`).
redis: ## Install redis-server, the Celery workers' broker (Debian/Ubuntu, needs root or sudo)
	@command -v redis-server >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q redis-server >/dev/null 2>&1 || \
	  { $$SUDO apt-get update -q >/dev/null && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q redis-server >/dev/null; }; }
	@command -v redis-server >/dev/null 2>&1

cluster: setup redis ## Airflow as deployed: API server, scheduler, DAG processor, triggerer, Redis, 2 Celery workers
	$(BIN)/totalplace airflow --workers $${WORKERS:-2}

demo: setup ## Set up and run the whole platform end to end on the sample extracts
	$(BIN)/python -m devtools demo

test: setup browser redis ## Set up and run every test (real PostgreSQL, SFTP, dbt, GX, Airflow and Chromium)
	$(BIN)/ruff check .
	$(BIN)/pytest -n 2

attack: setup browser ## The attack suite alone: every hole a probe of the demo found, tried again (also in make test)
	$(BIN)/pytest -n 2 tests/security

chaos: setup ## The fault suite with bigger files and more repetitions; prints the books per scenario
	TOTALPLACE_CHAOS_SCALE=$${SCALE:-5} $(BIN)/pytest tests/faults -m fault -q

bench: setup ## Time load + gate + publish against a bare COPY (1,000,000 rows)
	$(BIN)/python -m devtools bench --rows $${ROWS:-1000000}

lint: setup ## ruff, including Airflow 3 idioms (AIR3)
	$(BIN)/ruff check .

airflow: setup ## Airflow UI (airflow standalone) with the project's DAGs on 127.0.0.1:8080
	$(BIN)/totalplace airflow

report: setup ## Build the place profiles site from the published marts (prints its path)
	$(BIN)/totalplace report

up: setup ## Start the embedded warehouse and SFTP server
	$(BIN)/totalplace up

down: ## Stop them
	@test -x $(BIN)/totalplace && $(BIN)/totalplace down || true

status: setup ## Show what is running
	$(BIN)/totalplace status

clean: down ## Stop services and delete the state folder (database, SFTP root, logs)
	rm -rf $(STATE)
