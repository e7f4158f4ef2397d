from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.test import Client

from assura.core.models import Organisation, Role, Team, User
from assura.intake import fetcher
from assura.intake.models import MailChannel, Security
from tests.factories import ContactFactory, CustomerFactory
from tests.intake.servers import Dovecot, SmtpServer

SUPPORT = "support@assura.test"


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Dovecot]:
    """One private dovecot per test process, stopped at the end of the run."""
    server = Dovecot().start()
    yield server
    server.stop()


@pytest.fixture
def mailbox(dovecot: Dovecot) -> Dovecot:
    """The dovecot, with the test users' mailboxes emptied for this test."""
    dovecot.empty("support")
    dovecot.empty("sales")
    return dovecot


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def customer() -> Organisation:
    return CustomerFactory(name="华东制造有限公司")


@pytest.fixture
def channel(customer: Organisation, team: Team) -> MailChannel:
    """A channel whose IMAP server is not running (port 9): no test reaches it by accident."""
    return MailChannel.objects.create(
        name="Support",
        address=SUPPORT,
        imap_host="127.0.0.1",
        imap_port=9,
        imap_security=Security.NONE,
        imap_user="support",
        imap_password="x",
        default_organisation=customer,
        default_team=team,
        rate_limit=5,
    )


@pytest.fixture
def imap_channel(channel: MailChannel, mailbox: Dovecot) -> MailChannel:
    """The channel pointed at the private dovecot's support mailbox."""
    account = mailbox.account("support")
    channel.imap_port = account.port
    channel.imap_password = account.password
    channel.save()
    return channel


@pytest.fixture
def person_with_email() -> Callable[..., User]:
    def make(email: str, organisation: Organisation | None = None, **fields: Any) -> User:
        if organisation is not None:
            fields["organisation"] = organisation
        return ContactFactory(email=email, **fields)

    return make


@pytest.fixture
def known_contact(customer: Organisation, person_with_email: Callable[..., User]) -> User:
    return person_with_email("zhang.san@customer.test", customer, display_name="张三")


@pytest.fixture
def quality(make_staff: Callable[..., User]) -> User:
    return make_staff(Role.QUALITY_MANAGER)


@pytest.fixture(autouse=True)
def english_pages(client: Client) -> None:
    """Pages pick their language per request; these assertions read English."""
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"


@pytest.fixture(autouse=True)
def no_idle_watchers() -> Iterator[None]:
    yield
    fetcher.stop_watchers()
