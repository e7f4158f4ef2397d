"""The breach pages: who may see and do what, forms with their errors, statements, notices."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.test import Client

from assura.commitments.models import Contract
from assura.core.models import Role, User
from assura.desk import services as desk
from assura.desk.models import Case
from assura.sla.models import (
    Breach,
    BreachNotice,
    CauseCategory,
    CompensationEntry,
    CompensationStatus,
    RootCauseAnalysis,
)
from tests.desk import conftest as desk_fixtures

pytestmark = pytest.mark.django_db

# The desk's fixtures: cases under the standard guarantee, for a customer with a contract.
at = desk_fixtures.at
contract = desk_fixtures.contract
customer = desk_fixtures.customer
guarantee = desk_fixtures.guarantee
make_case = desk_fixtures.make_case
service = desk_fixtures.service


def client_for(person: User) -> Client:
    client = Client(headers={"accept-language": "en"})
    client.force_login(person)
    return client


@pytest.fixture
def people(make_staff: Callable[..., User], agent: User, contact: User) -> SimpleNamespace:
    return SimpleNamespace(
        agent=agent,
        contact=contact,
        lead=make_staff(Role.TEAM_LEAD),
        manager=make_staff(Role.MANAGER),
        quality=make_staff(Role.QUALITY_MANAGER),
        auditor=make_staff(Role.AUDITOR),
    )


@pytest.fixture
def breached(
    make_overdue_case: Callable[..., Case],
    agent: User,
    contact: User,
    django_capture_on_commit_callbacks: object,
) -> Case:
    """A case whose first response, classification and resolution were all missed."""
    contact.email = "li@customer.cn"
    contact.save()
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        return make_overdue_case(assignee=agent, at=at(2026, 3, 2, 10))


def first_response(case: Case) -> Breach:
    return Breach.objects.get(clock__subject_id=case.pk, metric="first_response")


#: role → status of (breach pages, expedite channel, ledger and statements)
REACH = {
    "agent": (200, 403, 403),
    "lead": (200, 200, 403),
    "manager": (200, 200, 200),
    "quality": (200, 200, 200),
    "auditor": (200, 200, 200),
    "contact": (403, 403, 403),
}


def test_each_role_reaches_the_pages_its_permissions_allow(
    people: SimpleNamespace, breached: Case
) -> None:
    breach = first_response(breached)
    for role, (breaches, expedite, ledger) in REACH.items():
        client = client_for(getattr(people, role))
        reached = {
            "/sla/breaches/": breaches,
            f"/sla/breaches/{breach.pk}/": breaches,
            "/sla/expedite/": expedite,
            "/sla/compensation/": ledger,
            "/sla/compensation/K-1/2026-03/": ledger,
            "/sla/compensation/K-1/2026-03.csv": ledger,
            "/sla/notices/": 200,
        }
        assert {url: client.get(url).status_code for url in reached} == reached, role


def test_the_breach_list_filters_by_metric_and_root_cause(
    people: SimpleNamespace, breached: Case, django_assert_max_num_queries: Callable[..., object]
) -> None:
    client = client_for(people.agent)
    with django_assert_max_num_queries(12):  # type: ignore[operator]
        page = client.get("/sla/breaches/")
    assert len(page.context["rows"]) == 3
    only = client.get("/sla/breaches/", {"metric": "first_response"})
    assert [row["breach"].metric for row in only.context["rows"]] == ["first_response"]
    assert "C-2026-000001" in only.content.decode()

    RootCauseAnalysis.objects.create(
        breach=first_response(breached),
        category=CauseCategory.objects.get(code="staffing"),
        description="Only one agent on duty.",
        corrective_action="A second agent on the late shift.",
        author=people.agent,
    )
    without = client.get("/sla/breaches/", {"rca": "without"})
    assert {row["breach"].metric for row in without.context["rows"]} == {
        "classification",
        "resolution",
    }
    assert len(client.get("/sla/breaches/", {"rca": "with"}).context["rows"]) == 1


def test_the_root_cause_form_shows_errors_beside_its_fields_then_saves(
    people: SimpleNamespace, breached: Case
) -> None:
    client = client_for(people.agent)
    breach = first_response(breached)
    url = f"/sla/breaches/{breach.pk}/root-cause/"
    staffing = CauseCategory.objects.get(code="staffing").pk
    refused = client.post(url, {"category": staffing, "description": "Short-staffed."})
    assert refused.status_code == 422
    assert refused.context["rca_form"].errors == {"corrective_action": ["This field is required."]}
    assert not RootCauseAnalysis.objects.exists()

    saved = client.post(
        url,
        {
            "category": staffing,
            "description": "Short-staffed.",
            "corrective_action": "A second agent on Mondays.",
        },
    )
    assert saved.status_code == 302
    assert breach.rca.corrective_action == "A second agent on Mondays."
    assert client_for(people.auditor).post(url, {}).status_code == 403


def test_an_agent_edits_the_notice_reason_and_the_page_shows_the_history(
    people: SimpleNamespace, breached: Case
) -> None:
    client = client_for(people.agent)
    breach = first_response(breached)
    url = f"/sla/breaches/{breach.pk}/notice/"
    assert client.post(url, {"reason": ""}).status_code == 422
    assert client.post(url, {"reason": "A network outage at our site."}).status_code == 302
    notice = BreachNotice.objects.get(breach=breach)
    assert (notice.reason, notice.corrections) == ("A network outage at our site.", 1)
    page = client.get(f"/sla/breaches/{breach.pk}/").content.decode()
    assert "A network outage at our site." in page
    assert "Earlier reasons" in page


def test_a_waiver_without_a_reason_is_refused_beside_the_field(
    people: SimpleNamespace, breached: Case
) -> None:
    entry = CompensationEntry.objects.get()
    url = f"/sla/compensation/{entry.pk}/decide/"
    prefix = f"e{entry.pk}"
    assert client_for(people.lead).post(url, {f"{prefix}-decision": "approve"}).status_code == 403

    client = client_for(people.quality)
    refused = client.post(url, {f"{prefix}-decision": "waive", f"{prefix}-reason": ""})
    assert refused.status_code == 422
    assert refused.context["form"].errors == {"reason": ["Say why the compensation is waived."]}
    entry.refresh_from_db()
    assert entry.status == CompensationStatus.PENDING

    done = client.post(
        url, {f"{prefix}-decision": "waive", f"{prefix}-reason": "Customer asked to wait."}
    )
    assert done.status_code == 302
    entry.refresh_from_db()
    assert (entry.status, entry.decided_by) == (CompensationStatus.WAIVED, people.quality)


def test_the_ledger_lists_pending_entries_first(
    people: SimpleNamespace,
    make_overdue_case: Callable[..., Case],
    agent: User,
    django_capture_on_commit_callbacks: object,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        for day in (2, 3):
            make_overdue_case(assignee=agent, at=at(2026, 3, day, 10))
    first = CompensationEntry.objects.order_by("pk").first()
    assert first is not None
    first.status = CompensationStatus.APPROVED
    first.decided_by = people.quality
    first.save()
    rows = client_for(people.quality).get("/sla/compensation/").context["rows"]
    assert [row["entry"].status for row in rows] == ["pending", "approved"]


def test_the_statement_page_and_csv_show_amounts_with_the_currency_and_the_cap(
    people: SimpleNamespace, breached: Case, contract: Contract
) -> None:
    client = client_for(people.manager)
    page = client.get("/sla/compensation/K-1/2026-03/")
    html = page.content.decode()
    assert page.context["report"].booked == 1000
    assert "1000.00 CNY" in html
    assert "3000.00 CNY" in html  # the contract's cap
    download = client.get("/sla/compensation/K-1/2026-03.csv")
    assert download["Content-Type"].startswith("text/csv")
    assert "compensation-K-1-2026-03.csv" in download["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(download.content.decode("utf-8-sig"))))
    assert rows[1][2:4] == ["C-2026-000001", "first_response"]
    assert client.get("/sla/compensation/K-1/March/").status_code == 404


def test_the_expedite_channel_lists_expedited_open_cases_oldest_first(
    people: SimpleNamespace, make_overdue_case: Callable[..., Case], agent: User
) -> None:
    older = make_overdue_case(assignee=agent, at=at(2026, 3, 2, 10))
    newer = make_overdue_case(assignee=agent, at=at(2026, 3, 2, 11))
    quiet = make_overdue_case(assignee=agent, at=at(2026, 3, 2, 12))
    desk.expedite(actor=None, case=newer, at=at(2026, 3, 3, 9))
    desk.expedite(actor=None, case=older, at=at(2026, 3, 3, 10) + timedelta(minutes=1))
    desk.expedite(actor=None, case=quiet, at=at(2026, 3, 3, 8))
    desk.resolve(actor=agent, case=quiet, at=at(2026, 3, 3, 12))
    page = client_for(people.lead).get("/sla/expedite/")
    assert [row["reference"] for row in page.context["rows"]] == [
        newer.reference,
        older.reference,
    ]
    assert "First response" in page.content.decode()


def test_a_customer_reads_only_its_own_organisations_notices(
    people: SimpleNamespace, breached: Case, other_contact: User
) -> None:
    mine = client_for(people.contact).get("/sla/notices/")
    assert len(mine.context["rows"]) == 3
    assert "C-2026-000001" in mine.content.decode()
    assert "Breach details" not in mine.content.decode()
    assert client_for(other_contact).get("/sla/notices/").context["rows"] == []
