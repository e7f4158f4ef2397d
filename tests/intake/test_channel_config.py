"""Creating and changing mail channels from assura's own pages, never the Django admin."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from auditlog.models import LogEntry
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from assura.core.models import Organisation, Role, Team, User
from assura.intake import fetcher, services
from assura.intake.models import Connection, MailChannel, Security, UnknownSenders
from tests.factories import CustomerFactory
from tests.intake.servers import Dovecot, free_port

pytestmark = pytest.mark.django_db

NEW = reverse("intake:channel_new")
SECRET = "S3cret-邮箱-密码-7f3a"
SMTP_SECRET = "smtp-Secret-91c2"


def page(channel: MailChannel) -> str:
    return reverse("intake:channel", args=[channel.pk])


def form_data(customer: Organisation, team: Team, **changes: Any) -> dict[str, Any]:
    """What a person submits on the new-channel page, with `changes` on top."""
    data: dict[str, Any] = {
        "name": "售后服务 After-sales",
        "address": "service@assura.test",
        "from_name": "安信售后",
        "is_active": "on",
        "imap_host": "imap.exmail.qq.com",
        "imap_port": "993",
        "imap_security": Security.SSL,
        "imap_user": "service@assura.test",
        "imap_password": SECRET,
        "imap_folder": "INBOX",
        "fetch_mode": "poll",
        "poll_seconds": "120",
        "smtp_use_default": "on",
        "smtp_host": "",
        "smtp_port": "465",
        "smtp_security": Security.SSL,
        "smtp_user": "",
        "smtp_password": "",
        "unknown_senders": UnknownSenders.CREATE,
        "default_organisation": str(customer.pk),
        "default_case_type": "inquiry",
        "default_team": str(team.pk),
        "rate_limit": "20",
        "acknowledge": "on",
        "ack_subject": "[{reference}] {subject}",
        "ack_body": "您好 {name}，工单号 {reference}。",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def edit_data(channel: MailChannel, **changes: Any) -> dict[str, Any]:
    """The edit form as the page fills it in (passwords empty), with `changes` on top."""
    data: dict[str, Any] = {
        "name": channel.name,
        "address": channel.address,
        "from_name": channel.from_name,
        "imap_host": channel.imap_host,
        "imap_port": str(channel.imap_port),
        "imap_security": channel.imap_security,
        "imap_user": channel.imap_user,
        "imap_password": "",
        "imap_folder": channel.imap_folder,
        "fetch_mode": channel.fetch_mode,
        "poll_seconds": str(channel.poll_seconds),
        "smtp_use_default": "on" if channel.smtp_use_default else None,
        "smtp_host": channel.smtp_host,
        "smtp_port": str(channel.smtp_port),
        "smtp_security": channel.smtp_security,
        "smtp_user": channel.smtp_user,
        "smtp_password": "",
        "unknown_senders": channel.unknown_senders,
        "default_organisation": str(channel.default_organisation_id or ""),
        "default_case_type": channel.default_case_type,
        "default_team": str(channel.default_team_id or ""),
        "rate_limit": str(channel.rate_limit),
        "acknowledge": "on" if channel.acknowledge else None,
        "ack_subject": channel.ack_subject,
        "ack_body": channel.ack_body,
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def audit_text(channel: MailChannel) -> str:
    entries = LogEntry.objects.get_for_object(channel)
    return " ".join(str(entry.changes) + str(entry.serialized_data) for entry in entries)


def field_errors(html: str, field: str) -> str:
    """The error block rendered beside one field."""
    marker = f'id="id_{field}_error"'
    assert marker in html, f"no errors beside {field}"
    return html.split(marker, 1)[1].split("</div>", 1)[0]


# --- creating -----------------------------------------------------------------------------


def test_a_quality_manager_creates_a_channel_from_the_page(
    client: Client, quality: User, customer: Organisation, team: Team
) -> None:
    client.force_login(quality)
    assert client.get(NEW).status_code == 200
    response = client.post(NEW, form_data(customer, team))

    channel = MailChannel.objects.get()
    assert response.status_code == 302
    assert response["Location"] == page(channel)
    assert (channel.name, channel.address, channel.imap_host) == (
        "售后服务 After-sales",
        "service@assura.test",
        "imap.exmail.qq.com",
    )
    assert channel.imap_password == SECRET
    assert channel.poll_seconds == 120
    assert channel.default_organisation == customer
    assert channel.default_team == team
    assert (channel.is_active, channel.acknowledge, channel.smtp_use_default) == (True,) * 3

    [entry] = LogEntry.objects.get_for_object(channel)
    assert entry.action == LogEntry.Action.CREATE
    assert entry.actor == quality
    assert "imap.exmail.qq.com" in str(entry.changes)
    assert "imap_password" not in str(entry.changes)
    assert SECRET not in audit_text(channel)


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"imap_port": "0"}, "imap_port", "Enter a port from 1 to 65535."),
        ({"imap_port": "70000"}, "imap_port", "Enter a port from 1 to 65535."),
        (
            {"smtp_use_default": None, "smtp_host": "smtp.qq.com", "smtp_port": "65536"},
            "smtp_port",
            "Enter a port from 1 to 65535.",
        ),
        ({"address": "support-at-assura"}, "address", "valid email address"),
        ({"imap_host": "imaps://imap.qq.com:993"}, "imap_host", "no port"),
        ({"imap_folder": "   "}, "imap_folder", "Name the folder to read"),
        ({"poll_seconds": "5"}, "poll_seconds", "greater than or equal to 10"),
        ({"poll_seconds": "100000"}, "poll_seconds", "less than or equal to 86400"),
        ({"smtp_use_default": None, "smtp_host": ""}, "smtp_host", "SMTP server"),
        ({"default_organisation": ""}, "default_organisation", "reject unknown senders"),
    ],
)
def test_bad_input_is_shown_beside_its_field_and_nothing_is_stored(
    client: Client,
    admin: User,
    customer: Organisation,
    team: Team,
    changes: dict[str, Any],
    field: str,
    message: str,
) -> None:
    client.force_login(admin)
    response = client.post(NEW, form_data(customer, team, **changes))
    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors[field])
    html = response.content.decode()
    assert message in field_errors(html, field)
    assert SECRET not in html  # the typed password is not sent back either
    assert not MailChannel.objects.exists()
    assert not LogEntry.objects.filter(content_type__model="mailchannel").exists()


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"name": "support"}, "name", "already called “support”"),
        ({"address": "SUPPORT@assura.test"}, "address", "“Support” already reads this address"),
    ],
)
def test_a_second_channel_with_the_same_name_or_address_is_refused(
    client: Client,
    admin: User,
    channel: MailChannel,
    customer: Organisation,
    team: Team,
    changes: dict[str, Any],
    field: str,
    message: str,
) -> None:
    client.force_login(admin)
    response = client.post(NEW, form_data(customer, team, **changes))
    assert response.status_code == 400
    assert message in field_errors(response.content.decode(), field)
    assert MailChannel.objects.count() == 1


def test_a_racing_save_of_the_same_address_is_refused_by_the_database_with_a_clear_error(
    channel: MailChannel,
) -> None:
    """Two people saving at once both pass the services' check; the constraint decides."""
    twin = MailChannel.objects.get(pk=channel.pk)
    twin.pk, twin.name, twin.address = None, "Twin", channel.address.upper()
    with pytest.raises(ValidationError) as refused:
        services._save(twin)
    assert refused.value.message_dict == {
        "address": [f"The mail channel “{channel.name}” already reads this address."]
    }
    twin.address = "twin@support.example.cn"
    twin.name = channel.name.upper()
    with pytest.raises(ValidationError) as refused:
        services._save(twin)
    assert list(refused.value.message_dict) == ["name"]
    assert MailChannel.objects.count() == 1


