"""Fetching from a real IMAP server: Debian's dovecot, private to the test run."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from assura.core import timers
from assura.intake import fetcher, services
from assura.intake.models import (
    Connection,
    FetchMode,
    InboundMessage,
    InboundStatus,
    MailChannel,
)
from tests.factories import CustomerFactory
from tests.intake.messages import build, encoded_word, text_part
from tests.intake.servers import Dovecot, free_port

pytestmark = pytest.mark.django_db


def test_a_message_appended_to_the_inbox_becomes_a_case_once(
    imap_channel: MailChannel, mailbox: Dovecot
) -> None:
    raw = build(
        text_part("朱镕基和王喆的打印机坏了", "gb2312", "gbk"),
        subject=encoded_word("打印机无法打印", "GB2312"),
        message_id="<imap-1@customer.test>",
    )
    mailbox.append(raw)

    result = fetcher.fetch(imap_channel)

    assert (result.state, result.fetched, result.imported) == (Connection.CONNECTED, 1, 1)
    inbound = InboundMessage.objects.get()
    assert inbound.uid is not None
    assert bytes(inbound.raw).replace(b"\r\n", b"\n") == raw.replace(b"\r\n", b"\n")
    assert inbound.case is not None
    assert (inbound.case.subject, inbound.case.description) == (
        "打印机无法打印",
        "朱镕基和王喆的打印机坏了",
    )
    assert all(b"\\Seen" in flags for flags in mailbox.flags())
    imap_channel.refresh_from_db()
    assert imap_channel.connection == Connection.CONNECTED
    assert imap_channel.last_uid == inbound.uid

    again = fetcher.fetch(imap_channel)
    assert (again.fetched, again.imported) == (0, 0)
    assert InboundMessage.objects.count() == 1


def test_only_new_messages_are_taken_on_the_next_fetch(
    imap_channel: MailChannel, mailbox: Dovecot
) -> None:
    mailbox.append(build("第一封", message_id="<imap-a@customer.test>"))
    fetcher.fetch(imap_channel)
    mailbox.append(build("第二封", message_id="<imap-b@customer.test>"))
    mailbox.append(build("第三封", message_id="<imap-c@customer.test>"))
    result = fetcher.fetch(imap_channel)
    assert (result.fetched, result.imported) == (2, 2)
    assert InboundMessage.objects.count() == 3


def test_a_read_message_is_not_taken_on_the_first_fetch(
    imap_channel: MailChannel, mailbox: Dovecot
) -> None:
    """Before assura's first look, what a person already read stays out of the desk."""
    mailbox.append(build("旧邮件", message_id="<old@customer.test>"))
    imap = mailbox.login()
    imap.select("INBOX")
    imap.store("1", "+FLAGS", "(\\Seen)")
    imap.logout()
    mailbox.append(build("新邮件", message_id="<new@customer.test>"))
    result = fetcher.fetch(imap_channel)
    assert result.imported == 1
    assert InboundMessage.objects.get().message_id == "<new@customer.test>"


def test_a_changed_uidvalidity_falls_back_to_unseen_and_imports_nothing_twice(
    imap_channel: MailChannel, mailbox: Dovecot
) -> None:
    mailbox.append(build("一封", message_id="<uv@customer.test>"))
    fetcher.fetch(imap_channel)
    MailChannel.objects.filter(pk=imap_channel.pk).update(uidvalidity=1, last_uid=0)
    imap_channel.refresh_from_db()
    # The server renumbered: even the unread copy is recognised by its Message-ID.
    imap = mailbox.login()
    imap.select("INBOX")
    imap.store("1", "-FLAGS", "(\\Seen)")
    imap.logout()
    result = fetcher.fetch(imap_channel)
    assert result.fetched == 1
    assert InboundMessage.objects.count() == 1


