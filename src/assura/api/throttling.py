"""Requests per person: one budget per token owner (or session), set by ASSURA_API_RATE_LIMIT.

DRF's throttle keeps each caller's request times in Django's cache, which either lives
in one server process (two gunicorn workers would each grant the whole budget) or, as
the database cache, costs every API request six statements, a commit and a pickled list
of up to a budget's worth of timestamps (bench/RESULTS.md: the trivial view fell from
465 to 182 requests a second). So the count is kept here instead, in a fixed window per
caller: one upsert per request, in a table every process and host shares. DRF still
decides which requests are counted, names the caller and answers 429 with Retry-After.
"""

from __future__ import annotations

import math
from typing import Any

from django.db import connection
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import UserRateThrottle

from assura.api.models import RequestCount
from assura.core.http import client_address


class PersonRateThrottle(UserRateThrottle):
    """DRF's per-user throttle, counted per fixed window in the shared `RequestCount` table.

    A fixed window (as GitHub's API counts) lets a caller spend a budget at the end of
    one window and another at the start of the next; in exchange a request costs one
    statement instead of a read-modify-write of its whole history.
    """

    def get_ident(self, request: Request) -> str:
        """An anonymous caller's address, trusted as far as the audit log trusts it."""
        return client_address(request)

    def get_rate(self) -> str | None:
        """Read when used, not when imported, so a changed setting takes effect."""
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def allow_request(self, request: Request, view: Any) -> bool:
        if self.rate is None:
            return True
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        now = self.timer()
        window = int(now // self.duration) * self.duration
        count = count_request(key, window)
        self.retry_after = window + self.duration - now
        return count <= self.num_requests

    def wait(self) -> float | None:
        return math.ceil(self.retry_after)


def count_request(key: str, window: int) -> int:
    """Add one to the caller's count in this window; the new count.

    One upsert with RETURNING (SQLite >= 3.35, PostgreSQL), so two workers counting the
    same caller at once both see their own increment. A caller's first request in a
    window also deletes every count of earlier windows, anyone's: the table holds the
    current window's callers only, however many addresses have ever called once.
    """
    quote = connection.ops.quote_name
    table = quote(RequestCount._meta.db_table)
    key_column, window_column, count_column = quote("key"), quote("window"), quote("count")
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({key_column}, {window_column}, {count_column}) "  # noqa: S608
            f"VALUES (%s, %s, 1) ON CONFLICT ({key_column}, {window_column}) "
            f"DO UPDATE SET {count_column} = {table}.{count_column} + 1 RETURNING {count_column}",
            [key, window],
        )
        count = int(cursor.fetchone()[0])
        if count == 1:
            cursor.execute(f"DELETE FROM {table} WHERE {window_column} < %s", [window])  # noqa: S608
    return count