def test_rejecting_unknown_senders_needs_no_default_organisation(admin: User) -> None:
    channel = services.create_channel(
        actor=admin,
        name="Sales",
        address="sales@assura.test",
        imap_host="127.0.0.1",
        imap_user="sales",
        unknown_senders=UnknownSenders.REJECT,
    )
    assert channel.default_organisation is None


def test_the_provider_or_a_switched_off_organisation_is_no_default(
    admin: User, customer: Organisation
) -> None:
    provider = Organisation.objects.exclude(pk=customer.pk).exclude(kind="customer").first()
    closed = CustomerFactory(is_active=False)
    values = {"name": "Sales", "address": "sales@assura.test", "imap_host": "h", "imap_user": "u"}
    for organisation in filter(None, (provider, closed)):
        with pytest.raises(ValidationError) as refused:
            services.create_channel(actor=admin, default_organisation=organisation, **values)
        assert "default_organisation" in refused.value.message_dict
    assert not MailChannel.objects.exists()


def test_an_unusual_port_and_security_is_saved_with_a_warning(
    client: Client, admin: User, customer: Organisation, team: Team
) -> None:
    client.force_login(admin)
    response = client.post(
        NEW, form_data(customer, team, imap_port="143", imap_security=Security.SSL), follow=True
    )
    channel = MailChannel.objects.get()
    assert (channel.imap_port, channel.imap_security) == (143, Security.SSL)
    warnings = response.content.decode().split('data-testid="channel-warnings"')[1]
    assert "port 143 normally starts unencrypted" in warnings.split("</div>")[0]


