"""The notice sender: sends the outbox's due notices and records each attempt.

It is a timer of `assura worker`. Claiming under a lease, sending outside any
transaction and recording only while the lease is still ours are the shared mechanism
of `assura.core.outbox` (its docstring explains the scheme); what is particular to
notices stays here: the lease length, the waits between retries, the number of
attempts, and the attempt log, which keeps an abandoned attempt as "no outcome".
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

from django.db import transaction

from assura.core import outbox as core_outbox
from assura.core.outbox import Claim, RoundClock
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
# A notice whose sender died on its last attempt is not tried again.
GIVE_UP = core_outbox.GiveUp(
    MAX_ATTEMPTS,
    {
        "status": Status.DEAD,
        "next_attempt_at": None,
        "lease_until": None,
        "last_error": "The sender stopped during the last attempt; given up.",
    },
)
# One round sends at most this many notices, and starts no new send after the time
# budget, so a slow mail server cannot keep the worker from the SLA watcher for long.
ROUND_LIMIT = 50
ROUND_BUDGET_SECONDS = 20.0


class OutboxSender:
    """The timer registered with the worker (see `assura.core.timers`)."""

    name = "notify-sender"

    def run_due(self, now: datetime) -> datetime | None:
        send_due(now)
        return next_instant()


def next_instant() -> datetime | None:
    """When a notice next needs the sender: a retry time or the end of a lease."""
    return core_outbox.next_instant(Notification)


def send_due(now: datetime, *, limit: int = ROUND_LIMIT) -> int:
    """Send the notices due at `now`, one claim at a time; returns how many were tried."""
    return core_outbox.send_round(
        now, claim_next, deliver, limit=limit, budget_seconds=ROUND_BUDGET_SECONDS
    )


def claim_next(now: datetime) -> Claim | None:
    """Take the most overdue notice under a fresh lease, or None when nothing is due."""
    return core_outbox.claim_next(
        Notification,
        now,
        sending=Status.SENDING,
        lease=LEASE,
        lease_end_field="lease_until",
        on_abandoned=_record_abandoned,
        give_up=GIVE_UP,
    )


def _record_abandoned(claim: Claim) -> None:
    """The attempt before `claim` ran out of lease: its sender stopped without reporting."""
    number = claim.number - 1
    log.warning("notification %s: attempt %s has no outcome; retrying", claim.pk, number)
    NotificationAttempt.objects.get_or_create(
        notification_id=claim.pk,
        number=number,
        defaults={
            "started_at": claim.previous_due - LEASE,
            "outcome": AttemptOutcome.ABANDONED,
            "error": "The sender stopped before it recorded an outcome; the message may"
            " have gone out.",
        },
    )


def deliver(claim: Claim, clock: RoundClock) -> senders.Outcome:
    """Send a claimed notice and record what happened; never raises for a failed send."""
    notification = Notification.objects.select_related("channel").get(pk=claim.pk)
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
            notification_id=claim.pk,
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
        updated = core_outbox.finish(
            Notification,
            claim,
            {"lease_until": None, **_next_state(claim, outcome, finished_at)},
            sending=Status.SENDING,
        )
    if not updated:
        log.warning(
            "notification %s: lease lost before attempt %s was recorded", claim.pk, claim.number
        )
    return updated


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
    return core_outbox.backoff(BACKOFF, failed_attempts)
