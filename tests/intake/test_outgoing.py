"""Replies go out through a real SMTP server with headers that thread the answer back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from assura.core.models import User
from assura.desk import services as desk
from assura.desk.models import Case
from assura.intake import outgoing, services
from assura.intake.models import (
    InboundMessage,
    MailChannel,
    OutboundKind,
    OutboundMail,
    OutboundStatus,
    Security,
)
from tests.intake.messages import build
from tests.intake.servers import SmtpServer, free_port

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


@pytest.fixture
def smtp_channel(channel: MailChannel, smtp: SmtpServer) -> MailChannel:
    """The channel sending through its own SMTP account: the test's aiosmtpd."""
    channel.smtp_use_default = False
    channel.smtp_host = "127.0.0.1"
    channel.smtp_port = smtp.port
    channel.smtp_security = Security.NONE
    channel.from_name = "服务台"
    channel.save()
    return channel


def opened(channel: MailChannel) -> tuple[Case, InboundMessage]:
    inbound = services.receive(
        channel,
        build(
            "打印机无法打印",
            message_id="<first@customer.test>",
            references=["<older@customer.test>"],
        ),
        now=T0,
    )
    assert inbound.case is not None
    return inbound.case, inbound


def test_an_agent_reply_goes_out_threaded_and_the_answer_comes_back(
    smtp_channel: MailChannel, smtp: SmtpServer, agent: User
) -> None:
    case, _first = opened(smtp_channel)
    reply = desk.reply(
        actor=agent,
        case=case,
        body="请重启打印机后再试。",
        attachments=[SimpleUploadedFile("步骤.pdf", b"%PDF-1.4 steps")],
        at=T0 + timedelta(minutes=5),
    )
    queued = OutboundMail.objects.get(case_message=reply)
    assert queued.status == OutboundStatus.PENDING

    assert outgoing.send_due(timezone.now()) == 1

    queued.refresh_from_db()
    assert queued.status == OutboundStatus.SENT
    [sent] = smtp.received()
    assert sent["Message-ID"] == queued.message_id
    assert sent["Message-ID"].startswith(f"<{case.reference}.")
    assert sent["Message-ID"].endswith("@assura.test>")
    assert sent["In-Reply-To"] == "<first@customer.test>"
    assert sent["References"].split() == ["<older@customer.test>", "<first@customer.test>"]
    assert sent["Subject"] == f"[{case.reference}] 打印机无法打印"
    assert sent["From"].addresses[0].addr_spec == "support@assura.test"
    assert sent["From"].addresses[0].display_name == "服务台"
    assert [a.addr_spec for a in sent["To"].addresses] == ["zhang.san@customer.test"]
    assert "Auto-Submitted" not in sent  # a person wrote it
    body = sent.get_body(preferencelist=("plain",))
    assert body is not None
    assert body.get_content().strip() == "请重启打印机后再试。"
    [attachment] = list(sent.iter_attachments())
    assert attachment.get_filename() == "步骤.pdf"
    assert attachment.get_content() == b"%PDF-1.4 steps"

    # The customer's client answers it: In-Reply-To and References, a subject without the tag.
    answer = build(
        "重启后还是不行。\n\n> 请重启打印机后再试。",
        subject="Re: 打印机",
        message_id="<answer@customer.test>",
        in_reply_to=sent["Message-ID"],
        references=[*sent["References"].split(), sent["Message-ID"]],
    )
    inbound = services.receive(smtp_channel, answer, now=T0 + timedelta(minutes=30))
    assert inbound.case == case
    assert inbound.case_message is not None
    assert inbound.case_message.body == "重启后还是不行。"

    # The next reply answers the customer's latest message.
    second = desk.reply(actor=agent, case=case, body="我们派工程师上门。")
    mail = OutboundMail.objects.get(case_message=second)
    assert mail.in_reply_to == "<answer@customer.test>"
    assert mail.references.split()[-1] == "<answer@customer.test>"


