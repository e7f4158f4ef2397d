"""Surveys and follow-ups (回访): what is asked, who is invited, what they answered,
and the follow-up calls that a resolution, a complaint, a low score or an improvement
leads to.

Survey texts are stored in both languages on each question (they are the customer's
reading, not the interface's), and answers keep the numbers exactly as given, so every
figure can be recomputed from the rows.
"""

from __future__ import annotations

from typing import Any

from django.contrib.contenttypes.fields import GenericForeignKey, GenericRelation
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from assura.calendars.models import Calendar
from assura.commitments.models import Contract, Service
from assura.core.models import Organisation, Team, User, code_validator
from assura.core.numbering import YearCounter
from assura.desk.models import Case
from assura.sla.models import Clock


class Language(models.TextChoices):
    ZH_HANS = "zh-hans", "简体中文"
    EN = "en", "English"


def pick(zh: str, en: str, language: str | None = None) -> str:
    """The text in `language` (the active one by default), falling back to the other."""
    code = (language or get_language() or "zh-hans").lower()
    first, second = (en, zh) if code.startswith("en") else (zh, en)
    return first or second


# ---------------------------------------------------------------------------- surveys


class SurveyKind(models.TextChoices):
    CSAT = "csat", _("Satisfaction (CSAT)")
    LOYALTY = "loyalty", _("Loyalty (NPS)")
    SERVQUAL = "servqual", _("Service quality (SERVQUAL)")
    FEEDBACK = "feedback", _("Problem feedback")
    CUSTOM = "custom", _("Custom")


