"""The intake page: who sees it, connection states, test connection, retry."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client
from django.urls import reverse

from assura.core.models import Organisation, Role, User
from assura.intake import services
from assura.intake.models import Connection, InboundMessage, InboundStatus, MailChannel
from tests.intake.messages import build
from tests.intake.servers import Dovecot, free_port

pytestmark = pytest.mark.django_db

PAGE = reverse("intake:channels")


@pytest.mark.parametrize(
    ("role", "status"),
    [
        (Role.ADMIN, 200),
        (Role.QUALITY_MANAGER, 200),
        (Role.AUDITOR, 200),
        (Role.MANAGER, 403),
        (Role.AGENT, 403),
    ],
)
def test_the_page_answers_each_role_as_the_matrix_says(
    client: Client, make_staff: Callable[..., User], role: Role, status: int
) -> None:
    client.force_login(make_staff(role))
    assert client.get(PAGE).status_code == status


def test_a_customer_may_not_see_it(client: Client, contact: User) -> None:
    client.force_login(contact)
    assert client.get(PAGE).status_code == 403


def test_channels_are_created_and_edited_on_assuras_own_pages_not_the_admin(
    client: Client, admin: User, auditor: User, channel: MailChannel
) -> None:
    client.force_login(admin)
    page = client.get(PAGE).content.decode()
    assert f'href="{reverse("intake:channel_new")}"' in page
    assert f'href="{reverse("intake:channel", args=[channel.pk])}"' in page
    assert "/admin/" not in page

    client.force_login(auditor)
    page = client.get(PAGE).content.decode()
    assert 'data-testid="new-channel"' not in page
    assert f'href="{reverse("intake:channel", args=[channel.pk])}"' in page  # to read


def test_a_disconnected_channel_is_shown_calmly(
    client: Client, admin: User, channel: MailChannel
) -> None:
    MailChannel.objects.filter(pk=channel.pk).update(connection=Connection.DISCONNECTED)
    client.force_login(admin)
    page = client.get(PAGE).content.decode()
    assert 'data-testid="connection"' in page
    assert "disconnected" in page
    assert "cannot be reached at the moment" in page
    connection_cell = page.split('data-testid="connection"')[1].split("</td>")[0]
    assert "badge bad" not in connection_cell
    assert "badge warn" not in connection_cell


def test_test_connection_reports_an_unreachable_server_as_information(
    client: Client, admin: User, channel: MailChannel
) -> None:
    channel.imap_port = free_port()
    channel.save()
    client.force_login(admin)
    response = client.post(reverse("intake:check", args=[channel.pk]), follow=True)
    channel.refresh_from_db()
    assert channel.connection == Connection.DISCONNECTED
    [message] = list(response.context["messages"])
    assert message.level_tag == "info"
    assert "cannot be reached" in str(message)


def test_test_connection_against_a_real_server(
    client: Client, quality: User, imap_channel: MailChannel
) -> None:
    client.force_login(quality)
    response = client.post(reverse("intake:check", args=[imap_channel.pk]), follow=True)
    [message] = list(response.context["messages"])
    assert message.level_tag == "success"
    imap_channel.refresh_from_db()
    assert imap_channel.connection == Connection.CONNECTED


def test_an_auditor_reads_but_cannot_test_or_retry(
    client: Client, auditor: User, channel: MailChannel
) -> None:
    channel.default_organisation = None
    channel.save()
    inbound = services.receive(channel, build())
    client.force_login(auditor)
    page = client.get(PAGE).content.decode()
    assert 'data-testid="check-connection"' not in page
    assert 'data-testid="retry"' not in page
    assert client.post(reverse("intake:check", args=[channel.pk])).status_code == 403
    assert client.post(reverse("intake:retry", args=[inbound.pk])).status_code == 403


def test_a_failed_message_is_listed_with_its_error_and_retried(
    client: Client, admin: User, channel: MailChannel, customer: Organisation
) -> None:
    channel.default_organisation = None
    channel.save()
    inbound = services.receive(channel, build(message_id="<fail@customer.test>"))
    client.force_login(admin)
    page = client.get(PAGE).content.decode()
    assert "no default organisation" in page

    channel.default_organisation = customer
    channel.save()
    response = client.post(reverse("intake:retry", args=[inbound.pk]), follow=True)
    inbound.refresh_from_db()
    assert inbound.status == InboundStatus.IMPORTED
    assert inbound.case is not None
    [message] = list(response.context["messages"])
    assert inbound.case.reference in str(message)
    assert "no default organisation" not in response.content.decode()

    again = client.post(reverse("intake:retry", args=[inbound.pk]), follow=True)
    assert "already imported" in str(next(iter(again.context["messages"])))
    assert InboundMessage.objects.count() == 1


def test_a_set_aside_message_is_imported_anyway(
    client: Client, admin: User, channel: MailChannel
) -> None:
    inbound = services.receive(channel, build(headers={"X-Autoreply": "yes"}))
    client.force_login(admin)
    assert "automatic reply" in client.get(PAGE).content.decode()
    client.post(reverse("intake:import_anyway", args=[inbound.pk]))
    inbound.refresh_from_db()
    assert inbound.status == InboundStatus.IMPORTED


def test_the_original_message_can_be_downloaded(
    client: Client, auditor: User, channel: MailChannel
) -> None:
    raw = build()
    inbound = services.receive(channel, raw)
    client.force_login(auditor)
    response = client.get(reverse("intake:original", args=[inbound.pk]))
    assert response["Content-Type"] == "message/rfc822"
    assert response.content == raw


def test_the_page_lists_channels_in_a_fixed_number_of_queries(
    client: Client,
    admin: User,
    channel: MailChannel,
    django_assert_max_num_queries: Callable[[int], object],
) -> None:
    for number in range(3):
        MailChannel.objects.create(
            name=f"Extra {number}",
            address=f"extra{number}@assura.test",
            imap_host="127.0.0.1",
            imap_user="x",
        )
    client.force_login(admin)
    with django_assert_max_num_queries(12):  # type: ignore[operator]
        assert client.get(PAGE).status_code == 200


def test_the_dovecot_fixture_is_private(mailbox: Dovecot) -> None:
    """The test server listens on 127.0.0.1 on a port of its own, not the system's 143."""
    assert mailbox.port not in (143, 993)
    assert mailbox.account().host == "127.0.0.1"