def test_a_channel_without_encryption_to_a_remote_server_is_warned_about(
    channel: MailChannel,
) -> None:
    assert services.channel_warnings(channel) == []  # 127.0.0.1 without TLS: fine
    channel.imap_host = "mail.customer.test"
    assert any("crosses the network readable" in w for w in services.channel_warnings(channel))


def test_services_refuse_settings_they_do_not_know(admin: User) -> None:
    with pytest.raises(TypeError):
        services.create_channel(actor=admin, name="x", last_uid=5)


# --- editing and passwords ----------------------------------------------------------------


def test_editing_keeps_the_password_when_its_field_is_left_empty(
    client: Client, admin: User, channel: MailChannel
) -> None:
    client.force_login(admin)
    response = client.post(page(channel), edit_data(channel, rate_limit="7"))
    assert response.status_code == 302
    channel.refresh_from_db()
    assert (channel.rate_limit, channel.imap_password) == (7, "x")


def test_editing_replaces_or_removes_a_password_and_the_audit_log_keeps_only_a_mark(
    client: Client, admin: User, channel: MailChannel
) -> None:
    client.force_login(admin)
    client.post(page(channel), edit_data(channel, imap_password=SECRET))
    channel.refresh_from_db()
    assert channel.imap_password == SECRET

    client.post(page(channel), edit_data(channel, clear_imap_password="on"))
    channel.refresh_from_db()
    assert channel.imap_password == ""

    marks = [
        entry.changes_dict["imap_password"]
        for entry in LogEntry.objects.get_for_object(channel).order_by("pk")
        if "imap_password" in (entry.changes_dict or {})
    ]
    assert marks == [["********", "********"], ["********", ""]]
    assert SECRET not in audit_text(channel)
    assert "'x'" not in audit_text(channel)


def test_typing_a_password_and_asking_to_remove_it_is_refused(
    client: Client, admin: User, channel: MailChannel
) -> None:
    client.force_login(admin)
    response = client.post(
        page(channel), edit_data(channel, imap_password=SECRET, clear_imap_password="on")
    )
    assert response.status_code == 400
    assert "not both" in field_errors(response.content.decode(), "imap_password")
    channel.refresh_from_db()
    assert channel.imap_password == "x"


def test_an_smtp_password_is_set_and_kept_like_the_imap_one(
    client: Client, admin: User, channel: MailChannel
) -> None:
    client.force_login(admin)
    own_smtp = {
        "smtp_use_default": None,
        "smtp_host": "smtp.exmail.qq.com",
        "smtp_user": "support@assura.test",
    }
    client.post(page(channel), edit_data(channel, smtp_password=SMTP_SECRET, **own_smtp))
    channel.refresh_from_db()
    assert (channel.smtp_use_default, channel.smtp_password) == (False, SMTP_SECRET)
    client.post(page(channel), edit_data(channel, from_name="安信"))
    channel.refresh_from_db()
    assert (channel.from_name, channel.smtp_password) == ("安信", SMTP_SECRET)


def test_a_stored_password_never_reaches_a_page(
    client: Client, admin: User, auditor: User, channel: MailChannel
) -> None:
    MailChannel.objects.filter(pk=channel.pk).update(
        imap_password=SECRET, smtp_password=SMTP_SECRET, smtp_use_default=False
    )
    client.force_login(admin)
    pages = [
        client.get(reverse("intake:channels")),
        client.get(page(channel)),
        client.post(page(channel), edit_data(channel, imap_port="0")),  # re-rendered with errors
    ]
    client.force_login(auditor)
    pages.append(client.get(page(channel)))
    for response in pages:
        html = response.content.decode()
        assert SECRET not in html
        assert SMTP_SECRET not in html
    edit = pages[1].content.decode()
    assert 'name="imap_password"' in edit
    assert "A password is stored. Leave empty to keep it." in edit
    assert 'name="clear_imap_password"' in edit


