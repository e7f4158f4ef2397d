"""E-mail through the configured mailer to a real SMTP server on 127.0.0.1."""

from __future__ import annotations

from datetime import timedelta
from email.message import EmailMessage

import pytest
from django.utils import timezone

from assura.notify import outbox, senders, services
from assura.notify.models import Notification, Status
from tests.notify.servers import SmtpServer

pytestmark = pytest.mark.django_db

SUBJECT = "【超时通知】工单 C-2026-000123 首次响应超时"
BODY = "您好：\n\n工单 C-2026-000123 的首次响应已超过承诺的 15 分钟。我们已升级处理。\n"
KEY = "breach-notice:42:email:contact@customer.test"


def text_of(message: EmailMessage, kind: str = "plain") -> str:
    """A body part's text with the wire's CRLF line ends read back as newlines."""
    part = message.get_body((kind,))
    assert part is not None
    return str(part.get_content()).replace("\r\n", "\n")


def round_at(now: timedelta = timedelta(seconds=1)) -> None:
    outbox.send_due(timezone.now() + now)


def enqueue_mail(**fields: object) -> Notification:
    return services.enqueue(
        str(fields.pop("key", KEY)),
        to=fields.pop("to", ["contact@customer.test"]),  # type: ignore[arg-type]
        subject=SUBJECT,
        body=BODY,
        **fields,  # type: ignore[arg-type]
    )


def test_a_chinese_notice_arrives_with_its_subject_body_and_message_id(smtp: SmtpServer) -> None:
    notice = enqueue_mail()
    round_at()
    notice.refresh_from_db()
    assert notice.status == Status.SENT
    [envelope] = smtp.handler.messages
    assert envelope.rcpt_tos == ["contact@customer.test"]
    assert envelope.mail_from == "service@assura.test"
    [message] = smtp.parsed()
    assert message["Subject"] == SUBJECT
    assert "=?utf-8?" in envelope.original_content.decode("ascii").lower()  # RFC 2047 on the wire
    assert text_of(message) == BODY
    assert message["Message-ID"] == senders.message_id(KEY)
    assert message["Message-ID"].endswith("@assura.test>")
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["From"] == "服务台 <service@assura.test>"
    attempt = notice.tries.get()
    assert attempt.outcome == "sent"
    assert "1 recipient" in attempt.reply


def test_the_html_part_travels_as_an_alternative_to_the_text(smtp: SmtpServer) -> None:
    enqueue_mail(html="<p>工单 <b>C-2026-000123</b> 已超时</p>")
    round_at()
    [message] = smtp.parsed()
    assert message.get_content_type() == "multipart/alternative"
    assert text_of(message) == BODY
    assert "<b>C-2026-000123</b>" in text_of(message, "html")


def test_the_message_id_depends_on_the_key_only_so_a_repeat_is_recognisable() -> None:
    assert senders.message_id(KEY) == senders.message_id(KEY)
    assert senders.message_id(KEY) != senders.message_id(KEY + "x")


def test_a_temporary_refusal_is_retried_with_the_same_message_id(smtp: SmtpServer) -> None:
    smtp.handler.data_replies.append("451 4.3.0 mailbox busy, try later")
    notice = enqueue_mail()
    round_at()
    notice.refresh_from_db()
    assert notice.status == Status.FAILED
    first = notice.tries.get()
    assert (first.status_code, first.reply) == (451, "4.3.0 mailbox busy, try later")
    round_at(timedelta(minutes=1, seconds=2))
    notice.refresh_from_db()
    assert notice.status == Status.SENT
    assert [message["Message-ID"] for message in smtp.parsed()] == [senders.message_id(KEY)]


def test_a_permanent_refusal_gives_up_at_once(smtp: SmtpServer) -> None:
    smtp.handler.refused.add("nobody@customer.test")
    notice = enqueue_mail(to=["nobody@customer.test"])
    round_at()
    notice.refresh_from_db()
    assert notice.status == Status.DEAD
    assert notice.tries.get().status_code == 550
    assert "no such mailbox" in notice.last_error


def test_an_email_channel_sends_to_its_list_and_the_extra_addresses(smtp: SmtpServer) -> None:
    channel = services.create_channel(
        actor=None,
        kind="email",
        name="质量部",
        recipients=["qa@provider.test", "lead@provider.test"],
    )
    services.enqueue(
        "weekly-report:2026-W02",
        channel=channel,
        to=["boss@provider.test"],
        subject="周报",
        body="…",
    )
    round_at()
    [envelope] = smtp.handler.messages
    assert envelope.rcpt_tos == ["qa@provider.test", "lead@provider.test", "boss@provider.test"]


def test_an_unreachable_mail_server_is_a_failure_to_retry(smtp: SmtpServer) -> None:
    smtp.stop()
    notice = enqueue_mail()
    round_at()
    notice.refresh_from_db()
    assert notice.status == Status.FAILED
    assert "ConnectionRefusedError" in notice.last_error
    smtp.start()  # the fixture stops it again
