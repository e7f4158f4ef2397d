"""The webhook sender: claims due deliveries with a lease, posts them signed, logs each try.

It runs inside `assura worker` as a timer, in as many copies as there are workers. A
claim is one conditional UPDATE that matches only a delivery still due at its current
attempt count (`next_attempt_at <= now AND attempts = n`), and moves its due instant to
the end of a lease: of two senders racing for the same slot exactly one wins, so each
due slot gets exactly one attempt. On PostgreSQL the candidate row is also locked with
SKIP LOCKED, so concurrent senders take different deliveries instead of queueing.

The POST happens outside any transaction; its outcome is recorded afterwards only if
the lease is still ours. A sender that died in between leaves the delivery `sending`
until its lease ends; the next claim records that try as "no outcome" and tries again,
the one case where a receiver may see a delivery twice (it carries the same
`X-Assura-Delivery` id both times, for the receiver to drop the copy).

Signing and the HTTP request are the notify app's: the same `X-Assura-Signature`
scheme as webhook channels, and the same sender that refuses redirects.
"""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import F

from assura.connect.models import DeliveryStatus, WebhookAttempt, WebhookDelivery
from assura.notify import channels, senders
from assura.notify.channels import Kind

log = logging.getLogger("assura.connect.webhooks")

EVENT_HEADER = "X-Assura-Event"
USER_AGENT = "assura-webhooks/1"
# Far longer than a POST can take (the sender gives up after 10 s).
LEASE = timedelta(minutes=2)
# Exponential backoff: 1 min, 4 min, 16 min, 64 min, 256 min; the 6th failure gives up.
RETRY_BASE = timedelta(minutes=1)
RETRY_FACTOR = 4
MAX_ATTEMPTS = 6
ROUND_LIMIT = 50
ROUND_BUDGET_SECONDS = 20.0


def backoff(failed_attempts: int) -> timedelta:
    """The wait after the n-th failed attempt: RETRY_BASE × RETRY_FACTOR^(n−1)."""
    return RETRY_BASE * RETRY_FACTOR ** (max(failed_attempts, 1) - 1)


@dataclass(frozen=True)
class Claim:
    delivery_id: int
    token: str
    number: int
    started_at: datetime


class WebhookSender:
    """The timer registered with the worker (see `assura.core.timers`)."""

    name = "connect-webhooks"

    def run_due(self, now: datetime) -> datetime | None:
        send_due(now)
        return next_instant()


def next_instant() -> datetime | None:
    return (
        WebhookDelivery.objects.filter(next_attempt_at__isnull=False)
        .order_by("next_attempt_at")
        .values_list("next_attempt_at", flat=True)
        .first()
    )


def send_due(now: datetime, *, limit: int = ROUND_LIMIT) -> int:
    """Try the deliveries due at `now`, one claim at a time; returns how many were tried."""
    began = time.monotonic()
    tried = 0
    while tried < limit and time.monotonic() - began < ROUND_BUDGET_SECONDS:
        current = now + timedelta(seconds=time.monotonic() - began)
        claim = claim_next(current)
        if claim is None:
            break
        deliver(claim)
        tried += 1
    return tried


def claim_next(now: datetime) -> Claim | None:
    """Take the most overdue delivery under a fresh lease, or None when nothing is due."""
    if not WebhookDelivery.objects.filter(next_attempt_at__lte=now).exists():
        return None  # a plain read first: most rounds find nothing to do
    with transaction.atomic():
        due = WebhookDelivery.objects.filter(next_attempt_at__lte=now).order_by(
            "next_attempt_at", "pk"
        )
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True)
        row = due.values("pk", "status", "attempts", "next_attempt_at").first()
        if row is None:
            return None
        token = secrets.token_hex(16)
        claimed = WebhookDelivery.objects.filter(
            pk=row["pk"], next_attempt_at__lte=now, attempts=row["attempts"]
        ).update(
            status=DeliveryStatus.SENDING,
            attempts=F("attempts") + 1,
            next_attempt_at=now + LEASE,
            lease_token=token,
        )
        if not claimed:
            return None
        if row["status"] == DeliveryStatus.SENDING:
            _record_abandoned(row["pk"], row["attempts"], row["next_attempt_at"])
    return Claim(row["pk"], token, row["attempts"] + 1, now)


