"""Request counts for the API's rate limit, one row per caller and window."""

from __future__ import annotations

from django.db import models


class RequestCount(models.Model):
    """How many requests a caller has made in one fixed window of the rate limit.

    `key` is the throttle's name for the caller (a person, or an address for anonymous
    calls); `window` is the window's start in whole seconds since the epoch. The table
    holds counts only, worthless after a crash: on PostgreSQL it is UNLOGGED (migration
    0001), so counting a request never waits for a disk flush.
    """

    key = models.CharField(max_length=200)
    window = models.BigIntegerField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["key", "window"], name="api_one_count_per_window")
        ]
        # Past windows are deleted by range, by whichever request opens a new window.
        indexes = [models.Index(fields=["window"], name="api_count_window")]

    def __str__(self) -> str:
        return f"{self.key} @ {self.window}: {self.count}"
