from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from assura.calendars.models import Calendar
from assura.core.models import Role, Team, User
from assura.desk import services as desk
from assura.desk.models import Case
from assura.notify.models import Notification
from assura.voice import services as voice
from assura.voice import shipped
from assura.voice.models import Invitation, Programme, ProgrammeKind, Survey, Trigger
from tests.desk.conftest import (  # noqa: F401 - fixtures shared with the desk's tests
    at,
    contract,
    customer,
    guarantee,
    make_case,
    other_team_agent,
    second_contact,
    service,
)

__all__ = ["at"]


@pytest.fixture
def surveys(db: None) -> dict[str, Survey]:
    """The shipped templates (the data migration's rows may have been flushed)."""
    shipped.install_now()
    return {survey.code: survey for survey in Survey.objects.all()}


@pytest.fixture
def office(guarantee: object) -> Calendar:  # noqa: F811
    return Calendar.objects.get(code="cn-standard")


@pytest.fixture
def owner(make_staff: Callable[..., User]) -> User:
    """The staff member who takes the cases: their first-contact owner."""
    return make_staff(Role.AGENT, email="owner@example.test")


@pytest.fixture
def quality(make_staff: Callable[..., User]) -> User:
    return make_staff(Role.QUALITY_MANAGER)


@pytest.fixture
def csat_trigger(surveys: dict[str, Survey]) -> Trigger:
    return voice.create_trigger(
        actor=None,
        survey=surveys["csat"],
        name="After resolution",
        kind="after_resolution",
        delay=timedelta(hours=2),
        sample=Decimal(1),
        min_days_between=7,
    )


@pytest.fixture
def dissatisfied(office: Calendar, team: Team) -> Programme:
    return voice.create_programme(
        actor=None,
        code="unhappy",
        name="Dissatisfied customers",
        kind=ProgrammeKind.DISSATISFIED,
        target=timedelta(hours=18),
        calendar=office,
        assign_to="first_contact_owner",
        script_zh="您好，我们看到您的评价……\n问题现在解决了吗？",
        script_en="Hello, we saw your answer...\nIs the problem solved now?",
    )


@pytest.fixture
def resolved_case(
    make_case: Callable[..., Case],  # noqa: F811
    owner: User,
    contact: User,
) -> Callable[..., Case]:
    """A case opened by the contact, answered and resolved by `owner`."""

    def make(resolved: datetime | None = None, **fields: Any) -> Case:
        fields.setdefault("contact", contact)
        case = make_case(**fields)
        opened = case.created_at
        desk.reply(actor=owner, case=case, body="On it.", at=opened + timedelta(minutes=5))
        desk.resolve(actor=owner, case=case, at=resolved or opened + timedelta(hours=1))
        case.refresh_from_db()
        return case

    return make


TOKEN = re.compile(r"/s/([A-Za-z0-9_-]{20,})/")


def link_token(invitation: Invitation, kind: str = "invitation") -> str:
    """The one-time token in the e-mail the outbox holds for this invitation."""
    key = (
        f"voice-invitation:{invitation.pk}"
        if kind == "invitation"
        else f"voice-{kind}:{invitation.pk}"
    )
    notification = Notification.objects.filter(dedup_key__startswith=key).latest("pk")
    match = TOKEN.search(notification.body)
    assert match, notification.body
    return match.group(1)


@pytest.fixture
def sent_invitation(
    csat_trigger: Trigger, resolved_case: Callable[..., Case], contact: User
) -> Callable[..., tuple[Invitation, str]]:
    """A post-resolution CSAT invitation, sent; returns it with its link token."""

    def make(**fields: Any) -> tuple[Invitation, str]:
        if not contact.email:
            contact.email = "contact@example.test"
            contact.save(update_fields=["email"])
        case = resolved_case(**fields)
        voice.on_case_resolved(case, at=case.resolved_at)
        invitation = Invitation.objects.get(case=case)
        assert voice.send(invitation, invitation.send_at)
        invitation.refresh_from_db()
        return invitation, link_token(invitation)

    return make
