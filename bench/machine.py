"""What a benchmark's figures were measured on, printed beside them.

Every benchmark here runs on a small shared machine, where a figure means little without
the processor, the software versions and how loaded the machine was at the time.
"""

from __future__ import annotations

import os
import platform
import sqlite3
from contextlib import suppress
from datetime import date
from importlib.metadata import version


def lines(*packages: str, database: str = "") -> list[str]:
    """Date, processor, Python and the named packages' versions, and the database."""
    software = "; ".join(
        [f"python: {platform.python_version()}"] + [f"{name}: {version(name)}" for name in packages]
    )
    described = [f"date: {date.today().isoformat()}", f"cpu: {cpu()}", software]
    return described + ([f"database: {database}"] if database else [])


def cpu() -> str:
    model = "unknown CPU"
    with suppress(OSError, StopIteration), open("/proc/cpuinfo", encoding="utf-8") as info:
        model = next(line.split(":", 1)[1].strip() for line in info if "model name" in line)
    return f"{model}, {os.cpu_count()} cores"


def django_database(sqlite_note: str) -> str:
    """The engine and version behind Django's default connection."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return f"SQLite {sqlite3.sqlite_version} ({sqlite_note})"
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        return f"PostgreSQL {cursor.fetchone()[0]}"


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"
