"""Importing stored messages: contacts, threading, attachments, loops, failures, retries."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from assura.core.models import Organisation, Role, User
from assura.desk import services as desk
from assura.desk.models import Case, Message, MessageKind, Status
from assura.intake import outgoing, services
from assura.intake.models import (
    InboundMessage,
    InboundStatus,
    MailChannel,
    OutboundKind,
    OutboundMail,
    Reason,
    UnknownSenders,
)
from tests.factories import CustomerFactory
from tests.intake.messages import build, encoded_word, text_part

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


def receive(channel: MailChannel, raw: bytes, minutes: int = 0) -> InboundMessage:
    return services.receive(channel, raw, now=T0 + timedelta(minutes=minutes))


# --- new cases and contacts --------------------------------------------------------------


def test_a_message_from_an_unknown_sender_creates_the_contact_and_opens_a_case(
    channel: MailChannel, customer: Organisation
) -> None:
    raw = build(
        text_part("朱镕基和王喆的打印机坏了", "gb2312", "gbk"),
        sender=f"{encoded_word('王喆', 'GB2312', 'gbk')} <Wang.Zhe@Customer.test>",
        subject=encoded_word("Re: 打印机无法打印", "GB2312"),
        message_id="<first@customer.test>",
    )
    inbound = receive(channel, raw)

    assert inbound.status == InboundStatus.IMPORTED
    assert inbound.opened_case
    case = inbound.case
    assert case is not None
    assert (case.subject, case.description) == ("打印机无法打印", "朱镕基和王喆的打印机坏了")
    assert (case.channel, case.case_type, case.team) == ("email", "inquiry", channel.default_team)
    assert case.created_at == T0
    contact = case.contact
    assert contact is not None
    assert (contact.email, contact.display_name, contact.role) == (
        "wang.zhe@customer.test",
        "王喆",
        Role.CUSTOMER,
    )
    assert contact.organisation == customer
    assert not contact.has_usable_password()


def test_a_known_contact_raises_the_case_for_its_own_organisation(
    channel: MailChannel, person_with_email: Callable[..., User]
) -> None:
    other = CustomerFactory()
    person = person_with_email("li@other.test", other)
    inbound = receive(channel, build(sender="Li <LI@other.test>"))
    assert inbound.case is not None
    assert inbound.case.organisation == other
    assert inbound.case.contact == person
    assert User.objects.filter(email__iexact="li@other.test").count() == 1


def test_unknown_senders_are_rejected_when_the_channel_says_so(channel: MailChannel) -> None:
    channel.unknown_senders = UnknownSenders.REJECT
    channel.save()
    inbound = receive(channel, build(sender="stranger@nowhere.test"))
    assert (inbound.status, inbound.reason) == (InboundStatus.REJECTED, Reason.UNKNOWN_SENDER)
    assert not User.objects.filter(email="stranger@nowhere.test").exists()
    assert not Case.objects.exists()


def test_mail_from_a_staff_address_is_rejected(
    channel: MailChannel, make_staff: Callable[..., User]
) -> None:
    make_staff(Role.AGENT, email="agent@assura.test")
    inbound = receive(channel, build(sender="agent@assura.test"))
    assert (inbound.status, inbound.reason) == (InboundStatus.REJECTED, Reason.STAFF_SENDER)


def test_a_deactivated_contact_is_rejected(channel: MailChannel, known_contact: User) -> None:
    known_contact.is_active = False
    known_contact.save()
    inbound = receive(channel, build())
    assert (inbound.status, inbound.reason) == (InboundStatus.REJECTED, Reason.INACTIVE_SENDER)


def test_a_username_taken_by_someone_else_gets_a_suffix(
    channel: MailChannel, person_with_email: Callable[..., User]
) -> None:
    person_with_email("", username="zhang.san@customer.test")
    inbound = receive(channel, build())
    assert inbound.case is not None
    assert inbound.case.contact is not None
    assert inbound.case.contact.username == "zhang.san@customer.test-2"


# --- threading ---------------------------------------------------------------------------


def first_case(channel: MailChannel) -> Case:
    inbound = receive(channel, build("打印机无法打印", message_id="<first@customer.test>"))
    assert inbound.case is not None
    return inbound.case


def test_an_answer_threads_by_in_reply_to_with_its_quoted_history_trimmed(
    channel: MailChannel,
) -> None:
    case = first_case(channel)
    answer = build(
        "已经重启，还是不行。\n\n-----原始邮件-----\n"
        "发件人: 张三\n发送时间: 昨天\n\n打印机无法打印",
        subject="换了标题",
        message_id="<second@customer.test>",
        in_reply_to="<first@customer.test>",
    )
    inbound = receive(channel, answer, minutes=5)
    assert inbound.status == InboundStatus.IMPORTED
    assert inbound.case == case
    assert not inbound.opened_case
    assert inbound.case_message is not None
    assert inbound.case_message.body == "已经重启，还是不行。"
    assert (inbound.case_message.kind, inbound.case_message.channel) == (
        MessageKind.CUSTOMER,
        "email",
    )
    assert inbound.case_message.external_id == "<second@customer.test>"
    assert Case.objects.count() == 1


def test_an_answer_threads_by_references(channel: MailChannel) -> None:
    case = first_case(channel)
    answer = build(
        "补充信息",
        subject="no reference here",
        in_reply_to="<lost@elsewhere.test>",
        references=["<first@customer.test>", "<lost@elsewhere.test>"],
    )
    assert receive(channel, answer, minutes=5).case == case


def test_an_answer_threads_by_the_reference_in_its_subject(channel: MailChannel) -> None:
    case = first_case(channel)
    answer = build("补充信息", subject=f"回复：[{case.reference}] 打印机无法打印")
    inbound = receive(channel, answer, minutes=5)
    assert inbound.case == case
    assert inbound.case_message is not None


def test_an_answer_to_our_own_mail_threads_by_its_message_id(
    channel: MailChannel, agent: User
) -> None:
    case = first_case(channel)
    reply = desk.reply(actor=agent, case=case, body="请重启打印机。", at=T0 + timedelta(minutes=3))
    sent = OutboundMail.objects.get(case_message=reply)
    answer = build("重启后好了", subject="Re: 打印机", in_reply_to=sent.message_id)
    assert receive(channel, answer, minutes=10).case == case


def test_a_reference_to_another_organisations_case_opens_a_new_case(
    channel: MailChannel, person_with_email: Callable[..., User]
) -> None:
    case = first_case(channel)
    person_with_email("spoof@other.test", CustomerFactory())
    inbound = receive(channel, build(sender="spoof@other.test", subject=f"[{case.reference}] x"))
    assert inbound.case is not None
    assert inbound.case != case
    assert inbound.opened_case
    assert not Message.objects.filter(case=case).exists()


def test_an_answer_to_a_closed_case_opens_a_new_one(channel: MailChannel, agent: User) -> None:
    case = first_case(channel)
    desk.resolve(actor=agent, case=case, at=T0 + timedelta(minutes=1))
    desk.close(actor=agent, case=case, at=T0 + timedelta(minutes=2))
    inbound = receive(channel, build(in_reply_to="<first@customer.test>"), minutes=5)
    assert inbound.case is not None
    assert inbound.case != case
    assert case.reference in inbound.note


def test_an_answer_to_a_merged_case_joins_the_case_it_was_merged_into(
    channel: MailChannel, agent: User
) -> None:
    duplicate = first_case(channel)
    survivor = receive(channel, build("另一个", message_id="<other@customer.test>"), 1).case
    assert survivor is not None
    desk.merge(actor=agent, duplicate=duplicate, into=survivor, at=T0 + timedelta(minutes=2))
    inbound = receive(channel, build(in_reply_to="<first@customer.test>"), minutes=5)
    assert inbound.case == survivor


def test_an_answer_ends_waiting_on_the_customer(channel: MailChannel, agent: User) -> None:
    case = first_case(channel)
    desk.change_status(
        actor=agent, case=case, status=Status.WAITING_CUSTOMER, at=T0 + timedelta(minutes=1)
    )
    receive(channel, build(in_reply_to="<first@customer.test>"), minutes=5)
    case.refresh_from_db()
    assert case.status == Status.OPEN


# --- attachments -------------------------------------------------------------------------


def test_attachments_are_kept_on_the_case(channel: MailChannel) -> None:
    raw = build(
        "见附件",
        attachments=[
            ("故障截图.png", b"\x89PNG\r\n\x1a\nimage", "image/png"),
            ("日志.txt", "错误 500".encode(), "text/plain"),
            ("setup.exe", b"MZ", "application/octet-stream"),
        ],
    )
    inbound = receive(channel, raw)
    assert inbound.case_message is not None
    stored = {a.name: a.file.read() for a in inbound.case_message.attachments.all()}
    assert stored == {"故障截图.png": b"\x89PNG\r\n\x1a\nimage", "日志.txt": "错误 500".encode()}
    assert "setup.exe" in inbound.note
    assert inbound.case_message.body == "见附件"


def test_an_answer_with_only_an_attachment_is_kept(channel: MailChannel) -> None:
    case = first_case(channel)
    raw = build(
        "",
        in_reply_to="<first@customer.test>",
        attachments=[("photo.jpg", b"\xff\xd8jpeg", "image/jpeg")],
    )
    inbound = receive(channel, raw, minutes=5)
    assert inbound.case == case
    assert inbound.case_message is not None
    assert [a.name for a in inbound.case_message.attachments.all()] == ["photo.jpg"]


# --- loops, bounces, rate ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("sender", "headers", "reason"),
    [
        ("zhang.san@customer.test", {"Auto-Submitted": "auto-replied"}, Reason.AUTO_SUBMITTED),
        ("zhang.san@customer.test", {"X-Autoreply": "yes"}, Reason.AUTO_REPLY),
        ("zhang.san@customer.test", {"Precedence": "bulk"}, Reason.BULK),
        ("MAILER-DAEMON@mx.customer.test", {}, Reason.BOUNCE),
        ("postmaster@customer.test", {}, Reason.BOUNCE),
        ("support@assura.test", {}, Reason.OWN_ADDRESS),
        ("noreply@assura.invalid", {}, Reason.OWN_ADDRESS),  # the default sender address
    ],
)
def test_machine_mail_is_set_aside_and_never_answered(
    channel: MailChannel,
    settings: object,
    sender: str,
    headers: dict[str, str],
    reason: str,
) -> None:
    settings.DEFAULT_FROM_EMAIL = "服务台 <noreply@assura.invalid>"  # type: ignore[attr-defined]
    channel.acknowledge = True
    channel.save()
    inbound = receive(channel, build(sender=sender, headers=headers))
    assert (inbound.status, inbound.reason) == (InboundStatus.IGNORED, reason)
    assert not Case.objects.exists()
    assert not OutboundMail.objects.exists()


def test_more_than_the_hourly_limit_from_one_sender_is_set_aside(channel: MailChannel) -> None:
    channel.rate_limit = 2
    channel.save()
    results = [receive(channel, build(f"第{n}封"), minutes=n) for n in range(3)]
    assert [r.status for r in results] == ["imported", "imported", "ignored"]
    assert results[2].reason == Reason.RATE
    other = receive(channel, build(sender="li@customer.test"), minutes=3)
    assert other.status == InboundStatus.IMPORTED
    an_hour_later = receive(channel, build("第四封"), minutes=61)
    assert an_hour_later.status == InboundStatus.IMPORTED


def test_a_set_aside_message_can_be_imported_anyway(channel: MailChannel, admin: User) -> None:
    inbound = receive(channel, build(headers={"Auto-Submitted": "auto-replied"}))
    result = services.retry(actor=admin, inbound=inbound, force=True)
    assert result.status == InboundStatus.IMPORTED
    assert result.case is not None


# --- failures and retries ----------------------------------------------------------------


def test_a_refused_message_is_kept_with_its_error_and_retried_without_duplicates(
    channel: MailChannel, customer: Organisation, admin: User
) -> None:
    customer.is_active = False
    customer.save()
    raw = build("打印机无法打印", message_id="<refused@customer.test>")
    inbound = receive(channel, raw)
    assert inbound.status == InboundStatus.FAILED
    assert "switched off" in inbound.error
    assert bytes(inbound.raw) == raw
    assert not Case.objects.exists()
    assert not User.objects.filter(email="zhang.san@customer.test").exists()  # rolled back

    customer.is_active = True
    customer.save()
    retried = services.retry(actor=admin, inbound=inbound)
    assert retried.status == InboundStatus.IMPORTED
    assert retried.attempts == 2
    assert retried.error == ""
    assert Case.objects.count() == 1

    with pytest.raises(ValidationError):
        services.retry(actor=admin, inbound=inbound)
    again = receive(channel, raw, minutes=30)  # fetched once more: the same row
    assert again.pk == inbound.pk
    assert Case.objects.count() == 1
    assert InboundMessage.objects.count() == 1


def test_a_channel_without_a_default_organisation_fails_until_it_has_one(
    channel: MailChannel, customer: Organisation
) -> None:
    channel.default_organisation = None
    channel.save()
    inbound = receive(channel, build())
    assert inbound.status == InboundStatus.FAILED
    assert "no default organisation" in inbound.error
    channel.default_organisation = customer
    channel.save()
    assert services.retry(actor=None, inbound=inbound).status == InboundStatus.IMPORTED


def test_an_unexpected_error_rolls_the_import_back_and_keeps_the_message(
    channel: MailChannel, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(**kwargs: object) -> Case:
        raise RuntimeError("database went away")

    monkeypatch.setattr(desk, "open_case", broken)
    inbound = receive(channel, build())
    assert inbound.status == InboundStatus.FAILED
    assert inbound.error == "RuntimeError: database went away"
    assert not User.objects.filter(email="zhang.san@customer.test").exists()
    monkeypatch.undo()
    assert services.retry(actor=None, inbound=inbound).status == InboundStatus.IMPORTED
    assert Case.objects.count() == 1


def test_a_failure_after_the_case_was_made_leaves_no_link_to_it(
    channel: MailChannel, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(**kwargs: object) -> None:
        raise RuntimeError("mail queue full")

    channel.acknowledge = True
    channel.save()
    monkeypatch.setattr(outgoing, "queue_acknowledgement", broken)
    inbound = receive(channel, build())
    assert inbound.status == InboundStatus.FAILED
    assert (inbound.case, inbound.case_message, inbound.opened_case) == (None, None, False)
    assert not Case.objects.exists()


def test_a_message_stored_but_never_imported_is_picked_up(channel: MailChannel) -> None:
    inbound = InboundMessage.objects.create(
        channel=channel,
        message_id="<stuck@customer.test>",
        raw=build(message_id="<stuck@customer.test>"),
        sha256="-",
        received_at=T0,
    )
    assert services.retry_stale(channel, T0 + timedelta(minutes=1)) == 0  # may still be running
    assert services.retry_stale(channel, T0 + timedelta(minutes=5)) == 1
    inbound.refresh_from_db()
    assert inbound.status == InboundStatus.IMPORTED


def test_the_same_message_on_two_channels_is_kept_once_per_channel(
    channel: MailChannel,
) -> None:
    other = MailChannel.objects.get(pk=channel.pk)
    other.pk, other.name, other.address = None, "Sales", "sales@assura.test"
    other.save()
    raw = build(message_id="<cc@customer.test>")
    receive(channel, raw)
    second = receive(other, raw)
    assert InboundMessage.objects.count() == 2
    assert second.case == InboundMessage.objects.get(channel=channel).case  # threaded, not new
    assert Case.objects.count() == 1


def test_a_message_without_message_id_is_named_by_its_content(channel: MailChannel) -> None:
    raw = b"From: zhang.san@customer.test\r\nSubject: x\r\n\r\nbody\r\n"
    first = receive(channel, raw)
    assert first.message_id.endswith("@no-message-id.invalid>")
    assert receive(channel, raw).pk == first.pk


def test_only_intake_managers_retry(channel: MailChannel, agent: User, auditor: User) -> None:
    channel.default_organisation = None
    channel.save()
    inbound = receive(channel, build())
    for person in (agent, auditor):
        with pytest.raises(PermissionDenied):
            services.retry(actor=person, inbound=inbound)


# --- acknowledgement ---------------------------------------------------------------------


def test_a_new_case_is_acknowledged_once_when_the_channel_says_so(channel: MailChannel) -> None:
    channel.acknowledge = True
    channel.ack_subject = "已收到：{subject}"
    channel.ack_body = "{name}，您的工单号是 {reference}。{unknown}"
    channel.save()
    inbound = receive(channel, build(message_id="<first@customer.test>"))
    case = inbound.case
    assert case is not None
    ack = OutboundMail.objects.get(case=case)
    assert ack.kind == OutboundKind.ACKNOWLEDGEMENT
    assert ack.recipients == ["zhang.san@customer.test"]
    assert ack.subject == f"[{case.reference}] 已收到：打印机无法打印"
    assert ack.body == f"张三，您的工单号是 {case.reference}。{{unknown}}"
    assert ack.in_reply_to == "<first@customer.test>"
    assert ack.message_id.startswith(f"<{case.reference}.")
    email = outgoing.build(ack)
    assert email.extra_headers["Auto-Submitted"] == "auto-replied"
    receive(channel, build(in_reply_to="<first@customer.test>"), minutes=5)
    assert OutboundMail.objects.filter(case=case).count() == 1


def test_answers_are_not_acknowledged(channel: MailChannel) -> None:
    first_case(channel)
    channel.acknowledge = True
    channel.save()
    receive(channel, build(in_reply_to="<first@customer.test>"), minutes=5)
    assert not OutboundMail.objects.exists()
