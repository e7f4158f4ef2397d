"""Settings read from the environment by small typed functions.

Kept free of Django so the parsing can be tested on its own and so a wrong value
fails with one sentence naming the variable, before Django starts and buries the
cause in a traceback.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off", ""})
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LANGUAGE_CODES = ("zh-hans", "en")


class ConfigError(ValueError):
    """A setting in the environment has a value assura cannot use."""


@dataclass(frozen=True)
class Env:
    """A read-only view of the environment, so tests pass a plain dict."""

    values: Mapping[str, str]

    @classmethod
    def from_os(cls) -> Env:
        return cls(dict(os.environ))

    def text(self, name: str, default: str = "") -> str:
        return self.values.get(name, default).strip()

    def flag(self, name: str, default: bool = False) -> bool:
        raw = self.values.get(name)
        if raw is None:
            return default
        word = raw.strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        raise ConfigError(f"{name} must be true or false, not {raw!r}")

    def number(self, name: str, default: int, minimum: int | None = None) -> int:
        raw = self.values.get(name)
        if raw is None or not raw.strip():
            return default
        try:
            value = int(raw.strip())
        except ValueError:
            raise ConfigError(f"{name} must be a whole number, not {raw!r}") from None
        if minimum is not None and value < minimum:
            raise ConfigError(f"{name} must be at least {minimum}, not {value}")
        return value

    def items(self, name: str, default: tuple[str, ...] = ()) -> list[str]:
        raw = self.values.get(name)
        if raw is None:
            return list(default)
        return [item.strip() for item in raw.split(",") if item.strip()]

    def zone(self, name: str, default: str) -> str:
        value = self.text(name, default) or default
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"{name} is not a known time zone: {value!r}") from None
        return value


def log_level(env: Env) -> str:
    """LOG_LEVEL as the logging module spells it (a typo would stop Django with a traceback)."""
    value = (env.text("LOG_LEVEL") or "INFO").upper()
    if value not in LOG_LEVELS:
        raise ConfigError(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, not {value!r}")
    return value


def language_code(env: Env) -> str:
    """LANGUAGE_CODE, one of the languages assura has a catalogue for."""
    value = (env.text("LANGUAGE_CODE") or LANGUAGE_CODES[0]).lower()
    if value not in LANGUAGE_CODES:
        raise ConfigError(
            f"LANGUAGE_CODE must be one of {', '.join(LANGUAGE_CODES)}, not {value!r}"
        )
    return value


def check(env: Env) -> None:
    """Refuse the values Django itself would only reject with a traceback while starting."""
    log_level(env)
    language_code(env)


def data_dir(env: Env) -> Path:
    """The folder for the embedded database, the secret key and uploads.

    Created on first use so that `assura demo` on a fresh machine needs no setup.
    """
    path = Path(env.text("ASSURA_DATA_DIR") or Path.cwd() / "var").expanduser().resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def secret_key(env: Env, folder: Path) -> str:
    """SECRET_KEY from the environment, else one generated once and kept in the data folder.

    Generating it once (not per start) keeps sessions and one-time links valid across
    restarts of an embedded installation.
    """
    configured = env.text("SECRET_KEY")
    if configured:
        if len(configured) < 32:
            raise ConfigError("SECRET_KEY must be at least 32 characters long")
        return configured
    key_file = folder / "secret_key"
    if key_file.exists():
        return key_file.read_text(encoding="utf-8").strip()
    key = secrets.token_urlsafe(50)
    key_file.touch(mode=0o600)
    key_file.write_text(key, encoding="utf-8")
    return key


def database(env: Env, folder: Path) -> dict[str, object]:
    """The default database: DATABASE_URL, else SQLite in WAL mode in the data folder."""
    import dj_database_url  # local: keeps this module importable without the dependency

    url = env.text("DATABASE_URL")
    if not url:
        return sqlite_database(folder / "assura.sqlite3")
    try:
        parsed = dict(dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True))
    except ValueError as error:
        raise ConfigError(f"DATABASE_URL cannot be read: {error}") from None
    engine = str(parsed.get("ENGINE", ""))
    if engine.endswith("sqlite3"):
        return sqlite_database(Path(str(parsed["NAME"])))
    if not engine.endswith("postgresql"):
        raise ConfigError("DATABASE_URL must point to PostgreSQL (postgres://…) or SQLite")
    parsed.setdefault("OPTIONS", {})
    parsed["TEST"] = {"NAME": env.text("ASSURA_TEST_DATABASE") or None}
    return parsed


def sqlite_database(path: Path) -> dict[str, object]:
    """SQLite tuned for a small server: WAL, a busy timeout, immediate write transactions.

    IMMEDIATE transactions make a writer wait for the lock at BEGIN instead of failing
    half-way, which is what lets the worker and the web server share one file.
    """
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(path),
        "OPTIONS": {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
                " PRAGMA busy_timeout=20000;"
            ),
        },
    }


def email(env: Env) -> dict[str, object]:
    """Outgoing mail as Django's MAILERS; without EMAIL_HOST mail goes to the console."""
    host = env.text("EMAIL_HOST")
    settings: dict[str, object] = {
        "DEFAULT_FROM_EMAIL": env.text("DEFAULT_FROM_EMAIL", "assura@localhost"),
        "SERVER_EMAIL": env.text("SERVER_EMAIL", "assura@localhost"),
    }
    if not host:
        settings["MAILERS"] = {
            "default": {"BACKEND": "django.core.mail.backends.console.EmailBackend"}
        }
        return settings
    use_tls = env.flag("EMAIL_USE_TLS")
    use_ssl = env.flag("EMAIL_USE_SSL")
    if use_tls and use_ssl:
        raise ConfigError("EMAIL_USE_TLS and EMAIL_USE_SSL cannot both be true")
    options = {
        "host": host,
        "port": env.number("EMAIL_PORT", 465 if use_ssl else 25, minimum=1),
        "username": env.text("EMAIL_HOST_USER"),
        "password": env.text("EMAIL_HOST_PASSWORD"),
        "use_tls": use_tls,
        "use_ssl": use_ssl,
        "timeout": env.number("EMAIL_TIMEOUT", 20, minimum=1),
    }
    settings["MAILERS"] = {
        "default": {"BACKEND": "django.core.mail.backends.smtp.EmailBackend", "OPTIONS": options}
    }
    return settings
