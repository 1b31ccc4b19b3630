# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# The development environment: runtime + the dev extra (requirements-dev.lock), every file checked against
# its hash. The Docker image installs requirements.lock alone. Regenerate both: scripts/lock-dependencies.sh
LOCKS := requirements.lock requirements-dev.lock
STAMP := $(VENV)/.installed-$(shell cat $(LOCKS) pyproject.toml 2>/dev/null | sha256sum | cut -c1-12)

.PHONY: install run test bench bench-budget bench-peers bench-pages bench-trail bench-uploads bench-workers worker clean

install: $(STAMP)

$(STAMP): $(LOCKS) pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade "pip==25.3"
	$(PY) -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements-dev.lock
	@rm -f $(VENV)/.installed-*
	@touch $@

## Serve the portal with demo data on http://127.0.0.1:8000 and a background worker (no server needed).
run: install
	DEBUG=1 scripts/run-dev.sh

## Run the whole test suite (PostgreSQL + Redis + a real worker when CI=true).
test: install
	scripts/test.sh

## Benchmark: wall time and peak memory of the full validation suite per check family (Adult and German
## credit x HistGradientBoosting and LogisticRegression), through the worker's code path; SHAP overhead;
## then the web process's memory bound for large and hostile uploads (bench-uploads).
bench: install
	$(PY) -m bench.run
	$(PY) -m bench.uploads

## Benchmark against Giskard and Deepchecks (each installed in a throw-away venv outside the repo).
## Issue #15: models slower to explain than a boosted tree (scikit-learn defaults) on Adult, each inside
## the explainability time budget; the table says the time, and how SHAP was evaluated (path, rows).
bench-budget: install
	$(PY) -m bench.run --datasets adult --models rf extratrees mlp svc --no-shap --json artifacts/bench/budget.json

bench-peers: install
	$(PY) -m bench.peers

## Benchmark: the compliance officer's pages (dashboard, register, heatmap...) with 5,000 AI systems and
## 10,000 risks in a throw-away database: median time and SQL queries per page.
bench-pages: install
	$(PY) -m bench.pages

## Benchmark: the audit trail with 1,000,000 events (issue #15): the trail page (keyset), verify_audit_trail
## and the exports, seconds and peak RSS. Set DATABASE_URL to an empty PostgreSQL database for the real figures.
bench-trail: install
	$(PY) -m bench.trail

## Benchmark: the web process's peak memory above idle and the request's time for a 4 MB pickle opcode
## bomb, a 300 MB CSV and a 50 MB joblib model (throw-away data folder); the bound is 200 MB.
bench-uploads: install
	$(PY) -m bench.uploads

## Benchmark (issue #15): validation throughput with 1, 2 and 4 real Celery workers (--concurrency 1 each)
## for a queue of 20 runs, on PostgreSQL + Redis (DATABASE_URL, CELERY_BROKER_URL; local servers by
## default): runs/hour, speed-up against one worker, and runs executed twice or lost.
bench-workers: install
	$(PY) -m bench.workers

## Start only a worker (for a portal started some other way).
worker: install
	$(VENV)/bin/celery -A config worker --loglevel=info --concurrency=2

clean:
	rm -rf $(VENV) var staticfiles
