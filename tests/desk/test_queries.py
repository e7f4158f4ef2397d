"""The desk's reads: queue order, search, how a clock reads at an instant, the timeline."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from django.utils import timezone

from assura.core.models import User
from assura.desk import queries
from assura.desk import services as desk
from assura.desk.clocks import clocks_of
from assura.desk.models import Case, Status
from assura.desk.queries import TimelineContext, TimelineEntry
from tests.desk.conftest import at

pytestmark = pytest.mark.django_db
MakeCase = Callable[..., Case]


def refs(cases) -> list[str]:  # type: ignore[no-untyped-def]
    return [case.reference for case in cases]


def test_the_queue_puts_cases_without_a_running_clock_last(
    make_case: MakeCase, agent: User
) -> None:
    waiting = make_case(actor=agent, channel="phone", subject="Waiting", at=at(2026, 3, 2, 9))
    desk.reply(actor=agent, case=waiting, body="Which build?", at=at(2026, 3, 2, 9, 1))
    desk.classify(
        actor=agent, case=waiting, case_type="inquiry", priority="normal", at=at(2026, 3, 2, 9, 2)
    )
    desk.change_status(actor=agent, case=waiting, status=Status.WAITING_CUSTOMER)
    later = make_case(subject="Later", at=at(2026, 3, 2, 11))
    sooner = make_case(subject="Sooner", at=at(2026, 3, 2, 10))
    listed = queries.queue(agent, {"scope": "all"})
    assert refs(listed) == [sooner.reference, later.reference, waiting.reference]
    assert listed[0].next_due == at(2026, 3, 2, 10, 15)
    assert listed[2].next_due is None


def test_search_finds_a_case_by_its_number_or_part_of_its_reference(
    make_case: MakeCase, agent: User
) -> None:
    first, second = make_case(), make_case(subject="Second")
    everything = Case.objects.all()
    assert refs(queries.search(everything, "2")) == [second.reference]
    assert refs(queries.search(everything, "000001")) == [first.reference]
    assert refs(queries.search(everything, "2026-000002")) == [second.reference]
    assert set(refs(queries.search(everything, "  "))) == {first.reference, second.reference}


def test_a_running_clock_is_at_risk_then_breached_by_time_alone(make_case: MakeCase) -> None:
    start = timezone.now() - timedelta(minutes=1)
    # an urgent fault: first response within 15 min round the clock, warning at 75 %
    case = make_case(case_type="fault", priority="urgent", at=start)
    clock = clocks_of(case)["first_response"]
    assert clock.due_at == start + timedelta(minutes=15)
    assert clock.breached_at is None  # nobody ran the watcher

    early = queries.clock_view(clock, "First response", start + timedelta(minutes=5))
    assert (early.state, early.wall_left) == ("running", timedelta(minutes=10))
    risky = queries.clock_view(clock, "First response", start + timedelta(minutes=12))
    assert risky.state == "at_risk"
    late = queries.clock_view(clock, "First response", start + timedelta(minutes=20))
    assert late.state == "breached"
    assert late.overdue == timedelta(minutes=5)
    assert str(late.state_label) == "Breached"


def test_a_clock_outside_working_time_says_when_it_is_due(make_case: MakeCase) -> None:
    # Friday 17:50: 10 working minutes today, 5 more on Monday from 09:00.
    case = make_case(at=at(2026, 3, 6, 17, 50))
    clock = clocks_of(case)["first_response"]
    assert clock.due_at == at(2026, 3, 9, 9, 5)
    evening = queries.clock_view(clock, "First response", at(2026, 3, 6, 20))
    assert evening.off_hours is True
    assert evening.working_left == timedelta(minutes=5)
    assert evening.state == "running"
    in_hours = queries.clock_view(clock, "First response", at(2026, 3, 9, 9, 1))
    assert (in_hours.off_hours, in_hours.working_left) == (False, None)
    # Friday 17:52, working time but the countdown crosses the weekend
    before_gap = queries.clock_view(clock, "First response", at(2026, 3, 6, 17, 52))
    assert before_gap.off_hours is True
    assert before_gap.working_left == timedelta(minutes=13)


def test_a_round_the_clock_clock_never_needs_the_due_label(
    make_case: MakeCase, agent: User
) -> None:
    case = make_case(actor=agent, case_type="fault", priority="urgent", at=at(2026, 3, 7, 22))
    view = queries.clock_view(clocks_of(case)["resolution"], "Resolution", at(2026, 3, 7, 23))
    assert (view.off_hours, view.working_left) == (False, None)


def test_a_paused_clock_keeps_its_remaining_time(make_case: MakeCase, agent: User) -> None:
    case = make_case(actor=agent, channel="phone", at=at(2026, 3, 2, 10))
    desk.change_status(
        actor=agent, case=case, status=Status.WAITING_CUSTOMER, at=at(2026, 3, 2, 11)
    )
    clock = clocks_of(case)["resolution"]
    view = queries.clock_view(clock, "Resolution", at(2026, 3, 5, 12))
    assert view.state == "paused"
    assert view.remaining == timedelta(hours=23)


def test_the_timeline_is_in_order_and_the_portal_sees_only_public_entries(
    make_case: MakeCase, agent: User, contact: User
) -> None:
    case = make_case(at=at(2026, 3, 2, 10))
    desk.add_note(actor=agent, case=case, body="internal", at=at(2026, 3, 2, 10, 3))
    desk.reply(actor=agent, case=case, body="public", at=at(2026, 3, 2, 10, 5))
    desk.assign(actor=agent, case=case, team=None, assignee=agent, at=at(2026, 3, 2, 10, 6))
    desk.resolve(actor=agent, case=case, at=at(2026, 3, 2, 12))

    entries = queries.timeline(case)
    assert [e.at for e in entries] == sorted(e.at for e in entries)
    kinds = [e.kind for e in entries]
    assert kinds[0] == "activity"  # created comes first at its instant
    assert {"note", "message", "clock"} <= set(kinds)

    public = queries.timeline(case, public_only=True)
    assert {e.kind for e in public} == {"activity", "message"}
    bodies = [e.data["message"].body for e in public if e.kind == "message"]
    assert bodies == ["public"]
    activity_kinds = {e.data["activity"].kind for e in public if e.kind == "activity"}
    assert activity_kinds == {"created", "status"}  # not the assignment


@pytest.fixture
def extra_source() -> Iterator[None]:
    """A kind another feature adds: it plugs in without touching the desk."""

    def visits(context: TimelineContext) -> list[TimelineEntry]:
        return [
            TimelineEntry(
                kind="visit",
                at=context.case.created_at + timedelta(minutes=1),
                template="desk/timeline/generic.html",
                public=True,
                data={"title": "Engineer on site"},
            )
        ]

    queries.timeline_source(public=True)(visits)
    yield
    queries._SOURCES[:] = [(s, p) for s, p in queries._SOURCES if s is not visits]


@pytest.mark.usefixtures("extra_source")
def test_a_new_kind_of_entry_plugs_into_the_timeline(make_case: MakeCase) -> None:
    case = make_case(at=at(2026, 3, 2, 10))
    for public_only in (False, True):
        entries = queries.timeline(case, public_only=public_only)
        visit = next(e for e in entries if e.kind == "visit")
        assert visit.at == at(2026, 3, 2, 10, 1)


def test_the_promise_is_the_complaint_reply_or_the_first_response(
    make_case: MakeCase, agent: User
) -> None:
    complaint = make_case(case_type="complaint", subject="Rude", at=at(2026, 3, 2, 10))
    inquiry = make_case(at=at(2026, 3, 2, 10))
    promises = queries.promises(
        queries.promise_clocks([complaint.pk, inquiry.pk]), now=at(2026, 3, 2, 10, 1)
    )
    assert promises[complaint.pk].metric == "complaint_reply"
    assert promises[complaint.pk].due_at == at(2026, 3, 4, 16)
    assert promises[inquiry.pk].metric == "first_response"
    assert promises[inquiry.pk].state == "pending"

    desk.reply(actor=agent, case=inquiry, body="Hello", at=at(2026, 3, 2, 10, 9))
    answered = queries.promises(queries.promise_clocks([inquiry.pk]))[inquiry.pk]
    assert (answered.state, answered.met_at) == ("met", at(2026, 3, 2, 10, 9))
    late = queries.promises(queries.promise_clocks([complaint.pk]), now=at(2026, 3, 5))
    assert late[complaint.pk].state == "breached"
