# The two commands a newcomer needs: `make run` and `make test`. Everything else is optional.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Python >= 3.12: the first that runs of python3.12/python3.13 on PATH, then pyenv's
# interpreters by full path (pyenv's python3.12 shim refuses to run when 3.12 is not the
# selected version), then plain python3 if it is new enough.
PYTHON ?= $(shell for p in python3.12 python3.13 \
	$$(ls -d $${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.1[2-9]*/bin/python 2>/dev/null | sort -V) python3; do \
	  "$$p" -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1 && { command -v "$$p" || echo "$$p"; } && break; \
	done)
VENV := .venv
UV_HOME := .uv
UV := $(shell command -v uv 2>/dev/null || echo $(UV_HOME)/bin/uv)
BIN := $(VENV)/bin
MANAGE := $(BIN)/python manage.py
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: help install run test lint format bench migrations-check deploy-check clean

help:
	@echo "make run    install, migrate, load demo data, serve http://$(HOST):$(PORT)"
	@echo "make test   the whole test suite"
	@echo "make lint   ruff + mypy;  make bench  the benchmarks"

$(UV_HOME)/bin/uv:
	@test -n "$(PYTHON)" || { echo "Python 3.12 or newer is required" >&2; exit 1; }
	$(PYTHON) -m venv $(UV_HOME)
	$(UV_HOME)/bin/pip install --quiet --disable-pip-version-check "uv>=0.9,<0.14"

$(VENV)/.installed: pyproject.toml uv.lock | $(if $(findstring $(UV_HOME),$(UV)),$(UV_HOME)/bin/uv)
	@test -n "$(PYTHON)" || { echo "Python 3.12 or newer is required" >&2; exit 1; }
	UV_PYTHON=$(PYTHON) UV_PROJECT_ENVIRONMENT=$(VENV) $(UV) sync --frozen --compile-bytecode --quiet
	@touch $@

install: $(VENV)/.installed

# `make run` pays through localstripe, a fake Stripe on loopback (test card 4242 4242 4242
# 4242), unless STRIPE_SECRET_KEY in the environment points at Stripe's own test mode. It
# starts first, so the demo requests can save the test card; it stops with the server.
LOCALSTRIPE_PORT ?= 8421
LOCALSTRIPE := http://127.0.0.1:$(LOCALSTRIPE_PORT)

# It also starts an S3 stand-in (moto server on loopback) unless AWS_STORAGE_BUCKET_NAME
# points at a real bucket, so records and reports live in a bucket and the large-file uploader
# (browser straight to S3, resumable) works. Moto keeps objects in memory only: it has no
# on-disk store, so files uploaded under `make run` are gone after it stops.
MOTO_PORT ?= 8422
# Links in emails point at the server make run starts.
SITE_URL ?= http://$(HOST):$(PORT)

# moto and localstripe keep what they hold in memory: a database from an earlier run would
# name files and cards they no longer have. So make run starts from a fresh demo database
# when it runs on SQLite, and keeps the earlier one in $(VAR)/previous-run/, saying so.
VAR ?= var
.PHONY: fresh-demo-db
fresh-demo-db:
	@if [ -z "$$DATABASE_URL" ] && [ -f $(VAR)/db.sqlite3 ]; then \
	  mkdir -p $(VAR)/previous-run; \
	  for f in $(VAR)/db.sqlite3 $(VAR)/db.sqlite3-wal $(VAR)/db.sqlite3-shm; do \
	    [ -f "$$f" ] && mv -f "$$f" $(VAR)/previous-run/; \
	  done; \
	  echo "Fresh demo database: the stand-ins keep files and cards in memory only, so the"; \
	  echo "last run's database (which names them) was moved to $(VAR)/previous-run/."; \
	fi; true

run: install fresh-demo-db
	@mkdir -p var/mail var/media
	@export SITE_URL=$(SITE_URL) DJANGO_SETTINGS_MODULE=config.settings.local; pids=; trap 'kill $$pids 2>/dev/null' EXIT INT TERM; \
	if [ -z "$$AWS_STORAGE_BUCKET_NAME" ]; then \
	  export AWS_S3_ENDPOINT_URL=http://127.0.0.1:$(MOTO_PORT) AWS_ACCESS_KEY_ID=testing \
	    AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION=us-west-2; \
	  $(BIN)/python -m moto.server -H 127.0.0.1 -p $(MOTO_PORT) >var/moto.log 2>&1 & \
	  pids="$$pids $$!"; \
	  for _ in $$(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$(MOTO_PORT)) 2>/dev/null && break; sleep 0.2; done; \
	  $(MANAGE) s3_configure_bucket || exit 1; \
	  echo "S3 stand-in (moto) on $$AWS_S3_ENDPOINT_URL; log in var/moto.log"; \
	fi; \
	if [ -z "$$STRIPE_SECRET_KEY" ]; then \
	  export STRIPE_API_BASE=$(LOCALSTRIPE) STRIPE_JS_URL=$(LOCALSTRIPE)/js.stripe.com/v3/ \
	    STRIPE_SECRET_KEY=sk_test_localstripe STRIPE_PUBLISHABLE_KEY=pk_test_localstripe \
	    STRIPE_WEBHOOK_SECRET=whsec_localstripe; \
	  $(BIN)/python -m billing.localstripe_server --port $(LOCALSTRIPE_PORT) >var/localstripe.log 2>&1 & \
	  pids="$$pids $$!"; \
	  $(BIN)/python -m billing.localstripe_server --port $(LOCALSTRIPE_PORT) \
	    --register-webhook http://$(HOST):$(PORT)/billing/stripe/webhook/ || exit 1; \
	  echo "localstripe (fake Stripe) on $(LOCALSTRIPE); log in var/localstripe.log"; \
	fi; \
	$(MANAGE) migrate --noinput && $(MANAGE) collectstatic --noinput --verbosity 0 \
	&& $(MANAGE) seed_demo && $(MANAGE) runserver $(HOST):$(PORT)

# Two pytest-xdist workers (each its own test database, Chromium and localstripe; the tests
# that run a Celery worker on the broker share one worker, tests/conftest.py). TEST_WORKERS=0
# runs in one process; more workers help only with more cores.
TEST_WORKERS ?= 2
test: install
	$(BIN)/pytest --ds=config.settings.test -n $(TEST_WORKERS) --dist loadgroup

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy core accounts cases intake billing reports config imaging slides pacs demo
	$(BIN)/lint-imports

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

migrations-check: install
	$(MANAGE) makemigrations --check --dry-run

bench: install
	$(BIN)/python -m benchmarks.run $(ARGS)

# Report PDFs: our renderer next to bare WeasyPrint, growth with length, worker memory, and
# the whole report_render task (render, store, deliver) on the bench database.
.PHONY: bench-pdf bench-scale bench-celery bench-upload
bench-pdf: install
	$(BIN)/python -m benchmarks.report_pdf $(ARGS)

# The portal, workspace and console pages at 1,000 and 100,000 cases (ARGS="--sizes
# 1000,100000,1000000" for the million; see benchmarks/README.md for one database per size).
bench-scale: install
	$(BIN)/python -m benchmarks.run --queue $(ARGS)

# Celery: enqueue -> start latency with a real prefork worker on Redis.
bench-celery: install
	$(BIN)/python -m benchmarks.celery_latency $(ARGS)

# Large records straight to S3 (moto): ARGS="--size-mb 2048 --worker-timeout 180" for 2 GiB.
bench-upload: install
	$(BIN)/python -m benchmarks.upload $(ARGS)

clean:
	rm -rf $(VENV) $(UV_HOME) .pytest_cache .mypy_cache .ruff_cache
