"""Configuration and SLA resources: who reads what, by code, with filters."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from assura.core.models import User
from assura.desk import services as desk
from assura.desk.models import Case
from assura.sla.models import Breach
from tests.api.conftest import Api

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")
CONFIGURATION = (
    "/api/v1/calendars/",
    "/api/v1/calendars/24x7/",
    "/api/v1/calendars/cn-standard/days/",
    "/api/v1/calendars/24x7/versions/",
    "/api/v1/services/",
    "/api/v1/services/erp/",
    "/api/v1/metrics/",
    "/api/v1/metrics/first_response/",
    "/api/v1/policies/",
    "/api/v1/policies/standard/",
    "/api/v1/policies/standard/versions/",
    "/api/v1/cause-categories/",
)


@pytest.fixture
def breached_case(make_case: Callable[..., Case], agent: User) -> Case:
    case = make_case(actor=agent, case_type="request", at=datetime(2026, 3, 2, 9, tzinfo=SH))
    desk.reply(actor=agent, case=case, body="Late", at=datetime(2026, 3, 2, 11, tzinfo=SH))
    return case


def test_staff_read_the_configuration_by_code(
    api: Callable[..., Api], auditor: User, contract: object, guarantee: object
) -> None:
    client = api(auditor)
    for path in CONFIGURATION:
        assert client.get(path).status_code == 200, path
    policy = client.get("/api/v1/policies/standard/").json()
    assert policy["version"] == 1
    assert {t["metric"] for t in policy["targets"]} >= {"first_response", "resolution"}
    assert [level["level"] for level in policy["escalations"]] == [1, 2, 3, 4]
    calendar = client.get("/api/v1/calendars/cn-standard/").json()
    assert calendar["intervals"][0] == {"weekday": 0, "start": "09:00", "end": "18:00"}
    days = client.get("/api/v1/calendars/cn-standard/days/", year=2025).json()["results"]
    assert {"date": "2025-09-28", "kind": "workday"}.items() <= next(
        day for day in days if day["date"] == "2025-09-28"
    ).items()


def test_a_customer_reads_no_configuration(
    api: Callable[..., Api], contact: User, contract: object, guarantee: object
) -> None:
    client = api(contact)
    for path in CONFIGURATION:
        assert client.get(path).status_code == 403, path


def test_a_customer_reads_only_its_own_contracts(
    api: Callable[..., Api], contact: User, other_contact: User, contract: object, agent: User
) -> None:
    from tests.api.conftest import Decimal, commitments, date

    commitments.create_contract(
        actor=None,
        code="K-2",
        name="Other",
        customer=other_contact.organisation,
        monthly_fee=Decimal(1),
        starts_on=date(2025, 1, 1),
    )
    mine = api(contact).get("/api/v1/contracts/").json()["results"]
    assert [row["code"] for row in mine] == ["K-1"]
    assert mine[0]["services"] == ["erp"]
    assert api(contact).get("/api/v1/contracts/K-2/").status_code == 404
    assert {row["code"] for row in api(agent).get("/api/v1/contracts/").json()["results"]} == {
        "K-1",
        "K-2",
    }


def test_clocks_follow_the_customer_scope(
    api: Callable[..., Api], contact: User, case: Case, other_case: Case
) -> None:
    rows = api(contact).get("/api/v1/clocks/").json()["results"]
    assert rows
    assert {row["subject"] for row in rows} == {case.reference}
    other = api(contact).get("/api/v1/clocks/", limit=500).json()["count"]
    assert other == len(rows)


def test_breaches_are_for_staff_with_filters(
    api: Callable[..., Api], agent: User, contact: User, breached_case: Case
) -> None:
    assert api(contact).get("/api/v1/breaches/").status_code == 403
    client = api(agent)
    rows = client.get("/api/v1/breaches/", metric="first_response").json()["results"]
    assert [row["subject"] for row in rows] == [breached_case.reference]
    assert rows[0]["over_by_seconds"] == 2 * 3600 - 15 * 60  # answered after 2 h, not 15 min
    assert rows[0]["rca"] is None
    assert client.get("/api/v1/breaches/", has_rca="true").json()["count"] == 0
    breached = client.get("/api/v1/clocks/", breached="true").json()["results"]
    assert "first_response" in {row["metric"] for row in breached}


def test_root_causes_are_written_by_workers_only(
    api: Callable[..., Api], agent: User, auditor: User, breached_case: Case
) -> None:
    breach = Breach.objects.get(clock__metric="first_response")
    body = {
        "breach": breach.pk,
        "category": "staffing",
        "description": "One agent on shift",
        "corrective_action": "Two before 10:00",
    }
    assert api(auditor).post("/api/v1/root-causes/", body).status_code == 403
    first = api(agent).post("/api/v1/root-causes/", body)
    assert first.status_code == 201
    revised = api(agent).post("/api/v1/root-causes/", {**body, "description": "Sick leave"})
    assert revised.status_code == 200
    assert revised.json()["id"] == first.json()["id"]
    bad = api(agent).post("/api/v1/root-causes/", {**body, "category": "luck", "breach": 10**9})
    assert bad.status_code == 400
    assert set(bad.json()["error"]["fields"]) == {"breach", "category"}
    listed = api(auditor).get("/api/v1/root-causes/").json()["results"]
    assert [row["description"] for row in listed] == ["Sick leave"]


def test_escalations_notices_and_the_ledger_are_read_only(
    api: Callable[..., Api], manager: User, contact: User, breached_case: Case
) -> None:
    client = api(manager)
    for path in ("/api/v1/escalations/", "/api/v1/notices/", "/api/v1/compensation/"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert client.post(path, {}).status_code == 405, path
    escalations = client.get("/api/v1/escalations/").json()["results"]
    assert breached_case.reference in {row["subject"] for row in escalations}
    assert api(contact).get("/api/v1/compensation/").status_code == 403
    assert api(contact).get("/api/v1/escalations/").status_code == 403
    assert api(contact).get("/api/v1/notices/").status_code == 200


def test_people_and_audit_entries_filter_by_code(
    api: Callable[..., Api], admin: User, agent: User, contact: User
) -> None:
    client = api(admin)
    team_code = agent.team.code
    people = client.get("/api/v1/people/", team=team_code).json()["results"]
    assert [row["username"] for row in people] == [agent.username]
    assert people[0]["team"] == team_code
    customers = client.get("/api/v1/people/", organisation=contact.organisation.code).json()
    assert [row["username"] for row in customers["results"]] == [contact.username]
    entries = client.get("/api/v1/audit-log/", model="organisation", action="create").json()
    assert entries["count"] >= 1
    assert {row["action"] for row in entries["results"]} == {"create"}