def test_a_refused_edit_changes_nothing(client: Client, admin: User, channel: MailChannel) -> None:
    client.force_login(admin)
    before = LogEntry.objects.count()
    response = client.post(
        page(channel), edit_data(channel, name="Renamed", imap_port="70000", imap_password="new")
    )
    assert response.status_code == 400
    channel.refresh_from_db()
    assert (channel.name, channel.imap_port, channel.imap_password) == ("Support", 9, "x")
    assert LogEntry.objects.count() == before


def test_renaming_to_another_channels_name_is_refused(
    client: Client, admin: User, channel: MailChannel
) -> None:
    MailChannel.objects.create(
        name="Sales", address="sales@assura.test", imap_host="127.0.0.1", imap_user="s"
    )
    client.force_login(admin)
    response = client.post(page(channel), edit_data(channel, name="SALES"))
    assert response.status_code == 400
    assert "already called" in field_errors(response.content.decode(), "name")
    # and a channel keeps its own name and address without complaint
    assert client.post(page(channel), edit_data(channel, from_name="x")).status_code == 302


def test_pointing_a_channel_at_another_mailbox_forgets_its_connection_and_position(
    admin: User, channel: MailChannel
) -> None:
    MailChannel.objects.filter(pk=channel.pk).update(
        connection=Connection.REFUSED,
        connection_detail="LOGIN failed",
        checked_at=timezone.now(),
        uidvalidity=42,
        last_uid=300,
    )
    services.update_channel(actor=admin, channel=channel, rate_limit=9)
    channel.refresh_from_db()
    assert (channel.connection, channel.last_uid) == (Connection.REFUSED, 300)

    services.update_channel(actor=admin, channel=channel, imap_password="right")
    channel.refresh_from_db()
    assert (channel.connection, channel.checked_at, channel.last_uid) == (
        Connection.UNKNOWN,
        None,
        300,
    )

    services.update_channel(actor=admin, channel=channel, imap_folder="客服")
    channel.refresh_from_db()
    assert (channel.uidvalidity, channel.last_uid, channel.imap_folder) == (None, 0, "客服")


def test_saving_settings_leaves_the_workers_fetch_state_alone(
    admin: User, channel: MailChannel
) -> None:
    """The page's copy of the row is old; only the settings that changed are written."""
    stale = MailChannel.objects.get(pk=channel.pk)
    lease = timezone.now() + fetcher.LEASE
    MailChannel.objects.filter(pk=channel.pk).update(last_uid=77, fetching_until=lease)
    services.update_channel(actor=admin, channel=stale, rate_limit=3)
    channel.refresh_from_db()
    assert (channel.rate_limit, channel.last_uid, channel.fetching_until) == (3, 77, lease)


# --- switching off and on -----------------------------------------------------------------


def test_a_switched_off_channel_is_not_claimed_by_the_fetcher(
    client: Client, admin: User, channel: MailChannel
) -> None:
    now = timezone.now()
    client.force_login(admin)
    response = client.post(reverse("intake:channel_active", args=[channel.pk]), {"active": "0"})
    assert response["Location"] == page(channel)
    channel.refresh_from_db()
    assert not channel.is_active
    assert not fetcher.claim(channel, now)
    assert fetcher.fetch_due(now) == []
    assert "switched off" in client.get(page(channel)).content.decode()

    client.post(reverse("intake:channel_active", args=[channel.pk]), {"active": "1"})
    channel.refresh_from_db()
    assert channel.is_active
    assert fetcher.claim(channel, timezone.now())

    switches = [
        entry.changes_dict["is_active"]
        for entry in LogEntry.objects.get_for_object(channel).order_by("pk")
        if entry.action == LogEntry.Action.UPDATE and "is_active" in (entry.changes_dict or {})
    ]
    assert switches == [[True, False], [False, True]]
    assert MailChannel.objects.filter(pk=channel.pk).exists()  # never deleted


# --- who may ------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.AGENT, Role.TEAM_LEAD, Role.MANAGER])
def test_staff_outside_configuration_get_403(
    client: Client,
    make_staff: Callable[..., User],
    channel: MailChannel,
    customer: Organisation,
    team: Team,
    role: Role,
) -> None:
    client.force_login(make_staff(role))
    assert client.get(NEW).status_code == 403
    assert client.post(NEW, form_data(customer, team, name="Other")).status_code == 403
    assert client.get(page(channel)).status_code == 403
    assert client.post(page(channel), edit_data(channel, name="Y")).status_code == 403
    active = reverse("intake:channel_active", args=[channel.pk])
    assert client.post(active, {"active": "0"}).status_code == 403
    channel.refresh_from_db()
    assert (channel.name, channel.is_active) == ("Support", True)
    assert MailChannel.objects.count() == 1


