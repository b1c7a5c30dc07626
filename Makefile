# Lailiao: two commands do everything on a fresh machine with Python 3.11+ and Node.js 20+.
#   make run    install, build the web app, migrate, load the demo, serve http://127.0.0.1:8000
#   make test   the whole test suite (backend pytest, frontend type check and unit tests)
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
HOST   ?= 127.0.0.1
PORT   ?= 8000
# The venv is rebuilt only when the pinned requirements change.
REQ_HASH := $(shell cat requirements.txt requirements-dev.txt | sha1sum | cut -c1-12)
VENV_STAMP := $(VENV)/.installed-$(REQ_HASH)
FRONTEND_SOURCES := $(shell find frontend/src frontend/public -type f 2>/dev/null) \
	frontend/index.html frontend/vite.config.ts frontend/package.json frontend/tsconfig.json

.PHONY: help run test test-backend test-frontend test-clock install frontend migrate demo serve check-compose clean

help:
	@echo "make run    - set up everything and serve Lailiao at http://$(HOST):$(PORT)"
	@echo "make test   - run the whole test suite"

$(VENV_STAMP): requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is needed; set PYTHON=python3.11")'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@rm -f $(VENV)/.installed-*
	@touch $@

install: $(VENV_STAMP)

frontend/node_modules/.package-lock.json: frontend/package-lock.json
	cd frontend && npm ci --no-audit --no-fund
	@touch $@

frontend/dist/index.html: frontend/node_modules/.package-lock.json $(FRONTEND_SOURCES)
	cd frontend && npm run build

frontend: frontend/dist/index.html

migrate: install
	cd backend && ../$(PY) manage.py migrate --noinput

demo: migrate
	cd backend && ../$(PY) manage.py seed_demo

serve: install
	cd backend && ../$(PY) manage.py collectstatic --noinput -v0
	@echo "Lailiao is at http://$(HOST):$(PORT)/  (API docs: /api/docs/, health: /healthz). Ctrl-C stops it."
	cd backend && exec ../$(PY) -m daphne -b $(HOST) -p $(PORT) config.asgi:application

run: install frontend demo serve

# Tests run in parallel, one worker per core (each with its own test database).
PYTEST_WORKERS ?= auto
test-backend: install
	$(PY) -m pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

test-frontend: frontend/node_modules/.package-lock.json
	cd frontend && npm run typecheck && npm test

# frontend first, so the last closing line is pytest's summary
test: test-frontend test-backend

# The backend suite on SQLite at the instants where dates go wrong (the 1st at 00:30 Asia/Shanghai on a Sunday,
# 31 December 23:30, 29 February); one instant: `make test-clock CLOCK=2027-03-01T00:30+08:00`.
test-clock: install
	PYTHON=$(PY) PYTEST_WORKERS=$(PYTEST_WORKERS) PYTEST_ARGS="$(PYTEST_ARGS)" scripts/test-clock-instants $(CLOCK)

check-compose: install
	PYTHON=$(PY) scripts/check-compose

clean:
	rm -rf $(VENV) frontend/node_modules frontend/dist var
