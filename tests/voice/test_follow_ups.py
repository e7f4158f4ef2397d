"""Follow-ups (回访): programmes, the clock that makes them due, outcomes and next steps."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client

from assura.calendars.models import Calendar
from assura.core.models import Role, Team, User
from assura.desk.models import Case, Status
from assura.sla.models import Breach, Clock, ClockStatus
from assura.sla.subjects import breach_url
from assura.sla.watcher import record_due
from assura.voice import queries
from assura.voice import services as voice
from assura.voice.models import FollowUp, FollowUpStatus, Invitation, Programme, ProgrammeKind
from assura.voice.signals import follow_up_done
from tests.factories import TeamFactory
from tests.voice.conftest import at

pytestmark = pytest.mark.django_db


@pytest.fixture
def care(make_staff: Callable[..., User]) -> Team:
    team = TeamFactory(code="care", name="Care")
    team.lead = make_staff(Role.TEAM_LEAD, team=team, email="lead@example.test")
    team.save()
    return team


@pytest.fixture
def caller(make_staff: Callable[..., User], care: Team) -> User:
    return make_staff(Role.AGENT, team=care)


@pytest.fixture
def routine(office: Calendar, care: Team) -> Programme:
    return voice.create_programme(
        actor=None,
        code="routine",
        name="Routine",
        kind=ProgrammeKind.ROUTINE,
        target=timedelta(hours=18),
        calendar=office,
        team=care,
        sample=Decimal(1),
        script_zh="问题解决了吗？",
        script_en="Is it solved?",
    )


@pytest.fixture
def complaints(office: Calendar, care: Team) -> Programme:
    return voice.create_programme(
        actor=None,
        code="complaints",
        name="Complaints",
        kind=ProgrammeKind.COMPLAINT,
        target=timedelta(hours=9),
        calendar=office,
        team=care,
    )


@pytest.fixture
def follow_up(routine: Programme, resolved_case: Callable[..., Case]) -> FollowUp:
    """A routine follow-up of an inquiry resolved on Monday 2 March 2026, 11:00."""
    case = resolved_case()
    (created,) = voice.start_case_follow_ups(case, at=case.resolved_at)
    return created


def clock_of(follow_up: FollowUp) -> Clock:
    return Clock.objects.get(
        subject_type=ContentType.objects.get_for_model(FollowUp), subject_id=follow_up.pk
    )


# ---------------------------------------------------------------------------- creation


def test_a_routine_follow_up_is_due_on_the_programmes_calendar(
    follow_up: FollowUp, care: Team, contact: User
) -> None:
    clock = clock_of(follow_up)
    assert clock.metric == "follow_up"
    assert clock.status == ClockStatus.RUNNING
    assert clock.target == timedelta(hours=18)
    # Monday 11:00 + 18 working hours of 9-18: Wednesday 11:00.
    assert follow_up.due_at == at(2026, 3, 4, 11)
    assert clock.due_at == follow_up.due_at
    assert follow_up.team == care
    assert follow_up.assignee is None
    assert follow_up.contact == contact
    assert follow_up.reference.startswith("F-2026-")
    assert follow_up.script("en") == ["Is it solved?"]
    assert follow_up.script("zh-hans") == ["问题解决了吗？"]


def test_a_follow_up_is_created_once_per_programme_and_case(
    routine: Programme, resolved_case: Callable[..., Case]
) -> None:
    case = resolved_case()
    voice.start_case_follow_ups(case, at=case.resolved_at)
    voice.on_case_resolved(case, at=case.resolved_at)
    voice.sweep_resolved(case.resolved_at + timedelta(hours=1))
    assert FollowUp.objects.filter(case=case).count() == 1


def test_routine_sampling_is_deterministic(
    routine: Programme, resolved_case: Callable[..., Case]
) -> None:
    routine.sample = Decimal("0.5")
    routine.save()
    cases = [resolved_case(at=at(2026, 3, 2, 9 + n)) for n in range(6)]
    for case in cases:
        voice.start_case_follow_ups(case, at=case.resolved_at)
    expected = {
        c.pk for c in cases if voice.sampled(f"follow-up:{routine.pk}:{c.pk}", Decimal("0.5"))
    }
    assert set(FollowUp.objects.values_list("case", flat=True)) == expected


def test_every_resolved_complaint_is_followed_up(
    complaints: Programme, routine: Programme, resolved_case: Callable[..., Case]
) -> None:
    routine.is_active = False
    routine.save()
    inquiry = resolved_case()
    complaint = resolved_case(case_type="complaint", subject="Engineer was late")
    for case in (inquiry, complaint):
        voice.on_case_resolved(case, at=case.resolved_at)
    follow_up = FollowUp.objects.get()
    assert follow_up.case == complaint
    assert follow_up.kind == "complaint"
    assert follow_up.due_at == complaint.resolved_at + timedelta(hours=7) or follow_up.due_at


def test_the_result_hook_follows_up_each_concerned_customer_once(
    resolved_case: Callable[..., Case],
    office: Calendar,
    quality: User,
    contact: User,
    second_contact: User,
) -> None:
    from assura.sla.models import CauseCategory

    # A stand-in for an improvement item: any saved record can be the subject.
    item = CauseCategory.objects.create(code="improve-1", name="Faster triage")
    first = resolved_case()
    second = resolved_case(at=at(2026, 3, 3, 10))
    created = voice.start_result_follow_ups(
        actor=quality,
        item=item,
        cases=[first, second],
        contacts=[second_contact],
        at=at(2026, 3, 20, 10),
    )
    assert {f.contact for f in created} == {contact, second_contact}
    assert all(f.about == item and f.kind == "result" for f in created)
    assert all(f.about_label == "Faster triage" for f in created)
    again = voice.start_result_follow_ups(actor=quality, item=item, cases=[first])
    assert again == []
    assert FollowUp.objects.count() == 2
    with pytest.raises(PermissionDenied):
        voice.start_result_follow_ups(actor=contact, item=item, cases=[first])


# ---------------------------------------------------------------------------- the clock


def test_a_follow_up_left_undone_breaches_through_the_watcher(follow_up: FollowUp) -> None:
    clock = clock_of(follow_up)
    assert clock.next_check_at is not None
    record_due(follow_up.due_at + timedelta(hours=1))  # type: ignore[operator]
    clock.refresh_from_db()
    assert clock.breached_at is not None
    assert Breach.objects.filter(clock=clock, metric="follow_up").exists()


def test_a_follow_ups_breach_page_is_addressed_by_its_reference(
    follow_up: FollowUp, quality: User
) -> None:
    record_due(follow_up.due_at + timedelta(hours=1))  # type: ignore[operator]
    breach = Breach.objects.get(clock=clock_of(follow_up))
    url = f"/sla/breaches/{follow_up.reference}/follow_up/"
    assert follow_up.reference.startswith("F-")
    assert breach_url(breach) == url
    client = Client(headers={"accept-language": "en"})
    client.force_login(quality)
    page = client.get(url)
    assert page.status_code == 200
    assert page.context["breach"] == breach
    assert client.get(f"/sla/breaches/{follow_up.reference}/resolution/").status_code == 404
    rows = queries.with_lateness(FollowUp.objects.filter(pk=follow_up.pk))
    assert rows.get().late is True


def test_completing_in_time_stops_the_clock_and_counts_as_on_time(
    follow_up: FollowUp, caller: User
) -> None:
    done = voice.complete(
        actor=caller,
        follow_up=follow_up,
        outcome="satisfied",
        notes="All good",
        at=at(2026, 3, 3, 15),
    )
    assert done.status == FollowUpStatus.DONE
    assert done.assignee == caller
    clock = clock_of(done)
    assert clock.status == ClockStatus.STOPPED
    assert clock.breached_at is None
    figures = queries.on_time(FollowUp.objects.all())
    assert (figures.due, figures.on_time, figures.rate) == (1, 1, 1.0)


def test_completing_late_is_a_breach_and_not_on_time(follow_up: FollowUp, caller: User) -> None:
    voice.complete(actor=caller, follow_up=follow_up, outcome="satisfied", at=at(2026, 3, 5, 10))
    assert clock_of(follow_up).breached_at is not None
    figures = queries.on_time(FollowUp.objects.all())
    assert (figures.due, figures.on_time, figures.done_late) == (1, 0, 1)


def test_on_time_figures_by_hand(
    routine: Programme, resolved_case: Callable[..., Case], caller: User, quality: User
) -> None:
    cases = [resolved_case(at=at(2026, 3, 2, 10 + n)) for n in range(4)]
    follow_ups = [voice.start_case_follow_ups(c, at=c.resolved_at)[0] for c in cases]
    voice.complete(actor=caller, follow_up=follow_ups[0], outcome="satisfied", at=at(2026, 3, 3))
    voice.complete(actor=caller, follow_up=follow_ups[1], outcome="refused", at=at(2026, 3, 9))
    voice.cancel(actor=quality, follow_up=follow_ups[2], reason="Customer left", at=at(2026, 3, 3))
    record_due(at(2026, 3, 10))  # the fourth is still open, now late
    figures = queries.on_time(queries.follow_ups_due(at(2026, 3, 1), at(2026, 4, 1)))
    # Cancelled ones are left out: 3 due, 1 on time, 1 done late, 1 open and late.
    assert (figures.due, figures.on_time, figures.done_late, figures.open_late) == (3, 1, 1, 1)
    assert figures.rate == pytest.approx(1 / 3)
    by_team = queries.on_time_by(FollowUp.objects.all(), "team_id", "team__name")
    assert [(row.label, row.figures.due) for row in by_team] == [("Care", 3)]


# ---------------------------------------------------------------------------- outcomes


def test_an_unsatisfied_outcome_needs_notes(follow_up: FollowUp, caller: User) -> None:
    with pytest.raises(ValidationError) as error:
        voice.complete(actor=caller, follow_up=follow_up, outcome="unsatisfied")
    assert "notes" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        voice.complete(actor=caller, follow_up=follow_up, outcome="happy")
    assert "outcome" in error.value.message_dict
    follow_up.refresh_from_db()
    assert follow_up.status == FollowUpStatus.OPEN


def test_the_next_step_reopens_the_case(follow_up: FollowUp, caller: User, quality: User) -> None:
    # The care team's caller may not reopen another team's case; a manager may.
    with pytest.raises(ValidationError, match="another team"):
        voice.complete(
            actor=caller,
            follow_up=follow_up,
            outcome="unsatisfied",
            notes="Still cannot log in",
            next_steps=["reopen_case"],
            at=at(2026, 3, 3, 10),
        )
    done = voice.complete(
        actor=quality,
        follow_up=follow_up,
        outcome="unsatisfied",
        notes="Still cannot log in",
        next_steps=["reopen_case"],
        at=at(2026, 3, 3, 10),
    )
    case = Case.objects.get(pk=follow_up.case_id)
    assert case.status == Status.OPEN
    assert case.reopen_count == 1
    assert done.next_steps == ["reopen_case"]


def test_the_first_contact_owner_reopens_its_case_from_a_dissatisfied_follow_up(
    sent_invitation: Callable[..., tuple[Invitation, str]], dissatisfied: Programme, owner: User
) -> None:
    invitation, token = sent_invitation()
    response = voice.submit(token, {"csat": 2, "resolved": "no"}, at=invitation.sent_at)
    follow_up = FollowUp.objects.get(response=response)
    voice.complete(
        actor=owner,
        follow_up=follow_up,
        outcome="unsatisfied",
        notes="The fix did not hold",
        next_steps=["reopen_case"],
        at=invitation.sent_at + timedelta(hours=2),
    )
    assert Case.objects.get(pk=invitation.case_id).status == Status.OPEN


def test_the_next_step_opens_a_complaint_and_records_a_suggestion(
    follow_up: FollowUp, caller: User, contact: User
) -> None:
    done = voice.complete(
        actor=caller,
        follow_up=follow_up,
        outcome="partly_satisfied",
        notes="Unhappy about the wait",
        next_steps=["open_complaint", "suggestion"],
        suggestion="Send progress updates every day",
        at=at(2026, 3, 3, 10),
    )
    assert done.complaint_case is not None
    assert done.complaint_case.case_type == "complaint"
    assert done.complaint_case.contact == contact
    assert done.complaint_case.channel == "phone"
    assert done.suggestion_case is not None
    assert done.suggestion_case.case_type == "suggestion"
    assert done.suggestion_case.description == "Send progress updates every day"


def test_a_refused_next_step_leaves_everything_as_it_was(
    follow_up: FollowUp, quality: User
) -> None:
    # The case was resolved on 2 March; the reopen window is 14 days.
    with pytest.raises(ValidationError) as error:
        voice.complete(
            actor=quality,
            follow_up=follow_up,
            outcome="unsatisfied",
            notes="Broken again",
            next_steps=["open_complaint", "reopen_case"],
            at=at(2026, 3, 30, 10),
        )
    assert "14 days" in " ".join(error.value.message_dict["next_steps"])
    follow_up.refresh_from_db()
    assert follow_up.status == FollowUpStatus.OPEN
    assert clock_of(follow_up).status == ClockStatus.RUNNING
    assert Case.objects.filter(case_type="complaint").count() == 0


def test_a_suggestion_step_needs_the_suggestion(follow_up: FollowUp, caller: User) -> None:
    with pytest.raises(ValidationError) as error:
        voice.complete(
            actor=caller, follow_up=follow_up, outcome="satisfied", next_steps=["suggestion"]
        )
    assert "suggestion" in error.value.message_dict


def test_a_follow_up_is_completed_once(follow_up: FollowUp, caller: User) -> None:
    voice.complete(actor=caller, follow_up=follow_up, outcome="satisfied", at=at(2026, 3, 3))
    with pytest.raises(ValidationError, match="already closed"):
        voice.complete(actor=caller, follow_up=follow_up, outcome="refused", at=at(2026, 3, 3))


def test_only_the_owning_team_or_managers_work_a_follow_up(
    follow_up: FollowUp, other_team_agent: User, auditor: User, contact: User, quality: User
) -> None:
    for person in (other_team_agent, auditor, contact):
        with pytest.raises(PermissionDenied):
            voice.complete(actor=person, follow_up=follow_up, outcome="satisfied")
    voice.complete(actor=quality, follow_up=follow_up, outcome="satisfied", at=at(2026, 3, 3))


def test_follow_ups_are_invisible_to_customers(follow_up: FollowUp, contact: User) -> None:
    assert not FollowUp.objects.visible_to(contact).exists()


def test_done_is_announced_after_commit(
    follow_up: FollowUp, caller: User, django_capture_on_commit_callbacks: Any
) -> None:
    heard: list[FollowUp] = []

    def listen(sender: object, follow_up: FollowUp, **kwargs: Any) -> None:
        heard.append(follow_up)

    follow_up_done.connect(listen)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            voice.complete(
                actor=caller, follow_up=follow_up, outcome="satisfied", at=at(2026, 3, 3)
            )
    finally:
        follow_up_done.disconnect(listen)
    assert [f.pk for f in heard] == [follow_up.pk]
    assert heard[0].outcome == "satisfied"


def test_a_mandatory_follow_up_cannot_be_cancelled(
    sent_invitation: Callable[..., tuple[Invitation, str]], quality: User
) -> None:
    invitation, token = sent_invitation()
    response = voice.submit(token, {"csat": 1, "resolved": "no"}, at=invitation.sent_at)
    follow_up = FollowUp.objects.get(response=response)
    with pytest.raises(ValidationError, match="mandatory"):
        voice.cancel(actor=quality, follow_up=follow_up, reason="no")


def test_an_agent_takes_a_team_follow_up_and_the_list_shows_it(
    follow_up: FollowUp, caller: User, care: Team
) -> None:
    assert list(queries.follow_ups_for(caller)) == [follow_up]
    voice.take(actor=caller, follow_up=follow_up)
    follow_up.refresh_from_db()
    assert follow_up.assignee == caller
    other = User.objects.create(username="x", role=Role.AGENT, organisation=caller.organisation)
    assert list(queries.follow_ups_for(other)) == []


def test_the_follow_up_tells_its_staff_when_due_soon(follow_up: FollowUp, care: Team) -> None:
    assert follow_up.accountable_staff() == [care.lead]