def test_a_message_that_fails_stays_unread_and_is_retried_without_duplicates(
    imap_channel: MailChannel, mailbox: Dovecot
) -> None:
    imap_channel.default_organisation = None
    imap_channel.save()
    mailbox.append(build("打印机坏了", message_id="<fails@customer.test>"))

    result = fetcher.fetch(imap_channel)
    assert (result.fetched, result.failed) == (1, 1)
    inbound = InboundMessage.objects.get()
    assert inbound.status == InboundStatus.FAILED
    assert "no default organisation" in inbound.error
    assert all(b"\\Seen" not in flags for flags in mailbox.flags())

    imap_channel.default_organisation = CustomerFactory()
    imap_channel.save()
    assert services.retry(actor=None, inbound=inbound).status == InboundStatus.IMPORTED
    again = fetcher.fetch(imap_channel)
    assert again.fetched == 0
    assert InboundMessage.objects.count() == 1
    assert InboundMessage.objects.get().case is not None


def test_a_folder_with_a_chinese_name_is_read(imap_channel: MailChannel, mailbox: Dovecot) -> None:
    imap = mailbox.login()
    assert imap.create(fetcher.mailbox_name("工单"))[0] == "OK"
    imap.logout()
    mailbox.append(build(message_id="<folder@customer.test>"), folder=fetcher.mailbox_name("工单"))
    imap_channel.imap_folder = "工单"
    imap_channel.save()
    assert fetcher.fetch(imap_channel).imported == 1


def test_a_server_that_cannot_be_reached_is_disconnected_not_an_error(
    channel: MailChannel,
) -> None:
    channel.imap_port = free_port()  # nothing listens there
    channel.save()
    result = fetcher.fetch(channel)
    assert result.state == Connection.DISCONNECTED
    channel.refresh_from_db()
    assert channel.connection == Connection.DISCONNECTED
    assert "ConnectionRefusedError" in channel.connection_detail


def test_a_wrong_password_is_refused(imap_channel: MailChannel) -> None:
    imap_channel.imap_password = "wrong"
    imap_channel.save()
    assert fetcher.check(imap_channel) == Connection.REFUSED
    imap_channel.refresh_from_db()
    assert imap_channel.connection == Connection.REFUSED
    assert "AUTHENTICATIONFAILED" in imap_channel.connection_detail.upper()


def test_a_chinese_password_logs_in(imap_channel: MailChannel, mailbox: Dovecot) -> None:
    imap_channel.imap_user = "kefu"
    imap_channel.imap_password = mailbox.account("kefu").password
    imap_channel.save()
    assert fetcher.check(imap_channel) == Connection.CONNECTED
    imap_channel.imap_password = "错误的密码"
    imap_channel.save()
    assert fetcher.check(imap_channel) == Connection.REFUSED


def test_a_missing_folder_is_refused(imap_channel: MailChannel) -> None:
    imap_channel.imap_folder = "No such folder"
    imap_channel.save()
    assert fetcher.check(imap_channel) == Connection.REFUSED


def test_the_connection_check_takes_nothing(imap_channel: MailChannel, mailbox: Dovecot) -> None:
    mailbox.append(build(message_id="<untouched@customer.test>"))
    assert fetcher.check(imap_channel) == Connection.CONNECTED
    assert not InboundMessage.objects.exists()
    assert all(b"\\Seen" not in flags for flags in mailbox.flags())


# --- the timer ---------------------------------------------------------------------------


def test_the_fetcher_and_sender_are_registered_with_the_worker() -> None:
    names = {timer.name for timer in timers.registered()}
    assert {"intake-fetcher", "intake-sender"} <= names


def test_the_timer_fetches_due_channels_at_their_interval(
    imap_channel: MailChannel, mailbox: Dovecot
) -> None:
    now = timezone.now()
    mailbox.append(build(message_id="<timer@customer.test>"))
    timer = fetcher.MailFetcher()

    next_at = timer.run_due(now)

    assert InboundMessage.objects.count() == 1
    imap_channel.refresh_from_db()
    assert imap_channel.next_fetch_at == now + timedelta(seconds=imap_channel.poll_seconds)
    assert imap_channel.fetching_until is None
    assert next_at == imap_channel.next_fetch_at
    assert fetcher.fetch_due(now + timedelta(seconds=1)) == []  # not due again yet


