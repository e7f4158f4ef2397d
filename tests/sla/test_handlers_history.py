"""Imported history is measured, never acted on (docs/sla.md, "Imported history").

Breaches and warnings recorded inside `sla.history()` are marked historical: counted like
any other, shown with a label, but never announced, handled, swept up or escalated.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client

from assura.calendars.models import CalendarVersion
from assura.core import services as core_services
from assura.core.models import Organisation, Role, User
from assura.desk import services as desk
from assura.desk.clocks import clocks_of
from assura.desk.models import Case
from assura.sla import escalation, handlers, watcher
from assura.sla import services as sla
from assura.sla.models import (
    Breach,
    BreachNotice,
    ClockWarning,
    CompensationEntry,
    Escalation,
)
from assura.sla.services import breaches_recorded, warnings_recorded
from assura.sla.subjects import breach_url
from tests.desk.conftest import at

pytestmark = pytest.mark.django_db

OPENED = at(2026, 3, 2, 10)  # a Monday, in office hours; first response due 10:15
MINUTE = timedelta(minutes=1)


@pytest.fixture
def announced() -> Iterator[dict[str, list[int]]]:
    """What `breaches_recorded` and `warnings_recorded` were sent with."""
    seen: dict[str, list[int]] = {"breaches": [], "warnings": []}

    def on_breaches(sender: object, breach_ids: list[int], **kwargs: Any) -> None:
        seen["breaches"] += breach_ids

    def on_warnings(sender: object, warning_ids: list[int], **kwargs: Any) -> None:
        seen["warnings"] += warning_ids

    breaches_recorded.connect(on_breaches, dispatch_uid="test-history-breaches")
    warnings_recorded.connect(on_warnings, dispatch_uid="test-history-warnings")
    yield seen
    breaches_recorded.disconnect(dispatch_uid="test-history-breaches")
    warnings_recorded.disconnect(dispatch_uid="test-history-warnings")


@pytest.fixture
def answered_late(
    make_case: Callable[..., Case],
    agent: User,
    contact: User,
    django_capture_on_commit_callbacks: Any,
) -> Callable[..., Case]:
    """A case answered 40 minutes after it came in, recorded with its handlers running."""
    contact.email = "li@customer.cn"
    contact.save()

    def make() -> Case:
        with django_capture_on_commit_callbacks(execute=True):
            case = make_case(assignee=agent, at=OPENED)
            desk.reply(actor=agent, case=case, body="Sorry for the wait.", at=OPENED + 40 * MINUTE)
        return case

    return make


def first_response(case: Case) -> Breach:
    return Breach.objects.get(clock__subject_id=case.pk, metric="first_response")


def test_a_breach_recorded_in_history_is_marked_and_never_handled(
    answered_late: Callable[..., Case], announced: dict[str, list[int]]
) -> None:
    live = first_response(answered_late())
    with sla.history():
        old = first_response(answered_late())
    assert (live.historical, old.historical) == (False, True)
    assert live.breached_at == old.breached_at == at(2026, 3, 2, 10, 15)
    assert announced["breaches"] == [live.pk]
    assert BreachNotice.objects.filter(breach=live).exists()
    assert CompensationEntry.objects.filter(breach=live).exists()

    # Handed in anyway, or looked for by the follow-up timer: passed over.
    assert handlers.handle_breach(old.pk) is False
    assert handlers.unhandled() == []
    handlers.BreachFollowUp().run_due(OPENED + timedelta(days=1))
    assert not BreachNotice.objects.filter(breach=old).exists()
    assert not CompensationEntry.objects.filter(breach=old).exists()
    # The stopped clock's escalation levels were dropped with the stop, as always.
    assert not Escalation.objects.filter(clock_id=old.clock_id).exists()


def test_a_warning_recorded_in_history_is_marked_and_not_announced(
    subject: Organisation,
    always_v: CalendarVersion,
    announced: dict[str, list[int]],
    django_capture_on_commit_callbacks: Any,
) -> None:
    def answered_at_50_of_60_minutes() -> ClockWarning:
        clock = sla.start_clock(
            subject=subject,
            metric=f"answer-{ClockWarning.objects.count()}",
            target=timedelta(hours=1),
            calendar_version=always_v,
            at=OPENED,
            now=OPENED,
        )
        sla.stop(clock, OPENED + 50 * MINUTE, now=OPENED + 50 * MINUTE)
        return ClockWarning.objects.get(clock=clock)

    with django_capture_on_commit_callbacks(execute=True):
        live = answered_at_50_of_60_minutes()
        with sla.history():
            old = answered_at_50_of_60_minutes()
    assert (live.historical, old.historical) == (False, True)
    assert live.warned_at == old.warned_at == OPENED + 45 * MINUTE
    assert announced["warnings"] == [live.pk]


def test_the_end_of_a_history_records_what_passed_and_sets_past_levels_aside(
    make_case: Callable[..., Case],
    agent: User,
    contact: User,
    announced: dict[str, list[int]],
    django_capture_on_commit_callbacks: Any,
) -> None:
    """Imported 12 minutes after it came in, unanswered: level 1 (at 75 % of the
    15 minutes, 10:11:15) and the warning are history; the breach at 10:15 is live."""
    contact.email = "li@customer.cn"
    contact.save()
    with django_capture_on_commit_callbacks(execute=True), sla.history():
        case = make_case(assignee=agent, at=OPENED)
        sla.end_history(clocks_of(case).values(), now=OPENED + 12 * MINUTE)
    clock = clocks_of(case)["first_response"]
    warning = ClockWarning.objects.get(clock=clock)
    assert (warning.historical, warning.warned_at) == (True, at(2026, 3, 2, 10, 11, 15))
    assert announced["warnings"] == []
    levels = {row.level: row for row in Escalation.objects.filter(clock=clock)}
    assert (levels[1].planned_at, levels[1].due_at) == (at(2026, 3, 2, 10, 11, 15), None)
    assert levels[2].due_at == at(2026, 3, 2, 10, 15)
    assert levels[4].due_at == at(2026, 3, 2, 10, 30)

    later = OPENED + 20 * MINUTE
    with django_capture_on_commit_callbacks(execute=True):
        watcher.record_due(later)
        escalation.fire_due(later)
    breach = first_response(case)
    assert not breach.historical
    assert announced["breaches"] == [breach.pk]
    assert BreachNotice.objects.get(breach=breach).sent_at is not None
    assert CompensationEntry.objects.filter(breach=breach).exists()
    fired = {row.level: row.fired_at for row in Escalation.objects.filter(clock=clock)}
    assert fired[1] is None  # set aside: never fired
    assert fired[2] == later


def test_the_breach_pages_and_the_api_show_imported_history(
    answered_late: Callable[..., Case], make_staff: Callable[..., User]
) -> None:
    live = first_response(answered_late())
    with sla.history():
        old = first_response(answered_late())
    quality = make_staff(Role.QUALITY_MANAGER)
    client = Client(headers={"accept-language": "en"})
    client.force_login(quality)

    listed = client.get("/sla/breaches/", {"metric": "first_response"}).content.decode()
    assert listed.count('data-testid="historical"') == 1
    assert "Imported history" in listed
    page = client.get(breach_url(old)).content.decode()
    assert 'data-testid="historical"' in page
    assert "Imported history: no notice is sent." in page
    assert "compensation was settled in the former help desk" in page
    other = client.get(breach_url(live)).content.decode()
    assert 'data-testid="historical"' not in other

    _token, secret = core_services.issue_api_token(actor=quality, name="tests")
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
    rows = client.get("/api/v1/breaches/", {"metric": "first_response"}, **bearer).json()
    assert {row["id"]: row["historical"] for row in rows["results"]} == {
        live.pk: False,
        old.pk: True,
    }
    only = client.get("/api/v1/breaches/", {"historical": "true"}, **bearer).json()
    assert [row["id"] for row in only["results"]] == [old.pk]
