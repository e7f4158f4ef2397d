"""The manager view: each figure recomputed by hand from the clocks' stored events, the
reader's scope (a team lead sees its own teams only), who may open it, a look-ahead that
never fails on a bad value, decisions on compensation, and a query count that stays the
same however many cases, clocks, breaches and people there are.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from assura.calendars.models import CalendarVersion
from assura.commitments.models import Contract
from assura.core.models import Role, Team, User
from assura.desk import services as desk
from assura.desk.models import ACTIVE_STATUSES, Case
from assura.sla import replay
from assura.sla import services as sla
from assura.sla.models import (
    Breach,
    Clock,
    CompensationEntry,
    CompensationStatus,
)
from tests.desk.conftest import contract, customer, service  # noqa: F401 - fixtures
from tests.factories import ContactFactory, TeamFactory
from tests.sla.conftest import always, always_v, quality  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db

ZONE = ZoneInfo("Asia/Shanghai")
MINUTE, HOUR, DAY = timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)
URL = "/dashboard/"
PARTIAL = "/dashboard/at-risk/"
# session, person, metric names (3); at risk: count, clocks, cases (3); team load: teams,
# members, per team, per person (4); breaches: counts, this week's rows, their subjects
# (3); compliance: one per window of 7, 30, 90 days (3); expedite: count, rows (2);
# compensation: sums, rows, their subjects (3); the page header's organisation (1)
MANAGER_QUERIES = 22
# the same without the compensation section, which a team lead may not see
LEAD_QUERIES = MANAGER_QUERIES - 3


def client_for(person: User) -> Client:
    client = Client(headers={"accept-language": "en"})
    client.force_login(person)
    return client


@pytest.fixture
def other_team() -> Team:
    return TeamFactory(name="Night shift")


@pytest.fixture
def people(
    make_staff: Callable[..., User], agent: User, team: Team, other_team: Team, contact: User
) -> SimpleNamespace:
    lead = make_staff(Role.TEAM_LEAD)
    team.lead = lead
    team.save()
    found = SimpleNamespace(
        agent=agent,
        lead=lead,
        contact=contact,
        manager=make_staff(Role.MANAGER),
        quality=make_staff(Role.QUALITY_MANAGER),
        admin=make_staff(Role.ADMIN),
        auditor=make_staff(Role.AUDITOR),
        other_agent=make_staff(Role.AGENT, team=other_team),
        gone=make_staff(Role.AGENT, is_active=False),
    )
    for person in vars(found).values():
        person.time_zone = "Asia/Shanghai"
        person.save(update_fields=["time_zone"])
    return found


@dataclass
class Desk:
    """A small desk opened relative to `now`, every clock on a 24×7 calendar."""

    now: datetime
    cases: dict[str, Case]
    entries: list[CompensationEntry]


class Builder:
    def __init__(self, version: CalendarVersion, contact: User, now: datetime) -> None:
        self.version, self.contact, self.now = version, contact, now

    def case(self, team: Team, assignee: User | None, opened: datetime, subject: str) -> Case:
        return desk.open_case(
            actor=self.contact,
            organisation=self.contact.organisation,
            case_type="inquiry",
            subject=subject,
            channel="portal",
            team=team,
            assignee=assignee,
            at=opened,
        )

    def clock(self, case: Case, metric: str, target: timedelta, started: datetime) -> Clock:
        return sla.start_clock(
            subject=case,
            metric=metric,
            target=target,
            calendar_version=self.version,
            at=started,
            organisation=case.organisation,
            team=case.team,
            now=self.now,
        )


def build_desk(
    version: CalendarVersion, people: SimpleNamespace, deal: Contract, now: datetime
) -> Desk:
    team, other = people.agent.team, people.other_agent.team
    make = Builder(version, people.contact, now)
    cases: dict[str, Case] = {}

    # Past its warning instant (45 of 60 min), due in 10 min: at risk at any look-ahead.
    cases["warned"] = make.case(team, people.agent, now - 50 * MINUTE, "Warned")
    make.clock(cases["warned"], "resolution", HOUR, now - 50 * MINUTE)
    # Due in 7 h, warning in 5 h: at risk when looking 8 h ahead, not 4 h.
    cases["later"] = make.case(team, people.agent, now - HOUR, "Due later")
    make.clock(cases["later"], "resolution", 8 * HOUR, now - HOUR)
    # First response 30 min, started 2 h ago, unassigned: breached 1.5 h ago and still owed;
    # expedited an hour ago.
    cases["broken"] = make.case(team, None, now - 2 * HOUR, "Broken")
    make.clock(cases["broken"], "first_response", 30 * MINUTE, now - 2 * HOUR)
    desk.expedite(actor=None, case=cases["broken"], at=now - HOUR)
    # Met 10 minutes into a 30-minute target, three hours ago.
    cases["met"] = make.case(team, people.agent, now - 3 * HOUR, "Met")
    met = make.clock(cases["met"], "first_response", 30 * MINUTE, now - 3 * HOUR)
    sla.stop(met, now - 3 * HOUR + 10 * MINUTE, now=now)
    # Met late, five days ago (breached then), and met in time twenty days ago.
    cases["late"] = make.case(team, people.agent, now - 5 * DAY, "Late")
    late = make.clock(cases["late"], "first_response", 30 * MINUTE, now - 5 * DAY)
    sla.stop(late, now - 5 * DAY + HOUR, now=now)
    cases["old"] = make.case(team, people.agent, now - 20 * DAY, "Old")
    old = make.clock(cases["old"], "resolution", HOUR, now - 20 * DAY)
    sla.stop(old, now - 20 * DAY + 10 * MINUTE, now=now)
    # Paused past its warning instant: it cannot breach while paused, so not at risk.
    cases["paused"] = make.case(team, people.agent, now - 55 * MINUTE, "Paused")
    paused = make.clock(cases["paused"], "resolution", HOUR, now - 55 * MINUTE)
    sla.pause(paused, now - 5 * MINUTE, now=now)
    # Resolved: no longer open work, whatever its clock says.
    cases["resolved"] = make.case(team, people.agent, now - 40 * MINUTE, "Resolved")
    make.clock(cases["resolved"], "classification", HOUR, now - 40 * MINUTE)
    desk.resolve(actor=people.agent, case=cases["resolved"], at=now - MINUTE)
    # Another team's case: breached half an hour ago, expedited, at risk on a second clock.
    cases["foreign"] = make.case(other, people.other_agent, now - HOUR, "Foreign")
    make.clock(cases["foreign"], "first_response", 30 * MINUTE, now - HOUR)
    make.clock(cases["foreign"], "resolution", HOUR, now - 48 * MINUTE)
    desk.expedite(actor=None, case=cases["foreign"], at=now - 20 * MINUTE)

    entries = [
        book(deal, Breach.objects.get(clock__subject_id=cases[name].pk), amount)
        for name, amount in (("broken", "1000.00"), ("foreign", "500.00"), ("late", "250.00"))
    ]
    entries[2].status = CompensationStatus.APPROVED  # decided: no longer awaiting
    entries[2].save()
    return Desk(now=now, cases=cases, entries=entries)


def book(deal: Contract, breach: Breach, amount: str) -> CompensationEntry:
    return CompensationEntry.objects.create(
        breach=breach,
        contract=deal,
        metric=breach.metric,
        month=breach.breached_at.date().replace(day=1),
        amount=Decimal(amount),
        uncapped_amount=Decimal(amount),
        currency=deal.currency,
    )


@pytest.fixture
def scene(always_v: CalendarVersion, people: SimpleNamespace, contract: Contract) -> Desk:  # noqa: F811
    return build_desk(always_v, people, contract, timezone.now())


# ---------------------------------------------------------------------------- by hand


def states(clocks: Iterable[Clock], now: datetime) -> dict[int, replay.ClockState]:
    """Every clock replayed from its stored events, not read from its columns."""
    return {clock.pk: sla.state_of(clock, now) for clock in clocks}


def midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=ZONE)


def within(instant: datetime | None, since: datetime, until: datetime) -> bool:
    return instant is not None and since <= instant < until


def breached_by(state: replay.ClockState, now: datetime) -> bool:
    return (state.breached_at is not None and state.breached_at <= now) or (
        state.status == replay.ClockStatus.RUNNING
        and state.breaches_at is not None
        and state.breaches_at <= now
    )


def risky(state: replay.ClockState, now: datetime, hours: int) -> bool:
    """Running, not breached, past the warning instant or due within `hours`."""
    if state.status != replay.ClockStatus.RUNNING or breached_by(state, now):
        return False
    assert state.due_at is not None
    warned = state.warning_at is not None and state.warning_at <= now
    return warned or state.due_at <= now + timedelta(hours=hours)


def by_hand(cases: Iterable[Case], now: datetime, hours: int) -> dict[str, Any]:
    """The manager view's figures for these cases, from docs/kpis.md, step by step."""
    cases = list(cases)
    clocks = list(
        Clock.objects.filter(subject_type__model="case", subject_id__in=[c.pk for c in cases])
    )
    replayed = states(clocks, now)
    of_case: dict[int, list[replay.ClockState]] = {case.pk: [] for case in cases}
    for clock in clocks:
        of_case[clock.subject_id].append(replayed[clock.pk])
    metric_of = {clock.pk: clock.metric for clock in clocks}

    today = now.astimezone(ZONE).date()
    monday = today - timedelta(days=today.weekday())
    day_bounds = (midnight(today), midnight(today + DAY))
    week_bounds = (midnight(monday), midnight(monday + 7 * DAY))
    breach_instants = [s.breached_at for s in replayed.values() if s.breached_at is not None]

    compliance: dict[str, list[tuple[int, int] | None]] = {}
    for index, days in enumerate((7, 30, 90)):
        since, until = midnight(today - (days - 1) * DAY), midnight(today + DAY)
        for pk, state in replayed.items():
            if state.status == replay.ClockStatus.CANCELLED:
                continue
            met = within(state.met_at, since, until)
            broken = within(state.breached_at, since, until)
            if met or broken:
                row = compliance.setdefault(metric_of[pk], [None, None, None])
                old = row[index] or (0, 0)
                row[index] = (old[0] + met, old[1] + met + broken)

    open_cases = [case for case in cases if case.status in ACTIVE_STATUSES]
    at_risk = {
        case.reference
        for case in open_cases
        if any(risky(state, now, hours) for state in of_case[case.pk])
    }
    breached_open = {
        case.reference
        for case in open_cases
        if any(
            state.status in (replay.ClockStatus.RUNNING, replay.ClockStatus.PAUSED)
            and breached_by(state, now)
            for state in of_case[case.pk]
        )
    }

    def load(chosen: list[Case]) -> tuple[int, int, int, int]:
        return (
            len(chosen),
            sum(case.assignee_id is None for case in chosen),
            sum(case.reference in at_risk for case in chosen),
            sum(case.reference in breached_open for case in chosen),
        )

    return {
        "today": sum(within(at, *day_bounds) for at in breach_instants),
        "week": sum(within(at, *week_bounds) for at in breach_instants),
        "compliance": compliance,
        "at_risk": at_risk,
        "expedited": {case.reference for case in open_cases if case.expedited_at},
        "team": lambda team: load([c for c in open_cases if c.team_id == team.pk]),
        "person": lambda person: load([c for c in open_cases if c.assignee_id == person.pk]),
    }


