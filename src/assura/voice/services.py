"""Every write of the voice app: one function per business action, in a transaction,
with its audit entry.

Surveys: the builder, triggers, invitations (scheduled, sent, reminded), one-time links,
responses, opt-outs. A low score (CSAT ≤ 3, an NPS detractor, or a choice the survey
marks negative) opens a mandatory follow-up and tells the case's first-contact owner in
the same transaction as the response.

Follow-ups (回访): programmes and the tasks they create. Each task is the subject of an
SLA clock (metric `follow_up`) on its programme's calendar, so it warns and breaches
through the sla engine like a case's promise. Completing a task records its outcome and
carries out the next steps (reopen the case, open a complaint, record a suggestion)
through the desk's own services, all or nothing.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, models, transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from assura.calendars import services as calendar_services
from assura.calendars.models import Calendar
from assura.commitments.models import CaseType, Channel, Contract, Service
from assura.core import numbering
from assura.core.audit import acting_as
from assura.core.models import Organisation, OrganisationKind, Role, Team, User, code_validator
from assura.core.permissions import Action, can
from assura.desk import services as desk
from assura.desk.models import Case, Status
from assura.notify import services as notify
from assura.sla import services as sla
from assura.sla.models import Clock, ClockStatus
from assura.voice import statistics
from assura.voice.models import (
    COUNTED_STATUSES,
    SCALES,
    AssignTo,
    Dimension,
    FollowUp,
    FollowUpCounter,
    FollowUpStatus,
    Invitation,
    InvitationStatus,
    InvitationToken,
    Language,
    NextStep,
    OptOut,
    Outcome,
    Period,
    Programme,
    ProgrammeKind,
    Question,
    QuestionKind,
    Response,
    SkipReason,
    Survey,
    SurveyKind,
    Trigger,
    TriggerKind,
)
from assura.voice.models import Answer as AnswerRow
from assura.voice.signals import follow_up_done, survey_responded

log = logging.getLogger("assura.voice")

#: The metric code of a follow-up task's clock.
FOLLOW_UP_METRIC = "follow_up"
MAX_TEXT = 5000
#: A programme created because none was configured: two working days of a 9-18 calendar.
DEFAULT_TARGET = timedelta(hours=18)


def link_days() -> int:
    """How long an invitation's link stays valid (ASSURA_SURVEY_LINK_DAYS, default 30)."""
    return int(getattr(settings, "ASSURA_SURVEY_LINK_DAYS", 30))


def reminder_days() -> int:
    """Days after sending before a reminder goes out (ASSURA_SURVEY_REMINDER_DAYS, 7)."""
    return int(getattr(settings, "ASSURA_SURVEY_REMINDER_DAYS", 7))


def max_reminders() -> int:
    """Reminders per invitation (ASSURA_SURVEY_REMINDERS, default 1; 0 sends none)."""
    return int(getattr(settings, "ASSURA_SURVEY_REMINDERS", 1))


def _now(at: datetime | None) -> datetime:
    if at is not None and timezone.is_naive(at):
        raise ValidationError(_("Times must carry a time zone."))
    return at or timezone.now()


def _require(actor: User | None, action: Action, obj: Any = None) -> None:
    """The system (actor None) may do anything; people only what the matrix allows."""
    if actor is not None and not can(actor, action, obj):
        raise PermissionDenied(_("You are not allowed to do this."))


def language_of(person: User | None) -> str:
    code = ((person.language if person else "") or settings.LANGUAGE_CODE).lower()
    return Language.EN if code.startswith("en") else Language.ZH_HANS


def sampled(key: str, fraction: Decimal | float) -> bool:
    """Deterministic sampling: the same key is always in or always out.

    The first 8 bytes of SHA-256(key), read as a number in [0, 1), are compared with
    the fraction, so rerunning a trigger picks exactly the same cases.
    """
    fraction = Decimal(str(fraction))
    if fraction >= 1:
        return True
    if fraction <= 0:
        return False
    digest = hashlib.sha256(key.encode()).digest()
    return Decimal(int.from_bytes(digest[:8], "big")) / Decimal(2**64) < fraction


# ============================================================================ survey builder


SURVEY_FIELDS = ("kind", "title_zh", "title_en", "intro_zh", "intro_en", "is_active")


def create_survey(
    *,
    actor: User | None,
    code: str,
    title_zh: str,
    title_en: str,
    kind: str = SurveyKind.CUSTOM,
    intro_zh: str = "",
    intro_en: str = "",
    is_active: bool = True,
) -> Survey:
    _require(actor, Action.MANAGE_SURVEYS)
    survey = Survey(
        code=code.strip(),
        kind=kind,
        title_zh=title_zh.strip(),
        title_en=title_en.strip(),
        intro_zh=intro_zh.strip(),
        intro_en=intro_en.strip(),
        is_active=is_active,
    )
    _check_survey(survey, new=True)
    with acting_as(actor):
        survey.save()
    return survey


def update_survey(*, actor: User | None, survey: Survey, **fields: Any) -> Survey:
    _require(actor, Action.MANAGE_SURVEYS)
    unknown = set(fields) - set(SURVEY_FIELDS)
    if unknown:
        raise ValidationError(_("Unknown survey fields: %(f)s") % {"f": ", ".join(sorted(unknown))})
    for name, value in fields.items():
        setattr(survey, name, value.strip() if isinstance(value, str) else value)
    _check_survey(survey, new=False)
    with acting_as(actor):
        survey.save()
    return survey


def _check_survey(survey: Survey, *, new: bool) -> None:
    errors: dict[str, str] = {}
    if new:
        try:
            code_validator(survey.code)
        except ValidationError as error:
            errors["code"] = error.messages[0]
        else:
            if Survey.objects.filter(code=survey.code).exists():
                errors["code"] = _("A survey with this code exists.")
    if survey.kind not in SurveyKind.values:
        errors["kind"] = _("Choose a kind of survey.")
    if not survey.title_zh:
        errors["title_zh"] = _("Give the survey a Chinese title.")
    if not survey.title_en:
        errors["title_en"] = _("Give the survey an English title.")
    if errors:
        raise ValidationError(errors)


@dataclass(frozen=True)
class QuestionInput:
    code: str
    kind: str
    text_zh: str
    text_en: str
    required: bool = True
    ask_why: bool = False
    dimension: str = ""
    #: [{"code", "zh", "en", "negative"}]
    choices: Sequence[Mapping[str, Any]] = ()


def add_question(*, actor: User | None, survey: Survey, question: QuestionInput) -> Question:
    """Append a question to the survey (it goes last; `move_question` reorders)."""
    _require(actor, Action.MANAGE_SURVEYS)
    choices = _check_question(survey, question, existing=None)
    last = survey.questions.aggregate(last=models.Max("position"))["last"] or 0
    with acting_as(actor):
        return Question.objects.create(
            survey=survey,
            position=last + 10,
            code=question.code.strip(),
            kind=question.kind,
            text_zh=question.text_zh.strip(),
            text_en=question.text_en.strip(),
            required=question.required,
            ask_why=question.ask_why and question.kind in (QuestionKind.RATING, QuestionKind.NPS),
            dimension=question.dimension if question.kind == QuestionKind.SERVQUAL else "",
            choices=choices,
        )


