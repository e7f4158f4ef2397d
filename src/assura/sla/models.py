"""SLA clocks as rows: the events that happened, and the figures derived from them.

The events are the truth; the columns on `Clock` (due, warning, breach instants,
elapsed time) are a replay of them stored for indexing and listing. `next_check_at`
is the one instant the watcher must look at this clock again, and it is indexed so
the watcher finds due clocks without scanning.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from assura.calendars.models import CalendarVersion
from assura.commitments.models import Contract, PolicyVersion
from assura.core.models import Organisation, Team, User
from assura.sla import replay


class ClockStatus(models.TextChoices):
    NOT_STARTED = replay.ClockStatus.NOT_STARTED.value, _("Not started")
    RUNNING = replay.ClockStatus.RUNNING.value, _("Running")
    PAUSED = replay.ClockStatus.PAUSED.value, _("Paused")
    STOPPED = replay.ClockStatus.STOPPED.value, _("Stopped")
    CANCELLED = replay.ClockStatus.CANCELLED.value, _("Cancelled")


class EventKind(models.TextChoices):
    START = replay.EventKind.START.value, _("Started")
    PAUSE = replay.EventKind.PAUSE.value, _("Paused")
    RESUME = replay.EventKind.RESUME.value, _("Resumed")
    STOP = replay.EventKind.STOP.value, _("Stopped")
    CANCEL = replay.EventKind.CANCEL.value, _("Cancelled")
    RETARGET = replay.EventKind.RETARGET.value, _("Target changed")
    REOPEN = replay.EventKind.REOPEN.value, _("Reopened")


OPEN_STATUSES = (ClockStatus.RUNNING, ClockStatus.PAUSED)


class ClockQuerySet(models.QuerySet["Clock"]):
    def visible_to(self, user: User) -> ClockQuerySet:
        """A customer sees the clocks of its own organisation's records; staff see all."""
        if user.is_customer:
            return self.filter(organisation_id=user.organisation_id)
        return self.all()

    def open(self) -> ClockQuerySet:
        return self.filter(status__in=OPEN_STATUSES)

    def due_for_check(self, now: object) -> ClockQuerySet:
        return self.filter(next_check_at__lte=now).order_by("next_check_at")