def test_a_channel_being_fetched_elsewhere_is_left_alone(imap_channel: MailChannel) -> None:
    now = timezone.now()
    assert fetcher.claim(imap_channel, now)
    assert not fetcher.claim(imap_channel, now + imap_channel.interval)
    assert fetcher.next_instant() == now + fetcher.LEASE
    assert fetcher.claim(imap_channel, now + fetcher.LEASE)  # its worker died: the lease ran out


def test_inactive_channels_are_not_fetched(channel: MailChannel) -> None:
    channel.is_active = False
    channel.save()
    assert fetcher.fetch_due(timezone.now() + timedelta(days=1)) == []
    assert fetcher.next_instant() is None


# --- IMAP IDLE ---------------------------------------------------------------------------


def test_an_idle_watcher_announces_new_mail_at_once(mailbox: Dovecot) -> None:
    arrived = threading.Event()
    watcher = fetcher.IdleWatcher(mailbox.account("support"), arrived.set, poll_seconds=0.2)
    watcher.start()
    try:
        assert watcher.idling.wait(10), "the watcher never started idling"
        arrived.clear()  # the call made on connecting, for mail that came while away
        mailbox.append(build(message_id="<idle@customer.test>"))
        assert arrived.wait(10), "new mail was not announced"
    finally:
        watcher.stop()
        watcher.join(10)
    assert not watcher.is_alive()


def test_an_idle_session_is_renewed(mailbox: Dovecot) -> None:
    calls: list[int] = []
    watcher = fetcher.IdleWatcher(
        mailbox.account("support"), lambda: calls.append(1), poll_seconds=0.1, renew_seconds=0.3
    )
    watcher.start()
    try:
        assert watcher.idling.wait(10)
        watcher.idling.clear()
        assert watcher.idling.wait(5), "IDLE was not issued again after DONE"
        mailbox.append(build(message_id="<renewed@customer.test>"))
        deadline = timezone.now() + timedelta(seconds=10)
        while len(calls) < 2 and timezone.now() < deadline:
            threading.Event().wait(0.1)
        assert len(calls) >= 2
    finally:
        watcher.stop()
        watcher.join(10)


def test_new_mail_makes_the_channel_due_now(channel: MailChannel) -> None:
    later = timezone.now() + timedelta(hours=1)
    MailChannel.objects.filter(pk=channel.pk).update(next_fetch_at=later)
    fetcher.make_due(channel.pk)
    channel.refresh_from_db()
    assert channel.next_fetch_at <= timezone.now()


@pytest.mark.django_db(transaction=True)
def test_the_worker_keeps_an_idle_session_per_idle_channel(
    imap_channel: MailChannel, mailbox: Dovecot
) -> None:
    imap_channel.fetch_mode = FetchMode.IDLE
    imap_channel.save()
    later = timezone.now() + timedelta(hours=1)
    MailChannel.objects.filter(pk=imap_channel.pk).update(next_fetch_at=later)

    fetcher.sync_watchers()
    watcher = fetcher._watchers[imap_channel.pk]
    assert watcher.idling.wait(10)
    MailChannel.objects.filter(pk=imap_channel.pk).update(next_fetch_at=later)
    mailbox.append(build(message_id="<pushed@customer.test>"))

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        imap_channel.refresh_from_db()
        if imap_channel.next_fetch_at <= timezone.now():
            break
        time.sleep(0.1)
    assert imap_channel.next_fetch_at <= timezone.now(), "the channel was not made due"
    assert fetcher.fetch_due(timezone.now())[0].imported == 1

    imap_channel.fetch_mode = FetchMode.POLL
    imap_channel.save()
    fetcher.sync_watchers()  # no longer wanted: stopped
    assert imap_channel.pk not in fetcher._watchers
    watcher.join(10)
    assert not watcher.is_alive()