def update_question(*, actor: User | None, question: Question, data: QuestionInput) -> Question:
    """Change a question's wording and options; its type is fixed once it has answers."""
    _require(actor, Action.MANAGE_SURVEYS)
    choices = _check_question(question.survey, data, existing=question)
    if data.kind != question.kind and question.answers.exists():
        raise ValidationError(
            {"kind": _("This question has answers; its type can no longer change.")}
        )
    removed = {c["code"] for c in question.choices or []} - {c["code"] for c in choices}
    if removed and question.answers.exists():
        raise ValidationError(
            {"choices": _("Answered choices cannot be removed: %(c)s") % {"c": ", ".join(removed)}}
        )
    with acting_as(actor):
        question.code = data.code.strip()
        question.kind = data.kind
        question.text_zh, question.text_en = data.text_zh.strip(), data.text_en.strip()
        question.required = data.required
        question.ask_why = data.ask_why and data.kind in (QuestionKind.RATING, QuestionKind.NPS)
        question.dimension = data.dimension if data.kind == QuestionKind.SERVQUAL else ""
        question.choices = choices
        question.save()
    return question


def remove_question(*, actor: User | None, question: Question) -> None:
    _require(actor, Action.MANAGE_SURVEYS)
    if question.answers.exists():
        raise ValidationError(
            _("This question has answers and stays; copy the survey to ask differently.")
        )
    with acting_as(actor):
        question.delete()


def move_question(*, actor: User | None, question: Question, up: bool) -> Question:
    """Swap the question with its neighbour; positions are renumbered 10, 20, 30…"""
    _require(actor, Action.MANAGE_SURVEYS)
    with acting_as(actor):
        ordered = list(
            Question.objects.select_for_update()
            .filter(survey=question.survey_id)
            .order_by("position", "pk")
        )
        index = next(i for i, q in enumerate(ordered) if q.pk == question.pk)
        other = index - 1 if up else index + 1
        if 0 <= other < len(ordered):
            ordered[index], ordered[other] = ordered[other], ordered[index]
        for position, item in enumerate(ordered, start=1):
            if item.position != position * 10:
                item.position = position * 10
                item.save(update_fields=["position"])
    question.refresh_from_db()
    return question


def _check_question(
    survey: Survey, data: QuestionInput, existing: Question | None
) -> list[dict[str, Any]]:
    errors: dict[str, str] = {}
    code = data.code.strip()
    try:
        code_validator(code)
    except ValidationError as error:
        errors["code"] = error.messages[0]
    else:
        clash = Question.objects.filter(survey=survey, code=code)
        if existing is not None:
            clash = clash.exclude(pk=existing.pk)
        if clash.exists():
            errors["code"] = _("Another question of this survey has this code.")
    if data.kind not in QuestionKind.values:
        errors["kind"] = _("Choose a question type.")
    if not data.text_zh.strip():
        errors["text_zh"] = _("Write the question in Chinese.")
    if not data.text_en.strip():
        errors["text_en"] = _("Write the question in English.")
    if data.kind == QuestionKind.SERVQUAL and data.dimension not in Dimension.values:
        errors["dimension"] = _("A SERVQUAL item belongs to one of the five dimensions.")
    choices: list[dict[str, Any]] = []
    if data.kind in (QuestionKind.SINGLE, QuestionKind.MULTIPLE):
        seen = set()
        for raw in data.choices:
            choice = {
                "code": str(raw.get("code", "")).strip(),
                "zh": str(raw.get("zh", "")).strip(),
                "en": str(raw.get("en", "")).strip(),
                "negative": bool(raw.get("negative")),
            }
            if not choice["code"] or not choice["zh"] or not choice["en"] or choice["code"] in seen:
                errors["choices"] = _(
                    "Each choice needs its own code and a label in both languages."
                )
                break
            seen.add(choice["code"])
            choices.append(choice)
        if len(choices) < 2 and "choices" not in errors:
            errors["choices"] = _("Offer at least two choices.")
    if errors:
        raise ValidationError(errors)
    return choices


# ============================================================================ triggers


def create_trigger(
    *,
    actor: User | None,
    survey: Survey,
    name: str,
    kind: str,
    delay: timedelta | None = None,
    sample: Decimal | float = 1,
    min_days_between: int = 30,
    case_types: Sequence[str] = (),
    service: Service | None = None,
    contract: Contract | None = None,
    period: str = "",
    first_run_at: datetime | None = None,
    is_active: bool = True,
) -> Trigger:
    _require(actor, Action.MANAGE_SURVEYS)
    trigger = Trigger(
        survey=survey,
        name=name.strip(),
        kind=kind,
        delay=delay,
        sample=Decimal(str(sample)),
        min_days_between=min_days_between,
        case_types=list(case_types),
        service=service,
        contract=contract,
        period=period,
        is_active=is_active,
    )
    _check_trigger(trigger)
    if kind == TriggerKind.PERIODIC:
        trigger.next_run_at = first_run_at or timezone.now()
    with acting_as(actor):
        trigger.save()
    return trigger


def set_trigger_active(*, actor: User | None, trigger: Trigger, active: bool) -> Trigger:
    _require(actor, Action.MANAGE_SURVEYS)
    with acting_as(actor):
        trigger.is_active = active
        if active and trigger.kind == TriggerKind.PERIODIC and trigger.next_run_at is None:
            trigger.next_run_at = timezone.now()
        trigger.save(update_fields=["is_active", "next_run_at"])
    return trigger


def _check_trigger(trigger: Trigger) -> None:
    errors: dict[str, str] = {}
    if not trigger.name:
        errors["name"] = _("Name the trigger.")
    if trigger.kind not in TriggerKind.values:
        errors["kind"] = _("Choose when the survey goes out.")
    if not Decimal(0) <= trigger.sample <= Decimal(1):
        errors["sample"] = _("The sample is a share between 0 and 100 %.")
    if trigger.delay is not None and trigger.delay < timedelta(0):
        errors["delay"] = _("The delay cannot be negative.")
    if trigger.kind == TriggerKind.PERIODIC and trigger.period not in Period.values:
        errors["period"] = _("Choose how often the survey goes out.")
    bad_types = set(trigger.case_types) - set(CaseType.values)
    if bad_types:
        errors["case_types"] = _("Unknown case type: %(t)s") % {"t": ", ".join(sorted(bad_types))}
    if not trigger.survey.is_active:
        errors["survey"] = _("The survey is not active.")
    if errors:
        raise ValidationError(errors)


