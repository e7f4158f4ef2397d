"""The outbox page and the channel pages, as each role meets them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from assura.core.models import Role, User
from assura.notify import outbox, services
from assura.notify.models import Notification, NotificationChannel, Status
from tests.factories import ContactFactory
from tests.notify.servers import RobotServer

pytestmark = pytest.mark.django_db

DINGTALK = "https://oapi.dingtalk.com/robot/send?access_token=3f2a9c1d8e7b6a5f"
OUTBOX_READERS = {Role.ADMIN, Role.AUDITOR}
CHANNEL_READERS = {Role.ADMIN, Role.QUALITY_MANAGER, Role.AUDITOR}
CHANNEL_EDITORS = {Role.ADMIN, Role.QUALITY_MANAGER}


@pytest.fixture(autouse=True)
def english_pages(client: Client) -> None:
    """Pages pick their language per request; these assertions read English."""
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"


@pytest.fixture
def person_in_role(make_staff: Callable[..., User]) -> Callable[[Role], User]:
    def make(role: Role) -> User:
        return ContactFactory() if role == Role.CUSTOMER else make_staff(role)

    return make


@pytest.fixture
def channel() -> NotificationChannel:
    return services.create_channel(
        actor=None,
        kind="dingtalk",
        name="值班群",
        url=DINGTALK,
        signed=True,
        secret="SECtopsecret0001",
    )


def mail(key: str = "breach-notice:1:email:c@x.test") -> Notification:
    return services.enqueue(key, to=["c@x.test"], subject="工单超时", body="…")


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize(
    ("url_name", "allowed"),
    [
        ("notify:outbox", OUTBOX_READERS),
        ("notify:channels", CHANNEL_READERS),
        ("notify:channel_new", CHANNEL_EDITORS),
    ],
)
def test_each_page_answers_each_role_as_the_matrix_says(
    role: Role,
    url_name: str,
    allowed: set[Role],
    person_in_role: Callable[[Role], User],
    client: Client,
) -> None:
    client.force_login(person_in_role(role))
    assert client.get(reverse(url_name)).status_code == (200 if role in allowed else 403)


def test_anonymous_visitors_are_sent_to_the_login_page(client: Client) -> None:
    response = client.get(reverse("notify:outbox"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("web:login"))


def test_the_outbox_shows_each_notice_with_its_attempts(admin: User, client: Client) -> None:
    notice = mail()
    outbox.send_due(timezone.now() + timedelta(seconds=1))  # the test mailer accepts it
    client.force_login(admin)
    page = client.get(reverse("notify:outbox")).content.decode()
    assert "工单超时" in page
    assert notice.dedup_key in page
    assert 'data-status="sent"' in page
    assert "1 recipient" in page  # the attempt's reply


def test_the_outbox_filters_by_status_and_channel(
    admin: User, client: Client, channel: NotificationChannel
) -> None:
    mail("mail-to-contact")
    services.enqueue("robot-notice", channel=channel, subject="群通知", body="…")
    client.force_login(admin)
    by_channel = client.get(reverse("notify:outbox"), {"channel": channel.pk}).content.decode()
    assert "robot-notice" in by_channel
    assert "mail-to-contact" not in by_channel
    direct = client.get(reverse("notify:outbox"), {"channel": "direct"}).content.decode()
    assert "mail-to-contact" in direct
    assert "robot-notice" not in direct
    sent = client.get(reverse("notify:outbox"), {"status": "sent"}).content.decode()
    assert "No notices match these filters." in sent


def test_the_outbox_page_costs_the_same_queries_for_one_notice_or_twenty(
    admin: User, client: Client, channel: NotificationChannel
) -> None:
    client.force_login(admin)
    mail("first")
    with CaptureQueriesContext(connection) as one:
        client.get(reverse("notify:outbox"))
    for number in range(19):
        services.enqueue(f"more:{number}", channel=channel, subject="s", body="b")
    outbox.send_due(timezone.now() + timedelta(seconds=1))
    with CaptureQueriesContext(connection) as twenty:
        client.get(reverse("notify:outbox"))
    assert len(twenty) == len(one)


def dead_notice() -> Notification:
    notice = mail()
    Notification.objects.filter(pk=notice.pk).update(
        status=Status.DEAD, next_attempt_at=None, attempts=6, last_error="SMTP 550"
    )
    return notice


def test_an_administrator_retries_a_dead_notice_from_the_outbox(
    admin: User, client: Client
) -> None:
    notice = dead_notice()
    client.force_login(admin)
    page = client.get(reverse("notify:outbox")).content.decode()
    assert 'data-testid="retry"' in page
    response = client.post(
        reverse("notify:retry", args=[notice.pk]), {"next": "/notify/outbox/?status=dead"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/notify/outbox/?status=dead"
    notice.refresh_from_db()
    assert notice.status == Status.PENDING


def test_an_auditor_reads_the_outbox_but_cannot_retry(auditor: User, client: Client) -> None:
    notice = dead_notice()
    client.force_login(auditor)
    assert 'data-testid="retry"' not in client.get(reverse("notify:outbox")).content.decode()
    assert client.post(reverse("notify:retry", args=[notice.pk])).status_code == 403
    notice.refresh_from_db()
    assert notice.status == Status.DEAD


def test_a_retry_never_redirects_to_another_site(admin: User, client: Client) -> None:
    notice = dead_notice()
    client.force_login(admin)
    response = client.post(
        reverse("notify:retry", args=[notice.pk]), {"next": "https://evil.example/"}
    )
    assert response["Location"] == reverse("notify:outbox")


def test_a_bad_channel_form_shows_field_errors_and_saves_nothing(
    quality: User, client: Client
) -> None:
    client.force_login(quality)
    response = client.post(
        reverse("notify:channel_new"),
        {"kind": "dingtalk", "name": "ops", "url": "ftp://oapi.dingtalk.com/x", "signed": "on"},
    )
    assert response.status_code == 400
    form = response.context["form"]
    assert "https://" in " ".join(form.errors["url"])
    assert "secret" in form.errors
    assert not NotificationChannel.objects.exists()


def test_a_quality_manager_creates_a_channel_from_the_form(quality: User, client: Client) -> None:
    client.force_login(quality)
    response = client.post(
        reverse("notify:channel_new"),
        {
            "kind": "email",
            "name": "质量部",
            "recipients": "qa@x.test\nlead@x.test",
            "is_active": "on",
        },
    )
    channel = NotificationChannel.objects.get()
    assert response["Location"] == reverse("notify:channel", args=[channel.pk])
    assert channel.recipients == ["qa@x.test", "lead@x.test"]


def test_the_pages_never_show_a_secret_and_the_list_hides_robot_tokens(
    admin: User, client: Client, channel: NotificationChannel
) -> None:
    client.force_login(admin)
    listing = client.get(reverse("notify:channels")).content.decode()
    detail = client.get(reverse("notify:channel", args=[channel.pk])).content.decode()
    assert "SECtopsecret0001" not in listing + detail
    assert "••••••••0001" in detail  # the form says a secret is stored
    assert "3f2a9c1d8e7b6a5f" not in listing
    assert "access_token=3f2a…" in listing


def test_editing_a_channel_keeps_its_secret_when_the_field_is_left_empty(
    admin: User, client: Client, channel: NotificationChannel
) -> None:
    client.force_login(admin)
    response = client.post(
        reverse("notify:channel", args=[channel.pk]),
        {"name": "值班群 2", "url": DINGTALK, "signed": "on", "secret": "", "is_active": "on"},
    )
    assert response.status_code == 302
    channel.refresh_from_db()
    assert (channel.name, channel.secret, channel.kind) == (
        "值班群 2",
        "SECtopsecret0001",
        "dingtalk",
    )


def test_an_auditor_sees_a_channel_but_cannot_change_it(
    auditor: User, client: Client, channel: NotificationChannel
) -> None:
    client.force_login(auditor)
    page = client.get(reverse("notify:channel", args=[channel.pk])).content.decode()
    assert 'data-testid="send-test"' not in page
    response = client.post(reverse("notify:channel", args=[channel.pk]), {"name": "x"})
    assert response.status_code == 403
    assert client.post(reverse("notify:channel_test", args=[channel.pk])).status_code == 403


def test_send_test_queues_a_message_and_the_page_follows_its_outcome(
    quality: User,
    client: Client,
    robot: Callable[..., RobotServer],
    channel_for: Callable[..., NotificationChannel],
) -> None:
    server = robot("dingtalk", secret="SECabc")
    channel = channel_for(server, secret="SECabc")
    client.force_login(quality)
    response = client.post(reverse("notify:channel_test", args=[channel.pk]), follow=True)
    page = response.content.decode()
    assert "Test message queued" in page
    assert 'hx-get="' + reverse("notify:channel_recent", args=[channel.pk]) in page
    outbox.send_due(timezone.now() + timedelta(seconds=1))
    panel = client.get(reverse("notify:channel_recent", args=[channel.pk])).content.decode()
    assert 'data-status="sent"' in panel
    assert "hx-get" not in panel  # nothing left in flight: polling stops
    assert "assura test message" in server.received[0].json()["text"]["content"]


@pytest.mark.parametrize(
    ("settings", "shown", "hidden"),
    [
        ({"kind": "email", "recipients": ["qa@x.test"]}, {"recipients"}, {"url", "secret"}),
        (
            {"kind": "wecom", "url": "https://qyapi.example/send?key=k"},
            {"url"},
            {"recipients", "signed", "secret"},
        ),
        ({"kind": "feishu", "url": "https://open.example/hook/h"}, {"url", "secret"}, set()),
    ],
)
def test_a_channels_form_shows_only_the_settings_its_kind_uses(
    admin: User, client: Client, settings: dict[str, object], shown: set[str], hidden: set[str]
) -> None:
    channel = services.create_channel(actor=None, name="c", **settings)  # type: ignore[arg-type]
    client.force_login(admin)
    fields = set(client.get(reverse("notify:channel", args=[channel.pk])).context["form"].fields)
    assert shown <= fields
    assert not hidden & fields