def shown_compliance(response: Any) -> dict[str, list[tuple[int, int] | None]]:
    return {
        row["code"]: [
            None if cell["figure"] is None else (cell["figure"]["met"], cell["figure"]["decided"])
            for cell in row["cells"]
        ]
        for row in response.context["compliance"]["rows"]
    }


def shown_load(response: Any) -> dict[str, tuple[int, int, int, int]]:
    loads: dict[str, tuple[int, int, int, int]] = {}
    for row in response.context["load"]:
        loads[row.team.code] = (
            row.load.open,
            row.load.unassigned,
            row.load.at_risk,
            row.load.breached,
        )
        for member in row.people:
            load = member.load
            loads[member.person.username] = (
                load.open,
                load.unassigned,
                load.at_risk,
                load.breached,
            )
    return loads


# ---------------------------------------------------------------------------- the figures


@pytest.mark.parametrize("hours", [4, 8])
def test_every_figure_is_what_the_stored_events_give_by_hand(
    scene: Desk, people: SimpleNamespace, hours: int
) -> None:
    response = client_for(people.manager).get(URL, {"hours": hours})
    assert response.status_code == 200
    cases = Case.objects.all()
    expected = by_hand(cases, timezone.now(), hours)

    breaches = response.context["breaches"]
    assert (breaches["today"], breaches["week"]) == (expected["today"], expected["week"])
    assert shown_compliance(response) == expected["compliance"]
    at_risk = response.context["at_risk"]
    assert {row.case.reference for row in at_risk.rows} == expected["at_risk"]
    assert at_risk.count == len(expected["at_risk"])
    expedite = response.context["expedite"]
    assert {case.reference for case in expedite.cases} == expected["expedited"]
    assert expedite.count == len(expected["expedited"])

    loads = shown_load(response)
    for team in Team.objects.filter(is_active=True):
        assert loads[team.code][:4] == expected["team"](team), team
    for person in (people.agent, people.other_agent, people.lead):
        assert loads[person.username][0] == expected["person"](person)[0], person
        assert loads[person.username][2:] == expected["person"](person)[2:], person
    assert people.gone.username not in loads  # inactive people carry no load

    pending = [e for e in CompensationEntry.objects.all() if e.status == CompensationStatus.PENDING]
    compensation = response.context["compensation"]
    assert compensation["count"] == len(pending) == 2
    assert compensation["totals"] == (("CNY", sum(e.amount for e in pending)),)


