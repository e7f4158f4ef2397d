"""The SLA watcher: records warnings and breaches the moment their instants pass.

It runs inside `assura worker` as a timer. Each round takes the clocks whose
`next_check_at` has passed (an indexed column), and in ONE transaction claims them
with conditional UPDATEs and writes the warning and breach rows, so a crash between
the two cannot lose a breach and a second worker cannot record it again (the UPDATE
only matches rows still unrecorded, and each record is unique per clock). On
PostgreSQL the rows are also locked with SKIP LOCKED so concurrent watchers divide
the work instead of queueing on it.

No replay is needed here: a clock's stored warning and breach instants stay true until
its next event, and every event recomputes them. The breach instant is `breaches_at`,
not `due_at`: a target used up exactly at 18:00 is exceeded only when working time
resumes (docs/sla.md), so an answer at 20:00 is still in time.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction
from django.db.models import F
from django.db.models.functions import Coalesce

from assura.sla.models import Breach, Clock, ClockStatus, ClockWarning
from assura.sla.services import breaches_recorded, next_check, warnings_recorded

log = logging.getLogger("assura.sla.watcher")

BATCH = 5_000


@dataclass(frozen=True)
class Round:
    warnings: int
    breaches: int


class SlaWatcher:
    """The timer registered with the worker (see `assura.core.timers`)."""

    name = "sla-watcher"

    def __init__(self, batch: int = BATCH) -> None:
        self.batch = batch

    def run_due(self, now: datetime) -> datetime | None:
        while True:
            handled = record_due(now, limit=self.batch)
            if handled.warnings + handled.breaches < self.batch:
                break
        return next_instant()


def next_instant() -> datetime | None:
    return (
        Clock.objects.filter(next_check_at__isnull=False)
        .order_by("next_check_at")
        .values_list("next_check_at", flat=True)
        .first()
    )


def record_due(now: datetime, *, limit: int = BATCH) -> Round:
    """Record every warning and breach due at `now` (up to `limit` clocks)."""
    with transaction.atomic():
        rows = _claimable(now, limit)
        running = [row for row in rows if row["status"] == ClockStatus.RUNNING]
        breaching = [row for row in running if row["breaches_at"] and row["breaches_at"] <= now]
        breaching_ids = {row["pk"] for row in breaching}
        warning_only = [row for row in running if row["pk"] not in breaching_ids]
        breach_ids = _record_breaches(breaching)
        warning_ids = _record_warnings(now, running)
        _claim_warnings(warning_only)
        _repair_stale(rows, now)
    if breach_ids:
        transaction.on_commit(lambda: breaches_recorded.send(sender=Clock, breach_ids=breach_ids))
    if warning_ids:
        transaction.on_commit(lambda: warnings_recorded.send(sender=Clock, warning_ids=warning_ids))
    return Round(warnings=len(warning_ids), breaches=len(breach_ids))


def _claimable(now: datetime, limit: int) -> list[dict[str, object]]:
    """The clocks whose next check has passed, earliest first, read by the partial index.

    The status is tested by the caller, not here: with `status = 'running'` in the WHERE
    clause SQLite (and PostgreSQL with stale statistics) used the status index, which
    matches nearly every clock, and sorted all of them on every round. Only running
    clocks have a next check anyway; one that does not run is cleared by `_repair_stale`
    instead of being found due again on every round.
    """
    due = Clock.objects.filter(next_check_at__lte=now).order_by("next_check_at")
    if connection.features.has_select_for_update_skip_locked:
        due = due.select_for_update(skip_locked=True, of=("self",))
    return list(
        due.values(
            "pk",
            "status",
            "metric",
            "target",
            "breaches_at",
            "warning_at",
            "warned_at",
            "breached_at",
        )[:limit]
    )


def _record_breaches(rows: list[dict[str, object]]) -> list[int]:
    """Claim breaching clocks with one conditional UPDATE, then write their breach rows."""
    ids = [row["pk"] for row in rows if row["breached_at"] is None]
    if not ids:
        return []
    # The rows were read running in this transaction (locked on PostgreSQL, under the write
    # lock on SQLite), so the status is not tested again: with it, SQLite scanned the
    # status index, all running clocks, instead of looking the ids up.
    claimed = set(
        Clock.objects.filter(pk__in=ids, breached_at__isnull=True).values_list("pk", flat=True)
    )
    Clock.objects.filter(pk__in=claimed, breached_at__isnull=True).update(
        breached_at=F("breaches_at"),
        warned_at=Coalesce("warned_at", "warning_at"),
        next_check_at=None,
    )
    breaches = [
        Breach(
            clock_id=row["pk"],
            breached_at=row["breaches_at"],
            metric=row["metric"],
            target=row["target"],
        )
        for row in rows
        if row["pk"] in claimed
    ]
    Breach.objects.bulk_create(breaches, ignore_conflicts=True)
    return list(Breach.objects.filter(clock_id__in=claimed).values_list("pk", flat=True))


def _record_warnings(now: datetime, rows: list[dict[str, object]]) -> list[int]:
    """A warning row for every claimed clock whose warning instant has passed."""
    due = [
        row
        for row in rows
        if row["warned_at"] is None and row["warning_at"] and row["warning_at"] <= now
    ]
    if not due:
        return []
    existing = set(
        ClockWarning.objects.filter(clock_id__in=[row["pk"] for row in due]).values_list(
            "clock_id", flat=True
        )
    )
    fresh = [
        ClockWarning(clock_id=row["pk"], warned_at=row["warning_at"])
        for row in due
        if row["pk"] not in existing
    ]
    ClockWarning.objects.bulk_create(fresh, ignore_conflicts=True)
    return list(
        ClockWarning.objects.filter(clock_id__in=[w.clock_id for w in fresh]).values_list(
            "pk", flat=True
        )
    )


def _claim_warnings(rows: list[dict[str, object]]) -> None:
    ids = [row["pk"] for row in rows if row["warned_at"] is None]
    Clock.objects.filter(pk__in=ids, warned_at__isnull=True).update(
        warned_at=F("warning_at"), next_check_at=F("breaches_at")
    )


def _repair_stale(rows: list[dict[str, object]], now: datetime) -> None:
    """A clock checked with nothing left to record gets its next instant recomputed."""
    handled = {row["pk"] for row in rows}
    for clock in Clock.objects.filter(pk__in=handled, next_check_at__lte=now):
        clock.next_check_at = next_check(clock)
        if clock.next_check_at is not None and clock.next_check_at <= now:
            log.warning("clock %s has a past next check %s; cleared", clock.pk, clock.next_check_at)
            clock.next_check_at = None
        Clock.objects.filter(pk=clock.pk).update(next_check_at=clock.next_check_at)
