"""The integration pages: who sees them, what managers change, secrets shown once."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from assura.connect import demo, services, webhooks
from assura.connect.models import (
    ChatApp,
    DeliveryStatus,
    InboundSource,
    WebhookDelivery,
    WebhookSubscription,
)
from assura.core.models import Organisation, Role, User
from tests.connect import platforms as p
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def login(person: User) -> Client:
    client = Client()
    assert client.login(username=person.username, password=PASSWORD)
    return client


PAGES = ["connect:index", "connect:deliveries", "connect:inbound"]


@pytest.mark.parametrize("name", PAGES)
def test_the_pages_are_for_configurers_and_auditors(
    name: str, make_staff: Callable[..., User], agent: User
) -> None:
    for role in (Role.ADMIN, Role.QUALITY_MANAGER, Role.AUDITOR):
        assert login(make_staff(role)).get(reverse(name)).status_code == 200
    assert login(agent).get(reverse(name)).status_code == 403


def test_a_manager_adds_a_subscription_and_sees_its_secret_once(quality: User) -> None:
    client = login(quality)
    response = client.post(
        reverse("connect:subscription_new"),
        {"name": "ERP", "url": "https://erp.example.cn/hooks", "events": ["case.created"],
         "is_active": "on"},
    )  # fmt: skip
    assert response.status_code == 200
    subscription = WebhookSubscription.objects.get()
    assert subscription.secret.encode() in response.content
    page = client.get(reverse("connect:subscription", args=[subscription.pk]))
    assert subscription.secret.encode() not in page.content
    assert subscription.masked_secret[-4:].encode() in page.content


def test_a_bad_subscription_is_refused_beside_its_fields(quality: User) -> None:
    response = login(quality).post(
        reverse("connect:subscription_new"), {"name": "x", "url": "ftp://nope", "events": []}
    )
    assert response.status_code == 400
    assert WebhookSubscription.objects.count() == 0


def test_a_manager_sets_up_a_wecom_application(quality: User, customer: Organisation) -> None:
    client = login(quality)
    data = {
        "platform": "wecom",
        "name": "企业微信",
        "organisation": customer.pk,
        "case_type": "inquiry",
        "unknown_senders": "create_contact",
        "app_id": p.CORP_ID,
        "token": p.WECOM_TOKEN,
        "encryption_key": "too-short",
        "is_active": "on",
    }
    response = client.post(reverse("connect:chat_app_new"), data)
    assert response.status_code == 400
    assert b"43" in response.content
    response = client.post(reverse("connect:chat_app_new"), {**data, "encryption_key": p.WECOM_KEY})
    app = ChatApp.objects.get()
    assert response.status_code == 302
    page = client.get(response["Location"])
    assert reverse("connect:in_wecom", args=[app.key]).encode() in page.content
    assert p.WECOM_KEY.encode() not in page.content
    # Saving again with empty secret fields keeps the stored secrets.
    client.post(
        reverse("connect:chat_app", args=[app.pk]), {**data, "encryption_key": "", "token": ""}
    )
    app.refresh_from_db()
    assert (app.token, app.encryption_key) == (p.WECOM_TOKEN, p.WECOM_KEY)


def test_an_auditor_reads_but_cannot_change(auditor: User, customer: Organisation) -> None:
    source, _secret = services.save_source(actor=None, name="Zabbix", organisation=customer)
    client = login(auditor)
    page = client.get(reverse("connect:source", args=[source.pk]))
    assert page.status_code == 200
    assert b'name="rotate"' not in page.content
    response = client.post(
        reverse("connect:source", args=[source.pk]),
        {"name": "x", "organisation": customer.pk, "case_type": "fault", "priority": "high"},
    )
    assert response.status_code == 403
    assert InboundSource.objects.get().name == "Zabbix"


def test_a_new_source_shows_its_address_and_secret(quality: User, customer: Organisation) -> None:
    response = login(quality).post(
        reverse("connect:source_new"),
        {"name": "Zabbix", "organisation": customer.pk, "case_type": "fault", "priority": "high",
         "is_active": "on"},
    )  # fmt: skip
    source = InboundSource.objects.get()
    assert response.status_code == 200
    assert source.secret.encode() in response.content
    assert reverse("connect:in_signed", args=[source.key]).encode() in response.content


def test_the_demo_subscription_records_its_failures_calmly(
    guarantee: Any, contact: User, caplog: pytest.LogCaptureFixture
) -> None:
    demo.load()
    assert demo.load() == []  # idempotent
    services.send_ping(actor=None, subscription=WebhookSubscription.objects.get())
    with caplog.at_level(logging.INFO):
        webhooks.send_due(timezone.now())
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.tries.get().error
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_the_pages_show_what_happened(
    quality: User, customer: Organisation, guarantee: Any, contact: User
) -> None:
    app = services.save_chat_app(
        actor=None,
        platform="dingtalk",
        name="钉钉",
        organisation=customer,
        case_type="inquiry",
        unknown_senders="reject",
        app_id="",
        token="",
        encryption_key="",
        app_secret=p.DINGTALK_SECRET,
        is_active=True,
    )
    services.link_identity(actor=None, app=app, user_id="user123", person=contact)
    client = login(quality)
    client.post(reverse("connect:in_dingtalk", args=[app.key]), b"{}", "application/json")
    subscription, _secret = services.save_subscription(
        actor=None, name="ERP", url="http://127.0.0.1:9/x", events=["case.created"]
    )
    services.send_ping(actor=None, subscription=subscription)
    for name, args in [
        ("connect:index", []),
        ("connect:inbound", []),
        ("connect:deliveries", []),
        ("connect:imports", []),
        ("connect:chat_app", [app.pk]),
        ("connect:subscription", [subscription.pk]),
        ("connect:delivery", [WebhookDelivery.objects.get().pk]),
    ]:
        page = client.get(reverse(name, args=args))
        assert page.status_code == 200, name
    page = client.get(reverse("connect:inbound") + "?status=rejected")
    assert b'data-outcome="bad_request"' in page.content