def test_the_scene_holds_what_its_comments_say(scene: Desk, people: SimpleNamespace) -> None:
    """The hand computation is checked against the intent too, so a wrong replay in both
    the code and the test cannot pass unnoticed."""
    refs = {name: case.reference for name, case in scene.cases.items()}
    four = client_for(people.manager).get(URL)
    eight = client_for(people.manager).get(URL, {"hours": 8})
    assert {row.case.reference for row in four.context["at_risk"].rows} == {
        refs["warned"],
        refs["foreign"],
    }
    assert {row.case.reference for row in eight.context["at_risk"].rows} == {
        refs["warned"],
        refs["later"],
        refs["foreign"],
    }
    # The soonest due first: "warned" is due in 10 min, the foreign resolution in 12.
    rows = four.context["at_risk"].rows
    assert [row.case.reference for row in rows] == [refs["warned"], refs["foreign"]]
    assert [c.reference for c in four.context["expedite"].cases] == [
        refs["broken"],
        refs["foreign"],
    ]
    first_response = shown_compliance(eight)["first_response"]
    # 7 days: met 1 (3 h ago), breached 3 (late 5 days ago, broken and foreign today)
    assert first_response[0] == (1, 4)
    assert shown_compliance(eight)["resolution"] == [None, (1, 1), (1, 1)]
    loads = shown_load(eight)
    # open: all but the resolved one; unassigned: broken; at risk: warned, later; breached
    # and still owed: broken (late was met late: breached, but no longer open)
    assert loads[people.agent.team.code] == (7, 1, 2, 1)
    assert loads[people.other_agent.team.code] == (1, 0, 1, 1)


