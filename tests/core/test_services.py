"""Writes to people and organisations: validated, permitted, audited, all or nothing."""

from __future__ import annotations

import pytest
from auditlog.models import LogEntry
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError, transaction

from assura.core import services
from assura.core.models import Organisation, OrganisationKind, Role, User
from tests.factories import CustomerFactory, ProviderFactory

pytestmark = pytest.mark.django_db


def test_creating_a_contact_records_who_did_it_and_the_values(admin: User) -> None:
    customer = CustomerFactory()
    contact = services.create_person(
        actor=admin,
        username="li.na",
        role=Role.CUSTOMER,
        organisation=customer,
        display_name="Li Na",
        password="a-long-password-1",
    )
    entry = LogEntry.objects.get_for_object(contact).get()
    assert entry.actor == admin
    assert entry.action == LogEntry.Action.CREATE
    assert entry.changes["display_name"] == [None, "Li Na"]
    assert "password" not in entry.changes


def test_a_change_is_kept_as_before_and_after(admin: User, agent: User) -> None:
    services.update_preferences(actor=admin, person=agent, language="en", time_zone="UTC")
    entry = LogEntry.objects.get_for_object(agent).filter(action=LogEntry.Action.UPDATE).get()
    assert entry.changes["language"] == ["", "en"]
    assert entry.changes["time_zone"] == ["", "UTC"]
    assert entry.actor == admin


def test_audit_entries_cannot_be_changed(admin: User) -> None:
    customer = services.create_organisation(
        actor=admin, kind=OrganisationKind.CUSTOMER, code="ACME", name="Acme"
    )
    entry = LogEntry.objects.get_for_object(customer).get()
    with pytest.raises(DatabaseError), transaction.atomic():
        LogEntry.objects.filter(pk=entry.pk).update(object_repr="rewritten")
    entry.refresh_from_db()
    assert entry.object_repr == "Acme"


def test_a_customer_contact_cannot_belong_to_the_provider(admin: User) -> None:
    with pytest.raises(ValidationError) as error:
        services.create_person(
            actor=admin, username="x", role=Role.CUSTOMER, organisation=ProviderFactory()
        )
    assert "organisation" in error.value.message_dict
    assert not User.objects.filter(username="x").exists()


def test_staff_cannot_belong_to_a_customer(admin: User) -> None:
    with pytest.raises(ValidationError):
        services.create_person(
            actor=admin, username="y", role=Role.AGENT, organisation=CustomerFactory()
        )


def test_only_an_administrator_adds_people(agent: User) -> None:
    with pytest.raises(PermissionDenied):
        services.create_person(
            actor=agent, username="z", role=Role.CUSTOMER, organisation=CustomerFactory()
        )
    assert not User.objects.filter(username="z").exists()


def test_an_auditor_changes_nothing(auditor: User) -> None:
    with pytest.raises(PermissionDenied):
        services.create_organisation(
            actor=auditor, kind=OrganisationKind.CUSTOMER, code="NOPE", name="Nope"
        )
    assert not Organisation.objects.filter(code="NOPE").exists()


@pytest.mark.parametrize(
    ("language", "time_zone", "field"),
    [("klingon", "", "language"), ("en", "Mars/Base", "time_zone")],
)
def test_bad_preferences_are_refused_and_nothing_changes(
    agent: User, language: str, time_zone: str, field: str
) -> None:
    with pytest.raises(ValidationError) as error:
        services.update_preferences(
            actor=agent, person=agent, language=language, time_zone=time_zone
        )
    assert field in error.value.message_dict
    agent.refresh_from_db()
    assert (agent.language, agent.time_zone) == ("", "")


def test_a_duplicate_organisation_code_is_a_field_error(admin: User) -> None:
    services.create_organisation(actor=admin, kind="customer", code="DUP", name="One")
    with pytest.raises(ValidationError) as error:
        services.create_organisation(actor=admin, kind="customer", code="DUP", name="Two")
    assert "code" in error.value.message_dict
    assert Organisation.objects.filter(code="DUP").count() == 1


def test_there_is_only_one_provider_organisation(admin: User) -> None:
    with pytest.raises(ValidationError):
        services.create_organisation(actor=admin, kind="provider", code="P2", name="Second")


def test_an_api_token_is_stored_only_as_a_digest(agent: User) -> None:
    token, secret = services.issue_api_token(actor=agent, name="CI")
    assert secret.startswith("asr_")
    assert secret not in (token.digest, token.prefix)
    assert token.prefix == secret[:12]


def test_people_are_deactivated_not_deleted(admin: User, agent: User) -> None:
    services.deactivate_person(actor=admin, person=agent)
    agent.refresh_from_db()
    assert agent.is_active is False
