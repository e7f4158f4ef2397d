"""Per-year running numbers for human references (C-2026-000123, F-2026-000007).

A counter is a `YearCounter` model: a `year` primary key and a `last` number. One
statement creates the year's row or adds one to it and returns the new value (an upsert
with RETURNING, which SQLite >= 3.35 and PostgreSQL both run), so a number is never
handed out twice. The statement locks the row until its transaction ends, and every
other writer of the same counter waits for that end:

* `claim` takes the number inside the caller's transaction: no number is ever lost,
  but concurrent writers queue for the whole rest of that transaction;
* `claim_at_once` takes it in a transaction of its own, committed at once, when the
  caller is not inside one: the lock lasts one statement, and a number whose record then
  fails to be written is skipped. Case intake uses it (bench/RESULTS.md: creations run
  side by side instead of one after the other, 2.3 times as many a second).
"""

from __future__ import annotations

from django.db import connection, models, transaction


class YearCounter(models.Model):
    """The last number handed out in a year; subclasses name what they count."""

    year = models.PositiveSmallIntegerField(primary_key=True)
    last = models.PositiveIntegerField(default=0)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.year}: {self.last}"


def claim(counter: type[YearCounter], year: int) -> int:
    """The next number of `year` in `counter`'s table, claimed in the current transaction."""
    quote = connection.ops.quote_name
    table = quote(counter._meta.db_table)
    year_column, last_column = quote("year"), quote("last")
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({year_column}, {last_column}) VALUES (%s, 1) "  # noqa: S608
            f"ON CONFLICT ({year_column}) DO UPDATE SET {last_column} = {table}.{last_column} + 1 "
            f"RETURNING {last_column}",
            [year],
        )
        row = cursor.fetchone()
    return int(row[0])


def claim_at_once(counter: type[YearCounter], year: int) -> int:
    """The next number, committed at once unless the caller holds a transaction open.

    Inside a transaction (an import's row, a test) it is `claim`: the number belongs to
    that transaction. Outside one, it is committed before the record is written, so
    writers never wait on each other's work; the price is a gap when a write then fails.
    """
    if connection.in_atomic_block:
        return claim(counter, year)
    with transaction.atomic():
        return claim(counter, year)
