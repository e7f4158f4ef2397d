"""The demo's mail channel works without any mail server: it is simply disconnected."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from assura.core import demo as core_demo
from assura.core.models import User
from assura.intake import demo, fetcher
from assura.intake.models import Connection, InboundMessage, InboundStatus, MailChannel, Reason

pytestmark = pytest.mark.django_db


def test_the_demo_channel_shows_as_disconnected_without_a_mail_server(client: Client) -> None:
    core_demo.load()
    lines = demo.load()

    channel = MailChannel.objects.get(name=demo.NAME)
    assert channel.imap_host == "127.0.0.1"
    assert channel.connection == Connection.DISCONNECTED
    assert "disconnected" in lines[0]
    result = fetcher.fetch(channel)  # what the worker does: no exception, a state
    assert result.state == Connection.DISCONNECTED

    imported = InboundMessage.objects.get(status=InboundStatus.IMPORTED)
    assert imported.case is not None
    assert imported.case.subject == "扫码枪无法连接"
    assert "王喆" in imported.case.description
    assert imported.case.organisation.code == "ECM"
    ignored = InboundMessage.objects.get(status=InboundStatus.IGNORED)
    assert ignored.reason == Reason.AUTO_SUBMITTED

    client.force_login(User.objects.get(username="admin"))
    page = client.get(reverse("intake:channels")).content.decode()
    assert demo.NAME in page
    assert "cannot be reached at the moment" in page

    assert demo.load() == []
    assert MailChannel.objects.count() == 1
    assert InboundMessage.objects.count() == 2
