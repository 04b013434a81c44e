# One command for the main job (`make run`), one for the tests (`make test`); both start from nothing.
VENV := .venv/bin
TRACKTION := $(VENV)/tracktion

.PHONY: lock bootstrap stack-up stack-down stack-status run test test-unit lint typecheck bench

bootstrap:
	bash infra/bootstrap.sh

# Pin what is installed now (after the suite passed on it) for every later bootstrap.
lock:
	bash infra/lock.sh

stack-up: bootstrap
	$(TRACKTION) stack up

stack-down:
	$(TRACKTION) stack down

stack-status:
	$(TRACKTION) stack status

run: stack-up
	$(TRACKTION) demo

test: stack-up
	$(VENV)/pytest

test-unit: bootstrap
	$(VENV)/pytest tests/unit

lint: bootstrap
	$(VENV)/ruff check .
	$(VENV)/mypy

typecheck: lint