def test_the_page_shows_the_figures_and_links_to_the_full_pages(
    scene: Desk, people: SimpleNamespace
) -> None:
    page = client_for(people.manager).get(URL).content.decode()
    broken = Breach.objects.get(clock__subject_id=scene.cases["broken"].pk)
    reference = scene.cases["broken"].reference
    assert f"/sla/breaches/{reference}/{broken.metric}/" in page  # never its database id
    assert reverse("sla:expedite") in page
    assert reverse("sla:ledger") in page
    assert reverse("desk:case", args=[scene.cases["warned"].reference]) in page
    today = timezone.localdate(timezone.now(), ZONE).isoformat()
    assert f"/sla/breaches/?since={today}&amp;until={today}" in page
    assert 'id="compliance-chart"' in page
    assert 'id="compliance-data"' in page
    assert 'hx-trigger="every 60s"' in page
    # A manager decides what awaits approval; an auditor only reads it (docs/permissions.md).
    assert reverse("sla:decide", args=[scene.entries[0].pk]) in page
    audited = client_for(people.auditor).get(URL).content.decode()
    assert "A manager, a quality manager or an administrator approves or waives them." in audited
    assert reverse("sla:decide", args=[scene.entries[0].pk]) not in audited


# ---------------------------------------------------------------------------- scope


