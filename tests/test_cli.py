"""The `assura` command as a person runs it: a real process, a real environment.

Start-up problems must end in one sentence on stderr and exit code 2, never a
traceback, so each case runs the command in a subprocess and reads what it printed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

# Variables a developer's shell or the test run itself may have set, which would change
# what the command under test sees.
INHERITED_SETTINGS = (
    "DATABASE_URL",
    "ASSURA_TEST_DATABASE",
    "SECRET_KEY",
    "DEBUG",
    "TIME_ZONE",
    "LANGUAGE_CODE",
    "LOG_LEVEL",
    "WEB_WORKERS",
    "DJANGO_ALLOW_ASYNC_UNSAFE",
)

Assura = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def assura(tmp_path: Path) -> Assura:
    """Run `assura <args>` with its own data folder and the given extra variables."""

    def run(*args: str, **variables: str) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if k not in INHERITED_SETTINGS}
        env.update(
            DJANGO_SETTINGS_MODULE="assura.settings",
            ASSURA_DATA_DIR=str(tmp_path / "data"),
            **variables,
        )
        return subprocess.run(
            [sys.executable, "-m", "assura.cli", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    return run


def assert_one_line_error(result: subprocess.CompletedProcess[str], start: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(start), lines[0]


def test_an_unreachable_database_is_named_in_one_line(assura: Assura) -> None:
    result = assura("check-config", DATABASE_URL="postgres://nobody@127.0.0.1:1/none")
    assert_one_line_error(result, "assura: cannot reach the database")
    assert "127.0.0.1:1/none" in result.stderr


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DEBUG", "maybe"),
        ("TIME_ZONE", "Mars/Base"),
        ("SECRET_KEY", "short"),
        ("LOG_LEVEL", "loud"),
        ("LANGUAGE_CODE", "xx"),
        ("DATABASE_URL", "mysql://someone@db/assura"),
    ],
)
def test_a_bad_setting_is_refused_in_one_line_naming_the_variable(
    assura: Assura, variable: str, value: str
) -> None:
    result = assura("check-config", **{variable: value})
    assert_one_line_error(result, "assura: configuration error: ")
    assert variable in result.stderr


def test_serving_an_unmigrated_database_asks_for_migrate(assura: Assura) -> None:
    result = assura("serve")
    assert_one_line_error(result, "assura: the database schema is out of date")
    assert "run `assura migrate`" in result.stderr


def test_a_bad_number_of_web_workers_is_refused_in_one_line(assura: Assura) -> None:
    assert assura("migrate", "--verbosity", "0").returncode == 0
    result = assura("serve", WEB_WORKERS="many")
    assert_one_line_error(result, "assura: configuration error: WEB_WORKERS")


def test_migrate_then_the_demo_twice_succeeds_and_the_schema_is_current(assura: Assura) -> None:
    migrate = assura("migrate", "--verbosity", "0")
    assert migrate.returncode == 0, migrate.stderr
    for _ in range(2):
        demo = assura("demo", "--no-serve")
        assert demo.returncode == 0, demo.stderr
    check = assura("check-config")
    assert check.returncode == 0, check.stderr
    assert "migrations: up to date" in check.stdout
