# The two commands of README.md, and the pieces they are made of.
.PHONY: setup demo test test-postgres test-browser lint format messages

setup:
	@scripts/setup

demo: setup
	.venv/bin/assura demo

test: setup lint
	.venv/bin/pytest -n 2 -m "not e2e and not postgres_only"

test-postgres: setup
	scripts/with-postgres .venv/bin/pytest -n 2 -m "not e2e"

test-browser: setup
	scripts/with-chromium .venv/bin/pytest -m e2e

lint:
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy
	.venv/bin/assura makemigrations --check --dry-run >/dev/null || \
		(echo "models changed without a migration: run assura makemigrations" && exit 1)

format:
	.venv/bin/ruff format .
	.venv/bin/ruff check --fix .

messages:
	cd src/assura && ../../.venv/bin/django-admin makemessages -l zh_Hans -l en --ignore=.venv
