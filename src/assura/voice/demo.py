"""Surveys and follow-ups over the demo's period, through the real services.

Runs after the desk's demo. Every resolved demo case is handed to the same function a
live resolution calls (`on_case_resolved`), so the CSAT trigger's sampling and its
"one survey per contact per 3 days" rule decide who is invited; contacts answer most
invitations a little later, with satisfaction around 4.5 out of 5. A loyalty (NPS)
survey went to every contact three times in the period and a SERVQUAL survey twice.
Low scores open mandatory follow-ups; routine and complaint follow-ups come from their
programmes; most follow-ups are completed in time by the care team, a few late, the
newest are still open. Invitations of the past are recorded as sent without e-mails.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from assura.calendars.models import Calendar
from assura.core.models import Role, Team, User
from assura.desk.models import Case
from assura.voice import services, servqual, shipped
from assura.voice.models import (
    AssignTo,
    FollowUp,
    FollowUpStatus,
    Invitation,
    InvitationStatus,
    Outcome,
    Programme,
    ProgrammeKind,
    Survey,
    TriggerKind,
)

SEED = 20261201
CSAT_WEIGHTS = {5: 62, 4: 28, 3: 6, 2: 3, 1: 1}  # mean 4.47
NPS_WEIGHTS = {10: 30, 9: 25, 8: 18, 7: 12, 6: 6, 5: 4, 4: 3, 3: 2}
ANSWER_SHARE = 0.75
LATE_EVERY = 12
COMMENTS = {
    "good": ["工程师很专业，响应及时。", "Quick and clear, thank you.", "问题一次就解决了。"],
    "bad": ["等了太久才有人联系我。", "The fix did not last.", "沟通不够及时。"],
}
NOTES = {
    Outcome.SATISFIED: "客户确认问题已解决，对处理过程满意。",
    Outcome.PARTLY: "客户认可结果，但希望今后能更早通知进展。",
    Outcome.UNSATISFIED: "客户仍不满意响应速度，已记录并反馈给组长。",
    Outcome.UNREACHABLE: "两次致电无人接听，已发邮件。",
    Outcome.REFUSED: "客户表示不需要回访。",
}


def load() -> list[str]:
    if Programme.objects.filter(code__startswith="demo-").exists():
        return []
    rng = random.Random(SEED)
    days = int(getattr(settings, "ASSURA_DEMO_DAYS", 90))
    end = timezone.now()
    start = end - timedelta(days=days)
    with transaction.atomic():
        shipped.install_now()
        surveys = {s.code: s for s in Survey.objects.all()}
        _configure(surveys, end)
        invited = _after_resolutions(rng, end)
        for share in (0.03, 0.35, 0.7):
            _one_off(rng, surveys["loyalty"], start + timedelta(days=days * share), end)
        for share in (0.2, 0.8):
            _one_off(rng, surveys["servqual"], start + timedelta(days=days * share), end)
        done = _work_follow_ups(rng, end)
    return [f"  {invited} survey invitations and {done} completed follow-ups"]


def _configure(surveys: dict[str, Survey], end: datetime) -> None:
    office = Calendar.objects.get(code="cn-standard")
    care = Team.objects.filter(code="care").first()
    services.create_trigger(
        actor=None,
        survey=surveys["csat"],
        name="结案后满意度调查 After resolution",
        kind=TriggerKind.AFTER_RESOLUTION,
        delay=timedelta(hours=2),
        sample=Decimal("0.6"),
        min_days_between=3,
    )
    services.create_trigger(
        actor=None,
        survey=surveys["loyalty"],
        name="季度忠诚度调查 Quarterly loyalty",
        kind=TriggerKind.PERIODIC,
        period="quarterly",
        min_days_between=0,
        first_run_at=services.next_period_start(end, "quarterly"),
    )
    for code, name, kind, hours, assign_to, sample in (
        ("demo-routine", "例行回访 Routine", ProgrammeKind.ROUTINE, 18, AssignTo.TEAM, "0.2"),
        (
            "demo-unhappy",
            "不满意回访 Dissatisfied",
            ProgrammeKind.DISSATISFIED,
            9,
            AssignTo.FIRST_CONTACT_OWNER,
            "1",
        ),
        ("demo-complaint", "投诉回访 Complaints", ProgrammeKind.COMPLAINT, 18, AssignTo.TEAM, "1"),
        ("demo-result", "改进结果回访 Results", ProgrammeKind.RESULT, 27, AssignTo.TEAM, "1"),
    ):
        services.create_programme(
            actor=None,
            code=code,
            name=name,
            kind=kind,
            target=timedelta(hours=hours),
            calendar=office,
            team=care,
            assign_to=assign_to,
            sample=Decimal(sample),
            script_zh="您好，我是客户关怀专员，想了解一下您最近的服务体验。\n"
            "问题现在是否已经彻底解决？\n您对处理过程还有什么意见或建议？",
            script_en="Hello, this is customer care calling about your recent experience.\n"
            "Is the problem completely solved now?\nIs there anything we should do better?",
        )


def _after_resolutions(rng: random.Random, end: datetime) -> int:
    cases = Case.objects.filter(resolved_at__isnull=False, idempotency_key__startswith="demo-")
    for case in cases.select_related("contact", "team", "assignee").order_by("resolved_at", "pk"):
        services.on_case_resolved(case, at=case.resolved_at)
    count = 0
    for invitation in (
        Invitation.objects.filter(status=InvitationStatus.SCHEDULED, send_at__lt=end)
        .select_related("survey", "contact")
        .order_by("send_at", "pk")
    ):
        count += _send_and_answer(rng, invitation, invitation.send_at, end)
    return count


def _one_off(rng: random.Random, survey: Survey, at: datetime, end: datetime) -> None:
    contacts = User.objects.filter(role=Role.CUSTOMER, is_active=True).order_by("username")
    for invitation in services.send_now(actor=None, survey=survey, contacts=contacts, at=at):
        if invitation.status == InvitationStatus.SCHEDULED:
            _send_and_answer(rng, invitation, at, end)


def _send_and_answer(
    rng: random.Random, invitation: Invitation, at: datetime, end: datetime
) -> int:
    if not services.send(invitation, at, deliver=False):
        return 0
    answered = at + timedelta(hours=rng.uniform(0.5, 60))
    if rng.random() < ANSWER_SHARE and answered < end:
        raw = services.issue_token(invitation, at)
        services.submit(raw, _answers(rng, invitation.survey), at=answered, announce=False)
    return 1


def _pick(rng: random.Random, weights: dict[int, int]) -> int:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _answers(rng: random.Random, survey: Survey) -> dict[str, object]:
    if survey.code == "csat":
        score = _pick(rng, CSAT_WEIGHTS)
        comment = rng.choice(COMMENTS["good" if score >= 4 else "bad"])
        resolved = "yes" if score >= 4 else rng.choice(["partly", "no"])
        return {
            "csat": {"value": score, "why": comment if rng.random() < 0.4 else ""},
            "resolved": resolved,
        }
    if survey.code == "loyalty":
        score = _pick(rng, NPS_WEIGHTS)
        keep = "yes" if score >= 7 else rng.choice(["unsure", "unsure", "no"])
        return {"nps": {"value": score, "why": ""}, "keep": keep}
    # A respondent's overall impression, shifted per dimension, drives its perceptions, so
    # the items of one dimension agree with each other as real answers do.
    impression = rng.gauss(0, 0.8)
    by_dimension = {d: impression + rng.gauss(0, 0.4) for d in servqual.DIMENSIONS}
    answers: dict[str, object] = {}
    for item in servqual.ITEMS:
        expectation = min(7, max(1, round(rng.gauss(6.2, 0.5))))
        shortfall = {"responsiveness": 0.9, "reliability": 0.6}.get(item.dimension, 0.3)
        felt = 6.2 - shortfall + by_dimension[item.dimension] + rng.gauss(0, 0.35)
        perception = min(7, max(1, round(felt)))
        answers[item.code] = {"expectation": expectation, "perception": perception}
    return answers


def _work_follow_ups(rng: random.Random, end: datetime) -> int:
    done = 0
    rows = FollowUp.objects.filter(status=FollowUpStatus.OPEN).select_related(
        "programme__calendar__current_version", "team", "assignee", "case"
    )
    for number, follow_up in enumerate(rows.order_by("created_at", "pk"), start=1):
        calendar = follow_up.programme.calendar.current_version.work_calendar()  # type: ignore[union-attr]
        target = follow_up.programme.target.total_seconds()
        # Every LATE_EVERY-th follow-up is late: about 92 % on time, whatever the period.
        late = number % LATE_EVERY == LATE_EVERY // 2
        share = rng.uniform(1.05, 1.6) if late else rng.uniform(0.05, 0.9)
        at = calendar.add(follow_up.created_at, target * share)
        if at >= end:
            continue
        actor = follow_up.assignee or _caller(rng, follow_up.team)
        if actor is None:
            continue
        outcome = rng.choices(
            list(NOTES),
            weights=[70, 12, 6, 9, 3] if follow_up.response_id is None else [40, 30, 20, 8, 2],
        )[0]
        services.complete(
            actor=actor, follow_up=follow_up, outcome=outcome, notes=NOTES[outcome], at=at
        )
        done += 1
    return done


def _caller(rng: random.Random, team: Team | None) -> User | None:
    people = list(User.objects.filter(team=team, role=Role.AGENT, is_active=True)) if team else []
    return rng.choice(people) if people else None
