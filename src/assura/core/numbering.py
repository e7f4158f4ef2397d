"""Per-year running numbers for human references (C-2026-000123, F-2026-000007).

A counter is a `YearCounter` model: a `year` primary key and a `last` number. One
statement creates the year's row or adds one to it and returns the new value (an upsert
with RETURNING, which SQLite >= 3.35 and PostgreSQL both run), so numbers never repeat
and never skip while the claiming transaction commits. The row stays locked until that commit: call
`claim` as late as possible in a transaction, after its reads, so that concurrent
writers queue only for their last few statements.
"""

from __future__ import annotations

from django.db import connection, models


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
