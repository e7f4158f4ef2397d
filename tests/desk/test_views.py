"""The agents' pages: the queue (order, filters, search, saved views, bulk actions) and
the case page, every action driven through the views as a browser would post it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from assura.core.models import Role, Team, User
from assura.desk import services as desk
from assura.desk.clocks import clocks_of
from assura.desk.models import Case, Message, MessageKind, SavedView, Status
from assura.sla.models import Breach, CauseCategory, ClockStatus, RootCauseAnalysis
from assura.sla.watcher import record_due
from tests.desk.conftest import at
from tests.factories import TeamFactory

pytestmark = pytest.mark.django_db

MakeCase = Callable[..., Case]
# session, person, its organisation (page header), saved views, filter choices (services,
# customers), bulk assignees, count, rows, their clocks, their calendar versions, metric
# names (tests/desk/test_page_queries.py pins each case exactly)
QUEUE_QUERIES = 12
# session, person, organisation, the case, clocks, metric names, merged cases; timeline:
# messages + attachments, activities, clock events, warnings, breaches, analyses, and one
# per breach-handling kind installed (escalations, notices, compensation); forms: breaches
# without analysis, cause categories, teams, assignees
CASE_QUERIES = 21


def case_url(case: Case, name: str = "desk:case") -> str:
    return reverse(name, args=[case.reference])


def page_refs(response) -> list[str]:  # type: ignore[no-untyped-def]
    return [row.case.reference for row in response.context["rows"]]


@pytest.fixture
def client() -> Client:
    """Pages in English, as the assertions read; errors in Chinese are tested on their own."""
    return Client(headers={"accept-language": "en"})


@pytest.fixture
def agent_client(client: Client, agent: User) -> Client:
    client.force_login(agent)
    return client


@pytest.fixture
def three(make_case: MakeCase, agent: User) -> dict[str, Case]:
    """Three open cases whose next due instants are 09:15, 10:00 and 10:15, and a resolved one."""
    inquiry = make_case(subject="Cannot log in", at=at(2026, 3, 2, 10))  # first response 10:15
    urgent = make_case(
        subject="ERP down",
        case_type="fault",
        priority="urgent",
        actor=agent,
        channel="phone",
        at=at(2026, 3, 2, 9),
    )  # 24×7: first response 09:15
    replied = make_case(subject="Invoice title", at=at(2026, 3, 2, 8))
    desk.reply(actor=agent, case=replied, body="Looking.", at=at(2026, 3, 2, 8, 5))
    # classification 2 working hours from 08:00 → due 11:00 (work starts at 09:00)
    done = make_case(subject="Old question", at=at(2026, 3, 2, 7))
    desk.resolve(actor=agent, case=done, at=at(2026, 3, 2, 9, 30))
    return {"inquiry": inquiry, "urgent": urgent, "replied": replied, "done": done}


# ---------------------------------------------------------------------------- the queue


def test_the_queue_lists_open_cases_soonest_due_first(
    agent_client: Client, three: dict[str, Case]
) -> None:
    response = agent_client.get(reverse("desk:cases") + "?scope=all")
    assert response.status_code == 200
    assert page_refs(response) == [
        three["urgent"].reference,
        three["inquiry"].reference,
        three["replied"].reference,
    ]
    first = response.context["rows"][0]
    assert first.clocks[0].clock.metric == "first_response"
    html = response.content.decode()
    # every running clock carries its instants for the live countdown
    assert 'data-due="2026-03-02T01:15:00Z"' in html  # 09:15 in Shanghai
    assert 'data-sla-state="breached"' in html  # long past: breached by time alone


def test_the_queue_shows_my_cases_and_my_teams_by_default(
    client: Client,
    make_case: MakeCase,
    agent: User,
    other_team_agent: User,
    team: Team,
) -> None:
    ours = make_case(subject="Ours")
    theirs = make_case(subject="Theirs", team=other_team_agent.team)
    mine_elsewhere = make_case(subject="Mine elsewhere", team=other_team_agent.team)
    Case.objects.filter(pk=mine_elsewhere.pk).update(assignee=agent)  # e.g. lent to them
    unassigned = make_case(subject="Nobody's", team=None)
    client.force_login(agent)

    def refs(scope: str) -> set[str]:
        response = client.get(reverse("desk:cases") + (f"?scope={scope}" if scope else ""))
        return set(page_refs(response))

    assert refs("") == {ours.reference, mine_elsewhere.reference}
    assert refs("mine") == {mine_elsewhere.reference}
    assert refs("team") == {ours.reference}
    assert refs("unassigned") == {ours.reference, theirs.reference, unassigned.reference}
    assert refs("all") == {
        ours.reference,
        theirs.reference,
        mine_elsewhere.reference,
        unassigned.reference,
    }


def test_the_queue_filters_by_type_priority_status_service_customer_channel_and_sla(
    agent_client: Client,
    three: dict[str, Case],
    service,
    customer,  # type: ignore[no-untyped-def]
) -> None:
    def refs(query: str) -> list[str]:
        response = agent_client.get(reverse("desk:cases") + "?scope=all&" + query)
        assert response.status_code == 200
        return page_refs(response)

    urgent, inquiry, replied, done = (
        three[key].reference for key in ("urgent", "inquiry", "replied", "done")
    )
    assert refs("case_type=fault") == [urgent]
    assert refs("priority=urgent") == [urgent]
    assert refs("channel=phone") == [urgent]
    assert refs("status=resolved") == [done]
    assert set(refs("status=any")) == {urgent, inquiry, replied, done}
    assert refs(f"service={service.pk}") == [urgent, inquiry, replied]
    assert refs(f"organisation={customer.pk}") == [urgent, inquiry, replied]
    assert refs("sla=breached") == [urgent, inquiry, replied]
    assert refs("case_type=nonsense") == [urgent, inquiry, replied]  # a bad filter is no filter


def test_the_queue_searches_by_reference_number_and_text(
    agent_client: Client, three: dict[str, Case], contact: User
) -> None:
    desk.reply(actor=contact, case=three["inquiry"], body="The screen says ERR-4711")

    def refs(q: str) -> list[str]:
        return page_refs(agent_client.get(reverse("desk:cases"), {"scope": "all", "q": q}))

    reference = three["replied"].reference
    assert refs(reference) == [reference]
    assert refs(reference.lower()) == [reference]
    assert refs(str(int(reference.rsplit("-", 1)[1]))) == [reference]
    assert refs("erp down") == [three["urgent"].reference]
    assert refs("ERR-4711") == [three["inquiry"].reference]
    assert refs("nothing like this") == []


def test_a_paused_clock_shows_paused_and_its_remaining_time(
    agent_client: Client, make_case: MakeCase, agent: User
) -> None:
    now = timezone.now()
    case = make_case(actor=agent, channel="phone", at=now - timedelta(minutes=1))
    desk.change_status(actor=agent, case=case, status=Status.WAITING_CUSTOMER, at=now)
    assert clocks_of(case)["resolution"].status == ClockStatus.PAUSED
    html = agent_client.get(reverse("desk:cases")).content.decode()
    assert "paused" in html


def test_saved_views_are_per_person_and_optionally_shared_with_the_team(
    client: Client,
    three: dict[str, Case],
    agent: User,
    make_staff,
    other_team_agent: User,  # type: ignore[no-untyped-def]
) -> None:
    client.force_login(agent)
    response = client.post(
        reverse("desk:view_save"),
        {"name": "Urgent faults", "share": "on", "params": "scope=all&priority=urgent&x=1"},
    )
    view = SavedView.objects.get(name="Urgent faults")
    assert response.url == reverse("desk:cases") + f"?view={view.pk}"
    assert view.filters == {"scope": "all", "priority": "urgent"}
    assert view.team_id == agent.team_id
    client.post(reverse("desk:view_save"), {"name": "Mine only", "params": "scope=mine"})

    shown = client.get(reverse("desk:cases") + f"?view={view.pk}")
    assert page_refs(shown) == [three["urgent"].reference]
    assert shown.context["current_view"] == view

    teammate = make_staff(Role.AGENT)
    client.force_login(teammate)
    names = [v.name for v in client.get(reverse("desk:cases")).context["saved_views"]]
    assert names == ["Urgent faults"]
    # a teammate may use it but not delete it
    assert client.post(reverse("desk:view_delete", args=[view.pk])).status_code == 403

    client.force_login(other_team_agent)
    assert client.get(reverse("desk:cases")).context["saved_views"] == []
    assert client.post(reverse("desk:view_delete", args=[view.pk])).status_code == 404

    client.force_login(agent)
    client.post(reverse("desk:view_delete", args=[view.pk]))
    assert not SavedView.objects.filter(pk=view.pk).exists()


def test_bulk_assign_changes_each_allowed_case_and_reports_the_forbidden_one(
    agent_client: Client,
    make_case: MakeCase,
    agent: User,
    other_team_agent: User,
) -> None:
    first, second = make_case(subject="One"), make_case(subject="Two")
    foreign = make_case(subject="Other team's", team=other_team_agent.team)
    response = agent_client.post(
        reverse("desk:bulk"),
        {
            "cases": [first.pk, second.pk, foreign.pk],
            "action": "assign",
            "assignee": agent.pk,
            "next": reverse("desk:cases") + "?scope=all",
        },
        follow=True,
    )
    assert response.redirect_chain[-1][0] == reverse("desk:cases") + "?scope=all"
    texts = [str(m) for m in response.context["messages"]]
    assert "2 cases updated." in texts
    assert any(t.startswith(f"{foreign.reference} not changed:") for t in texts)
    for case in (first, second):
        case.refresh_from_db()
        assert case.assignee == agent
        assert case.first_contact_owner == agent
    foreign.refresh_from_db()
    assert foreign.assignee is None


def test_bulk_status_reports_what_a_service_refuses(
    agent_client: Client, three: dict[str, Case]
) -> None:
    response = agent_client.post(
        reverse("desk:bulk"),
        {
            "cases": [three["inquiry"].pk, three["done"].pk],
            "action": "status",
            "status": Status.WAITING_THIRD_PARTY,
        },
        follow=True,
    )
    texts = [str(m) for m in response.context["messages"]]
    assert "1 case updated." in texts
    assert f"{three['done'].reference} not changed: Reopen the case first." in texts
    three["inquiry"].refresh_from_db()
    assert three["inquiry"].status == Status.WAITING_THIRD_PARTY


def test_bulk_needs_a_choice(agent_client: Client, three: dict[str, Case]) -> None:
    response = agent_client.post(
        reverse("desk:bulk"), {"cases": [three["inquiry"].pk], "action": "assign"}, follow=True
    )
    assert "Choose who takes the cases." in [str(m) for m in response.context["messages"]]


def test_an_auditor_reads_but_changes_nothing(
    client: Client, auditor: User, three: dict[str, Case]
) -> None:
    client.force_login(auditor)
    assert client.get(reverse("desk:cases") + "?scope=all").status_code == 200
    page = client.get(case_url(three["inquiry"]))
    assert page.status_code == 200
    assert page.context["may_work"] is False
    assert b"reply-form" not in page.content
    denied = client.post(case_url(three["inquiry"], "desk:case_reply"), {"reply-body": "x"})
    assert denied.status_code == 403
    assert (
        client.post(
            reverse("desk:bulk"),
            {"cases": [three["inquiry"].pk], "action": "status", "status": "open"},
        ).status_code
        == 403
    )


def test_a_customer_is_sent_to_the_portal(
    client: Client, contact: User, three: dict[str, Case]
) -> None:
    client.force_login(contact)
    assert client.get(reverse("desk:cases")).url == reverse("desk:portal")
    case = three["inquiry"]
    assert client.get(case_url(case)).url == reverse("desk:portal_case", args=[case.reference])
    posted = client.post(case_url(case, "desk:case_status"), {"status-status": "open"})
    assert posted.status_code == 404


def test_the_queue_query_count_is_pinned(
    agent_client: Client,
    make_case: MakeCase,
    django_assert_max_num_queries: Callable[..., object],
) -> None:
    for number in range(30):
        make_case(subject=f"Case {number}", at=at(2026, 3, 2, 10) + timedelta(minutes=number))
    with django_assert_max_num_queries(QUEUE_QUERIES):  # type: ignore[attr-defined]
        response = agent_client.get(reverse("desk:cases") + "?scope=all&q=case&sla=at_risk")
    assert len(response.context["rows"]) == 30
    assert all(len(row.clocks) == 3 for row in response.context["rows"])


# ---------------------------------------------------------------------------- the case page


def test_the_case_page_shows_details_clocks_and_the_timeline(
    agent_client: Client, three: dict[str, Case], agent: User
) -> None:
    case = three["replied"]
    desk.add_note(actor=agent, case=case, body="Customer is on the old client.")
    record_due(timezone.now())  # the watcher records the long-past breaches
    response = agent_client.get(case_url(case))
    assert response.status_code == 200
    context = response.context
    kinds = [entry.kind for entry in context["timeline"]]
    assert kinds[0] == "activity"  # created
    assert {"message", "note", "clock", "breach"} <= set(kinds)
    instants = [entry.at for entry in context["timeline"]]
    assert instants == sorted(instants)
    html = response.content.decode()
    assert "Customer is on the old client." in html
    assert "Standard guarantee v1" in html  # the clock's policy and version
    assert "中国标准工作日 9-18 v" in html  # the clock's calendar and version
    assert 'data-testid="first-contact-owner">' + str(agent) in html


def test_a_reply_through_the_page_stops_the_first_response_clock(
    agent_client: Client, make_case: MakeCase, agent: User
) -> None:
    case = make_case(at=timezone.now())
    response = agent_client.post(
        case_url(case, "desk:case_reply"),
        {"reply-kind": "reply", "reply-body": "We are on it."},
    )
    assert response.status_code == 302
    assert response.url == case_url(case)
    assert clocks_of(case)["first_response"].status == ClockStatus.STOPPED
    case.refresh_from_db()
    assert case.first_contact_owner == agent


def test_htmx_gets_the_case_body_back_instead_of_a_redirect(
    agent_client: Client, make_case: MakeCase
) -> None:
    case = make_case(at=timezone.now())
    response = agent_client.post(
        case_url(case, "desk:case_reply"),
        {
            "reply-kind": "note",
            "reply-body": "Internal only",
            "reply-attachments": [
                SimpleUploadedFile("log.txt", b"trace", content_type="text/plain"),
                SimpleUploadedFile("screen.png", b"\x89PNG", content_type="image/png"),
            ],
        },
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert response.templates[0].name == "desk/_case_body.html"
    html = response.content.decode()
    assert html.startswith('<div id="case-body"')
    assert "Internal note added." in html
    note = Message.objects.get(case=case, kind=MessageKind.NOTE)
    assert sorted(a.name for a in note.attachments.all()) == ["log.txt", "screen.png"]
    assert "log.txt" in html


def test_reply_errors_are_shown_next_to_their_fields(
    agent_client: Client, make_case: MakeCase
) -> None:
    case = make_case(at=timezone.now())
    empty = agent_client.post(case_url(case, "desk:case_reply"), {"reply-kind": "reply"})
    assert empty.status_code == 400
    assert empty.context["reply_form"].errors == {"body": ["Write a message or attach a file."]}
    assert 'id="id_reply-body_error"' in empty.content.decode()

    bad = agent_client.post(
        case_url(case, "desk:case_reply"),
        {
            "reply-kind": "reply",
            "reply-body": "See the file",
            "reply-attachments": [SimpleUploadedFile("tool.exe", b"MZ")],
        },
    )
    assert bad.status_code == 400
    errors = bad.context["reply_form"].errors
    assert "attachments" in errors
    assert "tool.exe" in errors["attachments"][0]
    assert 'id="id_reply-attachments_error"' in bad.content.decode()
    assert not Message.objects.filter(case=case, kind=MessageKind.REPLY).exists()


def test_an_agent_works_a_case_from_new_to_closed_through_the_page(
    agent_client: Client, make_case: MakeCase, agent: User, team: Team
) -> None:
    case = make_case(at=timezone.now() - timedelta(minutes=1))

    def post(name: str, data: dict[str, object] | None = None) -> None:
        response = agent_client.post(case_url(case, name), data or {})
        assert response.status_code == 302

    post("desk:case_assign", {"assign-team": team.pk, "assign-assignee": agent.pk})
    post(
        "desk:case_classify",
        {"classify-case_type": "fault", "classify-priority": "high", "classify-confirm": "on"},
    )
    post("desk:case_complex")
    post("desk:case_reply", {"reply-kind": "interim_plan", "reply-body": "Stage 1: workaround."})
    post("desk:case_status", {"status-status": "waiting_customer"})
    post("desk:case_status", {"status-status": "resolved"})
    post("desk:case_status", {"status-status": "closed"})

    case.refresh_from_db()
    assert (case.assignee, case.case_type, case.priority) == (agent, "fault", "high")
    assert case.classified_at is not None
    assert case.is_complex
    assert case.status == Status.CLOSED
    clocks = clocks_of(case)
    assert clocks["interim_plan"].status == ClockStatus.STOPPED
    assert clocks["classification"].status == ClockStatus.STOPPED

    post("desk:case_reopen", {"reopen-reason": "Back again"})
    case.refresh_from_db()
    assert case.status == Status.OPEN
    assert case.reopen_count == 1


def test_changing_type_and_priority_without_confirming_does_not_classify(
    agent_client: Client, make_case: MakeCase
) -> None:
    case = make_case(at=timezone.now())
    response = agent_client.post(
        case_url(case, "desk:case_classify"),
        {"classify-case_type": "inquiry", "classify-priority": "urgent"},
        follow=True,
    )
    assert "Changed: priority. The clocks were retargeted." in [
        str(m) for m in response.context["messages"]
    ]
    case.refresh_from_db()
    assert case.priority == "urgent"
    assert case.classified_at is None


def test_closing_is_refused_until_each_breach_has_its_root_cause(
    agent_client: Client, make_case: MakeCase, agent: User
) -> None:
    case = make_case(actor=agent, channel="phone", at=at(2026, 3, 2, 10))
    record_due(timezone.now())  # the watcher records the long-past breaches
    desk.resolve(actor=agent, case=case)
    refused = agent_client.post(case_url(case, "desk:case_status"), {"status-status": "closed"})
    assert refused.status_code == 400
    error = refused.context["status_form"].errors["status"][0]
    assert error.startswith("Each breach needs a root-cause analysis before the case can close")
    assert 'id="id_status-status_error"' in refused.content.decode()
    forms = refused.context["rca_forms"]
    assert forms, "every breach without an analysis offers its form"

    category = CauseCategory.objects.filter(is_active=True).first()
    for breach, _metric, form in forms:
        missing = agent_client.post(
            reverse("desk:case_root_cause", args=[case.reference, breach.metric]),
            {f"{form.prefix}-category": category.pk, f"{form.prefix}-description": "Staff ill"},
        )
        assert missing.status_code == 400
        bound = next(f for b, _m, f in missing.context["rca_forms"] if b.pk == breach.pk)
        assert "corrective_action" in bound.errors
        saved = agent_client.post(
            reverse("desk:case_root_cause", args=[case.reference, breach.metric]),
            {
                f"{form.prefix}-category": category.pk,
                f"{form.prefix}-description": "Staff ill",
                f"{form.prefix}-corrective_action": "A standby rota",
            },
        )
        assert saved.status_code == 302
    assert RootCauseAnalysis.objects.filter(breach__clock__subject_id=case.pk).count() == len(forms)
    closed = agent_client.post(case_url(case, "desk:case_status"), {"status-status": "closed"})
    assert closed.status_code == 302
    case.refresh_from_db()
    assert case.status == Status.CLOSED


def test_merging_into_another_case_by_reference(
    agent_client: Client, make_case: MakeCase, other_contact: User, guarantee
) -> None:  # type: ignore[no-untyped-def]
    keep, duplicate = make_case(subject="Printer"), make_case(subject="Printer again")
    merge_url = case_url(duplicate, "desk:case_merge")
    unknown = agent_client.post(merge_url, {"merge-into": "C-1999-000001"})
    assert unknown.status_code == 400
    assert unknown.context["merge_form"].errors == {"into": ["No case has this reference."]}

    elsewhere = desk.open_case(
        actor=other_contact,
        organisation=other_contact.organisation,
        case_type="inquiry",
        subject="Not theirs",
        channel="portal",
    )
    other = agent_client.post(merge_url, {"merge-into": elsewhere.reference})
    assert other.context["merge_form"].errors == {
        "into": ["Only cases of the same customer can be merged."]
    }

    merged = agent_client.post(merge_url, {"merge-into": keep.reference.lower()})
    assert merged.url == case_url(keep)
    duplicate.refresh_from_db()
    assert duplicate.merged_into == keep
    assert duplicate.status == Status.CLOSED


def test_an_agent_cannot_change_another_teams_case(
    agent_client: Client, make_case: MakeCase, other_team_agent: User
) -> None:
    case = make_case(team=other_team_agent.team)
    page = agent_client.get(case_url(case))
    assert page.status_code == 200
    assert page.context["may_work"] is False
    for name, data in (
        ("desk:case_reply", {"reply-kind": "reply", "reply-body": "Hi"}),
        ("desk:case_status", {"status-status": "open"}),
        ("desk:case_complex", {}),
    ):
        assert agent_client.post(case_url(case, name), data).status_code == 403
    assert not Message.objects.filter(case=case, kind=MessageKind.REPLY).exists()


def test_the_clocks_panel_refreshes_on_its_own(
    agent_client: Client, three: dict[str, Case]
) -> None:
    response = agent_client.get(case_url(three["inquiry"], "desk:case_clocks"))
    assert response.status_code == 200
    html = response.content.decode()
    assert html.startswith('<section class="card clocks-panel" id="case-clocks"')
    assert 'hx-trigger="every 60s"' in html


def test_attachments_are_downloaded_by_staff(
    agent_client: Client, make_case: MakeCase, contact: User
) -> None:
    case = make_case(attachments=[SimpleUploadedFile("photo.png", b"\x89PNGdata")])
    attachment = Message.objects.get(case=case).attachments.get()
    response = agent_client.get(reverse("desk:attachment", args=[attachment.pk]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"\x89PNGdata"
    assert 'filename="photo.png"' in response["Content-Disposition"]


def test_the_case_page_query_count_is_pinned(
    agent_client: Client,
    make_case: MakeCase,
    agent: User,
    contact: User,
    django_assert_max_num_queries: Callable[..., object],
) -> None:
    case = make_case(actor=agent, channel="phone", at=at(2026, 3, 2, 10))
    for number in range(15):
        instant = at(2026, 3, 2, 11) + timedelta(minutes=number)
        files = [SimpleUploadedFile(f"f{number}.txt", b"x")]
        desk.reply(
            actor=contact, case=case, body=f"Question {number}", attachments=files, at=instant
        )
        desk.add_note(actor=agent, case=case, body=f"Note {number}", at=instant)
        desk.change_status(
            actor=agent,
            case=case,
            status="waiting_customer" if number % 2 == 0 else "open",
            at=instant + timedelta(seconds=30),
        )
    record_due(timezone.now())
    assert Breach.objects.filter(clock__subject_id=case.pk).exists()
    with django_assert_max_num_queries(CASE_QUERIES):  # type: ignore[attr-defined]
        response = agent_client.get(case_url(case))
    assert response.status_code == 200
    assert len(response.context["timeline"]) > 60


def test_a_team_outside_the_agents_is_offered_in_assignment(
    agent_client: Client, make_case: MakeCase
) -> None:
    elsewhere = TeamFactory(name="Night shift")
    case = make_case()
    response = agent_client.post(
        case_url(case, "desk:case_assign"), {"assign-team": elsewhere.pk}, follow=True
    )
    assert "Assigned to Night shift." in [str(m) for m in response.context["messages"]]
    case.refresh_from_db()
    assert case.team == elsewhere