def test_a_team_lead_sees_its_own_teams_only(scene: Desk, people: SimpleNamespace) -> None:
    response = client_for(people.lead).get(URL, {"hours": 8})
    own = Case.objects.filter(team=people.agent.team)
    expected = by_hand(own, timezone.now(), 8)
    foreign = scene.cases["foreign"].reference

    assert {row.team for row in response.context["load"]} == {people.agent.team}
    assert {row.case.reference for row in response.context["at_risk"].rows} == expected["at_risk"]
    assert {c.reference for c in response.context["expedite"].cases} == expected["expedited"]
    breaches = response.context["breaches"]
    assert (breaches["today"], breaches["week"]) == (expected["today"], expected["week"])
    assert shown_compliance(response) == expected["compliance"]
    assert "compensation" not in response.context  # the matrix keeps money from team leads
    page = response.content.decode()
    assert foreign not in page
    assert "Night shift" not in page
    assert "Your teams only." in page


def test_a_team_lead_without_a_team_sees_an_empty_view(
    scene: Desk, make_staff: Callable[..., User]
) -> None:
    loner = make_staff(Role.TEAM_LEAD, team=None)
    response = client_for(loner).get(URL)
    assert response.status_code == 200
    assert response.context["load"] == []
    assert response.context["at_risk"].count == 0
    assert response.context["breaches"]["week"] == 0
    assert "You lead no active team." in response.content.decode()


ROLES = {
    Role.ADMIN: 200,
    Role.QUALITY_MANAGER: 200,
    Role.MANAGER: 200,
    Role.TEAM_LEAD: 200,
    Role.AUDITOR: 200,
    Role.AGENT: 403,
    Role.CUSTOMER: 403,
}


@pytest.mark.parametrize(("role", "status"), ROLES.items())
def test_who_may_open_the_manager_view(
    role: Role, status: int, make_staff: Callable[..., User]
) -> None:
    person = ContactFactory() if role == Role.CUSTOMER else make_staff(role)
    client = client_for(person)
    assert client.get(URL).status_code == status
    assert client.get(PARTIAL).status_code == status
    listed = reverse("web:dashboard") in client.get(reverse("web:home")).content.decode()
    assert listed == (status == 200)


def test_a_visitor_is_sent_to_log_in(client: Client) -> None:
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("web:login"))


# ---------------------------------------------------------------------------- the look-ahead


@pytest.mark.parametrize("value", ["abc", "999", "-1", "", "4.5"])
def test_a_bad_look_ahead_falls_back_to_four_hours_and_says_so(
    scene: Desk, people: SimpleNamespace, value: str
) -> None:
    client = client_for(people.manager)
    response = client.get(URL, {"hours": value})
    assert response.status_code == 200
    assert response.context["hours"] == 4
    assert "is not one of the choices; showing the next 4 hours." in response.content.decode()
    assert client.get(PARTIAL, {"hours": value}).status_code == 200


