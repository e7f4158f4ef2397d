"""Settings from the environment: defaults that run, and one clear sentence when wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from assura.config import ConfigError, Env, data_dir, database, email, secret_key


def test_without_variables_it_runs_on_sqlite_in_wal_mode_in_the_data_folder(
    tmp_path: Path,
) -> None:
    settings = database(Env({}), tmp_path)
    assert settings["ENGINE"] == "django.db.backends.sqlite3"
    assert settings["NAME"] == str(tmp_path / "assura.sqlite3")
    assert "journal_mode=WAL" in settings["OPTIONS"]["init_command"]  # type: ignore[index]


def test_a_postgres_url_is_parsed_into_a_database(tmp_path: Path) -> None:
    settings = database(Env({"DATABASE_URL": "postgres://u:p@db.example:5433/assura"}), tmp_path)
    assert settings["ENGINE"] == "django.db.backends.postgresql"
    assert (settings["HOST"], settings["PORT"], settings["NAME"]) == ("db.example", 5433, "assura")


@pytest.mark.parametrize("url", ["mysql://u@h/db", "nonsense://x"])
def test_an_unsupported_database_url_is_refused_with_its_name(tmp_path: Path, url: str) -> None:
    with pytest.raises(ConfigError, match="DATABASE_URL"):
        database(Env({"DATABASE_URL": url}), tmp_path)


def test_the_secret_key_is_generated_once_and_kept(tmp_path: Path) -> None:
    first = secret_key(Env({}), tmp_path)
    assert len(first) >= 50
    assert secret_key(Env({}), tmp_path) == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_a_short_secret_key_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        secret_key(Env({"SECRET_KEY": "short"}), tmp_path)


def test_the_data_folder_is_created(tmp_path: Path) -> None:
    folder = data_dir(Env({"ASSURA_DATA_DIR": str(tmp_path / "new" / "place")}))
    assert folder.is_dir()


@pytest.mark.parametrize(("raw", "expected"), [("1", True), ("Yes", True), ("off", False)])
def test_booleans_accept_the_usual_words(raw: str, expected: bool) -> None:
    assert Env({"DEBUG": raw}).flag("DEBUG") is expected


def test_a_bad_boolean_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="DEBUG must be true or false"):
        Env({"DEBUG": "maybe"}).flag("DEBUG")


def test_a_bad_port_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="EMAIL_PORT must be a whole number"):
        email(Env({"EMAIL_HOST": "mail", "EMAIL_PORT": "twenty-five"}))


def test_an_unknown_time_zone_is_refused() -> None:
    with pytest.raises(ConfigError, match="TIME_ZONE"):
        Env({"TIME_ZONE": "Mars/Olympus"}).zone("TIME_ZONE", "Asia/Shanghai")


def test_without_a_mail_host_mail_goes_to_the_console() -> None:
    mailer = email(Env({}))["MAILERS"]["default"]  # type: ignore[index]
    assert mailer["BACKEND"].endswith("console.EmailBackend")


def test_an_smtp_host_makes_an_smtp_mailer_with_its_port() -> None:
    mailer = email(Env({"EMAIL_HOST": "mail.example", "EMAIL_PORT": "2525"}))["MAILERS"]["default"]  # type: ignore[index]
    assert mailer["BACKEND"].endswith("smtp.EmailBackend")
    assert (mailer["OPTIONS"]["host"], mailer["OPTIONS"]["port"]) == ("mail.example", 2525)


def test_tls_and_ssl_together_are_refused() -> None:
    with pytest.raises(ConfigError):
        email(Env({"EMAIL_HOST": "m", "EMAIL_USE_TLS": "1", "EMAIL_USE_SSL": "1"}))
