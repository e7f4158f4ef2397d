"""Surveys: the builder, triggers, invitations, one-time links, responses, low scores."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from assura.core.models import Role, User
from assura.desk import services as desk
from assura.desk.models import Case
from assura.notify.models import Notification
from assura.voice import services as voice
from assura.voice.models import (
    Answer,
    FollowUp,
    Invitation,
    InvitationStatus,
    InvitationToken,
    OptOut,
    Programme,
    Question,
    Response,
    SkipReason,
    Survey,
    Trigger,
)
from assura.voice.signals import survey_responded
from tests.factories import ContactFactory
from tests.voice.conftest import at, link_token

pytestmark = pytest.mark.django_db

GOOD = {"csat": {"value": 5, "why": "Fast"}, "resolved": "yes", "comment": "Thanks"}


# ---------------------------------------------------------------------------- builder


def test_the_shipped_templates_are_there_in_both_languages(surveys: dict[str, Survey]) -> None:
    assert {"csat", "loyalty", "servqual", "feedback"} <= set(surveys)
    servqual = surveys["servqual"].questions.filter(kind="servqual")
    assert servqual.count() == 22
    assert set(servqual.values_list("dimension", flat=True)) == {
        "tangibles",
        "reliability",
        "responsiveness",
        "assurance",
        "empathy",
    }
    for question in Question.objects.all():
        assert question.text_zh
        assert question.text_en
    loyalty = surveys["loyalty"].questions.get(code="nps")
    assert loyalty.kind == "nps"
    assert loyalty.ask_why
    keep = surveys["loyalty"].questions.get(code="keep")
    assert keep.negative_codes() == {"no"}


def test_installing_the_templates_again_changes_nothing(surveys: dict[str, Survey]) -> None:
    from assura.voice import shipped

    surveys["csat"].title_en = "Edited by the quality manager"
    surveys["csat"].save()
    assert shipped.install_now() == 0
    assert Survey.objects.get(code="csat").title_en == "Edited by the quality manager"


def test_a_quality_manager_builds_a_survey_with_ordered_bilingual_questions(
    quality: User,
) -> None:
    survey = voice.create_survey(
        actor=quality, code="onsite", title_zh="上门服务评价", title_en="On-site visit"
    )
    first = voice.add_question(
        actor=quality,
        survey=survey,
        question=voice.QuestionInput("csat", "rating", "满意吗？", "Satisfied?"),
    )
    second = voice.add_question(
        actor=quality,
        survey=survey,
        question=voice.QuestionInput(
            "again",
            "single",
            "还会选择我们吗？",
            "Would you choose us again?",
            required=False,
            choices=[
                {"code": "yes", "zh": "会", "en": "Yes"},
                {"code": "no", "zh": "不会", "en": "No", "negative": True},
            ],
        ),
    )
    assert [q.code for q in survey.questions.order_by("position")] == ["csat", "again"]
    voice.move_question(actor=quality, question=second, up=True)
    assert [q.code for q in survey.questions.order_by("position")] == ["again", "csat"]
    first.refresh_from_db()
    assert first.position == 20
    assert second.negative_codes() == {"no"}


@pytest.mark.parametrize(
    ("question", "field"),
    [
        (voice.QuestionInput("q", "rating", "", "English only"), "text_zh"),
        (voice.QuestionInput("q", "servqual", "中文", "English"), "dimension"),
        (voice.QuestionInput("q", "single", "中文", "English", choices=[]), "choices"),
        (
            voice.QuestionInput(
                "q", "multiple", "中文", "English", choices=[{"code": "a", "zh": "甲", "en": ""}]
            ),
            "choices",
        ),
        (voice.QuestionInput("bad code!", "text", "中文", "English"), "code"),
        (voice.QuestionInput("q", "slider", "中文", "English"), "kind"),
    ],
)
def test_the_builder_refuses_incomplete_questions(
    quality: User, question: voice.QuestionInput, field: str
) -> None:
    survey = voice.create_survey(actor=quality, code="s1", title_zh="调查", title_en="Survey")
    with pytest.raises(ValidationError) as error:
        voice.add_question(actor=quality, survey=survey, question=question)
    assert field in error.value.message_dict
    assert not survey.questions.exists()


def test_only_configurers_build_surveys(agent: User, auditor: User) -> None:
    for person in (agent, auditor):
        with pytest.raises(PermissionDenied):
            voice.create_survey(actor=person, code="x", title_zh="调查", title_en="Survey")


def test_an_answered_question_keeps_its_type_and_stays(
    sent_invitation: Callable[..., tuple[Invitation, str]], quality: User
) -> None:
    invitation, token = sent_invitation()
    voice.submit(token, GOOD, at=invitation.sent_at)
    question = invitation.survey.questions.get(code="csat")
    with pytest.raises(ValidationError, match="answers"):
        voice.remove_question(actor=quality, question=question)
    with pytest.raises(ValidationError) as error:
        voice.update_question(
            actor=quality,
            question=question,
            data=voice.QuestionInput("csat", "nps", question.text_zh, question.text_en),
        )
    assert "kind" in error.value.message_dict


# ---------------------------------------------------------------------------- triggers


def test_a_resolution_schedules_one_invitation_after_the_delay(
    csat_trigger: Trigger, resolved_case: Callable[..., Case], contact: User, owner: User
) -> None:
    case = resolved_case()
    voice.on_case_resolved(case, at=case.resolved_at)
    voice.on_case_resolved(case, at=case.resolved_at)  # a rerun doubles nothing
    invitation = Invitation.objects.get()
    assert invitation.status == InvitationStatus.SCHEDULED
    assert invitation.send_at == case.resolved_at + timedelta(hours=2)
    assert invitation.contact == contact
    assert invitation.agent == owner
    assert invitation.team == case.team


def test_the_desk_announces_a_resolution_after_its_commit(
    csat_trigger: Trigger,
    make_case: Callable[..., Case],
    owner: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    case = make_case()
    desk.reply(actor=owner, case=case, body="On it.", at=at(2026, 3, 2, 10, 5))
    with django_capture_on_commit_callbacks(execute=True):
        desk.resolve(actor=owner, case=case, at=at(2026, 3, 2, 11))
    assert Invitation.objects.filter(case=case).count() == 1


def test_a_rolled_back_resolution_announces_nothing(
    csat_trigger: Trigger,
    make_case: Callable[..., Case],
    owner: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    from django.db import transaction

    case = make_case()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        try:
            with transaction.atomic():
                desk.resolve(actor=owner, case=case, at=at(2026, 3, 2, 11))
                raise RuntimeError("rolled back")
        except RuntimeError:
            pass
    assert callbacks == []
    assert not Invitation.objects.exists()


def test_sampling_is_deterministic_per_case_and_near_the_share(
    csat_trigger: Trigger,
) -> None:
    picked = [voice.sampled(f"{csat_trigger.pk}:{n}", Decimal("0.3")) for n in range(4000)]
    again = [voice.sampled(f"{csat_trigger.pk}:{n}", Decimal("0.3")) for n in range(4000)]
    assert picked == again
    assert 0.27 < sum(picked) / len(picked) < 0.33
    assert voice.sampled("anything", 1) is True
    assert voice.sampled("anything", 0) is False


def test_a_case_outside_the_sample_gets_no_invitation_however_often_it_is_run(
    csat_trigger: Trigger, resolved_case: Callable[..., Case]
) -> None:
    case = resolved_case()
    csat_trigger.sample = Decimal("0.5")
    csat_trigger.save()
    for _ in range(3):
        voice.on_case_resolved(case, at=case.resolved_at)
    expected = 1 if voice.sampled(f"{csat_trigger.pk}:{case.pk}", Decimal("0.5")) else 0
    assert Invitation.objects.count() == expected


def test_at_most_one_survey_per_contact_per_n_days(
    csat_trigger: Trigger, resolved_case: Callable[..., Case]
) -> None:
    first = resolved_case(at=at(2026, 3, 2, 10))
    soon = resolved_case(at=at(2026, 3, 5, 10))
    later = resolved_case(at=at(2026, 3, 12, 10))
    for case in (first, soon, later):
        voice.on_case_resolved(case, at=case.resolved_at)
    statuses = {
        i.case_id: (i.status, i.skip_reason) for i in Invitation.objects.order_by("send_at")
    }
    assert statuses[first.pk] == (InvitationStatus.SCHEDULED, "")
    assert statuses[soon.pk] == (InvitationStatus.SKIPPED, SkipReason.TOO_SOON)
    assert statuses[later.pk] == (InvitationStatus.SCHEDULED, "")


def test_trigger_filters_by_case_type(
    csat_trigger: Trigger, resolved_case: Callable[..., Case]
) -> None:
    csat_trigger.case_types = ["fault"]
    csat_trigger.save()
    case = resolved_case()  # an inquiry
    voice.on_case_resolved(case, at=case.resolved_at)
    assert not Invitation.objects.exists()


def test_an_opted_out_contact_is_never_invited(
    sent_invitation: Callable[..., tuple[Invitation, str]],
    resolved_case: Callable[..., Case],
    contact: User,
) -> None:
    invitation, token = sent_invitation()
    voice.opt_out(token, at=invitation.sent_at)
    assert OptOut.objects.filter(contact=contact).exists()
    later = resolved_case(at=at(2026, 4, 20, 10))
    voice.on_case_resolved(later, at=later.resolved_at)
    skipped = Invitation.objects.get(case=later)
    assert (skipped.status, skipped.skip_reason) == (InvitationStatus.SKIPPED, "opted_out")
    assert not voice.send(skipped, skipped.send_at)


def test_opting_out_stops_scheduled_invitations_and_reminders(
    csat_trigger: Trigger, resolved_case: Callable[..., Case], contact: User
) -> None:
    first = resolved_case(at=at(2026, 3, 2, 10))
    voice.on_case_resolved(first, at=first.resolved_at)
    invitation = Invitation.objects.get()
    raw = voice.issue_token(invitation)
    voice.opt_out(raw)
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.SKIPPED
    assert invitation.skip_reason == SkipReason.OPTED_OUT


def test_a_periodic_trigger_surveys_each_contact_of_the_contract_once_per_period(
    surveys: dict[str, Survey], contract: Any, contact: User, second_contact: User
) -> None:
    ContactFactory()  # another customer's contact: not surveyed under this contract
    trigger = voice.create_trigger(
        actor=None,
        survey=surveys["loyalty"],
        name="Quarterly",
        kind="periodic",
        period="quarterly",
        contract=contract,
        min_days_between=0,
        first_run_at=at(2026, 4, 1),
    )
    assert voice.run_due_triggers(at(2026, 3, 31)) == 0
    assert voice.run_due_triggers(at(2026, 4, 1, 9)) == 1
    assert voice.run_due_triggers(at(2026, 4, 2, 9)) == 0
    trigger.refresh_from_db()
    assert trigger.next_run_at == at(2026, 7, 1)
    assert set(Invitation.objects.values_list("contact", flat=True)) == {
        contact.pk,
        second_contact.pk,
    }
    voice.run_periodic(trigger, at(2026, 4, 15))  # the same quarter again: nothing new
    assert Invitation.objects.count() == 2


def test_period_arithmetic() -> None:
    assert voice.next_period_start(at(2026, 11, 20), "quarterly") == at(2027, 1, 1)
    assert voice.next_period_start(at(2026, 12, 31, 23), "monthly") == at(2027, 1, 1)
    assert voice.period_label(at(2026, 5, 1), "quarterly") == "2026-Q2"
    assert voice.period_label(at(2026, 5, 1), "yearly") == "2026"


def test_a_manual_send_invites_the_chosen_contacts(
    surveys: dict[str, Survey], quality: User, contact: User, second_contact: User
) -> None:
    sent = voice.send_now(
        actor=quality, survey=surveys["servqual"], contacts=[contact, second_contact]
    )
    assert [i.status for i in sent] == [InvitationStatus.SCHEDULED] * 2
    with pytest.raises(ValidationError):
        voice.send_now(actor=quality, survey=surveys["servqual"], contacts=[quality])
    with pytest.raises(PermissionDenied):
        voice.send_now(actor=contact, survey=surveys["servqual"], contacts=[contact])


# ---------------------------------------------------------------------------- sending


def test_sending_claims_the_invitation_once_and_mails_a_hashed_one_time_link(
    sent_invitation: Callable[..., tuple[Invitation, str]], contact: User
) -> None:
    invitation, token = sent_invitation()
    assert invitation.status == InvitationStatus.SENT
    assert invitation.expires_at == invitation.sent_at + timedelta(days=30)
    assert not voice.send(invitation, invitation.sent_at)  # claimed already
    mail = Notification.objects.get(dedup_key=f"voice-invitation:{invitation.pk}")
    assert mail.recipients == [contact.email]
    assert "/voice/s/" in mail.body
    assert "opt-out" in mail.body
    stored = InvitationToken.objects.get(invitation=invitation)
    assert stored.digest == voice.token_digest(token)
    assert token not in stored.digest
    assert len(token) >= 40


def test_send_due_sends_only_what_is_due(
    csat_trigger: Trigger, resolved_case: Callable[..., Case]
) -> None:
    case = resolved_case()
    voice.on_case_resolved(case, at=case.resolved_at)
    invitation = Invitation.objects.get()
    assert voice.send_due(invitation.send_at - timedelta(minutes=1)) == 0
    assert voice.send_due(invitation.send_at) == 1
    assert voice.send_due(invitation.send_at) == 0


def test_a_reminder_goes_out_once_with_a_fresh_link(
    sent_invitation: Callable[..., tuple[Invitation, str]],
) -> None:
    invitation, token = sent_invitation()
    assert invitation.remind_at == invitation.sent_at + timedelta(days=7)
    assert voice.send_reminders(invitation.remind_at - timedelta(seconds=1)) == 0
    assert voice.send_reminders(invitation.remind_at) == 1
    assert voice.send_reminders(invitation.remind_at + timedelta(days=8)) == 0
    reminder = link_token(invitation, "reminder")
    assert reminder != token
    # Either link opens the same invitation, which takes one response.
    voice.submit(reminder, GOOD, at=invitation.remind_at)
    with pytest.raises(voice.LinkError) as error:
        voice.submit(token, GOOD, at=invitation.remind_at)
    assert error.value.code == "used"


def test_no_reminder_after_an_answer(
    sent_invitation: Callable[..., tuple[Invitation, str]],
) -> None:
    invitation, token = sent_invitation()
    voice.submit(token, GOOD, at=invitation.sent_at)
    assert voice.send_reminders(invitation.sent_at + timedelta(days=8)) == 0


# ---------------------------------------------------------------------------- answering


def test_a_contact_answers_once(sent_invitation: Callable[..., tuple[Invitation, str]]) -> None:
    invitation, token = sent_invitation()
    response = voice.submit(token, GOOD, at=invitation.sent_at + timedelta(hours=1))
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.RESPONDED
    assert not response.is_low
    answers = {a.question.code: a for a in response.answers.select_related("question")}
    assert answers["csat"].value == 5
    assert answers["csat"].text == "Fast"
    assert answers["resolved"].choices == ["yes"]
    assert answers["comment"].text == "Thanks"
    assert response.team == invitation.team
    assert not FollowUp.objects.exists()


def test_a_reused_link_is_refused_and_writes_nothing(
    sent_invitation: Callable[..., tuple[Invitation, str]],
) -> None:
    invitation, token = sent_invitation()
    voice.submit(token, GOOD, at=invitation.sent_at)
    with pytest.raises(voice.LinkError) as error:
        voice.submit(token, {"csat": 1, "resolved": "no"}, at=invitation.sent_at)
    assert error.value.code == "used"
    assert "already been answered" in error.value.message
    assert Response.objects.count() == 1
    assert Answer.objects.filter(value=1).count() == 0


def test_an_expired_link_is_refused_and_writes_nothing(
    sent_invitation: Callable[..., tuple[Invitation, str]],
) -> None:
    invitation, token = sent_invitation()
    with pytest.raises(voice.LinkError) as error:
        voice.submit(token, GOOD, at=invitation.expires_at)
    assert error.value.code == "expired"
    assert "expired" in error.value.message
    assert not Response.objects.exists()
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.SENT


def test_the_link_lifetime_follows_the_setting(
    sent_invitation: Callable[..., tuple[Invitation, str]], settings: Any
) -> None:
    settings.ASSURA_SURVEY_LINK_DAYS = 5
    invitation, _token = sent_invitation()
    assert invitation.expires_at == invitation.sent_at + timedelta(days=5)


def test_an_unknown_link_is_refused() -> None:
    with pytest.raises(voice.LinkError) as error:
        voice.submit("not-a-token-at-all-not-a-token-at-all", GOOD)
    assert error.value.code == "unknown"


@pytest.mark.parametrize(
    ("answers", "field", "message"),
    [
        ({"csat": 6, "resolved": "yes"}, "csat", "from 1 to 5"),
        ({"csat": 0, "resolved": "yes"}, "csat", "from 1 to 5"),
        ({"csat": "4.5", "resolved": "yes"}, "csat", "from 1 to 5"),
        ({"csat": True, "resolved": "yes"}, "csat", "from 1 to 5"),
        ({"csat": 4, "resolved": "maybe"}, "resolved", "options offered"),
        ({"resolved": "yes"}, "csat", "needs an answer"),
        ({"csat": 4, "resolved": "yes", "extra": 1}, "__all__", "Unknown questions"),
        ({"csat": 4, "resolved": "yes", "comment": "x" * 5001}, "comment", "under 5000"),
    ],
)
def test_out_of_range_or_missing_answers_are_refused_and_nothing_is_written(
    sent_invitation: Callable[..., tuple[Invitation, str]],
    answers: dict[str, Any],
    field: str,
    message: str,
) -> None:
    invitation, token = sent_invitation()
    with pytest.raises(ValidationError) as error:
        voice.submit(token, answers, at=invitation.sent_at)
    assert message in " ".join(error.value.message_dict[field])
    assert not Response.objects.exists()
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.SENT
    # The link still works for a correct answer.
    voice.submit(token, GOOD, at=invitation.sent_at)


def test_servqual_and_nps_answers_are_range_checked(
    surveys: dict[str, Survey], contact: User
) -> None:
    contact.email = "c@example.test"
    contact.save()
    (invitation,) = voice.send_now(actor=None, survey=surveys["servqual"], contacts=[contact])
    voice.send(invitation)
    token = link_token(invitation)
    answers: dict[str, Any] = {
        q.code: {"expectation": 6, "perception": 5}
        for q in surveys["servqual"].questions.filter(kind="servqual")
    }
    answers["T1"] = {"expectation": 8, "perception": 5}
    answers["T2"] = {"expectation": 6}
    with pytest.raises(ValidationError) as error:
        voice.submit(token, answers)
    assert "from 1 to 7" in error.value.message_dict["T1"][0]
    assert "both" in error.value.message_dict["T2"][0]
    answers["T1"] = answers["T2"] = {"expectation": 7, "perception": 4}
    response = voice.submit(token, answers)
    assert response.answers.filter(expectation=7, perception=4).count() == 2


def test_two_submissions_at_once_record_one_response(
    sent_invitation: Callable[..., tuple[Invitation, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    invitation, token = sent_invitation()
    stale = voice.open_link(token, invitation.sent_at)
    # The second request read the invitation before the first one claimed it.
    voice.submit(token, GOOD, at=invitation.sent_at)
    monkeypatch.setattr(voice, "open_link", lambda raw, now=None: stale)
    with pytest.raises(voice.LinkError) as error:
        voice.submit(token, {"csat": 1, "resolved": "no"}, at=invitation.sent_at)
    assert error.value.code == "used"
    assert Response.objects.count() == 1
    assert not FollowUp.objects.exists()


def test_the_response_is_announced_after_commit(
    sent_invitation: Callable[..., tuple[Invitation, str]],
    django_capture_on_commit_callbacks: Any,
) -> None:
    invitation, token = sent_invitation()
    heard: list[tuple[Response, bool]] = []

    def listen(sender: object, response: Response, low: bool, **kwargs: Any) -> None:
        heard.append((response, low))

    survey_responded.connect(listen)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = voice.submit(token, GOOD, at=invitation.sent_at)
            assert heard == []
    finally:
        survey_responded.disconnect(listen)
    assert heard == [(response, False)]


# ---------------------------------------------------------------------------- low scores


@pytest.mark.parametrize(
    ("answers", "reasons"),
    [
        ({"csat": 3, "resolved": "yes"}, ["csat"]),
        ({"csat": 1, "resolved": "no"}, ["csat", "resolved"]),
        ({"csat": 5, "resolved": "no"}, ["resolved"]),
    ],
)
def test_a_low_score_opens_a_mandatory_follow_up_and_tells_the_first_contact_owner(
    sent_invitation: Callable[..., tuple[Invitation, str]],
    dissatisfied: Programme,
    owner: User,
    answers: dict[str, Any],
    reasons: list[str],
) -> None:
    invitation, token = sent_invitation()
    response = voice.submit(token, answers, at=invitation.sent_at)
    assert response.is_low
    assert response.low_reasons == reasons
    follow_up = FollowUp.objects.get(response=response)
    assert follow_up.programme == dissatisfied
    assert follow_up.kind == "dissatisfied"
    assert follow_up.case == invitation.case
    assert follow_up.assignee == owner
    assert follow_up.due_at is not None
    mail = Notification.objects.get(dedup_key=f"voice-low-score:{response.pk}:{owner.pk}")
    assert mail.recipients == [owner.email]
    assert follow_up.reference in mail.body


def test_a_csat_of_4_is_not_a_low_score(
    sent_invitation: Callable[..., tuple[Invitation, str]], dissatisfied: Programme
) -> None:
    invitation, token = sent_invitation()
    response = voice.submit(token, {"csat": 4, "resolved": "partly"}, at=invitation.sent_at)
    assert not response.is_low
    assert not FollowUp.objects.exists()


@pytest.mark.parametrize(("score", "low"), [(6, True), (7, False), (8, False), (9, False)])
def test_an_nps_detractor_is_a_low_score(
    surveys: dict[str, Survey], contact: User, score: int, low: bool
) -> None:
    (invitation,) = voice.send_now(actor=None, survey=surveys["loyalty"], contacts=[contact])
    voice.send(invitation, deliver=False)
    raw = voice.issue_token(invitation)
    response = voice.submit(raw, {"nps": {"value": score, "why": "because"}, "keep": "yes"})
    assert response.is_low is low
    assert FollowUp.objects.filter(response=response).exists() is low


def test_without_a_configured_programme_a_default_one_still_follows_up(
    sent_invitation: Callable[..., tuple[Invitation, str]], owner: User
) -> None:
    invitation, token = sent_invitation()
    response = voice.submit(token, {"csat": 1, "resolved": "no"}, at=invitation.sent_at)
    follow_up = FollowUp.objects.get(response=response)
    assert follow_up.programme.code == "default-dissatisfied"
    assert follow_up.assignee == owner


# ---------------------------------------------------------------------------- portal


def test_a_contact_answers_its_own_invitation_from_the_portal_only(
    sent_invitation: Callable[..., tuple[Invitation, str]],
    contact: User,
    second_contact: User,
) -> None:
    invitation, _token = sent_invitation()
    raw = voice.portal_link(actor=contact, invitation=invitation, now=invitation.sent_at)
    assert voice.open_link(raw, invitation.sent_at) == invitation
    with pytest.raises(PermissionDenied):
        voice.portal_link(actor=second_contact, invitation=invitation, now=invitation.sent_at)
    assert not Invitation.objects.visible_to(second_contact).exists()
    assert list(Invitation.objects.visible_to(contact)) == [invitation]


def test_staff_see_every_invitation_and_response(
    sent_invitation: Callable[..., tuple[Invitation, str]], agent: User
) -> None:
    invitation, token = sent_invitation()
    voice.submit(token, GOOD, at=invitation.sent_at)
    assert Invitation.objects.visible_to(agent).count() == 1
    assert Response.objects.visible_to(agent).count() == 1


def test_a_staff_member_cannot_hold_answer_surveys(agent: User) -> None:
    from assura.core.permissions import Action, can

    assert not can(agent, Action.ANSWER_SURVEYS)
    assert can(agent, Action.VIEW_SURVEYS)
    assert agent.role == Role.AGENT


def test_a_wrong_staff_address_never_refuses_the_customers_answer(
    sent_invitation: Callable[..., tuple[Invitation, str]],
    dissatisfied: Programme,
    owner: User,
) -> None:
    owner.email = "not an address"
    owner.save(update_fields=["email"])
    invitation, token = sent_invitation()
    response = voice.submit(token, {"csat": 1, "resolved": "no"}, at=invitation.sent_at)
    assert FollowUp.objects.filter(response=response).exists()
    assert not Notification.objects.filter(dedup_key__startswith="voice-low-score:").exists()
