"""Cases over the API: scope, permissions per role, idempotent creation, actions, listing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from assura.core.models import User
from assura.desk import services as desk
from assura.desk.models import Case, MessageKind, Status
from tests.api.conftest import Api

pytestmark = pytest.mark.django_db

SH = ZoneInfo("Asia/Shanghai")
CASES = "/api/v1/cases/"


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=SH)


def url(case: Case, action: str = "") -> str:
    return f"{CASES}{case.reference}/" + (f"{action}/" if action else "")


# ---------------------------------------------------------------- reading and scope


def test_a_case_is_addressed_by_its_reference(api: Callable[..., Api], agent: User, case: Case):
    response = api(agent).get(url(case))
    assert response.status_code == 200
    body = response.json()
    assert body["reference"] == case.reference
    assert body["organisation"] == case.organisation.code
    assert body["service"] == "erp"
    assert body["policy"] is not None
    assert body["breached"] is False


def test_a_customer_lists_only_its_organisations_cases(
    api: Callable[..., Api], contact: User, case: Case, other_case: Case
) -> None:
    rows = api(contact).get(CASES).json()["results"]
    assert [row["reference"] for row in rows] == [case.reference]


def test_a_customer_gets_404_for_another_organisations_case(
    api: Callable[..., Api], contact: User, other_case: Case
) -> None:
    client = api(contact)
    for path in (url(other_case), url(other_case, "messages"), url(other_case, "clocks")):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.json()["error"]["code"] == "not_found"
    response = client.post(url(other_case, "reply"), {"body": "Hello?"})
    assert response.status_code == 404


def test_a_customer_does_not_see_internal_fields(
    api: Callable[..., Api], contact: User, agent: User, case: Case
) -> None:
    desk.assign(actor=agent, case=case, team=None, assignee=agent)
    body = api(contact).get(url(case)).json()
    assert body["assignee"] is None
    assert body["team"] is None
    assert body["policy"] is None
    assert api(agent).get(url(case)).json()["assignee"] == agent.username


def test_a_customer_never_sees_internal_notes(
    api: Callable[..., Api], contact: User, agent: User, case: Case
) -> None:
    desk.reply(actor=agent, case=case, body="We are on it")
    desk.add_note(actor=agent, case=case, body="Customer is on the old release")
    customer_view = api(contact).get(url(case, "messages")).json()["results"]
    assert [m["kind"] for m in customer_view] == [MessageKind.REPLY]
    assert customer_view[0]["author"] is None  # staff usernames stay internal
    staff_view = api(agent).get(url(case, "messages")).json()["results"]
    assert [m["kind"] for m in staff_view] == [MessageKind.REPLY, MessageKind.NOTE]


def test_clocks_of_a_case_are_listed(api: Callable[..., Api], contact: User, case: Case):
    clocks = api(contact).get(url(case, "clocks")).json()
    assert {clock["metric"] for clock in clocks} >= {"first_response"}
    assert all(clock["subject"] == case.reference for clock in clocks)
    assert all(clock["team"] is None for clock in clocks)


# ---------------------------------------------------------------- creating


def test_staff_open_a_case_for_a_customer(
    api: Callable[..., Api], agent: User, contact: User, guarantee: object, service: object
) -> None:
    body = {
        "organisation": contact.organisation.code,
        "case_type": "fault",
        "priority": "urgent",
        "subject": "Payroll export fails",
        "contact": contact.username,
        "service": "erp",
        "channel": "phone",
    }
    response = api(agent).post(CASES, body)
    assert response.status_code == 201, response.json()
    created = response.json()
    assert created["reference"].startswith("C-")
    assert response["Location"].endswith(f"/api/v1/cases/{created['reference']}/")
    case = Case.objects.get(reference=created["reference"])
    assert case.contact == contact
    assert case.channel == "phone"
    assert case.first_contact_owner == agent
    assert created["policy"] == "urgent-fault"


def test_a_customer_opens_a_case_for_its_own_organisation(
    api: Callable[..., Api], contact: User, guarantee: object
) -> None:
    response = api(contact).post(
        CASES, {"case_type": "inquiry", "subject": "How do I reset a password?", "channel": "phone"}
    )
    assert response.status_code == 201
    case = Case.objects.get(reference=response.json()["reference"])
    assert case.organisation_id == contact.organisation_id
    assert case.contact == contact
    assert case.channel == "api"


def test_a_customer_cannot_open_a_case_for_another_organisation(
    api: Callable[..., Api], contact: User, other_contact: User, guarantee: object
) -> None:
    response = api(contact).post(
        CASES,
        {
            "organisation": other_contact.organisation.code,
            "case_type": "inquiry",
            "subject": "Hello",
        },
    )
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"organisation"}
    assert not Case.objects.exists()


def test_staff_must_name_the_organisation(api: Callable[..., Api], agent: User, guarantee: object):
    response = api(agent).post(CASES, {"case_type": "inquiry", "subject": "Hello"})
    assert response.status_code == 400
    assert "organisation" in response.json()["error"]["fields"]


def test_an_auditor_cannot_open_a_case(api: Callable[..., Api], auditor: User, contact: User):
    response = api(auditor).post(
        CASES,
        {"organisation": contact.organisation.code, "case_type": "inquiry", "subject": "Hi"},
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


# ---------------------------------------------------------------- idempotency


def test_the_same_idempotency_key_returns_the_same_case(
    api: Callable[..., Api], contact: User, guarantee: object
) -> None:
    client = api(contact)
    body = {"case_type": "inquiry", "subject": "Invoice missing"}
    first = client.post(CASES, body, HTTP_IDEMPOTENCY_KEY="order-7781")
    again = client.post(CASES, body, HTTP_IDEMPOTENCY_KEY="order-7781")
    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json()["reference"] == first.json()["reference"]
    assert Case.objects.count() == 1


def test_the_same_key_with_another_body_is_a_conflict(
    api: Callable[..., Api], contact: User, guarantee: object
) -> None:
    client = api(contact)
    client.post(CASES, {"case_type": "inquiry", "subject": "A"}, HTTP_IDEMPOTENCY_KEY="k-1")
    response = client.post(
        CASES, {"case_type": "inquiry", "subject": "B"}, HTTP_IDEMPOTENCY_KEY="k-1"
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "idempotency_conflict"
    assert Case.objects.count() == 1


def test_idempotency_keys_belong_to_one_person(
    api: Callable[..., Api], contact: User, other_contact: User, guarantee: object
) -> None:
    body = {"case_type": "inquiry", "subject": "Same words"}
    mine = api(contact).post(CASES, body, HTTP_IDEMPOTENCY_KEY="shared-key")
    theirs = api(other_contact).post(CASES, body, HTTP_IDEMPOTENCY_KEY="shared-key")
    assert mine.status_code == theirs.status_code == 201
    assert mine.json()["reference"] != theirs.json()["reference"]
    assert theirs.json()["organisation"] == other_contact.organisation.code


def test_a_malformed_idempotency_key_is_refused(
    api: Callable[..., Api], contact: User, guarantee: object
) -> None:
    response = api(contact).post(
        CASES, {"case_type": "inquiry", "subject": "x"}, HTTP_IDEMPOTENCY_KEY="x" * 201
    )
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"Idempotency-Key"}


# ---------------------------------------------------------------- actions and roles


def test_an_agent_works_a_case_through_its_life(
    api: Callable[..., Api], agent: User, contact: User, case: Case
) -> None:
    client = api(agent)
    reply = client.post(url(case, "reply"), {"body": "Please try again now."})
    assert reply.status_code == 201
    assert reply.json()["kind"] == "reply"
    note = client.post(url(case, "note"), {"body": "Reset the session store"})
    assert note.status_code == 201
    assert client.post(url(case, "classify"), {"case_type": "fault", "priority": "high"}).json()[
        "priority"
    ] == ("high")
    assert client.post(url(case, "priority"), {"priority": "low"}).json()["priority"] == "low"
    waiting = client.post(url(case, "status"), {"status": "waiting_customer"})
    assert waiting.json()["status"] == "waiting_customer"
    assert api(contact).post(url(case, "reply"), {"body": "Works now"}).status_code == 201
    assert client.post(url(case, "resolve")).json()["status"] == "resolved"
    assert client.post(url(case, "close")).json()["status"] == "closed"
    reopened = client.post(url(case, "reopen"), {"reason": "Broke again"})
    assert reopened.json()["status"] == "open"
    assert reopened.json()["reopen_count"] == 1


def test_assign_takes_team_and_person_codes(
    api: Callable[..., Api], manager: User, agent: User, case: Case
) -> None:
    response = api(manager).post(
        url(case, "assign"), {"team": agent.team.code, "assignee": agent.username}
    )
    assert response.status_code == 200
    assert response.json()["assignee"] == agent.username
    unknown = api(manager).post(url(case, "assign"), {"assignee": "nobody"})
    assert unknown.status_code == 400
    assert set(unknown.json()["error"]["fields"]) == {"assignee"}


def test_an_agent_of_another_team_reads_but_cannot_change(
    api: Callable[..., Api], other_team_agent: User, case: Case
) -> None:
    client = api(other_team_agent)
    assert client.get(url(case)).status_code == 200
    for action, body in (
        ("reply", {"body": "Hi"}),
        ("note", {"body": "Hi"}),
        ("status", {"status": "open"}),
        ("priority", {"priority": "high"}),
        ("classify", {"case_type": "fault", "priority": "high"}),
        ("resolve", None),
    ):
        response = client.post(url(case, action), body)
        assert response.status_code == 403, action
        assert response.json()["error"]["code"] == "permission_denied"
    case.refresh_from_db()
    assert case.priority == "normal"


def test_an_auditor_is_read_only(api: Callable[..., Api], auditor: User, case: Case):
    client = api(auditor)
    assert client.get(url(case)).status_code == 200
    assert client.get(url(case, "messages")).status_code == 200
    for action in ("reply", "note", "status", "priority", "assign", "classify", "resolve"):
        response = client.post(url(case, action), {"body": "x", "status": "open"})
        assert response.status_code == 403, action
    for action in ("close", "reopen"):
        assert client.post(url(case, action)).status_code == 403, action


def test_a_customer_only_replies_and_confirms(
    api: Callable[..., Api], contact: User, agent: User, case: Case
) -> None:
    client = api(contact)
    for action in ("note", "status", "priority", "assign", "classify", "resolve"):
        assert client.post(url(case, action), {"body": "x"}).status_code == 403, action
    assert client.get(url(case, "breaches")).status_code == 403
    early = client.post(url(case, "close"))
    assert early.status_code == 400
    assert "status" in early.json()["error"]["fields"]
    desk.resolve(actor=agent, case=case)
    assert client.post(url(case, "close")).json()["status"] == Status.CLOSED


def test_a_service_refusal_names_the_field(api: Callable[..., Api], agent: User, case: Case):
    client = api(agent)
    assert client.post(url(case, "resolve")).status_code == 200
    response = client.post(url(case, "status"), {"status": "open"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert error["fields"] == {"status": ["Reopen the case first."]}


def test_a_breached_case_needs_root_causes_before_it_closes(
    api: Callable[..., Api], make_case: Callable[..., Case], agent: User
) -> None:
    case = make_case(actor=agent, case_type="request", at=at(2026, 3, 2, 9))
    desk.reply(actor=agent, case=case, body="Late answer", at=at(2026, 3, 2, 11))
    client = api(agent)
    assert client.get(url(case)).json()["breached"] is True
    client.post(url(case, "resolve"))  # months late: the resolution promise is broken too
    breaches = client.get(url(case, "breaches")).json()
    assert {"first_response", "resolution"} <= {b["metric"] for b in breaches}
    refused = client.post(url(case, "close"))
    assert refused.status_code == 400
    assert "status" in refused.json()["error"]["fields"]
    for breach in breaches:
        written = client.post(
            "/api/v1/root-causes/",
            {
                "breach": breach["id"],
                "category": "staffing",
                "description": "One agent on shift",
                "corrective_action": "Two agents before 10:00",
            },
        )
        assert written.status_code == 201, written.json()
        assert written.json()["subject"] == case.reference
    assert client.post(url(case, "close")).json()["status"] == "closed"


# ---------------------------------------------------------------- listing


def test_cases_filter_by_status_type_organisation_and_breach(
    api: Callable[..., Api],
    make_case: Callable[..., Case],
    agent: User,
    other_contact: User,
) -> None:
    fault = make_case(case_type="fault", subject="Down")
    inquiry = make_case(case_type="inquiry", subject="Question")
    elsewhere = make_case(
        actor=other_contact, organisation=other_contact.organisation, service=None, team=None
    )
    late = make_case(actor=agent, case_type="request", at=at(2026, 3, 2, 9))
    desk.reply(actor=agent, case=late, body="Late", at=at(2026, 3, 2, 11))
    desk.resolve(actor=agent, case=inquiry)
    client = api(agent)

    def refs(**params: object) -> set[str]:
        response = client.get(CASES, **params)
        assert response.status_code == 200, response.json()
        return {row["reference"] for row in response.json()["results"]}

    assert refs(case_type="fault") == {fault.reference}
    assert refs(status=["resolved"]) == {inquiry.reference}
    assert refs(organisation=other_contact.organisation.code) == {elsewhere.reference}
    assert refs(breached="true") == {late.reference}
    assert late.reference not in refs(breached="false")
    assert refs(created_before="2026-03-03T00:00:00+08:00") == {late.reference}
    assert refs(open="false") == {inquiry.reference}
    assert refs(team=fault.team.code) >= {fault.reference, inquiry.reference}


def test_a_bad_filter_value_is_a_400_with_the_field(api: Callable[..., Api], agent: User):
    response = api(agent).get(CASES, status="sleeping", created_after="yesterday")
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"status", "created_after"}


def test_cases_are_ordered_and_paginated(
    api: Callable[..., Api], make_case: Callable[..., Case], agent: User
) -> None:
    made = [make_case(at=at(2026, 3, 2, 9, minute)) for minute in range(5)]
    client = api(agent)
    newest_first = client.get(CASES, limit=2).json()
    assert newest_first["count"] == 5
    assert [row["reference"] for row in newest_first["results"]] == [
        made[4].reference,
        made[3].reference,
    ]
    assert "offset=2" in newest_first["next"]
    oldest_first = client.get(CASES, ordering="created_at", limit=2, offset=2).json()
    assert [row["reference"] for row in oldest_first["results"]] == [
        made[2].reference,
        made[3].reference,
    ]
    assert client.get(CASES, limit=10_000).json()["count"] == 5


def test_the_case_list_takes_the_same_queries_for_many_rows(
    api: Callable[..., Api], make_case: Callable[..., Case], agent: User
) -> None:
    client = api(agent)
    make_case()
    client.get(CASES)  # the token's first use is recorded once
    with CaptureQueriesContext(connection) as few:
        client.get(CASES)
    for _ in range(4):
        make_case()
    with CaptureQueriesContext(connection) as many:
        client.get(CASES)
    assert len(many) == len(few)
