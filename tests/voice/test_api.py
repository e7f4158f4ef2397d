"""Surveys and follow-ups over the API: the same checks and scope as the web pages."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client as DjangoClient
from django.utils import timezone

from assura.core import services as core_services
from assura.core.models import User
from assura.voice.models import FollowUp, Invitation, Programme, Response


def Client() -> DjangoClient:
    """A browser that prefers English, so assertions read the English texts."""
    return DjangoClient(headers={"accept-language": "en"})


pytestmark = pytest.mark.django_db


def bearer(person: User) -> dict[str, str]:
    _token, secret = core_services.issue_api_token(actor=person, name="test")
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


@pytest.fixture
def fresh(sent_invitation) -> tuple[Invitation, str]:  # type: ignore[no-untyped-def]
    invitation, token = sent_invitation()
    now = timezone.now()
    Invitation.objects.filter(pk=invitation.pk).update(
        sent_at=now, expires_at=now + timedelta(days=30)
    )
    invitation.refresh_from_db()
    return invitation, token


def respond(token: str, answers: dict[str, object]) -> object:
    return Client().post(
        f"/api/v1/survey-links/{token}/respond/",
        {"answers": answers, "language": "en"},
        content_type="application/json",
    )


def test_a_link_is_answered_once_over_the_api_without_signing_in(
    fresh: tuple[Invitation, str],
) -> None:
    _invitation, token = fresh
    survey = Client().get(f"/api/v1/survey-links/{token}/")
    assert survey.status_code == 200
    assert survey.json()["code"] == "csat"
    first = respond(token, {"csat": {"value": 5, "why": "ok"}, "resolved": "yes"})
    assert first.status_code == 201  # type: ignore[attr-defined]
    assert first.json()["is_low"] is False  # type: ignore[attr-defined]
    again = respond(token, {"csat": 5, "resolved": "yes"})
    assert again.status_code == 410  # type: ignore[attr-defined]
    assert "already been answered" in again.json()["error"]["message"]  # type: ignore[attr-defined]
    assert Response.objects.count() == 1


def test_out_of_range_answers_over_the_api_name_the_question(
    fresh: tuple[Invitation, str],
) -> None:
    _invitation, token = fresh
    refused = respond(token, {"csat": 7, "resolved": "yes"})
    assert refused.status_code == 400  # type: ignore[attr-defined]
    assert "csat" in refused.json()["error"]["fields"]  # type: ignore[attr-defined]
    assert not Response.objects.exists()
    unknown = respond("y" * 43, {"csat": 5})
    assert unknown.status_code == 404  # type: ignore[attr-defined]


def test_a_customer_lists_only_its_own_invitations(
    fresh: tuple[Invitation, str], contact: User, second_contact: User, agent: User
) -> None:
    mine = Client().get("/api/v1/survey-invitations/", **bearer(contact)).json()
    assert [row["id"] for row in mine["results"]] == [fresh[0].pk]
    theirs = Client().get("/api/v1/survey-invitations/", **bearer(second_contact)).json()
    assert theirs["results"] == []
    assert (
        Client().get(f"/api/v1/survey-invitations/{fresh[0].pk}/", **bearer(second_contact))
    ).status_code == 404
    assert Client().get("/api/v1/survey-invitations/", **bearer(agent)).json()["count"] == 1
    assert Client().get("/api/v1/follow-ups/", **bearer(contact)).status_code == 403
    assert Client().get("/api/v1/surveys/", **bearer(contact)).status_code == 403


def test_staff_complete_a_follow_up_and_read_the_results(
    fresh: tuple[Invitation, str], dissatisfied: Programme, owner: User, other_team_agent: User
) -> None:
    _invitation, token = fresh
    respond(token, {"csat": 2, "resolved": "no"})
    follow_up = FollowUp.objects.get()
    url = f"/api/v1/follow-ups/{follow_up.reference}/"
    listed = Client().get("/api/v1/follow-ups/?status=open", **bearer(owner)).json()
    assert [row["reference"] for row in listed["results"]] == [follow_up.reference]
    refused = Client().post(
        url + "complete/",
        {"outcome": "satisfied"},
        content_type="application/json",
        **bearer(other_team_agent),
    )
    assert refused.status_code == 403
    done = Client().post(
        url + "complete/",
        {"outcome": "partly_satisfied", "notes": "Wants faster updates"},
        content_type="application/json",
        **bearer(owner),
    )
    assert done.status_code == 200
    assert done.json()["status"] == "done"
    results = Client().get("/api/v1/surveys/results/?survey=csat", **bearer(owner)).json()
    assert results["csat"]["n"] == 1
    assert results["csat"]["mean"] == 2.0
    assert results["response_rate"] == {"sent": 1, "answered": 1, "rate": 1.0}
    assert set(results["servqual"]["dimensions"]) == set()


def test_the_results_refuse_a_bad_period(owner: User) -> None:
    answer = Client().get("/api/v1/surveys/results/?start=yesterday", **bearer(owner))
    assert answer.status_code == 400