class Clock(models.Model):
    """One metric of one object measured against a target on a calendar."""

    subject_type = models.ForeignKey(ContentType, on_delete=models.PROTECT)
    subject_id = models.PositiveBigIntegerField()
    subject = GenericForeignKey("subject_type", "subject_id")
    metric = models.CharField(_("metric"), max_length=64)
    organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    team = models.ForeignKey(
        Team,
        verbose_name=_("team"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    calendar_version = models.ForeignKey(
        CalendarVersion,
        verbose_name=_("calendar version"),
        on_delete=models.PROTECT,
        related_name="clocks",
    )
    policy_version = models.ForeignKey(
        PolicyVersion,
        verbose_name=_("policy version"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("The commitment version this clock measures against."),
    )

    status = models.CharField(
        _("status"), max_length=16, choices=ClockStatus.choices, default=ClockStatus.NOT_STARTED
    )
    target = models.DurationField(_("target"))
    warning_fraction = models.FloatField(_("warning at"), default=0.75)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    paused_since = models.DateTimeField(_("paused since"), null=True, blank=True)
    stopped_at = models.DateTimeField(_("stopped"), null=True, blank=True)
    due_at = models.DateTimeField(_("due"), null=True, blank=True)
    warning_at = models.DateTimeField(_("warning due"), null=True, blank=True)
    warned_at = models.DateTimeField(_("warned"), null=True, blank=True)
    breached_at = models.DateTimeField(_("breached"), null=True, blank=True)
    breaches_at = models.DateTimeField(
        _("breaches at"),
        null=True,
        blank=True,
        help_text=_("When elapsed time exceeds the target if the clock runs on."),
    )
    met_at = models.DateTimeField(_("met"), null=True, blank=True)
    stopped_late = models.BooleanField(_("met late"), default=False)
    elapsed = models.DurationField(_("elapsed"), default=timedelta)
    paused = models.DurationField(_("paused"), default=timedelta)
    computed_at = models.DateTimeField(_("computed"), null=True, blank=True)
    next_check_at = models.DateTimeField(null=True, blank=True)
    anomalies = models.JSONField(default=list, blank=True)

    objects = ClockQuerySet.as_manager()

    class Meta:
        verbose_name = _("SLA clock")
        verbose_name_plural = _("SLA clocks")
        ordering = ["due_at", "pk"]
        indexes = [
            models.Index(
                fields=["next_check_at"],
                name="clock_next_check",
                condition=Q(next_check_at__isnull=False),
            ),
            models.Index(fields=["subject_type", "subject_id"], name="clock_subject"),
            # The running clocks of a kind of subject, and a subject's soonest due among
            # them, read from the index alone: the desk's queue sorts thousands of cases
            # by this lookup (bench/RESULTS.md, "Page speed with the demo ×100").
            models.Index(
                fields=["status", "subject_type", "subject_id", "due_at"],
                name="clock_status_subject",
            ),
            models.Index(fields=["status", "due_at"], name="clock_status_due"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["subject_type", "subject_id", "metric"], name="one_clock_per_metric"
            ),
            models.CheckConstraint(
                condition=Q(warning_fraction__gt=0) & Q(warning_fraction__lte=1),
                name="warning_fraction_in_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.metric} #{self.subject_id}"

    @property
    def scope_organisation_id(self) -> int | None:
        return self.organisation_id

    @property
    def scope_team_id(self) -> int | None:
        return self.team_id

    @property
    def calendar_key(self) -> str:
        return str(self.calendar_version_id)


class ClockEvent(models.Model):
    """Something that happened to a clock, at the instant it happened.

    `at` is when it happened (an e-mail's date, an import's history time);
    `recorded_at` is when assura learnt of it. Replays order by `at` then `seq`.
    """

    clock = models.ForeignKey(Clock, on_delete=models.CASCADE, related_name="events")
    seq = models.PositiveIntegerField()
    kind = models.CharField(_("event"), max_length=16, choices=EventKind.choices)
    at = models.DateTimeField(_("at"))
    recorded_at = models.DateTimeField(_("recorded"), auto_now_add=True)
    actor = models.ForeignKey(
        User,
        verbose_name=_("by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    target = models.DurationField(_("target"), null=True, blank=True)
    warning_fraction = models.FloatField(null=True, blank=True)
    calendar_version = models.ForeignKey(
        CalendarVersion, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reason = models.CharField(_("reason"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("clock event")
        verbose_name_plural = _("clock events")
        ordering = ["clock", "at", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["clock", "seq"], name="one_event_per_seq"),
        ]

    def __str__(self) -> str:
        return f"{self.clock} {self.kind} {self.at.isoformat()}"

    def as_replay_event(self) -> replay.ClockEvent:
        return replay.ClockEvent(
            kind=replay.EventKind(self.kind),
            at=self.at,
            actor=str(self.actor_id) if self.actor_id else None,
            target=self.target,
            warning_fraction=self.warning_fraction,
            calendar_key=str(self.calendar_version_id) if self.calendar_version_id else None,
            seq=self.seq,
        )


class ClockWarning(models.Model):
    """The instant a clock passed its warning fraction, recorded once."""

    clock = models.OneToOneField(Clock, on_delete=models.CASCADE, related_name="warning_record")
    warned_at = models.DateTimeField(_("warned"))
    recorded_at = models.DateTimeField(_("recorded"), auto_now_add=True)
    historical = models.BooleanField(
        _("imported history"),
        default=False,
        help_text=_("Recorded while importing another help desk's history: not announced."),
    )

    class Meta:
        verbose_name = _("SLA warning")
        verbose_name_plural = _("SLA warnings")

    def __str__(self) -> str:
        return f"{self.clock} warned {self.warned_at.isoformat()}"


class BreachQuerySet(models.QuerySet["Breach"]):
    def visible_to(self, user: User) -> BreachQuerySet:
        if user.is_customer:
            return self.filter(clock__organisation_id=user.organisation_id)
        return self.all()

    def standing(self) -> BreachQuerySet:
        return self.filter(withdrawn_at__isnull=True)


class Breach(models.Model):
    """A broken promise: the instant a clock's elapsed time first exceeded its target.

    One per clock (a unique constraint, not luck), so every handler that keys on it —
    notice, compensation, escalation — happens once however many workers run.
    """

    clock = models.OneToOneField(Clock, on_delete=models.PROTECT, related_name="breach")
    breached_at = models.DateTimeField(_("breached"))
    recorded_at = models.DateTimeField(_("recorded"), auto_now_add=True)
    metric = models.CharField(_("metric"), max_length=64)
    target = models.DurationField(_("target"))
    withdrawn_at = models.DateTimeField(_("withdrawn"), null=True, blank=True)
    withdrawn_reason = models.CharField(_("why withdrawn"), max_length=200, blank=True)
    historical = models.BooleanField(
        _("imported history"),
        default=False,
        help_text=_(
            "Recorded while importing another help desk's history: measured, never acted on"
            " (no compensation, customer notice or staff message)."
        ),
    )

    objects = BreachQuerySet.as_manager()

    class Meta:
        verbose_name = _("breach")
        verbose_name_plural = _("breaches")
        ordering = ["-breached_at"]
        indexes = [models.Index(fields=["breached_at"], name="breach_at")]

    def __str__(self) -> str:
        return f"{self.metric} breached {self.breached_at.isoformat()}"


class CauseCategory(models.Model):
    """A root-cause category (staffing, process, technical, third party, customer-caused…)."""

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    is_active = models.BooleanField(_("active"), default=True)
    position = models.PositiveSmallIntegerField(_("order"), default=100)

    class Meta:
        verbose_name = _("cause category")
        verbose_name_plural = _("cause categories")
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return gettext(self.name)


class RootCauseAnalysis(models.Model):
    """Why a promise was broken and what changes so it is not broken again (one per breach)."""

    breach = models.OneToOneField(Breach, on_delete=models.PROTECT, related_name="rca")
    category = models.ForeignKey(
        CauseCategory, verbose_name=_("cause"), on_delete=models.PROTECT, related_name="+"
    )
    description = models.TextField(_("what happened"))
    corrective_action = models.TextField(_("corrective action"))
    improvement_reference = models.CharField(
        _("improvement item"),
        max_length=100,
        blank=True,
        help_text=_("Reference of the improvement item this leads to, if any."),
    )
    author = models.ForeignKey(
        User, verbose_name=_("by"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("written"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("root-cause analysis")
        verbose_name_plural = _("root-cause analyses")

    def __str__(self) -> str:
        return f"RCA {self.breach}"


# ---------------------------------------------------------------------------- breach handling


class Escalation(models.Model):
    """One level of the escalation matrix, planned for one clock and fired once.

    `planned_at` is the instant the clock's elapsed working time passes
    (1 + offset) × target, replayed from its events; it moves whenever the clock is
    recomputed, until the level fires. `due_at` is what the timer reads: the planned
    instant, or a later retry after a failed attempt. The level's definition is copied
    from the policy version when planned, so the timer never reads the policy.
    """

    clock = models.ForeignKey(Clock, on_delete=models.CASCADE, related_name="escalations")
    level = models.PositiveSmallIntegerField(_("level"))
    offset = models.DecimalField(_("offset (fraction of target)"), max_digits=5, decimal_places=3)
    recipients = models.JSONField(_("notify"), default=list, blank=True)
    people = models.JSONField(default=list, blank=True)
    expedite = models.BooleanField(_("mark expedited"), default=False)
    raise_priority_to = models.CharField(_("raise priority to"), max_length=16, blank=True)
    planned_at = models.DateTimeField(_("planned"), null=True, blank=True)
    due_at = models.DateTimeField(null=True, blank=True)
    fired_at = models.DateTimeField(_("fired"), null=True, blank=True)
    notified = models.JSONField(default=list, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)

    class Meta:
        verbose_name = _("escalation")
        verbose_name_plural = _("escalations")
        ordering = ["clock", "level"]
        indexes = [
            models.Index(
                fields=["due_at"],
                name="escalation_due",
                condition=Q(fired_at__isnull=True, due_at__isnull=False),
            )
        ]
        constraints = [
            models.UniqueConstraint(fields=["clock", "level"], name="one_escalation_per_level")
        ]

    def __str__(self) -> str:
        return f"{self.clock} L{self.level}"


class NoticeLanguage(models.TextChoices):
    ZH_HANS = "zh-hans", "简体中文"
    EN = "en", "English"


class NoticeTemplate(models.Model):
    """The text a customer receives when a promise is broken, per metric and language.

    `subject` and `body` may use the placeholders {reference}, {metric}, {promised},
    {breached_at} and {reason}; `reason` is the default reason the agent may edit.
    """

    metric = models.CharField(
        _("metric"), max_length=64, blank=True, help_text=_("Empty: every metric without its own.")
    )
    language = models.CharField(_("language"), max_length=16, choices=NoticeLanguage.choices)
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("text"))
    reason = models.TextField(_("default reason"))

    class Meta:
        verbose_name = _("breach notice template")
        verbose_name_plural = _("breach notice templates")
        ordering = ["metric", "language"]
        constraints = [
            models.UniqueConstraint(fields=["metric", "language"], name="one_template_per_language")
        ]

    def __str__(self) -> str:
        return f"{self.metric or '*'} {self.language}"


class BreachNotice(models.Model):
    """What the customer is told about one breach, and why (one per breach).

    It is created with the template's reason and goes out at `send_at` (a short delay
    lets the agent edit the reason first); a later edit keeps the old reason in the
    revisions and sends a correction.
    """

    breach = models.OneToOneField(Breach, on_delete=models.PROTECT, related_name="notice")
    recipient = models.ForeignKey(
        User,
        verbose_name=_("to"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    language = models.CharField(_("language"), max_length=16, choices=NoticeLanguage.choices)
    reason = models.TextField(_("reason"))
    subject = models.CharField(_("subject"), max_length=300, blank=True)
    body = models.TextField(_("text as sent"), blank=True)
    send_at = models.DateTimeField(_("to be sent"))
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    corrections = models.PositiveSmallIntegerField(_("corrections sent"), default=0)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("breach notice")
        verbose_name_plural = _("breach notices")
        ordering = ["-created_at"]
        indexes = [
            models.Index(
                fields=["send_at"], name="notice_to_send", condition=Q(sent_at__isnull=True)
            )
        ]

    def __str__(self) -> str:
        return f"notice {self.breach}"


class BreachNoticeRevision(models.Model):
    """An edit of a notice's reason: the reason it replaced, who changed it and when."""

    notice = models.ForeignKey(BreachNotice, on_delete=models.CASCADE, related_name="revisions")
    reason = models.TextField(_("previous reason"))
    edited_by = models.ForeignKey(
        User, verbose_name=_("by"), on_delete=models.PROTECT, related_name="+"
    )
    edited_at = models.DateTimeField(_("edited"))
    after_sending = models.BooleanField(_("correction sent"), default=False)

    class Meta:
        verbose_name = _("notice revision")
        verbose_name_plural = _("notice revisions")
        ordering = ["notice", "edited_at", "pk"]

    def __str__(self) -> str:
        return f"{self.notice} {self.edited_at.isoformat()}"


class CompensationStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    APPROVED = "approved", _("Approved")
    WAIVED = "waived", _("Waived")
    VOID = "void", _("Void")


#: Entries that count against a contract's monthly cap.
CAP_COUNTED = (CompensationStatus.PENDING, CompensationStatus.APPROVED)


class CompensationEntryQuerySet(models.QuerySet["CompensationEntry"]):
    def visible_to(self, user: User) -> CompensationEntryQuerySet:
        if user.is_customer:
            return self.filter(contract__customer_id=user.organisation_id)
        return self.all()


class CompensationEntry(models.Model):
    """What one breach costs under its contract, booked once, then approved or waived.

    `amount` is after the contract's monthly cap; when the cap cut it, `capped` is set
    and `uncapped_amount` keeps what the rule alone gives.
    """

    breach = models.OneToOneField(Breach, on_delete=models.PROTECT, related_name="compensation")
    contract = models.ForeignKey(
        Contract,
        verbose_name=_("contract"),
        on_delete=models.PROTECT,
        related_name="compensation_entries",
    )
    metric = models.CharField(_("metric"), max_length=64)
    month = models.DateField(_("month"))
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    uncapped_amount = models.DecimalField(_("before the cap"), max_digits=14, decimal_places=2)
    capped = models.BooleanField(_("capped"), default=False)
    currency = models.CharField(_("currency"), max_length=3)
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=CompensationStatus.choices,
        default=CompensationStatus.PENDING,
    )
    decided_by = models.ForeignKey(
        User,
        verbose_name=_("decided by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    reason = models.TextField(_("reason"), blank=True)
    created_at = models.DateTimeField(_("booked"), auto_now_add=True)

    objects = CompensationEntryQuerySet.as_manager()

    class Meta:
        verbose_name = _("compensation entry")
        verbose_name_plural = _("compensation entries")
        ordering = ["month", "created_at", "pk"]
        indexes = [models.Index(fields=["contract", "month"], name="compensation_month")]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gte=0) & Q(amount__lte=models.F("uncapped_amount")),
                name="compensation_within_rule",
            ),
            models.CheckConstraint(
                condition=~Q(status="waived") | ~Q(reason=""), name="waiver_has_a_reason"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.contract.code} {self.month:%Y-%m} {self.amount} {self.currency}"

    @property
    def scope_organisation_id(self) -> int:
        return self.contract.customer_id

    @property
    def scope_team_id(self) -> None:
        return None
