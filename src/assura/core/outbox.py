"""Outboxes: rows a worker timer sends later, each attempt made under a lease.

Notices (`notify.outbox`), webhook deliveries (`connect.webhooks`) and mail to customers
(`intake.outgoing`) are each written in the transaction of the change that causes them,
and sent afterwards by a timer of `assura worker`, in as many copies as there are
workers. Their tables share four columns for it: `status`, `attempts`, `lease_token`
and `next_attempt_at`, the one instant the sender must look at a row again (the time to
send, the retry time, or the end of a lease; empty once the row is finished).

A claim is one conditional UPDATE that matches only a row still due at the attempt count
it was read with (`next_attempt_at <= now AND attempts = n`), and moves the row's due
instant to the end of a lease under a fresh random token: of two senders racing for the
same row exactly one wins, so each due slot gets exactly one attempt. On PostgreSQL the
candidate is also locked with SKIP LOCKED, so concurrent senders take different rows
instead of queueing on one.

The send itself happens outside any transaction (a slow server must not hold locks), and
its outcome is recorded afterwards only if the row is still `sending` under the token it
was claimed with. A sender slower than its lease therefore changes nothing: the sender
that took over holds the row and its outcome stands. A sender that dies in between
leaves the row `sending` until the lease ends; the next claim hands that lost attempt to
the app to record as abandoned, and tries again, unless it was the last attempt the app
allows (`GiveUp`): then the row is given up. That retry is the one place a message
can go out twice (docs/notifications.md, "Exactly once?").

What stays with each app is its policy: the lease length, the waits between retries, the
number of attempts, which failure is permanent, and its log of attempts.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import F, Model


@dataclass(frozen=True)
class Claim:
    """One attempt a sender holds, and the state of the row it took over.

    `previous_due` is the row's due instant before the claim: when `previous_status` was
    the sending status, it is the end of the lease a dead sender left behind, from which
    the app dates that abandoned attempt.
    """

    pk: int
    token: str
    number: int
    started_at: datetime
    previous_status: str
    previous_due: datetime


@dataclass
class RoundClock:
    """The round's `now` moved on by the time spent, so tests can run rounds in the future."""

    start: datetime
    started: float = field(default_factory=time.monotonic)

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def now(self) -> datetime:
        return self.start + timedelta(seconds=self.elapsed())


def next_instant(model: type[Model]) -> datetime | None:
    """When the table next needs its sender, for the worker to sleep until then."""
    instant: datetime | None = (
        model._default_manager.filter(next_attempt_at__isnull=False)
        .order_by("next_attempt_at")
        .values_list("next_attempt_at", flat=True)
        .first()
    )
    return instant


def send_round[C](
    now: datetime,
    claim_one: Callable[[datetime], C | None],
    deliver_one: Callable[[C, RoundClock], object],
    *,
    limit: int,
    budget_seconds: float,
) -> int:
    """Claim and deliver due rows one at a time; returns how many were tried.

    One claim at a time, so a crash costs at most one lease. The limit and the time
    budget (no new claim after it) keep a slow server from holding the worker, and the
    SLA watcher behind it, for long.
    """
    clock = RoundClock(now)
    tried = 0
    while tried < limit and clock.elapsed() < budget_seconds:
        claim = claim_one(clock.now())
        if claim is None:
            break
        deliver_one(claim, clock)
        tried += 1
    return tried


@dataclass(frozen=True)
class GiveUp:
    """When to stop retrying a row whose sender died, and what the row becomes then.

    A failed attempt is counted by its sender, which gives up after the app's last one;
    a sender that dies (killed for memory by a message too large, say) counts nothing,
    so without this the same row would be claimed again after every lease, for ever.
    """

    after: int
    changes: Mapping[str, object]


