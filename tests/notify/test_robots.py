"""Each robot platform and the webhook, played by a local server that checks signatures."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.utils import timezone

from assura.notify import outbox, services
from assura.notify.models import AttemptOutcome, Notification, NotificationChannel, Status
from tests.notify.servers import RobotServer, closed_port

pytestmark = pytest.mark.django_db

SOON = timedelta(seconds=1)


def send_one(
    channel: NotificationChannel, key: str = "breach-notice:1", **fields: str
) -> Notification:
    notice = services.enqueue(
        key,
        channel=channel,
        subject=fields.get("subject", "工单 C-2026-000001 超时"),
        body=fields.get("body", "首次响应已超时。"),
        markdown=fields.get("markdown", ""),
        payload={"case": "C-2026-000001"},
    )
    outbox.send_due(timezone.now() + SOON)
    notice.refresh_from_db()
    return notice


@pytest.mark.parametrize("platform", ["wecom", "dingtalk", "feishu", "webhook"])
def test_each_platform_receives_the_notice_and_it_is_marked_sent(
    platform: str,
    robot: Callable[..., RobotServer],
    channel_for: Callable[..., NotificationChannel],
) -> None:
    server = robot(platform)
    notice = send_one(channel_for(server))
    assert notice.status == Status.SENT
    assert notice.sent_at is not None
    assert notice.next_attempt_at is None
    assert len(server.received) == 1
    assert "超时" in server.received[0].body.decode("utf-8")
    attempt = notice.tries.get()
    assert (attempt.number, attempt.outcome, attempt.status_code) == (1, "sent", 200)


@pytest.mark.parametrize("platform", ["dingtalk", "feishu", "webhook"])
def test_a_signed_request_passes_the_platforms_own_signature_check(
    platform: str,
    robot: Callable[..., RobotServer],
    channel_for: Callable[..., NotificationChannel],
) -> None:
    server = robot(platform, secret="SEC7f3a9d2c1b0e4f5a6b7c8d9e0f1a2b3c")
    notice = send_one(channel_for(server, secret="SEC7f3a9d2c1b0e4f5a6b7c8d9e0f1a2b3c"))
    assert notice.status == Status.SENT, notice.last_error


@pytest.mark.parametrize(
    ("platform", "error"),
    [("dingtalk", "error 310000"), ("feishu", "error 19021"), ("webhook", "HTTP 401")],
)
def test_a_wrong_secret_is_refused_by_the_platform_and_recorded_as_a_failure(
    platform: str,
    error: str,
    robot: Callable[..., RobotServer],
    channel_for: Callable[..., NotificationChannel],
) -> None:
    server = robot(platform, secret="the-real-secret")
    notice = send_one(channel_for(server, secret="an-old-secret"))
    assert notice.status == Status.FAILED
    assert error in notice.last_error
    attempt = notice.tries.get()
    assert attempt.outcome == AttemptOutcome.FAILED
    assert error in attempt.error
    assert attempt.reply  # the platform's own answer is kept for the administrator


@pytest.mark.parametrize(
    ("platform", "answer"),
    [
        ("wecom", {"errcode": 45009, "errmsg": "api freq out of limit"}),
        ("dingtalk", {"errcode": 130101, "errmsg": "send too fast"}),
        ("feishu", {"code": 11232, "msg": "frequency limited", "data": {}}),
    ],
)
def test_an_error_code_in_a_200_answer_is_a_failure_to_retry(
    platform: str,
    answer: dict[str, object],
    robot: Callable[..., RobotServer],
    channel_for: Callable[..., NotificationChannel],
) -> None:
    server = robot(platform)
    server.answer_next(200, answer)
    notice = send_one(channel_for(server))
    assert notice.status == Status.FAILED
    assert notice.tries.get().status_code == 200
    assert notice.next_attempt_at is not None


def test_wecom_receives_markdown_as_its_markdown_message_type(
    robot: Callable[..., RobotServer], channel_for: Callable[..., NotificationChannel]
) -> None:
    server = robot("wecom")
    send_one(channel_for(server), markdown='> 已超时 <font color="warning">12</font> 分钟')
    document = server.received[0].json()
    assert document["msgtype"] == "markdown"
    assert server.received[0].query == {"key": ["k-123"]}


def test_the_webhook_receiver_gets_the_delivery_id_and_the_payload(
    robot: Callable[..., RobotServer], channel_for: Callable[..., NotificationChannel]
) -> None:
    server = robot("webhook", secret="hook-secret")
    send_one(channel_for(server, secret="hook-secret"), key="breach-notice:9")
    request = server.received[0]
    assert request.headers["x-assura-delivery"] == "breach-notice:9"
    assert request.json()["payload"] == {"case": "C-2026-000001"}


def test_an_unreachable_address_is_a_failure_with_the_reason(
    channel_for: Callable[..., NotificationChannel],
) -> None:
    channel = services.create_channel(
        actor=None, kind="webhook", name="gone", url=f"http://127.0.0.1:{closed_port()}/in"
    )
    notice = send_one(channel)
    assert notice.status == Status.FAILED
    assert "refused" in notice.last_error.lower()
    assert notice.tries.get().status_code is None


def test_a_redirect_is_not_followed_because_it_would_drop_the_body(
    robot: Callable[..., RobotServer], channel_for: Callable[..., NotificationChannel]
) -> None:
    server = robot("webhook")
    server.answer_next(302, {"moved": True})
    notice = send_one(channel_for(server))
    assert notice.status == Status.FAILED
    assert "HTTP 302" in notice.last_error
    assert len(server.received) == 1


def test_a_switched_off_channel_sends_nothing_and_gives_up_at_once(
    robot: Callable[..., RobotServer], channel_for: Callable[..., NotificationChannel]
) -> None:
    server = robot("wecom")
    channel = channel_for(server, is_active=False)
    notice = send_one(channel)
    assert notice.status == Status.DEAD
    assert "switched off" in notice.last_error
    assert server.received == []