def period_start(instant: datetime, period: str) -> datetime:
    """The local start of the month, quarter or year that contains `instant`."""
    local = timezone.localtime(instant)
    month = local.month
    if period == Period.QUARTERLY:
        month = 3 * ((local.month - 1) // 3) + 1
    elif period == Period.YEARLY:
        month = 1
    return local.replace(month=month, day=1, hour=0, minute=0, second=0, microsecond=0)


def next_period_start(instant: datetime, period: str) -> datetime:
    start = period_start(instant, period)
    step = {Period.MONTHLY: 1, Period.QUARTERLY: 3, Period.YEARLY: 12}[Period(period)]
    months = start.year * 12 + start.month - 1 + step
    return start.replace(year=months // 12, month=months % 12 + 1)


def period_label(instant: datetime, period: str) -> str:
    start = period_start(instant, period)
    if period == Period.QUARTERLY:
        return f"{start.year}-Q{(start.month - 1) // 3 + 1}"
    if period == Period.YEARLY:
        return f"{start.year}"
    return f"{start.year}-{start.month:02d}"


# ============================================================================ invitations


def on_case_resolved(case: Case, *, at: datetime | None = None) -> None:
    """A case was resolved: invite its contact (per trigger) and start its follow-ups.

    Safe to call again for the same case: sampling is deterministic and every record it
    creates is unique per case, so a rerun changes nothing. A failure here never undoes
    the resolution; the sweep of `tasks.VoiceTimer` tries again.
    """
    at = _now(at or case.resolved_at)
    try:
        for trigger in Trigger.objects.filter(
            kind=TriggerKind.AFTER_RESOLUTION, is_active=True, survey__is_active=True
        ).select_related("survey"):
            if _trigger_applies(trigger, case) and sampled(
                f"{trigger.pk}:{case.pk}", trigger.sample
            ):
                schedule_for_case(trigger, case, at)
        start_case_follow_ups(case, at=at)
    except Exception:
        log.exception("surveys and follow-ups of case %s failed; the sweep retries", case.pk)


def _trigger_applies(trigger: Trigger, case: Case) -> bool:
    return (
        (not trigger.case_types or case.case_type in trigger.case_types)
        and (trigger.service_id is None or trigger.service_id == case.service_id)
        and (trigger.contract_id is None or trigger.contract_id == case.contract_id)
        and case.merged_into_id is None
    )


def schedule_for_case(trigger: Trigger, case: Case, at: datetime) -> Invitation | None:
    """The invitation to `case`'s contact, `trigger.delay` after the resolution (once)."""
    if case.contact_id is None:
        return None
    existing = Invitation.objects.filter(survey=trigger.survey_id, case=case).first()
    if existing is not None:
        return existing
    return _schedule(
        survey=trigger.survey,
        trigger=trigger,
        contact=case.contact,  # type: ignore[arg-type]
        send_at=at + (trigger.delay or timedelta(0)),
        dedup_key=f"case:{trigger.survey_id}:{case.pk}",
        created_at=at,
        case=case,
        min_days_between=trigger.min_days_between,
    )


def _schedule(
    *,
    survey: Survey,
    contact: User,
    send_at: datetime,
    dedup_key: str,
    created_at: datetime,
    trigger: Trigger | None = None,
    case: Case | None = None,
    contract: Contract | None = None,
    min_days_between: int = 0,
    actor: User | None = None,
) -> Invitation:
    """Create one invitation (scheduled, or skipped with its reason), idempotently."""
    existing = Invitation.objects.filter(dedup_key=dedup_key).first()
    if existing is not None:
        return existing
    try:
        with acting_as(actor):
            # The contact's row is locked so two resolutions at once cannot both pass
            # the "one survey per N days" test.
            locked = User.objects.select_for_update().get(pk=contact.pk)
            reason = _skip_reason(locked, send_at, min_days_between)
            return Invitation.objects.create(
                survey=survey,
                trigger=trigger,
                contact=locked,
                organisation_id=locked.organisation_id,
                case=case,
                contract=contract or (case.contract if case else None),
                service=case.service if case else None,
                team=case.team if case else None,
                agent=(case.assignee or case.first_contact_owner) if case else None,
                language=language_of(locked),
                dedup_key=dedup_key,
                status=InvitationStatus.SKIPPED if reason else InvitationStatus.SCHEDULED,
                skip_reason=reason,
                created_at=created_at,
                send_at=send_at,
            )
    except IntegrityError:
        return Invitation.objects.get(dedup_key=dedup_key)


def _skip_reason(contact: User, send_at: datetime, min_days_between: int) -> str:
    if OptOut.objects.filter(contact=contact).exists():
        return SkipReason.OPTED_OUT
    if not contact.is_active:
        return SkipReason.INACTIVE
    if min_days_between:
        window = timedelta(days=min_days_between)
        recent = Invitation.objects.filter(
            contact=contact,
            status__in=COUNTED_STATUSES,
            send_at__gt=send_at - window,
            send_at__lt=send_at + window,
        )
        if recent.exists():
            return SkipReason.TOO_SOON
    return ""


def run_periodic(trigger: Trigger, now: datetime) -> list[Invitation]:
    """One period of a periodic trigger: every active contact of its customers, once."""
    label = period_label(now, trigger.period)
    contacts = User.objects.filter(
        role=Role.CUSTOMER,
        is_active=True,
        organisation__kind=OrganisationKind.CUSTOMER,
        organisation__is_active=True,
    )
    if trigger.contract_id is not None:
        contacts = contacts.filter(organisation_id=trigger.contract.customer_id)
    created = [
        _schedule(
            survey=trigger.survey,
            trigger=trigger,
            contact=contact,
            send_at=now,
            dedup_key=f"periodic:{trigger.pk}:{label}:{contact.pk}",
            created_at=now,
            contract=trigger.contract,
            min_days_between=trigger.min_days_between,
        )
        for contact in contacts.order_by("pk")
    ]
    Trigger.objects.filter(pk=trigger.pk).update(next_run_at=next_period_start(now, trigger.period))
    return created


def run_due_triggers(now: datetime) -> int:
    """Run every periodic trigger whose next run has come; claimed so it runs once."""
    ran = 0
    for trigger in Trigger.objects.filter(
        kind=TriggerKind.PERIODIC, is_active=True, next_run_at__lte=now
    ).select_related("survey", "contract"):
        with transaction.atomic():
            claimed = Trigger.objects.filter(pk=trigger.pk, next_run_at=trigger.next_run_at).update(
                next_run_at=next_period_start(now, trigger.period)
            )
            if claimed and trigger.survey.is_active:
                run_periodic(trigger, now)
                ran += 1
    return ran


def send_now(
    *,
    actor: User | None,
    survey: Survey,
    contacts: Iterable[User],
    case: Case | None = None,
    at: datetime | None = None,
) -> list[Invitation]:
    """A manual survey: invite these contacts now (opt-outs are still honoured)."""
    _require(actor, Action.MANAGE_SURVEYS)
    at = _now(at)
    if not survey.is_active:
        raise ValidationError({"survey": _("The survey is not active.")})
    people = list(contacts)
    if not people:
        raise ValidationError({"contacts": _("Choose at least one contact.")})
    if any(not person.is_customer for person in people):
        raise ValidationError({"contacts": _("Surveys go to customer contacts.")})
    day = timezone.localtime(at).date().isoformat()
    return [
        _schedule(
            survey=survey,
            contact=person,
            send_at=at,
            dedup_key=f"manual:{survey.pk}:{person.pk}:{case.pk if case else ''}:{day}",
            created_at=at,
            case=case if case and case.contact_id == person.pk else None,
            actor=actor,
        )
        for person in people
    ]


# ---------------------------------------------------------------------------- sending


def token_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def issue_token(invitation: Invitation, now: datetime | None = None) -> str:
    """A new random link secret for the invitation; only its digest is stored."""
    raw = secrets.token_urlsafe(32)
    InvitationToken.objects.create(
        invitation=invitation, digest=token_digest(raw), created_at=_now(now)
    )
    return raw


def answer_url(raw: str) -> str:
    return settings.SITE_URL + reverse("voice:answer", args=[raw])


def opt_out_url(raw: str) -> str:
    return settings.SITE_URL + reverse("voice:opt_out", args=[raw])


def send(invitation: Invitation, now: datetime | None = None, *, deliver: bool = True) -> bool:
    """Claim a scheduled invitation and e-mail its link; False when it was not due to go.

    The claim is a conditional UPDATE (status still scheduled), so two workers never send
    one invitation twice. `deliver=False` records it as sent without an e-mail (history
    imported or generated, as the demo does).
    """
    now = _now(now)
    with transaction.atomic():
        contact = User.objects.get(pk=invitation.contact_id)
        if OptOut.objects.filter(contact=contact).exists() or not contact.is_active:
            reason = SkipReason.OPTED_OUT if contact.is_active else SkipReason.INACTIVE
            Invitation.objects.filter(pk=invitation.pk, status=InvitationStatus.SCHEDULED).update(
                status=InvitationStatus.SKIPPED, skip_reason=reason
            )
            return False
        reminding = deliver and max_reminders() > 0
        remind_at = now + timedelta(days=reminder_days()) if reminding else None
        expires_at = now + timedelta(days=link_days())
        claimed = Invitation.objects.filter(
            pk=invitation.pk, status=InvitationStatus.SCHEDULED
        ).update(
            status=InvitationStatus.SENT,
            sent_at=now,
            expires_at=expires_at,
            remind_at=remind_at if remind_at and remind_at < expires_at else None,
        )
        if not claimed:
            return False
        invitation.refresh_from_db()
        if deliver and contact.email:
            raw = issue_token(invitation, now)
            subject, body = _compose(invitation, raw, reminder=False)
            _mail(
                f"voice-invitation:{invitation.pk}",
                contact.email,
                subject,
                body,
                _payload(invitation, "survey_invitation"),
                invitation,
            )
    return True


def _mail(
    key: str, address: str, subject: str, body: str, payload: dict[str, Any], about: Any
) -> bool:
    """Queue one e-mail; an address the outbox refuses is logged, never fatal.

    The invitation stays sent (the contact finds it in the portal) and a customer's
    answer is never refused because a member of staff's address is wrong.
    """
    try:
        with transaction.atomic():
            notify.enqueue(
                key, to=[address], subject=subject, body=body, payload=payload, about=about
            )
    except ValidationError:
        log.warning("notice %s to %r refused by the outbox", key, address)
        return False
    return True


def send_due(now: datetime, limit: int = 200) -> int:
    """Send every scheduled invitation whose instant has come."""
    due = list(
        Invitation.objects.filter(status=InvitationStatus.SCHEDULED, send_at__lte=now)
        .order_by("send_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    sent = 0
    for pk in due:
        invitation = Invitation.objects.select_related("survey", "case").get(pk=pk)
        try:
            sent += send(invitation, now)
        except Exception:
            # One broken invitation must not hold up the others; it is tried next round.
            log.exception("invitation %s could not be sent", pk)
    return sent


def send_reminders(now: datetime, limit: int = 200) -> int:
    """Remind contacts who have not answered yet (each reminder with a fresh link)."""
    due = list(
        Invitation.objects.filter(
            status=InvitationStatus.SENT, remind_at__lte=now, responded_at__isnull=True
        )
        .select_related("contact", "survey", "case")
        .order_by("remind_at", "pk")[:limit]
    )
    reminded = 0
    for invitation in due:
        with transaction.atomic():
            count = invitation.reminders_sent + 1
            last = count >= max_reminders()
            following = now + timedelta(days=reminder_days())
            claimed = Invitation.objects.filter(
                pk=invitation.pk,
                status=InvitationStatus.SENT,
                reminders_sent=invitation.reminders_sent,
            ).update(
                reminders_sent=count,
                remind_at=None
                if last or not invitation.expires_at or following >= invitation.expires_at
                else following,
            )
            expired = invitation.expires_at is not None and invitation.expires_at <= now
            contact = invitation.contact
            if not claimed or expired or not contact.email:
                continue
            if OptOut.objects.filter(contact=contact).exists():
                continue
            raw = issue_token(invitation, now)
            subject, body = _compose(invitation, raw, reminder=True)
            reminded += _mail(
                f"voice-reminder:{invitation.pk}:{count}",
                contact.email,
                subject,
                body,
                _payload(invitation, "survey_reminder"),
                invitation,
            )
    return reminded


def _compose(invitation: Invitation, raw: str, *, reminder: bool) -> tuple[str, str]:
    survey = invitation.survey
    language = invitation.language
    with translation.override(language):
        title = survey.title(language)
        if invitation.case_id:
            subject = _("Your opinion on %(reference)s: %(title)s") % {
                "reference": invitation.case.reference,  # type: ignore[union-attr]
                "title": title,
            }
        else:
            subject = title
        if reminder:
            subject = _("Reminder: %(subject)s") % {"subject": subject}
        lines = [
            _("Hello %(name)s,") % {"name": invitation.contact},
            "",
            survey.intro(language),
            "",
            _("Answer here (no login needed, a few minutes):"),
            answer_url(raw),
            "",
            _("The link can be used once and works until %(date)s.")
            % {"date": timezone.localtime(invitation.expires_at).strftime("%Y-%m-%d")}
            if invitation.expires_at
            else "",
            _("No more surveys, please: %(url)s") % {"url": opt_out_url(raw)},
        ]
    return subject, "\n".join(line for line in lines if line is not None)


def _payload(invitation: Invitation, kind: str) -> dict[str, Any]:
    return {
        "kind": kind,
        "invitation": invitation.pk,
        "survey": invitation.survey.code,
        "case": invitation.case.reference if invitation.case_id else None,  # type: ignore[union-attr]
    }


# ---------------------------------------------------------------------------- the link


class LinkError(Exception):
    """A survey link that cannot be used; `code` says why, the message says it to a person."""

    UNKNOWN, USED, EXPIRED, CLOSED = "unknown", "used", "expired", "closed"

    def __init__(self, code: str) -> None:
        self.code = code
        super().__init__(self.message)

    @property
    def message(self) -> str:
        return {
            self.UNKNOWN: _(
                "This survey link is not valid. Please check that it was copied whole."
            ),
            self.USED: _("This survey has already been answered. Thank you!"),
            self.EXPIRED: _("This survey link has expired."),
            self.CLOSED: _("This survey is closed."),
        }[self.code]


def invitation_for(raw: str) -> Invitation:
    """The invitation a link opens, whatever its state; LinkError(UNKNOWN) if none."""
    if not raw or len(raw) > 200:
        raise LinkError(LinkError.UNKNOWN)
    token = (
        InvitationToken.objects.select_related(
            "invitation__survey", "invitation__contact", "invitation__case"
        )
        .filter(digest=token_digest(raw))
        .first()
    )
    if token is None:
        raise LinkError(LinkError.UNKNOWN)
    return token.invitation


def open_link(raw: str, now: datetime | None = None) -> Invitation:
    """The invitation behind a link that may still be answered, or LinkError."""
    now = _now(now)
    invitation = invitation_for(raw)
    if invitation.responded_at is not None or invitation.status == InvitationStatus.RESPONDED:
        raise LinkError(LinkError.USED)
    if invitation.status != InvitationStatus.SENT or not invitation.survey.is_active:
        raise LinkError(LinkError.CLOSED)
    if invitation.is_expired(now):
        raise LinkError(LinkError.EXPIRED)
    return invitation


@dataclass(frozen=True)
class CleanAnswer:
    question: Question
    value: int | None = None
    expectation: int | None = None
    perception: int | None = None
    choices: tuple[str, ...] = ()
    text: str = ""

    @property
    def is_empty(self) -> bool:
        return (
            self.value is None
            and self.expectation is None
            and self.perception is None
            and not self.choices
            and not self.text
        )


def clean_answers(survey: Survey, answers: Mapping[str, Any]) -> list[CleanAnswer]:
    """Check every answer against its question; ValidationError keyed by question code.

    Accepted shapes, per question code: a score (int or digits) or {"value", "why"} for
    ratings and NPS; {"expectation", "perception"} for SERVQUAL items; a choice code (or
    {"choice"}) for single choice; a list of codes (or {"choices"}) for multiple choice;
    a string (or {"text"}) for free text.
    """
    questions = list(survey.questions.order_by("position", "pk"))
    known = {q.code for q in questions}
    errors: dict[str, str] = {}
    unknown = sorted(set(answers) - known)
    if unknown:
        errors["__all__"] = _("Unknown questions: %(codes)s") % {"codes": ", ".join(unknown)}
    cleaned: list[CleanAnswer] = []
    for question in questions:
        try:
            answer = _clean_one(question, answers.get(question.code))
        except ValidationError as error:
            errors[question.code] = error.messages[0]
            continue
        if answer.is_empty:
            if question.required:
                errors[question.code] = _("This question needs an answer.")
            continue
        cleaned.append(answer)
    if errors:
        raise ValidationError(errors)
    return cleaned


def _score(raw: Any, low: int, high: int) -> int | None:
    """A whole number within [low, high], None when unanswered; ValueError otherwise."""
    if raw is None or raw == "":
        return None
    if isinstance(raw, bool):
        raise ValueError(raw)
    if isinstance(raw, int):
        value = raw
    elif isinstance(raw, str) and raw.strip().lstrip("-").isdigit():
        value = int(raw.strip())
    else:
        raise ValueError(raw)
    if not low <= value <= high:
        raise ValueError(raw)
    return value


def _text(raw: Any) -> str:
    if raw is None:
        return ""
    if not isinstance(raw, str):
        raise ValidationError(_("Write your answer as text."))
    text = raw.strip()
    if len(text) > MAX_TEXT:
        raise ValidationError(
            _("Please keep your answer under %(n)s characters.") % {"n": MAX_TEXT}
        )
    return text


def _clean_one(question: Question, raw: Any) -> CleanAnswer:
    kind = question.kind
    if kind in (QuestionKind.RATING, QuestionKind.NPS):
        low, high = SCALES[QuestionKind(kind)]
        data = raw if isinstance(raw, Mapping) else {"value": raw}
        try:
            value = _score(data.get("value"), low, high)
        except ValueError:
            raise ValidationError(
                _("Choose a whole number from %(low)s to %(high)s.") % {"low": low, "high": high}
            ) from None
        why = _text(data.get("why")) if question.ask_why else ""
        return CleanAnswer(question, value=value, text=why)
    if kind == QuestionKind.SERVQUAL:
        data = raw if isinstance(raw, Mapping) else {}
        if raw not in (None, "") and not isinstance(raw, Mapping):
            raise ValidationError(_("Rate both your expectation and your perception."))
        try:
            expectation = _score(data.get("expectation"), 1, 7)
            perception = _score(data.get("perception"), 1, 7)
        except ValueError:
            raise ValidationError(_("Choose a whole number from 1 to 7.")) from None
        if (expectation is None) != (perception is None):
            raise ValidationError(_("Rate both your expectation and your perception."))
        return CleanAnswer(question, expectation=expectation, perception=perception)
    codes = {c["code"] for c in question.choices or []}
    if kind == QuestionKind.SINGLE:
        choice = raw.get("choice") if isinstance(raw, Mapping) else raw
        if choice in (None, ""):
            return CleanAnswer(question)
        if not isinstance(choice, str) or choice not in codes:
            raise ValidationError(_("Choose one of the options offered."))
        return CleanAnswer(question, choices=(choice,))
    if kind == QuestionKind.MULTIPLE:
        chosen = raw.get("choices") if isinstance(raw, Mapping) else raw
        if chosen in (None, ""):
            return CleanAnswer(question)
        if isinstance(chosen, str) or not isinstance(chosen, Iterable):
            raise ValidationError(_("Choose among the options offered."))
        chosen = list(chosen)
        if any(not isinstance(c, str) or c not in codes for c in chosen):
            raise ValidationError(_("Choose among the options offered."))
        ordered = tuple(c["code"] for c in question.choices if c["code"] in set(chosen))
        return CleanAnswer(question, choices=ordered)
    text = raw.get("text") if isinstance(raw, Mapping) else raw
    return CleanAnswer(question, text=_text(text))


def low_reasons(answers: Iterable[CleanAnswer]) -> list[str]:
    """The question codes whose answer is a low score."""
    reasons = []
    for answer in answers:
        question = answer.question
        if question.kind == QuestionKind.RATING and answer.value is not None:
            if statistics.is_low_csat(answer.value):
                reasons.append(question.code)
        elif question.kind == QuestionKind.NPS and answer.value is not None:
            if statistics.nps_category(answer.value) == statistics.DETRACTOR:
                reasons.append(question.code)
        elif set(answer.choices) & question.negative_codes():
            reasons.append(question.code)
    return reasons


def submit(
    raw: str,
    answers: Mapping[str, Any],
    *,
    at: datetime | None = None,
    language: str | None = None,
    announce: bool = True,
) -> Response:
    """Record the one response of the invitation behind the link `raw`.

    Refused with LinkError when the link is unknown, used, expired or closed, and with
    ValidationError (per question) when an answer is missing or out of range; in both
    cases nothing is written. Two submissions at once record one response: the
    invitation is claimed with a conditional UPDATE, and the loser gets LinkError(USED).
    `announce=False` (generated history) tells no one of a low score; the mandatory
    follow-up is opened all the same.
    """
    at = _now(at)
    invitation = open_link(raw, at)
    cleaned = clean_answers(invitation.survey, answers)
    reasons = low_reasons(cleaned)
    language = language if language in Language.values else invitation.language
    contact = invitation.contact
    with acting_as(contact):
        claimed = Invitation.objects.filter(
            pk=invitation.pk,
            status=InvitationStatus.SENT,
            responded_at__isnull=True,
            expires_at__gt=at,
        ).update(status=InvitationStatus.RESPONDED, responded_at=at, remind_at=None)
        if not claimed:
            raise LinkError(LinkError.USED)
        response = Response.objects.create(
            invitation=invitation,
            survey=invitation.survey,
            contact=contact,
            organisation_id=invitation.organisation_id,
            case=invitation.case,
            service_id=invitation.service_id,
            team_id=invitation.team_id,
            agent_id=invitation.agent_id,
            language=language,
            submitted_at=at,
            is_low=bool(reasons),
            low_reasons=reasons,
        )
        AnswerRow.objects.bulk_create(
            AnswerRow(
                response=response,
                question=answer.question,
                value=answer.value,
                expectation=answer.expectation,
                perception=answer.perception,
                choices=list(answer.choices),
                text=answer.text,
            )
            for answer in cleaned
        )
        if reasons:
            open_dissatisfied_follow_up(response, at=at, announce=announce)
    transaction.on_commit(
        lambda: survey_responded.send(sender=Response, response=response, low=bool(reasons))
    )
    return response


def portal_link(*, actor: User, invitation: Invitation, now: datetime | None = None) -> str:
    """A signed-in contact answers from the portal: a fresh link to its own invitation."""
    now = _now(now)
    if not can(actor, Action.ANSWER_SURVEYS, invitation) or invitation.contact_id != actor.pk:
        raise PermissionDenied(_("This survey is not addressed to you."))
    if invitation.responded_at is not None:
        raise LinkError(LinkError.USED)
    if invitation.status != InvitationStatus.SENT:
        raise LinkError(LinkError.CLOSED)
    if invitation.is_expired(now):
        raise LinkError(LinkError.EXPIRED)
    with acting_as(actor):
        return issue_token(invitation, now)


def opt_out(raw: str, *, at: datetime | None = None) -> OptOut:
    """No more surveys for the contact behind any of its links (used or not, even expired).

    Scheduled invitations are skipped and sent ones get no more reminders; a response
    already given stays.
    """
    at = _now(at)
    invitation = invitation_for(raw)
    contact = invitation.contact
    with acting_as(contact):
        record, _created = OptOut.objects.get_or_create(
            contact=contact, defaults={"opted_out_at": at, "invitation": invitation}
        )
        for pending in Invitation.objects.filter(
            contact=contact, status=InvitationStatus.SCHEDULED
        ):
            pending.status, pending.skip_reason = InvitationStatus.SKIPPED, SkipReason.OPTED_OUT
            pending.save(update_fields=["status", "skip_reason"])
        Invitation.objects.filter(contact=contact, status=InvitationStatus.SENT).update(
            remind_at=None
        )
    return record


def opt_in(*, actor: User, contact: User) -> None:
    """Surveys again: the contact itself, or a survey manager on its behalf."""
    if actor.pk != contact.pk:
        _require(actor, Action.MANAGE_SURVEYS)
    with acting_as(actor):
        for record in OptOut.objects.filter(contact=contact):
            record.delete()


# ============================================================================ follow-ups


def create_programme(
    *,
    actor: User | None,
    code: str,
    name: str,
    kind: str,
    target: timedelta,
    calendar: Calendar,
    team: Team | None = None,
    assign_to: str = AssignTo.TEAM,
    sample: Decimal | float = 1,
    case_types: Sequence[str] = (),
    script_zh: str = "",
    script_en: str = "",
    is_active: bool = True,
) -> Programme:
    _require(actor, Action.MANAGE_FOLLOW_UPS)
    programme = Programme(
        code=code.strip(),
        name=name.strip(),
        kind=kind,
        target=target,
        calendar=calendar,
        team=team,
        assign_to=assign_to,
        sample=Decimal(str(sample)),
        case_types=list(case_types),
        script_zh=script_zh.strip(),
        script_en=script_en.strip(),
        is_active=is_active,
    )
    _check_programme(programme, new=True)
    with acting_as(actor):
        programme.save()
    return programme


PROGRAMME_FIELDS = (
    "name",
    "target",
    "calendar",
    "team",
    "assign_to",
    "sample",
    "case_types",
    "script_zh",
    "script_en",
    "is_active",
)


def update_programme(*, actor: User | None, programme: Programme, **fields: Any) -> Programme:
    """Change a programme; tasks it already created keep their clock and script."""
    _require(actor, Action.MANAGE_FOLLOW_UPS)
    unknown = set(fields) - set(PROGRAMME_FIELDS)
    if unknown:
        raise ValidationError(_("Unknown fields: %(f)s") % {"f": ", ".join(sorted(unknown))})
    for name, value in fields.items():
        if name == "sample":
            value = Decimal(str(value))
        setattr(programme, name, value.strip() if isinstance(value, str) else value)
    _check_programme(programme, new=False)
    with acting_as(actor):
        programme.save()
    return programme


def _check_programme(programme: Programme, *, new: bool) -> None:
    errors: dict[str, str] = {}
    if new:
        try:
            code_validator(programme.code)
        except ValidationError as error:
            errors["code"] = error.messages[0]
        else:
            if Programme.objects.filter(code=programme.code).exists():
                errors["code"] = _("A programme with this code exists.")
    if not programme.name:
        errors["name"] = _("Name the programme.")
    if programme.kind not in ProgrammeKind.values:
        errors["kind"] = _("Choose a kind of programme.")
    if programme.assign_to not in AssignTo.values:
        errors["assign_to"] = _("Choose who makes the calls.")
    if programme.target is None or programme.target <= timedelta(0):
        errors["target"] = _("A follow-up must be due some time after it is created.")
    if not Decimal(0) <= programme.sample <= Decimal(1):
        errors["sample"] = _("The sample is a share between 0 and 100 %.")
    if programme.calendar_id is not None and programme.calendar.current_version_id is None:
        errors["calendar"] = _("The calendar has no published version.")
    bad_types = set(programme.case_types) - set(CaseType.values)
    if bad_types:
        errors["case_types"] = _("Unknown case type: %(t)s") % {"t": ", ".join(sorted(bad_types))}
    if errors:
        raise ValidationError(errors)


def programme_for(kind: str) -> Programme:
    """The active programme of `kind` (the first by code), created when none exists.

    Mandatory follow-ups must happen even before anyone configured them: the programme
    made here is due in two working days of the first active calendar (a 24×7 one is
    created when there is no calendar at all) and goes to the case's first-contact owner.
    """
    programme = (
        Programme.objects.filter(kind=kind, is_active=True).select_related("calendar").first()
    )
    if programme is not None:
        return programme
    calendar = (
        Calendar.objects.filter(is_active=True, current_version__isnull=False)
        .order_by("code")
        .first()
    )
    if calendar is None:
        calendar = calendar_services.create_calendar(
            actor=None,
            code="follow-up-24x7",
            name="24×7",
            week=calendar_services.ROUND_THE_CLOCK,
        )
    names = {
        ProgrammeKind.ROUTINE: _("Routine follow-up"),
        ProgrammeKind.DISSATISFIED: _("Dissatisfied customers"),
        ProgrammeKind.COMPLAINT: _("Complaints after resolution"),
        ProgrammeKind.RESULT: _("Improvement results"),
    }
    return create_programme(
        actor=None,
        code=f"default-{kind}",
        name=str(names[ProgrammeKind(kind)]),
        kind=kind,
        target=DEFAULT_TARGET,
        calendar=calendar,
        assign_to=AssignTo.FIRST_CONTACT_OWNER,
    )


def _next_reference(year: int) -> str:
    return f"F-{year}-{numbering.claim(FollowUpCounter, year):06d}"


def create_follow_up(
    *,
    programme: Programme,
    organisation: Organisation,
    at: datetime,
    contact: User | None = None,
    case: Case | None = None,
    response: Response | None = None,
    about: models.Model | None = None,
    about_label: str = "",
    reason: str = "",
    actor: User | None = None,
) -> FollowUp:
    """One follow-up task with its clock, started at `at` (unique per its source)."""
    assignee: User | None = None
    if case is not None and programme.assign_to == AssignTo.FIRST_CONTACT_OWNER:
        assignee = case.first_contact_owner
    elif case is not None and programme.assign_to == AssignTo.ASSIGNEE:
        assignee = case.assignee
    if assignee is not None and (not assignee.is_active or not assignee.is_staff_member):
        assignee = None
    team = programme.team or (assignee.team if assignee else None) or (case.team if case else None)
    if assignee is not None and programme.team_id and assignee.team_id != programme.team_id:
        team = assignee.team or programme.team
    calendar = programme.calendar
    with acting_as(actor):
        follow_up = FollowUp.objects.create(
            reference=_next_reference(timezone.localtime(at).year),
            programme=programme,
            kind=programme.kind,
            reason=reason[:300],
            organisation=organisation,
            contact=contact,
            case=case,
            response=response,
            about_type=ContentType.objects.get_for_model(about) if about is not None else None,
            about_id=about.pk if about is not None else None,
            about_label=(about_label or (str(about) if about is not None else ""))[:200],
            team=team,
            assignee=assignee,
            script_zh=programme.script_zh,
            script_en=programme.script_en,
            created_at=at,
        )
        clock = sla.start_clock(
            subject=follow_up,
            metric=FOLLOW_UP_METRIC,
            target=programme.target,
            calendar_version=calendar.current_version,  # type: ignore[arg-type]
            at=at,
            actor=actor,
            organisation=organisation,
            team=team,
            now=at,
        )
        follow_up.due_at = clock.due_at
        follow_up.save(update_fields=["due_at"])
    return follow_up


def _create_once(**kwargs: Any) -> FollowUp | None:
    """`create_follow_up`, returning None when its unique source already has one."""
    try:
        with transaction.atomic():
            return create_follow_up(**kwargs)
    except IntegrityError:
        return None


def start_case_follow_ups(case: Case, *, at: datetime | None = None) -> list[FollowUp]:
    """After a resolution: routine programmes (a deterministic sample) and, for a
    complaint, every complaint programme. Once per programme and case."""
    at = _now(at or case.resolved_at)
    if case.merged_into_id is not None:
        return []
    created = []
    programmes = Programme.objects.filter(
        kind__in=[ProgrammeKind.ROUTINE, ProgrammeKind.COMPLAINT], is_active=True
    ).select_related("calendar", "team")
    for programme in programmes:
        if programme.case_types and case.case_type not in programme.case_types:
            continue
        if programme.kind == ProgrammeKind.COMPLAINT:
            if case.case_type != CaseType.COMPLAINT:
                continue
            reason = _("Complaint %(reference)s was resolved.") % {"reference": case.reference}
        else:
            if not sampled(f"follow-up:{programme.pk}:{case.pk}", programme.sample):
                continue
            reason = _("Routine follow-up of %(reference)s.") % {"reference": case.reference}
        if FollowUp.objects.filter(
            programme=programme, case=case, response__isnull=True, about_id__isnull=True
        ).exists():
            continue
        follow_up = _create_once(
            programme=programme,
            organisation=case.organisation,
            contact=case.contact,
            case=case,
            reason=reason,
            at=at,
        )
        if follow_up is not None:
            created.append(follow_up)
    return created


def open_dissatisfied_follow_up(
    response: Response, *, at: datetime, announce: bool = True
) -> FollowUp:
    """A low score: the mandatory follow-up, and word to the first-contact owner."""
    existing = FollowUp.objects.filter(response=response).first()
    if existing is not None:
        return existing
    programme = programme_for(ProgrammeKind.DISSATISFIED)
    case = response.case
    reason = _("Low score in the survey %(survey)s (%(questions)s).") % {
        "survey": response.survey.code,
        "questions": ", ".join(response.low_reasons),
    }
    follow_up = create_follow_up(
        programme=programme,
        organisation=response.organisation,
        contact=response.contact,
        case=case,
        response=response,
        reason=reason,
        at=at,
    )
    if announce:
        _tell_about_low_score(follow_up, response)
    return follow_up


def _tell_about_low_score(follow_up: FollowUp, response: Response) -> None:
    """首问负责制: the case's first-contact owner hears of it (and the assignee if other)."""
    case = response.case
    people: list[User] = []
    if case is not None:
        people = [p for p in (case.first_contact_owner, follow_up.assignee) if p is not None]
    if not people and follow_up.team_id and follow_up.team and follow_up.team.lead:
        people = [follow_up.team.lead]
    seen: set[int] = set()
    for person in people:
        if person.pk in seen or not person.is_active or not person.email:
            continue
        seen.add(person.pk)
        with translation.override(person.language or settings.LANGUAGE_CODE):
            reference = case.reference if case else str(response.organisation)
            subject = _("[%(reference)s] Dissatisfied customer: follow up by %(due)s") % {
                "reference": reference,
                "due": _local(follow_up.due_at),
            }
            body = "\n".join(
                [
                    _("%(contact)s gave a low score in the survey %(survey)s.")
                    % {"contact": response.contact, "survey": response.survey.title()},
                    _("Follow-up %(reference)s is due at %(due)s.")
                    % {"reference": follow_up.reference, "due": _local(follow_up.due_at)},
                    settings.SITE_URL + follow_up.get_absolute_url(),
                ]
            )
        _mail(
            f"voice-low-score:{response.pk}:{person.pk}",
            person.email,
            subject,
            body,
            {
                "kind": "survey_low_score",
                "response": response.pk,
                "follow_up": follow_up.reference,
                "case": case.reference if case else None,
            },
            follow_up,
        )


def _local(instant: datetime | None) -> str:
    return timezone.localtime(instant).strftime("%Y-%m-%d %H:%M") if instant else "—"


def start_result_follow_ups(
    *,
    item: models.Model,
    cases: Iterable[Case] = (),
    contacts: Iterable[User] = (),
    label: str = "",
    at: datetime | None = None,
    actor: User | None = None,
) -> list[FollowUp]:
    """The hook for improvement items: when one is done, follow up with the customers
    it concerned (the contacts of its cases, and any contacts named), once each.

    `item` is any saved record (the improvement item); the follow-ups point at it.
    """
    _require(actor, Action.MANAGE_FOLLOW_UPS)
    at = _now(at)
    programme = programme_for(ProgrammeKind.RESULT)
    targets: dict[int, tuple[User, Case | None]] = {}
    for case in cases:
        if case.contact is not None:
            targets[case.contact.pk] = (case.contact, case)
    for contact in contacts:
        if not contact.is_customer:
            raise ValidationError({"contacts": _("Follow-ups go to customer contacts.")})
        targets.setdefault(contact.pk, (contact, None))
    name = label or str(item)
    created = []
    for contact, case in targets.values():
        follow_up = _create_once(
            programme=programme,
            organisation=contact.organisation,
            contact=contact,
            case=case,
            about=item,
            about_label=name,
            reason=_("Improvement done: %(item)s") % {"item": name},
            at=at,
            actor=actor,
        )
        if follow_up is not None:
            created.append(follow_up)
    return created


def on_improvement_done(
    sender: object,
    item: models.Model,
    cases: Iterable[Case] = (),
    contacts: Iterable[User] = (),
    at: datetime | None = None,
    **kwargs: Any,
) -> None:
    """A receiver for an "improvement done" signal (connected where both apps are known)."""
    start_result_follow_ups(item=item, cases=cases, contacts=contacts, at=at)


def clock_of(follow_up: FollowUp) -> Clock | None:
    return Clock.objects.filter(
        subject_type=ContentType.objects.get_for_model(FollowUp),
        subject_id=follow_up.pk,
        metric=FOLLOW_UP_METRIC,
    ).first()


def take(*, actor: User, follow_up: FollowUp, at: datetime | None = None) -> FollowUp:
    """An agent takes an unassigned follow-up of its team."""
    return assign(actor=actor, follow_up=follow_up, assignee=actor, at=at)


def assign(
    *, actor: User, follow_up: FollowUp, assignee: User | None, at: datetime | None = None
) -> FollowUp:
    at = _now(at)
    if not can(actor, Action.WORK_FOLLOW_UPS, follow_up):
        raise PermissionDenied(_("You are not allowed to work on this follow-up."))
    if assignee is not None and assignee.pk != actor.pk:
        _require(actor, Action.MANAGE_FOLLOW_UPS)
    if assignee is not None and not assignee.is_staff_member:
        raise ValidationError({"assignee": _("Follow-ups are assigned to staff.")})
    if not follow_up.is_open:
        raise ValidationError(_("This follow-up is already closed."))
    with acting_as(actor):
        follow_up.assignee = assignee
        if assignee is not None and assignee.team_id and follow_up.team_id is None:
            follow_up.team = assignee.team
        follow_up.save(update_fields=["assignee", "team"])
        Clock.objects.filter(
            subject_type=ContentType.objects.get_for_model(FollowUp), subject_id=follow_up.pk
        ).update(team=follow_up.team)
    return follow_up


def complete(
    *,
    actor: User,
    follow_up: FollowUp,
    outcome: str,
    notes: str = "",
    next_steps: Sequence[str] = (),
    suggestion: str = "",
    at: datetime | None = None,
) -> FollowUp:
    """Record the call's outcome, stop the clock and carry out the next steps, together.

    A next step the desk refuses (a case resolved too long ago to reopen) refuses the
    whole completion, so nothing is half done.
    """
    at = _now(at)
    if actor.is_customer or not can(actor, Action.WORK_FOLLOW_UPS, follow_up):
        raise PermissionDenied(_("You are not allowed to work on this follow-up."))
    steps = list(dict.fromkeys(next_steps))
    notes, suggestion = (notes or "").strip(), (suggestion or "").strip()
    _check_completion(follow_up, outcome, notes, steps, suggestion)
    if NextStep.REOPEN_CASE in steps and not can(actor, Action.WORK_CASES, follow_up.case):
        raise ValidationError(
            {
                "next_steps": _(
                    "You may not reopen this case: it belongs to another team. Leave that "
                    "step to its team or a manager, or open a complaint instead."
                )
            }
        )
    with acting_as(actor):
        locked = FollowUp.objects.select_for_update().get(pk=follow_up.pk)
        if locked.status != FollowUpStatus.OPEN:
            raise ValidationError(_("This follow-up is already closed."))
        locked.status = FollowUpStatus.DONE
        locked.outcome = outcome
        locked.notes = notes
        locked.next_steps = steps
        locked.suggestion = suggestion
        locked.completed_at = at
        locked.completed_by = actor
        if locked.assignee_id is None:
            locked.assignee = actor
        try:
            _carry_out(actor, locked, steps, notes, suggestion, at)
        except ValidationError as error:
            raise ValidationError({"next_steps": error.messages}) from error
        locked.save()
        clock = clock_of(locked)
        if clock is not None and clock.status in (ClockStatus.RUNNING, ClockStatus.PAUSED):
            sla.stop(clock, at, actor=actor, now=at)
    transaction.on_commit(lambda: follow_up_done.send(sender=FollowUp, follow_up=locked))
    return locked


def _check_completion(
    follow_up: FollowUp, outcome: str, notes: str, steps: list[str], suggestion: str
) -> None:
    errors: dict[str, str] = {}
    if outcome not in Outcome.values:
        errors["outcome"] = _("Choose the outcome of the call.")
    elif outcome in (Outcome.PARTLY, Outcome.UNSATISFIED) and not notes:
        errors["notes"] = _("Write down what the customer said.")
    bad = set(steps) - set(NextStep.values)
    if bad:
        errors["next_steps"] = _("Unknown next step: %(s)s") % {"s": ", ".join(sorted(bad))}
    elif NextStep.REOPEN_CASE in steps and follow_up.case is None:
        errors["next_steps"] = _("There is no case to reopen.")
    elif NextStep.REOPEN_CASE in steps and follow_up.case.status not in (  # type: ignore[union-attr]
        Status.RESOLVED,
        Status.CLOSED,
    ):
        errors["next_steps"] = _("The case is still open.")
    if NextStep.SUGGESTION in steps and not suggestion:
        errors["suggestion"] = _("Write down the suggestion.")
    if len(notes) > MAX_TEXT or len(suggestion) > MAX_TEXT:
        errors["notes"] = _("Please keep your notes under %(n)s characters.") % {"n": MAX_TEXT}
    if errors:
        raise ValidationError(errors)


def _carry_out(
    actor: User, follow_up: FollowUp, steps: list[str], notes: str, suggestion: str, at: datetime
) -> None:
    case = follow_up.case
    if NextStep.REOPEN_CASE in steps and case is not None:
        desk.reopen(
            actor=actor,
            case=case,
            reason=_("Follow-up %(reference)s: %(notes)s")
            % {"reference": follow_up.reference, "notes": notes or follow_up.get_outcome_display()},
            at=at,
        )
    if NextStep.OPEN_COMPLAINT in steps:
        follow_up.complaint_case = desk.open_case(
            actor=actor,
            organisation=follow_up.organisation,
            case_type=CaseType.COMPLAINT,
            subject=_("Complaint from follow-up %(reference)s")
            % {"reference": follow_up.reference},
            description=notes,
            channel=Channel.PHONE,
            contact=follow_up.contact,
            service=case.service if case else None,
            at=at,
        )
    if NextStep.SUGGESTION in steps:
        follow_up.suggestion_case = desk.open_case(
            actor=actor,
            organisation=follow_up.organisation,
            case_type=CaseType.SUGGESTION,
            subject=_("Suggestion from follow-up %(reference)s")
            % {"reference": follow_up.reference},
            description=suggestion,
            channel=Channel.PHONE,
            contact=follow_up.contact,
            service=case.service if case else None,
            at=at,
        )


def cancel(
    *, actor: User, follow_up: FollowUp, reason: str, at: datetime | None = None
) -> FollowUp:
    """Drop a follow-up that no longer makes sense (a manager's decision, with a reason)."""
    at = _now(at)
    if not can(actor, Action.MANAGE_FOLLOW_UPS, follow_up):
        raise PermissionDenied(_("You are not allowed to cancel follow-ups."))
    if not reason.strip():
        raise ValidationError({"reason": _("Say why the follow-up is cancelled.")})
    if follow_up.kind in (ProgrammeKind.DISSATISFIED, ProgrammeKind.COMPLAINT):
        raise ValidationError(_("A mandatory follow-up cannot be cancelled; record its outcome."))
    with acting_as(actor):
        locked = FollowUp.objects.select_for_update().get(pk=follow_up.pk)
        if locked.status != FollowUpStatus.OPEN:
            raise ValidationError(_("This follow-up is already closed."))
        locked.status = FollowUpStatus.CANCELLED
        locked.notes = reason.strip()
        locked.completed_at = at
        locked.completed_by = actor
        locked.save()
        clock = clock_of(locked)
        if clock is not None and clock.status in (ClockStatus.RUNNING, ClockStatus.PAUSED):
            sla.cancel(clock, at, actor=actor, reason=reason.strip()[:200], now=at)
    return locked


# ============================================================================ the sweep


def sweep_resolved(now: datetime, days: int = 3) -> int:
    """Catch up on resolutions whose handler did not run (a crash after the commit).

    Looks at the cases resolved in the last `days` days; everything it would create is
    idempotent, so cases already handled are left as they are.
    """
    since = now - timedelta(days=days)
    handled = 0
    cases = Case.objects.filter(
        resolved_at__gte=since, resolved_at__lte=now, merged_into__isnull=True
    ).select_related("contact", "organisation", "team", "assignee", "first_contact_owner")
    for case in cases.order_by("resolved_at", "pk"):
        on_case_resolved(case, at=case.resolved_at)
        handled += 1
    return handled
