"""The audit log browser: read-only, filtered, and every change shown as before → after."""

from __future__ import annotations

from datetime import timedelta

import pytest
from auditlog.models import LogEntry
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from assura.core import services
from assura.core.models import Role, User
from tests.factories import CustomerFactory


def audit_page(client: Client, query: str = "") -> str:
    response = client.get(reverse("web:audit_log") + query, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.django_db
def test_a_change_is_shown_as_before_and_after_with_labels(
    admin: User, auditor: User, client: Client
) -> None:
    customer = CustomerFactory(name="Old name")
    team = services.create_team(actor=admin, code="night", name="Night shift", lead=None)
    services.set_team_lead(actor=admin, team=team, lead=admin)
    customer.name = "New name"
    customer.save()
    client.force_login(auditor)
    page = audit_page(client)
    assert '<span class="before">Old name</span>' in page
    assert '<span class="after">New name</span>' in page
    # a related record is shown by its name, not its key
    assert f'<span class="after">{admin}</span>' in page
    assert team.name in page


@pytest.mark.django_db
def test_choices_are_shown_by_their_labels(admin: User, auditor: User, client: Client) -> None:
    person = services.create_person(
        actor=admin, username="newbie", role=Role.AGENT, organisation=admin.organisation
    )
    client.force_login(auditor)
    page = audit_page(client, f"?text={person.username}")
    assert '<span class="after">Agent</span>' in page
    assert "agent</span>" not in page


@pytest.mark.django_db
def test_it_filters_by_who_record_type_change_and_text(
    admin: User, auditor: User, client: Client
) -> None:
    services.create_organisation(actor=admin, kind="customer", code="BYADMIN", name="By admin")
    services.create_organisation(actor=None, kind="customer", code="BYSYS", name="By system")
    client.force_login(auditor)
    page = audit_page(client, f"?actor={admin.username}")
    assert "By admin" in page
    assert "By system" not in page
    page = audit_page(client, "?model=organisation&action=0&text=system")
    assert "By system" in page
    assert "By admin" not in page
    page = audit_page(client, "?model=team")
    assert "By system" not in page


@pytest.mark.django_db
def test_it_filters_by_dates(
    admin: User, auditor: User, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Entries cannot be changed once written, so the old one is written with an old time.
    stamp = LogEntry._meta.get_field("timestamp")
    with monkeypatch.context() as patch:
        patch.setattr(stamp, "_get_default", lambda: timezone.now() - timedelta(days=40))
        services.create_organisation(actor=admin, kind="customer", code="OLD", name="Long ago")
    services.create_organisation(actor=admin, kind="customer", code="NEW", name="Just now")
    client.force_login(auditor)
    today = timezone.localdate()
    page = audit_page(client, f"?since={today - timedelta(days=1)}")
    assert "Just now" in page
    assert "Long ago" not in page
    page = audit_page(client, f"?until={today - timedelta(days=30)}")
    assert "Long ago" in page
    assert "Just now" not in page


@pytest.mark.django_db
def test_an_end_before_the_start_is_shown_next_to_the_field(auditor: User, client: Client) -> None:
    client.force_login(auditor)
    page = audit_page(client, "?since=2026-03-02&until=2026-03-01")
    assert 'id="id_until_error"' in page


@pytest.mark.django_db
def test_the_audit_log_offers_no_way_to_change_anything(
    admin: User, auditor: User, client: Client
) -> None:
    services.create_organisation(actor=admin, kind="customer", code="X1", name="Something")
    client.force_login(auditor)
    page = audit_page(client)
    main = page.split('<main id="main"', 1)[1]
    assert 'method="post"' not in main
    assert client.post(reverse("web:audit_log"), {}).status_code == 405


@pytest.mark.django_db
def test_a_new_entry_leaves_out_empty_fields(admin: User, auditor: User, client: Client) -> None:
    services.create_person(
        actor=admin, username="quiet", role=Role.AGENT, organisation=admin.organisation
    )
    client.force_login(auditor)
    page = audit_page(client, "?text=quiet")
    assert "Phone" not in page
    assert "Login" in page or "Username" in page
