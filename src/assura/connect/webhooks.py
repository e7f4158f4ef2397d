"""The webhook sender: posts due deliveries signed, and logs each try.

It is a timer of `assura worker`. Claiming under a lease, posting outside any
transaction and recording only while the lease is still ours are the shared mechanism
of `assura.core.outbox` (its docstring explains the scheme). A delivery whose sender
died is posted again once its lease ends, the one case where a receiver may see it
twice: it carries the same `X-Assura-Delivery` id both times, for the receiver to drop
the copy. What is particular to webhooks stays here: the lease length, the exponential
waits, the number of attempts, and the log of tries.

Signing and the HTTP request are the notify app's: the same `X-Assura-Signature`
scheme as webhook channels, and the same sender that refuses redirects.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

from django.db import transaction

from assura.connect.models import DeliveryStatus, WebhookAttempt, WebhookDelivery
from assura.core import outbox as core_outbox
from assura.core.outbox import Claim
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
# A delivery whose sender died on its last attempt is not tried again.
GIVE_UP = core_outbox.GiveUp(
    MAX_ATTEMPTS,
    {
        "status": DeliveryStatus.DEAD,
        "next_attempt_at": None,
        "last_error": "The sender stopped during the last attempt; given up.",
    },
)
ROUND_LIMIT = 50
ROUND_BUDGET_SECONDS = 20.0


def backoff(failed_attempts: int) -> timedelta:
    """The wait after the n-th failed attempt: RETRY_BASE × RETRY_FACTOR^(n−1)."""
    return RETRY_BASE * RETRY_FACTOR ** (max(failed_attempts, 1) - 1)


class WebhookSender:
    """The timer registered with the worker (see `assura.core.timers`)."""

    name = "connect-webhooks"

    def run_due(self, now: datetime) -> datetime | None:
        send_due(now)
        return next_instant()


def next_instant() -> datetime | None:
    """When a delivery next needs the sender: a retry time or the end of a lease."""
    return core_outbox.next_instant(WebhookDelivery)


def send_due(now: datetime, *, limit: int = ROUND_LIMIT) -> int:
    """Try the deliveries due at `now`, one claim at a time; returns how many were tried."""
    return core_outbox.send_round(
        now,
        claim_next,
        lambda claim, _clock: deliver(claim),
        limit=limit,
        budget_seconds=ROUND_BUDGET_SECONDS,
    )


def claim_next(now: datetime) -> Claim | None:
    """Take the most overdue delivery under a fresh lease, or None when nothing is due."""
    return core_outbox.claim_next(
        WebhookDelivery,
        now,
        sending=DeliveryStatus.SENDING,
        lease=LEASE,
        on_abandoned=_record_abandoned,
        give_up=GIVE_UP,
    )


def _record_abandoned(claim: Claim) -> None:
    """The try before `claim` ran out of lease: its sender stopped without reporting."""
    number = claim.number - 1
    log.warning("webhook delivery %s: attempt %s has no outcome; retrying", claim.pk, number)
    WebhookAttempt.objects.get_or_create(
        delivery_id=claim.pk,
        number=number,
        defaults={
            "started_at": claim.previous_due - LEASE,
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
    delivery = WebhookDelivery.objects.select_related("subscription").get(pk=claim.pk)
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
            delivery_id=claim.pk,
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
        updated = core_outbox.finish(
            WebhookDelivery,
            claim,
            {
                "last_status_code": outcome.status_code,
                "last_response": outcome.reply[:500],
                "last_error": outcome.error[:500],
                **_next_state(claim, outcome, finished_at),
            },
            sending=DeliveryStatus.SENDING,
        )
    if not updated:
        log.warning(
            "webhook delivery %s: lease lost before attempt %s was recorded",
            claim.pk,
            claim.number,
        )
    return updated


def _next_state(claim: Claim, outcome: senders.Outcome, at: datetime) -> dict[str, object]:
    if outcome.ok:
        return {"status": DeliveryStatus.DELIVERED, "delivered_at": at, "next_attempt_at": None}
    if outcome.final or claim.number >= MAX_ATTEMPTS:
        return {"status": DeliveryStatus.DEAD, "next_attempt_at": None}
    return {"status": DeliveryStatus.FAILED, "next_attempt_at": at + backoff(claim.number)}
