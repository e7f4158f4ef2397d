"""The web screens: the public survey page, the portal, the builder, results, follow-ups."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client as DjangoClient
from django.urls import reverse
from django.utils import timezone

from assura.core.models import User
from assura.voice import services as voice
from assura.voice.models import (
    FollowUp,
    Invitation,
    InvitationStatus,
    OptOut,
    Programme,
    Question,
    Response,
    Survey,
)
from tests.factories import PASSWORD


def Client() -> DjangoClient:
    """A browser that prefers English, so assertions read the English texts."""
    return DjangoClient(headers={"accept-language": "en"})


pytestmark = pytest.mark.django_db


@pytest.fixture
def fresh(
    sent_invitation: Callable[..., tuple[Invitation, str]],
) -> tuple[Invitation, str]:
    """A sent invitation whose link is valid now (sent moments ago)."""
    invitation, token = sent_invitation()
    now = timezone.now()
    Invitation.objects.filter(pk=invitation.pk).update(
        sent_at=now, expires_at=now + timedelta(days=30)
    )
    invitation.refresh_from_db()
    return invitation, token


def signed_in(person: User) -> Client:
    client = Client()
    assert client.login(username=person.username, password=PASSWORD)
    return client


# ---------------------------------------------------------------------------- public page


def test_the_survey_page_needs_no_login_and_speaks_the_invitations_language(
    fresh: tuple[Invitation, str],
) -> None:
    invitation, token = fresh
    assert invitation.language == "zh-hans"
    page = Client().get(reverse("voice:answer", args=[token]))
    assert page.status_code == 200
    html = page.content.decode()
    assert '<html lang="zh-hans">' in html
    assert invitation.survey.questions.get(code="csat").text_zh in html
    assert 'name="viewport"' in html
    english = Client().get(reverse("voice:answer", args=[token]) + "?lang=en")
    assert '<html lang="en">' in english.content.decode()
    assert invitation.survey.questions.get(code="csat").text_en in english.content.decode()


def test_answering_on_the_page_records_one_response_and_thanks(
    fresh: tuple[Invitation, str],
) -> None:
    _invitation, token = fresh
    url = reverse("voice:answer", args=[token])
    client = Client()
    posted = client.post(url, {"csat": "5", "csat__why": "Great", "resolved": "yes", "lang": "en"})
    assert posted.status_code == 302
    assert posted["Location"].startswith(reverse("voice:thanks"))
    response = Response.objects.get()
    assert response.language == "en"
    again = client.get(url)
    assert again.status_code == 410
    assert "already been answered" in again.content.decode()
    assert client.post(url, {"csat": "1", "resolved": "no"}).status_code == 410
    assert Response.objects.count() == 1


def test_an_out_of_range_answer_is_shown_beside_its_question_and_nothing_is_written(
    fresh: tuple[Invitation, str],
) -> None:
    _invitation, token = fresh
    page = Client().post(
        reverse("voice:answer", args=[token]) + "?lang=en", {"csat": "9", "resolved": "yes"}
    )
    assert page.status_code == 400
    html = page.content.decode()
    assert "Choose a whole number from 1 to 5." in html
    assert 'value="yes" checked' in html  # what was given is kept
    assert not Response.objects.exists()


def test_an_expired_or_unknown_link_says_so(fresh: tuple[Invitation, str]) -> None:
    invitation, token = fresh
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now())
    expired = Client().get(reverse("voice:answer", args=[token]) + "?lang=en")
    assert expired.status_code == 410
    assert "expired" in expired.content.decode()
    unknown = Client().get(reverse("voice:answer", args=["x" * 43]) + "?lang=en")
    assert unknown.status_code == 404
    assert "not valid" in unknown.content.decode()


def test_the_opt_out_asks_first_then_records(fresh: tuple[Invitation, str]) -> None:
    invitation, token = fresh
    url = reverse("voice:opt_out", args=[token])
    assert Client().get(url).status_code == 200
    assert not OptOut.objects.exists()
    done = Client().post(url + "?lang=en")
    assert "no more surveys" in done.content.decode()
    assert OptOut.objects.filter(contact=invitation.contact).exists()


# ---------------------------------------------------------------------------- portal


def test_a_contact_sees_only_its_own_invitations_and_answers_from_the_portal(
    fresh: tuple[Invitation, str], contact: User, second_contact: User
) -> None:
    invitation, _token = fresh
    mine = signed_in(contact).get(reverse("voice:my_surveys"))
    assert invitation.survey.title("en") in mine.content.decode()
    assert f"/my-surveys/{invitation.pk}/answer/" in mine.content.decode()
    theirs = signed_in(second_contact).get(reverse("voice:my_surveys"))
    assert f"/my-surveys/{invitation.pk}/answer/" not in theirs.content.decode()
    refused = signed_in(second_contact).post(
        reverse("voice:my_survey_answer", args=[invitation.pk])
    )
    assert refused.status_code == 404
    answer = signed_in(contact).post(reverse("voice:my_survey_answer", args=[invitation.pk]))
    assert answer.status_code == 302
    assert Client().get(answer["Location"]).status_code == 200


def test_customers_do_not_reach_staff_pages(contact: User, surveys: dict[str, Survey]) -> None:
    client = signed_in(contact)
    for name, args in (
        ("voice:surveys", []),
        ("voice:results", []),
        ("voice:follow_ups", []),
        ("voice:survey", ["csat"]),
        ("voice:programmes", []),
    ):
        assert client.get(reverse(name, args=args)).status_code == 403, name


# ---------------------------------------------------------------------------- staff pages


def test_the_builder_adds_a_question_and_a_trigger(
    quality: User, surveys: dict[str, Survey]
) -> None:
    client = signed_in(quality)
    assert client.get(reverse("voice:surveys")).status_code == 200
    assert client.get(reverse("voice:survey", args=["servqual"])).status_code == 200
    assert client.get(reverse("voice:survey_preview", args=["servqual"])).status_code == 200
    created = client.post(
        reverse("voice:survey_new"),
        {
            "code": "visit",
            "kind": "custom",
            "title_zh": "上门",
            "title_en": "Visit",
            "is_active": "on",
        },
    )
    assert created.status_code == 302
    added = client.post(
        reverse("voice:question_new", args=["visit"]),
        {
            "code": "again",
            "kind": "single",
            "text_zh": "还会选我们吗？",
            "text_en": "Again?",
            "required": "on",
            "choices_text": "yes | 会 | Yes\nno | 不会 | No | !",
        },
    )
    assert added.status_code == 302
    question = Question.objects.get(survey__code="visit", code="again")
    assert question.negative_codes() == {"no"}
    trigger = client.post(
        reverse("voice:trigger_new", args=["visit"]),
        {
            "name": "After visits",
            "kind": "after_resolution",
            "delay_hours": "1",
            "sample_percent": "50",
            "min_days_between": "14",
        },
    )
    assert trigger.status_code == 302
    saved = Survey.objects.get(code="visit").triggers.get()
    assert str(saved.sample) == "0.500"


def test_the_builder_shows_the_services_errors_beside_the_fields(
    quality: User, surveys: dict[str, Survey]
) -> None:
    page = signed_in(quality).post(
        reverse("voice:question_new", args=["csat"]),
        {"code": "csat", "kind": "rating", "text_zh": "重复", "text_en": "Duplicate"},
    )
    assert page.status_code == 200
    assert "Another question of this survey has this code." in page.content.decode()


def test_results_show_the_figures_and_chart_data(
    fresh: tuple[Invitation, str], quality: User, agent: User
) -> None:
    _invitation, token = fresh
    voice.submit(token, {"csat": 4, "resolved": "yes"})
    page = signed_in(quality).get(reverse("voice:results"))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="voice-chart-data"' in html
    assert "vendor/echarts.min.js" in html
    assert page.context["csat"].mean == 4.0
    assert page.context["rate"].sent == 1
    assert page.context["rate"].answered == 1
    by_agent = signed_in(agent).get(reverse("voice:results") + "?by=agent&survey=csat")
    assert by_agent.status_code == 200
    assert [row.csat.n for row in by_agent.context["slices"]] == [1]


def test_an_agent_completes_a_follow_up_from_the_web(
    fresh: tuple[Invitation, str], dissatisfied: Programme, owner: User
) -> None:
    _invitation, token = fresh
    voice.submit(token, {"csat": 2, "resolved": "no"})
    follow_up = FollowUp.objects.get()
    client = signed_in(owner)
    listing = client.get(reverse("voice:follow_ups"))
    assert follow_up.reference in listing.content.decode()
    page = client.get(follow_up.get_absolute_url())
    assert page.status_code == 200
    assert "Is the problem solved now?" in page.content.decode()
    missing = client.post(follow_up.get_absolute_url(), {"outcome": "unsatisfied"})
    assert missing.status_code == 200
    assert "Write down what the customer said." in missing.content.decode()
    done = client.post(
        follow_up.get_absolute_url(), {"outcome": "satisfied", "notes": "Solved after all"}
    )
    assert done.status_code == 302
    follow_up.refresh_from_db()
    assert follow_up.outcome == "satisfied"
    report = client.get(reverse("voice:follow_up_report") + "?start=2020-01-01&end=2030-12-31")
    assert report.context["total"].due == 1
    assert report.context["total"].on_time == 1


def test_a_follow_up_is_read_only_to_another_team(
    fresh: tuple[Invitation, str], dissatisfied: Programme, other_team_agent: User
) -> None:
    _invitation, token = fresh
    voice.submit(token, {"csat": 2, "resolved": "no"})
    follow_up = FollowUp.objects.get()
    client = signed_in(other_team_agent)
    page = client.get(follow_up.get_absolute_url())
    assert page.status_code == 200
    assert not page.context["may_work"]
    assert client.post(follow_up.get_absolute_url(), {"outcome": "satisfied"}).status_code == 403


def test_programmes_are_configured_on_the_web(quality: User, office: Any) -> None:
    client = signed_in(quality)
    created = client.post(
        reverse("voice:programme_new"),
        {
            "code": "routine",
            "name": "Routine",
            "kind": "routine",
            "target_hours": "18",
            "calendar": office.pk,
            "assign_to": "team",
            "sample_percent": "20",
        },
    )
    assert created.status_code == 302
    programme = Programme.objects.get(code="routine")
    assert programme.target == timedelta(hours=18)
    assert str(programme.sample) == "0.200"
    assert client.get(reverse("voice:programme_edit", args=["routine"])).status_code == 200


def test_the_invitation_list_for_staff(fresh: tuple[Invitation, str], quality: User) -> None:
    page = signed_in(quality).get(reverse("voice:invitations") + "?status=sent")
    assert page.status_code == 200
    assert [i.status for i in page.context["page"]] == [InvitationStatus.SENT]


def test_the_list_pages_ask_the_database_a_fixed_number_of_times(
    quality: User,
    resolved_case: Callable[..., Any],
    dissatisfied: Programme,
    surveys: dict[str, Survey],
    office: Any,
) -> None:
    from assura.voice.models import ProgrammeKind

    routine = voice.create_programme(
        actor=None,
        code="routine",
        name="Routine",
        kind=ProgrammeKind.ROUTINE,
        target=timedelta(hours=18),
        calendar=office,
    )
    client = signed_in(quality)
    pages = [
        reverse("voice:follow_ups") + "?show=all",
        reverse("voice:surveys"),
        reverse("voice:invitations"),
        reverse("voice:programmes"),
    ]

    def counts() -> list[int]:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        result = []
        for url in pages:
            with CaptureQueriesContext(connection) as captured:
                assert client.get(url).status_code == 200
            result.append(len(captured))
        return result

    def add_cases(n: int) -> None:
        for _ in range(n):
            case = resolved_case()
            voice.start_case_follow_ups(case, at=case.resolved_at)
            voice.send_now(actor=None, survey=surveys["csat"], contacts=[case.contact])

    add_cases(2)
    few = counts()
    add_cases(4)
    assert FollowUp.objects.filter(programme=routine).count() == 6
    assert counts() == few