def test_the_at_risk_list_reloads_on_its_own_with_the_chosen_look_ahead(
    scene: Desk, people: SimpleNamespace
) -> None:
    response = client_for(people.manager).get(PARTIAL, {"hours": 8}, headers={"hx-request": "true"})
    html = response.content.decode()
    assert response.status_code == 200
    assert html.startswith('<div id="at-risk-list"')
    assert 'hx-get="/dashboard/at-risk/?hours=8"' in html
    assert scene.cases["later"].reference in html
    assert "<html" not in html


# ---------------------------------------------------------------------------- compensation


def test_a_quality_manager_approves_from_the_view_and_comes_back_to_it(
    scene: Desk, people: SimpleNamespace
) -> None:
    client = client_for(people.quality)
    entry = scene.entries[0]
    page = client.get(URL).content.decode()
    decide = reverse("sla:decide", args=[entry.pk])
    assert decide in page
    response = client.post(
        decide, {f"e{entry.pk}-decision": "approve", "next": f"{URL}#compensation"}
    )
    assert response.status_code == 302
    assert response["Location"] == f"{URL}#compensation"
    entry.refresh_from_db()
    assert (entry.status, entry.decided_by) == (CompensationStatus.APPROVED, people.quality)
    after = client.get(URL)
    assert after.context["compensation"]["count"] == 1
    assert decide not in after.content.decode()


def test_an_auditor_cannot_decide_and_nobody_is_sent_off_site(
    scene: Desk, people: SimpleNamespace
) -> None:
    entry = scene.entries[0]
    decide = reverse("sla:decide", args=[entry.pk])
    response = client_for(people.auditor).post(decide, {f"e{entry.pk}-decision": "approve"})
    assert response.status_code == 403
    elsewhere = client_for(people.manager).post(
        decide, {f"e{entry.pk}-decision": "approve", "next": "https://evil.example/"}
    )
    assert elsewhere["Location"] == reverse("sla:ledger")


# ---------------------------------------------------------------------------- queries


def grow(version: CalendarVersion, people: SimpleNamespace, deal: Contract, times: int) -> None:
    """Several times as much of everything: teams, members, cases, clocks, breaches, entries."""
    for number in range(times):
        extra = TeamFactory()
        member = User.objects.create_user(
            username=f"extra{number}",
            role=Role.AGENT,
            team=extra,
            organisation=people.agent.organisation,
        )
        build_desk(
            version,
            SimpleNamespace(**{**vars(people), "other_agent": member}),
            deal,
            timezone.now(),
        )


def count_queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured)


@pytest.mark.parametrize(("role", "pinned"), [("manager", MANAGER_QUERIES), ("lead", LEAD_QUERIES)])
def test_the_query_count_is_pinned_and_does_not_grow_with_the_desk(
    scene: Desk,
    people: SimpleNamespace,
    always_v: CalendarVersion,  # noqa: F811
    contract: Contract,  # noqa: F811
    role: str,
    pinned: int,
) -> None:
    client = client_for(getattr(people, role))
    client.get(URL)  # content types and the like, cached once per process
    few = count_queries(client, URL)
    grow(always_v, people, contract, 4)
    many = count_queries(client, URL)
    assert few == many == pinned
    assert count_queries(client, PARTIAL) == 6  # session, person, count, clocks, cases, names


def test_the_view_reads_in_chinese(scene: Desk, people: SimpleNamespace) -> None:
    people.manager.language = "zh-hans"
    people.manager.save(update_fields=["language"])
    client = Client()
    client.force_login(people.manager)
    page = client.get(URL, {"hours": "abc"}).content.decode()
    for text in ("管理看板", "加急处理通道", "本周违约", "即将超时的工单", "各指标承诺达成率"):
        assert text in page, text
    assert "团队工作量" in page
    assert "不是可选的值" in page
    assert "Promises kept" not in page