def test_a_client_that_keeps_only_the_subject_still_threads(
    smtp_channel: MailChannel, smtp: SmtpServer, agent: User
) -> None:
    case, _first = opened(smtp_channel)
    desk.reply(actor=agent, case=case, body="请提供型号。", at=T0 + timedelta(minutes=5))
    outgoing.send_due(timezone.now())
    [sent] = smtp.received()
    answer = build("HP M404", subject=f"回复：{sent['Subject']}")
    assert services.receive(smtp_channel, answer, now=T0 + timedelta(hours=1)).case == case


def test_the_acknowledgement_goes_out_as_an_automatic_reply(
    smtp_channel: MailChannel, smtp: SmtpServer
) -> None:
    smtp_channel.acknowledge = True
    smtp_channel.save()
    case, _first = opened(smtp_channel)
    outgoing.send_due(timezone.now())
    [ack] = smtp.received()
    assert ack["Auto-Submitted"] == "auto-replied"
    assert ack["In-Reply-To"] == "<first@customer.test>"
    assert case.reference in ack["Subject"]
    assert case.reference in ack.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]


def test_internal_notes_and_portal_cases_send_nothing(
    smtp_channel: MailChannel, agent: User, contact: User
) -> None:
    case, _first = opened(smtp_channel)
    desk.add_note(actor=agent, case=case, body="内部备注")
    portal_case = desk.open_case(
        actor=contact,
        organisation=contact.organisation,
        case_type="inquiry",
        subject="Portal",
        channel="portal",
        team=case.team,
    )
    desk.reply(actor=agent, case=portal_case, body="答复")
    assert not OutboundMail.objects.exists()


def test_a_temporary_refusal_is_retried_later_and_a_permanent_one_gives_up(
    smtp_channel: MailChannel, smtp: SmtpServer, agent: User
) -> None:
    case, _first = opened(smtp_channel)
    smtp.handler.reply = "451 4.3.0 try again later"
    desk.reply(actor=agent, case=case, body="第一次", at=T0 + timedelta(minutes=5))
    now = timezone.now()
    outgoing.send_due(now)
    mail = OutboundMail.objects.get()
    assert mail.status == OutboundStatus.FAILED
    assert mail.next_attempt_at == now + outgoing.BACKOFF[0]
    assert "451" in mail.last_error

    smtp.handler.reply = "550 5.1.1 mailbox unavailable"
    assert outgoing.send_due(now) == 0  # not due yet
    outgoing.send_due(now + outgoing.BACKOFF[0])
    mail.refresh_from_db()
    assert (mail.status, mail.next_attempt_at) == (OutboundStatus.DEAD, None)

    smtp.handler.reply = "250 OK"
    outgoing.retry_now(actor=None, outbound=mail)
    outgoing.send_due(timezone.now())
    mail.refresh_from_db()
    assert mail.status == OutboundStatus.SENT
    assert len(smtp.received()) == 1
    assert smtp.received()[0]["Message-ID"] == mail.message_id  # the same message, again


def test_an_unreachable_smtp_server_is_retried(channel: MailChannel, agent: User) -> None:
    channel.smtp_use_default = False
    channel.smtp_host, channel.smtp_port = "127.0.0.1", free_port()
    channel.smtp_security = Security.NONE
    channel.save()
    case, _first = opened(channel)
    desk.reply(actor=agent, case=case, body="答复", at=T0 + timedelta(minutes=5))
    outgoing.send_due(timezone.now())
    mail = OutboundMail.objects.get()
    assert mail.status == OutboundStatus.FAILED
    assert "ConnectionRefusedError" in mail.last_error


