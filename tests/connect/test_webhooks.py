"""Webhooks out, delivered to a real HTTP server on 127.0.0.1 that checks the signature."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from assura.connect import events, services, webhooks
from assura.connect.models import DeliveryStatus, WebhookAttempt, WebhookDelivery
from assura.core.models import Organisation, User
from assura.desk import services as desk
from assura.desk.models import Case
from assura.sla.models import Breach
from tests.connect.servers import Receiver
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

SECRET = "s3cret-for-the-receiver-0123456789"


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture
def hooked(receiver: Callable[..., Receiver]) -> Receiver:
    server = receiver(SECRET)
    services.save_subscription(
        actor=None,
        name="ERP",
        url=server.url,
        events=["case.created", "case.updated", "breach.recorded"],
        secret=SECRET,
    )
    return server


def open_case(contact: User, at: datetime | None = None, **fields: Any) -> Case:
    return desk.open_case(
        actor=contact,
        organisation=contact.organisation,
        case_type=fields.pop("case_type", "inquiry"),
        subject=fields.pop("subject", "VPN 无法连接"),
        channel="portal",
        at=at,
        **fields,
    )


def run_rounds(*offsets: timedelta) -> None:
    start = timezone.now()
    for offset in offsets:
        webhooks.send_due(start + offset)


def test_a_new_case_is_delivered_signed_to_the_subscriber(
    hooked: Receiver, guarantee: Any, contact: User
) -> None:
    case = open_case(contact)
    delivery = WebhookDelivery.objects.get(event="case.created")
    run_rounds(timedelta(0))
    assert len(hooked.seen) == 1
    seen = hooked.seen[0]
    assert seen.signature_ok
    assert seen.headers["x-assura-event"] == "case.created"
    assert seen.headers["x-assura-delivery"] == str(delivery.delivery_id)
    document = seen.json()
    assert document["id"] == str(delivery.delivery_id)
    assert document["data"]["reference"] == case.reference
    assert document["data"]["customer"]["code"] == contact.organisation.code
    delivery.refresh_from_db()
    assert (delivery.status, delivery.last_status_code, delivery.attempts) == ("delivered", 200, 1)


def test_it_retries_with_backoff_until_the_receiver_accepts(
    hooked: Receiver, guarantee: Any, contact: User
) -> None:
    hooked.statuses.extend([500, 503])
    open_case(contact)
    delivery = WebhookDelivery.objects.get(event="case.created")
    start = timezone.now()
    webhooks.send_due(start)
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED
    retry_at = delivery.next_attempt_at
    assert retry_at is not None
    assert retry_at - start >= webhooks.backoff(1) == timedelta(minutes=1)
    webhooks.send_due(start + timedelta(seconds=30))  # not due yet: nothing is sent
    assert len(hooked.seen) == 1
    webhooks.send_due(start + timedelta(minutes=2))
    delivery.refresh_from_db()
    assert delivery.next_attempt_at - (start + timedelta(minutes=2)) >= timedelta(minutes=4)
    webhooks.send_due(start + timedelta(minutes=10))
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED
    codes = list(delivery.tries.order_by("number").values_list("number", "status_code", "ok"))
    assert codes == [(1, 500, False), (2, 503, False), (3, 200, True)]
    assert all(seen.signature_ok for seen in hooked.seen)
    assert len({seen.headers["x-assura-delivery"] for seen in hooked.seen}) == 1


def test_a_dead_endpoint_is_given_up_after_the_last_retry(
    hooked: Receiver, guarantee: Any, contact: User
) -> None:
    hooked.statuses.extend([500] * 10)
    open_case(contact)
    delivery = WebhookDelivery.objects.get(event="case.created")
    moment = timezone.now()
    for _round in range(webhooks.MAX_ATTEMPTS + 2):
        webhooks.send_due(moment)
        moment += timedelta(hours=5)
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DEAD
    assert delivery.next_attempt_at is None
    assert delivery.tries.count() == webhooks.MAX_ATTEMPTS == len(hooked.seen)
    webhooks.send_due(moment + timedelta(days=3))
    assert len(hooked.seen) == webhooks.MAX_ATTEMPTS


def test_an_administrator_redelivers_from_the_delivery_page(
    hooked: Receiver, guarantee: Any, contact: User, admin: User
) -> None:
    hooked.statuses.extend([500] * webhooks.MAX_ATTEMPTS)
    open_case(contact)
    delivery = WebhookDelivery.objects.get(event="case.created")
    moment = timezone.now()
    for _round in range(webhooks.MAX_ATTEMPTS):
        webhooks.send_due(moment)
        moment += timedelta(hours=5)
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DEAD

    client = Client()
    client.login(username=admin.username, password=PASSWORD)
    page = client.get(reverse("connect:delivery", args=[delivery.pk]))
    assert page.status_code == 200
    assert b'data-testid="redeliver"' in page.content
    response = client.post(reverse("connect:redeliver", args=[delivery.pk]))
    assert response.status_code == 302
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING
    webhooks.send_due(timezone.now())
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED
    assert delivery.tries.last().status_code == 200  # type: ignore[union-attr]
    assert delivery.tries.count() == webhooks.MAX_ATTEMPTS + 1
    page = client.get(reverse("connect:deliveries"))
    assert page.content.count(b'data-testid="code"') == webhooks.MAX_ATTEMPTS + 1


def test_an_agent_may_not_redeliver(
    hooked: Receiver, guarantee: Any, contact: User, agent: User
) -> None:
    open_case(contact)
    delivery = WebhookDelivery.objects.get(event="case.created")
    client = Client()
    client.login(username=agent.username, password=PASSWORD)
    assert client.post(reverse("connect:redeliver", args=[delivery.pk])).status_code == 403


def test_a_switched_off_subscription_gets_nothing_more(
    hooked: Receiver, guarantee: Any, contact: User
) -> None:
    open_case(contact)
    subscription = WebhookDelivery.objects.get().subscription
    subscription.is_active = False
    subscription.save()
    webhooks.send_due(timezone.now())
    assert hooked.seen == []
    assert WebhookDelivery.objects.get().status == DeliveryStatus.DEAD
    open_case(contact, subject="另一个问题")
    assert WebhookDelivery.objects.count() == 1


def test_case_changes_and_breaches_are_events_once_each(
    hooked: Receiver, guarantee: Any, contact: User, agent: User, customer: Organisation
) -> None:
    case = open_case(contact, at=at(2026, 3, 2, 10))
    desk.reply(actor=agent, case=case, body="您好，正在处理", at=at(2026, 3, 2, 10, 40))
    breach = Breach.objects.get(clock__metric="first_response")
    kinds = list(WebhookDelivery.objects.order_by("pk").values_list("event", flat=True))
    assert kinds[0] == "case.created"
    assert "case.updated" in kinds
    # The breach is announced after the commit; the test transaction never commits, so
    # the receiver is called as the commit would call it, twice: one delivery still.
    events.on_breaches(None, breach_ids=[breach.pk])
    events.on_breaches(None, breach_ids=[breach.pk])
    breach_deliveries = WebhookDelivery.objects.filter(event="breach.recorded")
    assert breach_deliveries.count() == 1
    data = breach_deliveries.get().payload["data"]
    assert data["metric"] == "first_response"
    assert data["breached_at"] == "2026-03-02T02:15:00+00:00"
    assert data["subject"]["reference"] == case.reference


def test_nothing_is_queued_while_quiet_or_unsubscribed(
    hooked: Receiver, guarantee: Any, contact: User
) -> None:
    with events.quiet():
        open_case(contact)
    assert WebhookDelivery.objects.count() == 0
    assert events.emit("ledger.booked", "x", dict) == 0  # nobody subscribed to it


def test_every_event_source_present_is_connected() -> None:
    assert events.available() == set(events.EVENTS)


def test_a_lost_lease_is_claimed_again_and_its_attempt_recorded(
    hooked: Receiver, guarantee: Any, contact: User
) -> None:
    open_case(contact)
    now = timezone.now()
    claim = webhooks.claim_next(now)
    assert claim is not None
    assert webhooks.claim_next(now) is None  # leased: nobody else gets it
    again = webhooks.claim_next(now + webhooks.LEASE + timedelta(seconds=1))
    assert again is not None
    assert again.number == 2
    webhooks.deliver(again)
    assert not webhooks.record(
        claim,
        webhooks.senders.Outcome(ok=True, status_code=200),
        finished_at=now,
        duration=timedelta(0),
    )
    assert list(WebhookAttempt.objects.values_list("number", "ok")) == [(1, True), (2, True)]
    assert WebhookDelivery.objects.get().status == DeliveryStatus.DELIVERED