def claim_next(
    model: type[Model],
    now: datetime,
    *,
    sending: str,
    lease: timedelta,
    lease_end_field: str | None = None,
    on_abandoned: Callable[[Claim], None] | None = None,
    give_up: GiveUp | None = None,
) -> Claim | None:
    """Take the most overdue row under a fresh lease, or None when nothing is due.

    `on_abandoned` runs in the claim's transaction when the row was still `sending` (its
    sender died), so the lost attempt is on record exactly when the next one starts.
    A row abandoned on its last allowed attempt (`give_up.after`) is given up instead of
    claimed, and the next due row is taken. `lease_end_field` names a column that also
    shows the lease's end (notify's `lease_until`).
    """
    if not model._default_manager.filter(next_attempt_at__lte=now).exists():
        # A plain read first: on SQLite a write transaction locks the whole database, and
        # most rounds find nothing due.
        return None
    with transaction.atomic():
        while (row := _most_overdue(model, now)) is not None:
            claim = Claim(
                pk=row["pk"],
                token=secrets.token_hex(16),
                number=row["attempts"] + 1,
                started_at=now,
                previous_status=row["status"],
                previous_due=row["next_attempt_at"],
            )
            abandoned = claim.previous_status == sending
            if abandoned and give_up is not None and row["attempts"] >= give_up.after:
                if not _give_up(model, claim, give_up):
                    return None
                if on_abandoned is not None:
                    on_abandoned(claim)
                continue
            if not _take(
                model, claim, sending=sending, lease=lease, lease_end_field=lease_end_field
            ):
                return None
            if abandoned and on_abandoned is not None:
                on_abandoned(claim)
            return claim
    return None


def _give_up(model: type[Model], claim: Claim, give_up: GiveUp) -> bool:
    """Retire a row whose sender died on its last attempt, if no one else moved it."""
    updated: int = model._default_manager.filter(
        pk=claim.pk, next_attempt_at=claim.previous_due, attempts=claim.number - 1
    ).update(lease_token="", **give_up.changes)
    return updated == 1


def _most_overdue(model: type[Model], now: datetime) -> dict[str, Any] | None:
    due = model._default_manager.filter(next_attempt_at__lte=now).order_by("next_attempt_at", "pk")
    if connection.features.has_select_for_update_skip_locked:
        # Concurrent senders then divide the work instead of queueing on the first row.
        due = due.select_for_update(skip_locked=True)
    row: dict[str, Any] | None = due.values("pk", "status", "attempts", "next_attempt_at").first()
    return row


def _take(
    model: type[Model],
    claim: Claim,
    *,
    sending: str,
    lease: timedelta,
    lease_end_field: str | None,
) -> bool:
    """The conditional UPDATE that decides between racing senders.

    Matching the attempt count as read, not only the due instant, keeps a sender whose
    `now` runs ahead of another's from taking a row the other has just claimed.
    """
    lease_end = claim.started_at + lease
    changes: dict[str, object] = {
        "status": sending,
        "attempts": F("attempts") + 1,
        "next_attempt_at": lease_end,
        "lease_token": claim.token,
    }
    if lease_end_field is not None:
        changes[lease_end_field] = lease_end
    updated: int = model._default_manager.filter(
        pk=claim.pk, next_attempt_at__lte=claim.started_at, attempts=claim.number - 1
    ).update(**changes)
    return updated == 1


def finish(
    model: type[Model], claim: Claim, changes: Mapping[str, object], *, sending: str
) -> bool:
    """Apply an attempt's outcome if the lease is still ours; False when it was lost.

    A sender slower than its lease finds another token on the row, or the row already
    moved on: its late outcome must not overwrite the holder's.
    """
    updated: int = model._default_manager.filter(
        pk=claim.pk, lease_token=claim.token, status=sending
    ).update(lease_token="", **changes)
    return updated == 1


def backoff(waits: Sequence[timedelta], failed_attempts: int) -> timedelta:
    """The wait after the n-th failed attempt from an app's table of waits.

    Past the table the last wait repeats, so an attempt an administrator adds after the
    row gave up still has one.
    """
    return waits[min(max(failed_attempts, 1), len(waits)) - 1]