def test_without_an_smtp_account_the_default_mailer_sends(
    channel: MailChannel, agent: User, mailoutbox: list[object]
) -> None:
    case, _first = opened(channel)
    desk.reply(actor=agent, case=case, body="答复", at=T0 + timedelta(minutes=5))
    outgoing.send_due(timezone.now())
    [sent] = mailoutbox
    assert sent.extra_headers["In-Reply-To"] == "<first@customer.test>"  # type: ignore[attr-defined]
    assert OutboundMail.objects.get().status == OutboundStatus.SENT


def test_two_senders_never_send_the_same_mail(channel: MailChannel, agent: User) -> None:
    case, _first = opened(channel)
    desk.reply(actor=agent, case=case, body="答复", at=T0 + timedelta(minutes=5))
    now = timezone.now()
    first = outgoing.claim_next(now)
    assert first is not None
    assert OutboundMail.objects.get(pk=first.pk).kind == OutboundKind.REPLY
    assert outgoing.claim_next(now) is None
    assert outgoing.claim_next(now + outgoing.LEASE) is not None  # the first sender died


def test_a_sender_that_reports_after_losing_its_lease_changes_nothing(
    smtp_channel: MailChannel, smtp: SmtpServer, agent: User, caplog: pytest.LogCaptureFixture
) -> None:
    case, _first = opened(smtp_channel)
    desk.reply(actor=agent, case=case, body="答复", at=T0 + timedelta(minutes=5))
    now = timezone.now()
    slow = outgoing.claim_next(now)
    assert slow is not None
    taken_over = outgoing.claim_next(now + outgoing.LEASE + timedelta(seconds=1))
    assert taken_over is not None
    assert taken_over.number == 2

    # The slow sender finally hears back, a permanent refusal, while the new holder is
    # still sending: the mail must stay the new holder's, not be given up.
    smtp.handler.reply = "550 5.1.1 mailbox unavailable"
    late = outgoing.deliver(slow, now + outgoing.LEASE + timedelta(seconds=2))
    assert late.status == OutboundStatus.SENDING
    assert late.next_attempt_at == taken_over.started_at + outgoing.LEASE
    assert (late.attempts, late.last_error) == (2, "")
    assert "lease lost before attempt 1 was recorded" in caplog.text

    smtp.handler.reply = "250 OK"
    mail = outgoing.deliver(taken_over, now + outgoing.LEASE + timedelta(seconds=3))
    assert (mail.status, mail.next_attempt_at) == (OutboundStatus.SENT, None)
    assert mail.lease_token == ""


def test_a_mail_that_cannot_be_built_costs_an_attempt_instead_of_staying_claimed(
    channel: MailChannel, agent: User
) -> None:
    case, _first = opened(channel)
    desk.reply(actor=agent, case=case, body="答复", at=T0 + timedelta(minutes=5))
    OutboundMail.objects.update(subject="答复\nBcc: someone@elsewhere.test")  # header injection
    now = timezone.now()
    outgoing.send_due(now)
    mail = OutboundMail.objects.get()
    assert mail.status == OutboundStatus.FAILED
    assert "linefeed" in mail.last_error
    assert mail.next_attempt_at == now + outgoing.BACKOFF[0]


def test_a_mail_whose_sender_dies_on_every_attempt_is_given_up_at_the_last(
    channel: MailChannel, agent: User
) -> None:
    case, _first = opened(channel)
    desk.reply(actor=agent, case=case, body="答复", at=T0 + timedelta(minutes=5))
    now = timezone.now()
    for attempt in range(outgoing.MAX_ATTEMPTS):
        held = outgoing.claim_next(now + attempt * outgoing.LEASE)
        assert held is not None
        assert held.number == attempt + 1  # and the sender is killed before it reports
    assert outgoing.claim_next(now + outgoing.MAX_ATTEMPTS * outgoing.LEASE) is None
    mail = OutboundMail.objects.get()
    assert (mail.status, mail.next_attempt_at) == (OutboundStatus.DEAD, None)
    assert mail.attempts == outgoing.MAX_ATTEMPTS
    assert "stopped during the last attempt" in mail.last_error
