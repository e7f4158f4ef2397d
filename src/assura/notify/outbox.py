"""The sender: claims due notices with a lease, sends them, records each attempt.

It runs inside `assura worker` as a timer, in as many copies as there are workers.
A claim is one conditional UPDATE that only matches a notice still due
(`next_attempt_at <= now`) and moves that instant to the end of the lease, so two
senders never both win the same notice; on PostgreSQL the candidates are also locked
with SKIP LOCKED so concurrent senders divide the work instead of queueing on it.

The send itself happens outside any transaction (a slow SMTP server must not hold
locks), and its outcome is recorded afterwards only if the lease is still ours. A
sender that dies in between leaves the notice `sending` until the lease ends; the
next round then records that attempt as abandoned and tries again. That retry is the
one place a message can go out twice (docs/notifications.md, "Exactly once?").
"""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from assura.notify import senders
from assura.notify.models import AttemptOutcome, Notification, NotificationAttempt, Status

log = logging.getLogger("assura.notify")

# Longer than any send can take (HTTP gives up after 10 s, SMTP after EMAIL_TIMEOUT), so
# a lease only runs out when its sender died.
LEASE = timedelta(minutes=5)
# The wait after the 1st, 2nd, … failed attempt; after the last one the notice is dead.
BACKOFF = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=6),
)
MAX_ATTEMPTS = len(BACKOFF) + 1
# One round sends at most this many notices, and starts no new send after the time
# budget, so a slow mail server cannot keep the worker from the SLA watcher for long.
ROUND_LIMIT = 50
ROUND_BUDGET_SECONDS = 20.0


@dataclass(frozen=True)
class Claim:
    """A notice this sender holds: its lease token and the number of this attempt."""

    notification_id: int
    token: str
    number: int
    started_at: datetime


@dataclass
class RoundClock:
    """The round's `now` moved on by the time spent, so tests can run rounds in the future."""

    start: datetime
    started: float = 0.0

    def __post_init__(self) -> None:
        self.started = time.monotonic()

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def now(self) -> datetime:
        return self.start + timedelta(seconds=self.elapsed())


class OutboxSender:
    """The timer registered with the worker (see `assura.core.timers`)."""

    name = "notify-sender"

    def run_due(self, now: datetime) -> datetime | None:
        send_due(now)
        return next_instant()


def next_instant() -> datetime | None:
    """When a notice next needs the sender: a retry time or the end of a lease."""
    return (
        Notification.objects.filter(next_attempt_at__isnull=False)
        .order_by("next_attempt_at")
        .values_list("next_attempt_at", flat=True)
        .first()
    )


def send_due(now: datetime, *, limit: int = ROUND_LIMIT) -> int:
    """Send the notices due at `now`, one claim at a time; returns how many were tried."""
    clock = RoundClock(now)
    tried = 0
    while tried < limit and clock.elapsed() < ROUND_BUDGET_SECONDS:
        claim = claim_next(clock.now())
        if claim is None:
            break
        deliver(claim, clock)
        tried += 1
    return tried


def claim_next(now: datetime) -> Claim | None:
    """Take the most overdue notice under a fresh lease, or None when nothing is due.

    A notice found still `sending` had a lease that ran out: its sender stopped without
    reporting, and that attempt is recorded as abandoned before the new one starts.
    """
    if not Notification.objects.filter(next_attempt_at__lte=now).exists():
        # A plain read first: on SQLite a write transaction locks the whole database, and
        # most rounds find nothing due.
        return None
    with transaction.atomic():
        due = Notification.objects.filter(next_attempt_at__lte=now).order_by(
            "next_attempt_at", "pk"
        )
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True)
        row = due.values("pk", "status", "attempts", "lease_until").first()
        if row is None:
            return None
        token = secrets.token_hex(16)
        claimed = Notification.objects.filter(pk=row["pk"], next_attempt_at__lte=now).update(
            status=Status.SENDING,
            attempts=F("attempts") + 1,
            lease_until=now + LEASE,
            next_attempt_at=now + LEASE,
            lease_token=token,
        )
        if not claimed:
            return None
        if row["status"] == Status.SENDING:
            _record_abandoned(row["pk"], row["attempts"], row["lease_until"])
    return Claim(row["pk"], token, row["attempts"] + 1, now)


def _record_abandoned(notification_id: int, number: int, lease_until: datetime | None) -> None:
    log.warning("notification %s: attempt %s has no outcome; retrying", notification_id, number)
    NotificationAttempt.objects.get_or_create(
        notification_id=notification_id,
        number=number,
        defaults={
            "started_at": (lease_until - LEASE) if lease_until else timezone.now(),
            "outcome": AttemptOutcome.ABANDONED,
            "error": "The sender stopped before it recorded an outcome; the message may"
            " have gone out.",
        },
    )


def deliver(claim: Claim, clock: RoundClock) -> senders.Outcome:
    """Send a claimed notice and record what happened; never raises for a failed send."""
    notification = Notification.objects.select_related("channel").get(pk=claim.notification_id)
    began = time.monotonic()
    try:
        outcome = senders.send(notification)
    except Exception as error:
        # A bug in formatting must cost one attempt, not leave the notice leased forever.
        log.exception("notification %s: sending raised", notification.pk)
        outcome = senders.Outcome(ok=False, error=f"{type(error).__name__}: {error}")
    duration = timedelta(seconds=time.monotonic() - began)
    record(claim, outcome, finished_at=clock.now(), duration=duration)
    return outcome


def record(
    claim: Claim, outcome: senders.Outcome, *, finished_at: datetime, duration: timedelta
) -> bool:
    """Write the attempt and move the notice on; False when the lease was lost meanwhile.

    The attempt row is written either way (a late report replaces an "abandoned" guess
    with what really happened), but only the lease holder changes the notice's status.
    """
    with transaction.atomic():
        NotificationAttempt.objects.update_or_create(
            notification_id=claim.notification_id,
            number=claim.number,
            defaults={
                "started_at": claim.started_at,
                "duration_ms": int(duration.total_seconds() * 1000),
                "outcome": AttemptOutcome.SENT if outcome.ok else AttemptOutcome.FAILED,
                "status_code": outcome.status_code,
                "reply": outcome.reply[:500],
                "error": outcome.error,
            },
        )
        updated = Notification.objects.filter(
            pk=claim.notification_id, lease_token=claim.token, status=Status.SENDING
        ).update(lease_until=None, lease_token="", **_next_state(claim, outcome, finished_at))
    if not updated:
        log.warning(
            "notification %s: lease lost before attempt %s was recorded",
            claim.notification_id,
            claim.number,
        )
    return bool(updated)


def _next_state(claim: Claim, outcome: senders.Outcome, at: datetime) -> dict[str, object]:
    if outcome.ok:
        return {"status": Status.SENT, "sent_at": at, "next_attempt_at": None, "last_error": ""}
    if outcome.final or claim.number >= MAX_ATTEMPTS:
        return {"status": Status.DEAD, "next_attempt_at": None, "last_error": outcome.error}
    return {
        "status": Status.FAILED,
        "next_attempt_at": at + backoff(claim.number),
        "last_error": outcome.error,
    }


def backoff(failed_attempts: int) -> timedelta:
    """The wait after the n-th failed attempt (the last wait repeats past the table)."""
    return BACKOFF[min(failed_attempts, len(BACKOFF)) - 1]