def test_a_customer_gets_403(
    client: Client, contact: User, channel: MailChannel, customer: Organisation, team: Team
) -> None:
    client.force_login(contact)
    assert client.get(NEW).status_code == 403
    assert client.post(NEW, form_data(customer, team, name="Other")).status_code == 403
    assert client.get(page(channel)).status_code == 403
    assert client.post(page(channel), edit_data(channel, name="Y")).status_code == 403
    assert MailChannel.objects.count() == 1


def test_an_auditor_reads_a_channel_but_cannot_change_it(
    client: Client, auditor: User, channel: MailChannel
) -> None:
    client.force_login(auditor)
    html = client.get(page(channel)).content.decode()
    assert "Support" in html
    assert 'name="imap_host"' not in html
    assert 'data-testid="deactivate"' not in html
    assert client.get(NEW).status_code == 403
    assert client.post(page(channel), edit_data(channel, name="Y")).status_code == 403
    active = reverse("intake:channel_active", args=[channel.pk])
    assert client.post(active, {"active": "0"}).status_code == 403
    with pytest.raises(PermissionDenied):
        services.set_channel_active(actor=auditor, channel=channel, active=False)


def test_anonymous_visitors_are_sent_to_the_login_page(client: Client) -> None:
    response = client.get(NEW)
    assert response.status_code == 302
    assert "login" in response["Location"]


# --- testing the connection from the channel's page ------------------------------------------


def test_the_connection_is_tested_from_the_channel_page_and_shown_calmly_when_unreachable(
    client: Client, admin: User, channel: MailChannel
) -> None:
    channel.imap_port = free_port()
    channel.save()
    client.force_login(admin)
    html = client.get(page(channel)).content.decode()
    assert f'action="{reverse("intake:check", args=[channel.pk])}"' in html

    response = client.post(
        reverse("intake:check", args=[channel.pk]), {"next": page(channel)}, follow=True
    )
    assert response.redirect_chain[-1][0] == page(channel)
    [message] = list(response.context["messages"])
    assert message.level_tag == "info"
    channel.refresh_from_db()
    assert channel.connection == Connection.DISCONNECTED
    connection = response.content.decode().split('data-testid="connection"')[1].split("</p>")[0]
    assert "cannot be reached at the moment" in connection
    assert "badge bad" not in connection
    assert "badge warn" not in connection


def test_testing_never_redirects_to_another_site(
    client: Client, admin: User, channel: MailChannel
) -> None:
    channel.imap_port = free_port()
    channel.save()
    client.force_login(admin)
    response = client.post(
        reverse("intake:check", args=[channel.pk]), {"next": "https://evil.example/"}
    )
    assert response["Location"] == reverse("intake:channels")


def test_a_created_channel_against_a_real_server_connects(
    client: Client, quality: User, customer: Organisation, team: Team, mailbox: Dovecot
) -> None:
    account = mailbox.account("kefu")  # a Chinese password, typed into the form as it is
    client.force_login(quality)
    client.post(
        NEW,
        form_data(
            customer,
            team,
            imap_host=account.host,
            imap_port=str(account.port),
            imap_security=Security.NONE,
            imap_user=account.user,
            imap_password=account.password,
        ),
    )
    channel = MailChannel.objects.get()
    client.post(reverse("intake:check", args=[channel.pk]), {"next": page(channel)})
    channel.refresh_from_db()
    assert channel.connection == Connection.CONNECTED


def test_errors_are_shown_in_the_readers_language(
    client: Client, admin: User, channel: MailChannel, customer: Organisation, team: Team
) -> None:
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "zh-hans"
    client.force_login(admin)
    response = client.post(
        NEW, form_data(customer, team, name="SUPPORT", imap_port="0", default_organisation="")
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "请输入 1 到 65535 之间的端口号。" in field_errors(html, "imap_port")
    response = client.post(NEW, form_data(customer, team, name="SUPPORT", default_organisation=""))
    html = response.content.decode()
    assert "已有另一个邮件渠道名为“SUPPORT”。" in field_errors(html, "name")
    assert "请选择一个组织，或拒绝未知发件人" in field_errors(html, "default_organisation")
    assert MailChannel.objects.count() == 1