def _record_abandoned(delivery_id: int, number: int, lease_end: datetime) -> None:
    log.warning("webhook delivery %s: attempt %s has no outcome; retrying", delivery_id, number)
    WebhookAttempt.objects.get_or_create(
        delivery_id=delivery_id,
        number=number,
        defaults={
            "started_at": lease_end - LEASE,
            "ok": None,
            "error": "The sender stopped before it recorded an outcome; it may have arrived.",
        },
    )


def build_request(delivery: WebhookDelivery, *, now: float) -> channels.OutgoingRequest:
    """The signed POST: the stored payload with the delivery id, the same on every try."""
    document = {"id": str(delivery.delivery_id), **delivery.payload}
    body = channels.to_json(document)
    timestamp = str(int(now))
    secret = delivery.subscription.secret
    headers = {
        **channels.json_headers(),
        "User-Agent": USER_AGENT,
        EVENT_HEADER: delivery.event,
        channels.DELIVERY_HEADER: str(delivery.delivery_id),
        channels.TIMESTAMP_HEADER: timestamp,
        channels.SIGNATURE_HEADER: channels.webhook_signature(secret, timestamp, body),
    }
    return channels.OutgoingRequest(delivery.subscription.url, body, headers)


def deliver(claim: Claim) -> senders.Outcome:
    """Post a claimed delivery and record what happened; never raises for a failed post."""
    delivery = WebhookDelivery.objects.select_related("subscription").get(pk=claim.delivery_id)
    began = time.monotonic()
    if not delivery.subscription.is_active:
        outcome = senders.Outcome(ok=False, error="the subscription is switched off", final=True)
    else:
        try:
            outcome = senders.post(build_request(delivery, now=time.time()), Kind.WEBHOOK)
        except Exception as error:
            log.exception("webhook delivery %s: posting raised", delivery.pk)
            outcome = senders.Outcome(ok=False, error=f"{type(error).__name__}: {error}")
    duration = timedelta(seconds=time.monotonic() - began)
    record(claim, outcome, finished_at=claim.started_at + duration, duration=duration)
    if not outcome.ok:
        # A receiver that is down is an everyday event, not an error of ours.
        log.info("webhook delivery %s attempt %s: %s", delivery.pk, claim.number, outcome.error)
    return outcome


def record(
    claim: Claim, outcome: senders.Outcome, *, finished_at: datetime, duration: timedelta
) -> bool:
    """Write the attempt and move the delivery on; False when the lease was lost meanwhile."""
    with transaction.atomic():
        WebhookAttempt.objects.update_or_create(
            delivery_id=claim.delivery_id,
            number=claim.number,
            defaults={
                "started_at": claim.started_at,
                "duration_ms": int(duration.total_seconds() * 1000),
                "ok": outcome.ok,
                "status_code": outcome.status_code,
                "response": outcome.reply[:500],
                "error": outcome.error[:500],
            },
        )
        updated = WebhookDelivery.objects.filter(
            pk=claim.delivery_id, lease_token=claim.token, status=DeliveryStatus.SENDING
        ).update(
            lease_token="",
            last_status_code=outcome.status_code,
            last_response=outcome.reply[:500],
            last_error=outcome.error[:500],
            **_next_state(claim, outcome, finished_at),
        )
    return bool(updated)


def _next_state(claim: Claim, outcome: senders.Outcome, at: datetime) -> dict[str, object]:
    if outcome.ok:
        return {"status": DeliveryStatus.DELIVERED, "delivered_at": at, "next_attempt_at": None}
    if outcome.final or claim.number >= MAX_ATTEMPTS:
        return {"status": DeliveryStatus.DEAD, "next_attempt_at": None}
    return {"status": DeliveryStatus.FAILED, "next_attempt_at": at + backoff(claim.number)}