class Survey(models.Model):
    """A questionnaire; its questions carry both languages."""

    code = models.CharField(_("code"), max_length=32, unique=True, validators=[code_validator])
    kind = models.CharField(
        _("kind"), max_length=16, choices=SurveyKind.choices, default=SurveyKind.CUSTOM
    )
    title_zh = models.CharField(_("title (Chinese)"), max_length=200)
    title_en = models.CharField(_("title (English)"), max_length=200)
    intro_zh = models.TextField(_("introduction (Chinese)"), blank=True)
    intro_en = models.TextField(_("introduction (English)"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    is_shipped = models.BooleanField(_("shipped"), default=False, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("changed"), auto_now=True)

    class Meta:
        verbose_name = _("survey")
        verbose_name_plural = _("surveys")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.title()

    def get_absolute_url(self) -> str:
        return reverse("voice:survey", args=[self.code])

    def title(self, language: str | None = None) -> str:
        return pick(self.title_zh, self.title_en, language)

    def intro(self, language: str | None = None) -> str:
        return pick(self.intro_zh, self.intro_en, language)


class QuestionKind(models.TextChoices):
    RATING = "rating", _("Satisfaction 1-5 (CSAT)")
    NPS = "nps", _("Likelihood 0-10 (NPS)")
    SERVQUAL = "servqual", _("Expectation and perception 1-7 (SERVQUAL)")
    SINGLE = "single", _("Single choice")
    MULTIPLE = "multiple", _("Multiple choice")
    TEXT = "text", _("Free text")


#: The scale of each numeric kind, lowest and highest.
SCALES = {QuestionKind.RATING: (1, 5), QuestionKind.NPS: (0, 10), QuestionKind.SERVQUAL: (1, 7)}


class Dimension(models.TextChoices):
    TANGIBLES = "tangibles", _("Tangibles")
    RELIABILITY = "reliability", _("Reliability")
    RESPONSIVENESS = "responsiveness", _("Responsiveness")
    ASSURANCE = "assurance", _("Assurance")
    EMPATHY = "empathy", _("Empathy")


class Question(models.Model):
    """One question of a survey.

    `choices` (single and multiple choice) is a list of
    `{"code": …, "zh": …, "en": …, "negative": bool}`; a negative choice marks the
    answer as a low score, like a CSAT of 3 or less or an NPS detractor.
    """

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="questions")
    position = models.PositiveSmallIntegerField(_("order"), default=10)
    code = models.CharField(_("code"), max_length=32, validators=[code_validator])
    kind = models.CharField(_("type"), max_length=16, choices=QuestionKind.choices)
    text_zh = models.TextField(_("question (Chinese)"))
    text_en = models.TextField(_("question (English)"))
    required = models.BooleanField(_("required"), default=True)
    ask_why = models.BooleanField(
        _("ask why"), default=False, help_text=_("Add a free-text 'why' box after the score.")
    )
    dimension = models.CharField(
        _("SERVQUAL dimension"), max_length=16, choices=Dimension.choices, blank=True
    )
    choices = models.JSONField(_("choices"), default=list, blank=True)

    class Meta:
        verbose_name = _("question")
        verbose_name_plural = _("questions")
        ordering = ["survey", "position", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["survey", "code"], name="voice_question_code"),
            models.CheckConstraint(
                condition=~Q(kind="servqual") | ~Q(dimension=""),
                name="voice_servqual_has_dimension",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.survey.code}/{self.code}"

    def text(self, language: str | None = None) -> str:
        return pick(self.text_zh, self.text_en, language)

    @property
    def scale(self) -> tuple[int, int] | None:
        return SCALES.get(QuestionKind(self.kind))

    def choice_label(self, code: str, language: str | None = None) -> str:
        for choice in self.choices or []:
            if choice.get("code") == code:
                return pick(choice.get("zh", ""), choice.get("en", ""), language)
        return code

    def negative_codes(self) -> set[str]:
        return {c["code"] for c in self.choices or [] if c.get("negative")}


class TriggerKind(models.TextChoices):
    AFTER_RESOLUTION = "after_resolution", _("After a case is resolved")
    PERIODIC = "periodic", _("Periodic")
    MANUAL = "manual", _("Manual")


class Period(models.TextChoices):
    MONTHLY = "monthly", _("Monthly")
    QUARTERLY = "quarterly", _("Quarterly")
    YEARLY = "yearly", _("Yearly")


class Trigger(models.Model):
    """When a survey goes out, and to whom.

    After a resolution: `delay` after it, to a deterministic `sample` share of the
    resolved cases (by a hash of the case, so a rerun picks the same ones), at most one
    survey per contact per `min_days_between` days. Periodic: every period to each
    active contact of the contract's customer (or of every customer). Manual: when a
    quality manager sends it.
    """

    survey = models.ForeignKey(Survey, on_delete=models.PROTECT, related_name="triggers")
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("when"), max_length=20, choices=TriggerKind.choices)
    is_active = models.BooleanField(_("active"), default=True)
    delay = models.DurationField(_("delay after resolution"), null=True, blank=True)
    sample = models.DecimalField(
        _("sample"),
        max_digits=4,
        decimal_places=3,
        default=1,
        help_text=_("Share of resolved cases surveyed, as a fraction (0.25 = 25 %)."),
    )
    min_days_between = models.PositiveSmallIntegerField(
        _("days between surveys to one contact"), default=30
    )
    case_types = models.JSONField(
        _("case types"), default=list, blank=True, help_text=_("Empty: every case type.")
    )
    service = models.ForeignKey(
        Service, verbose_name=_("service"), on_delete=models.PROTECT, null=True, blank=True
    )
    contract = models.ForeignKey(
        Contract, verbose_name=_("contract"), on_delete=models.PROTECT, null=True, blank=True
    )
    period = models.CharField(_("period"), max_length=16, choices=Period.choices, blank=True)
    next_run_at = models.DateTimeField(_("next run"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("survey trigger")
        verbose_name_plural = _("survey triggers")
        ordering = ["survey", "pk"]
        indexes = [
            models.Index(
                fields=["next_run_at"],
                name="voice_trigger_due",
                condition=Q(next_run_at__isnull=False, is_active=True),
            )
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(sample__gte=0) & Q(sample__lte=1), name="voice_trigger_sample_fraction"
            )
        ]

    def __str__(self) -> str:
        return self.name


class InvitationStatus(models.TextChoices):
    SCHEDULED = "scheduled", _("Scheduled")
    SENT = "sent", _("Sent")
    RESPONDED = "responded", _("Answered")
    SKIPPED = "skipped", _("Not sent")
    CANCELLED = "cancelled", _("Cancelled")


#: Invitations that count towards "one survey per contact per N days".
COUNTED_STATUSES = (InvitationStatus.SCHEDULED, InvitationStatus.SENT, InvitationStatus.RESPONDED)


class SkipReason(models.TextChoices):
    OPTED_OUT = "opted_out", _("The contact opted out of surveys")
    TOO_SOON = "too_soon", _("The contact was surveyed recently")
    INACTIVE = "inactive", _("The contact is no longer active")


class InvitationQuerySet(models.QuerySet["Invitation"]):
    def visible_to(self, user: User) -> InvitationQuerySet:
        """A customer contact sees only the invitations addressed to it; staff see all."""
        if user.is_customer:
            return self.filter(contact=user)
        return self.all()


class Invitation(models.Model):
    """One survey addressed to one contact, answerable once through a link.

    The case's team, assignee and service are copied when it is created so results can
    be cut by them even after the case moves on. `dedup_key` makes every trigger
    idempotent: a rerun finds the invitation it made the first time.
    """

    survey = models.ForeignKey(Survey, on_delete=models.PROTECT, related_name="invitations")
    trigger = models.ForeignKey(
        Trigger, on_delete=models.PROTECT, null=True, blank=True, related_name="invitations"
    )
    contact = models.ForeignKey(
        User, verbose_name=_("contact"), on_delete=models.PROTECT, related_name="invitations"
    )
    organisation = models.ForeignKey(
        Organisation, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="+"
    )
    case = models.ForeignKey(
        Case,
        verbose_name=_("case"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="invitations",
    )
    contract = models.ForeignKey(
        Contract, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    service = models.ForeignKey(
        Service, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    team = models.ForeignKey(
        Team, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    agent = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    language = models.CharField(_("language"), max_length=16, choices=Language.choices)
    dedup_key = models.CharField(max_length=120, unique=True, editable=False)
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=InvitationStatus.choices,
        default=InvitationStatus.SCHEDULED,
    )
    skip_reason = models.CharField(
        _("why not sent"), max_length=16, choices=SkipReason.choices, blank=True
    )
    created_at = models.DateTimeField(_("created"))
    send_at = models.DateTimeField(_("to be sent"))
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    remind_at = models.DateTimeField(_("reminder due"), null=True, blank=True)
    reminders_sent = models.PositiveSmallIntegerField(_("reminders sent"), default=0)
    responded_at = models.DateTimeField(_("answered"), null=True, blank=True)

    objects = InvitationQuerySet.as_manager()

    class Meta:
        verbose_name = _("survey invitation")
        verbose_name_plural = _("survey invitations")
        ordering = ["-send_at", "-pk"]
        indexes = [
            models.Index(
                fields=["send_at"], name="voice_invitation_due", condition=Q(status="scheduled")
            ),
            models.Index(
                fields=["remind_at"],
                name="voice_reminder_due",
                condition=Q(status="sent", remind_at__isnull=False),
            ),
            models.Index(fields=["contact", "send_at"], name="voice_invitation_contact"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["survey", "case"],
                condition=Q(case__isnull=False),
                name="voice_one_invitation_per_case",
            )
        ]

    def __str__(self) -> str:
        about = self.case.reference if self.case_id else self.survey.code
        return f"{about} → {self.contact}"

    @property
    def scope_organisation_id(self) -> int:
        return self.organisation_id

    @property
    def scope_team_id(self) -> int | None:
        return self.team_id

    def is_expired(self, now: Any) -> bool:
        return self.expires_at is not None and now >= self.expires_at


class InvitationToken(models.Model):
    """A link's secret, stored as its SHA-256 only.

    Each message (the invitation, a reminder, the portal's answer button) carries its own
    random token; all of them open the same invitation, which accepts one response.
    """

    invitation = models.ForeignKey(Invitation, on_delete=models.CASCADE, related_name="tokens")
    digest = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("created"))

    class Meta:
        verbose_name = _("survey link")
        verbose_name_plural = _("survey links")

    def __str__(self) -> str:
        return f"{self.invitation_id}:{self.digest[:8]}…"


class OptOut(models.Model):
    """A contact who asked not to receive surveys any more."""

    contact = models.OneToOneField(
        User, verbose_name=_("contact"), on_delete=models.CASCADE, related_name="survey_opt_out"
    )
    opted_out_at = models.DateTimeField(_("opted out"))
    invitation = models.ForeignKey(
        Invitation, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("survey opt-out")
        verbose_name_plural = _("survey opt-outs")

    def __str__(self) -> str:
        return str(self.contact)


class ResponseQuerySet(models.QuerySet["Response"]):
    def visible_to(self, user: User) -> ResponseQuerySet:
        if user.is_customer:
            return self.filter(contact=user)
        return self.all()


class Response(models.Model):
    """The one answer to an invitation, with the invitation's context copied for slicing."""

    invitation = models.OneToOneField(Invitation, on_delete=models.PROTECT, related_name="response")
    survey = models.ForeignKey(Survey, on_delete=models.PROTECT, related_name="responses")
    contact = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    case = models.ForeignKey(
        Case, on_delete=models.PROTECT, null=True, blank=True, related_name="survey_responses"
    )
    service = models.ForeignKey(
        Service, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    team = models.ForeignKey(
        Team, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    agent = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    language = models.CharField(_("language"), max_length=16, choices=Language.choices)
    submitted_at = models.DateTimeField(_("answered"), db_index=True)
    is_low = models.BooleanField(_("low score"), default=False)
    low_reasons = models.JSONField(default=list, blank=True)

    objects = ResponseQuerySet.as_manager()

    class Meta:
        verbose_name = _("survey response")
        verbose_name_plural = _("survey responses")
        ordering = ["-submitted_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.survey.code} {self.contact} {self.submitted_at:%Y-%m-%d}"

    @property
    def scope_organisation_id(self) -> int:
        return self.organisation_id

    @property
    def scope_team_id(self) -> int | None:
        return self.team_id


class Answer(models.Model):
    """One question's answer: a number, an expectation/perception pair, choices or text."""

    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="answers")
    question = models.ForeignKey(Question, on_delete=models.PROTECT, related_name="answers")
    value = models.SmallIntegerField(_("score"), null=True, blank=True)
    expectation = models.SmallIntegerField(_("expectation"), null=True, blank=True)
    perception = models.SmallIntegerField(_("perception"), null=True, blank=True)
    choices = models.JSONField(_("choices"), default=list, blank=True)
    text = models.TextField(_("text"), blank=True)

    class Meta:
        verbose_name = _("answer")
        verbose_name_plural = _("answers")
        ordering = ["response", "question__position", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["response", "question"], name="voice_one_answer"),
        ]

    def __str__(self) -> str:
        return f"{self.question} = {self.value if self.value is not None else self.choices}"


# ---------------------------------------------------------------------------- follow-ups


class ProgrammeKind(models.TextChoices):
    ROUTINE = "routine", _("Routine: a share of resolved cases")
    DISSATISFIED = "dissatisfied", _("Mandatory: dissatisfied survey answers")
    COMPLAINT = "complaint", _("Mandatory: every complaint after resolution")
    RESULT = "result", _("Result: after an improvement is done")


class AssignTo(models.TextChoices):
    TEAM = "team", _("The programme's team (first come, first served)")
    FIRST_CONTACT_OWNER = "first_contact_owner", _("The case's first-contact owner")
    ASSIGNEE = "assignee", _("The case's assignee")


class Programme(models.Model):
    """A rule that creates follow-up tasks, with their target and who makes the calls."""

    code = models.CharField(_("code"), max_length=32, unique=True, validators=[code_validator])
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=16, choices=ProgrammeKind.choices)
    is_active = models.BooleanField(_("active"), default=True)
    sample = models.DecimalField(
        _("sample"),
        max_digits=4,
        decimal_places=3,
        default=1,
        help_text=_("Share of resolved cases followed up, as a fraction (routine programmes)."),
    )
    case_types = models.JSONField(
        _("case types"), default=list, blank=True, help_text=_("Empty: every case type.")
    )
    target = models.DurationField(
        _("within"), help_text=_("Measured in the calendar's working time.")
    )
    calendar = models.ForeignKey(
        Calendar, verbose_name=_("calendar"), on_delete=models.PROTECT, related_name="+"
    )
    team = models.ForeignKey(
        Team, verbose_name=_("team"), on_delete=models.PROTECT, null=True, blank=True
    )
    assign_to = models.CharField(
        _("assign to"), max_length=24, choices=AssignTo.choices, default=AssignTo.TEAM
    )
    script_zh = models.TextField(
        _("script (Chinese)"), blank=True, help_text=_("One question a line.")
    )
    script_en = models.TextField(
        _("script (English)"), blank=True, help_text=_("One question a line.")
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("follow-up programme")
        verbose_name_plural = _("follow-up programmes")
        ordering = ["kind", "code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(sample__gte=0) & Q(sample__lte=1),
                name="voice_programme_sample_fraction",
            )
        ]

    def __str__(self) -> str:
        return self.name


class FollowUpStatus(models.TextChoices):
    OPEN = "open", _("Open")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")


class Outcome(models.TextChoices):
    SATISFIED = "satisfied", _("Satisfied")
    PARTLY = "partly_satisfied", _("Partly satisfied")
    UNSATISFIED = "unsatisfied", _("Unsatisfied")
    UNREACHABLE = "unreachable", _("Unreachable")
    REFUSED = "refused", _("Refused")


class NextStep(models.TextChoices):
    REOPEN_CASE = "reopen_case", _("Reopen the case")
    OPEN_COMPLAINT = "open_complaint", _("Open a complaint")
    SUGGESTION = "suggestion", _("Record an improvement suggestion")


class FollowUpQuerySet(models.QuerySet["FollowUp"]):
    def visible_to(self, user: User) -> FollowUpQuerySet:
        """Follow-ups are internal work: staff see them, customers see none."""
        if user.is_customer:
            return self.none()
        return self.all()

    def open(self) -> FollowUpQuerySet:
        return self.filter(status=FollowUpStatus.OPEN)


class FollowUpCounter(YearCounter):
    """The last follow-up number of a year, for references like F-2026-000042."""

    class Meta:
        verbose_name = _("follow-up counter")


class FollowUp(models.Model):
    """A call (or visit) to a customer, due on a calendar: a clock subject like a case."""

    reference = models.CharField(_("reference"), max_length=20, unique=True, editable=False)
    programme = models.ForeignKey(
        Programme, verbose_name=_("programme"), on_delete=models.PROTECT, related_name="follow_ups"
    )
    kind = models.CharField(_("kind"), max_length=16, choices=ProgrammeKind.choices)
    status = models.CharField(
        _("status"), max_length=16, choices=FollowUpStatus.choices, default=FollowUpStatus.OPEN
    )
    reason = models.CharField(_("why"), max_length=300, blank=True)
    organisation = models.ForeignKey(
        Organisation, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="+"
    )
    contact = models.ForeignKey(
        User,
        verbose_name=_("contact"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="follow_ups_received",
    )
    case = models.ForeignKey(
        Case,
        verbose_name=_("case"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="follow_ups",
    )
    response = models.ForeignKey(
        Response,
        verbose_name=_("survey answer"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="follow_ups",
    )
    about_type = models.ForeignKey(
        ContentType, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    about_id = models.PositiveBigIntegerField(null=True, blank=True)
    about = GenericForeignKey("about_type", "about_id")
    about_label = models.CharField(_("improvement"), max_length=200, blank=True)
    team = models.ForeignKey(
        Team, verbose_name=_("team"), on_delete=models.PROTECT, null=True, blank=True
    )
    assignee = models.ForeignKey(
        User,
        verbose_name=_("assignee"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="follow_ups_assigned",
    )
    script_zh = models.TextField(_("script (Chinese)"), blank=True)
    script_en = models.TextField(_("script (English)"), blank=True)
    created_at = models.DateTimeField(_("created"), db_index=True)
    due_at = models.DateTimeField(_("due"), null=True, blank=True)
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True)
    completed_by = models.ForeignKey(
        User,
        verbose_name=_("completed by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    outcome = models.CharField(_("outcome"), max_length=20, choices=Outcome.choices, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    next_steps = models.JSONField(_("next steps"), default=list, blank=True)
    suggestion = models.TextField(_("improvement suggestion"), blank=True)
    complaint_case = models.ForeignKey(
        Case,
        verbose_name=_("complaint opened"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    suggestion_case = models.ForeignKey(
        Case,
        verbose_name=_("suggestion recorded"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    clocks = GenericRelation(Clock, content_type_field="subject_type", object_id_field="subject_id")

    objects = FollowUpQuerySet.as_manager()

    class Meta:
        verbose_name = _("follow-up")
        verbose_name_plural = _("follow-ups")
        ordering = ["due_at", "pk"]
        indexes = [
            models.Index(fields=["status", "due_at"], name="voice_follow_up_due"),
            models.Index(fields=["assignee", "status"], name="voice_follow_up_assignee"),
            models.Index(fields=["team", "status"], name="voice_follow_up_team"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["response"],
                condition=Q(response__isnull=False),
                name="voice_one_follow_up_per_answer",
            ),
            models.UniqueConstraint(
                fields=["programme", "case"],
                condition=Q(case__isnull=False, response__isnull=True, about_id__isnull=True),
                name="voice_one_follow_up_per_case",
            ),
            models.UniqueConstraint(
                fields=["programme", "about_type", "about_id", "contact"],
                condition=Q(about_id__isnull=False),
                name="voice_one_result_follow_up",
            ),
        ]

    def __str__(self) -> str:
        who = self.contact or self.organisation
        return f"{self.reference} {who}"

    def get_absolute_url(self) -> str:
        return reverse("voice:follow_up", args=[self.reference])

    @property
    def scope_organisation_id(self) -> int:
        return self.organisation_id

    @property
    def scope_team_id(self) -> int | None:
        return self.team_id

    @property
    def is_open(self) -> bool:
        return self.status == FollowUpStatus.OPEN

    @property
    def first_contact_owner(self) -> User | None:
        return self.case.first_contact_owner if self.case_id and self.case else None

    def script(self, language: str | None = None) -> list[str]:
        text = pick(self.script_zh, self.script_en, language)
        return [line.strip() for line in text.splitlines() if line.strip()]

    def accountable_staff(self) -> list[User]:
        """Who hears that this follow-up is due soon or late: its assignee, else the team lead."""
        if self.assignee is not None:
            return [self.assignee]
        lead = self.team.lead if self.team_id and self.team else None
        return [lead] if lead is not None else []
