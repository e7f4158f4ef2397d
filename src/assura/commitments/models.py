"""What was promised: services, contracts, SLA policies with their targets, and versions.

A policy is edited as rows (conditions, targets, escalation levels) and frozen into a
`PolicyVersion` on every change; a clock keeps the version it started under, so a
figure is always measured against the promise that was in force at the time.
"""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from assura.calendars.models import Calendar
from assura.core.models import Organisation, User, code_validator


class CaseType(models.TextChoices):
    """Kinds of cases a policy can be limited to (the desk uses the same values)."""

    INQUIRY = "inquiry", _("Inquiry")
    FAULT = "fault", _("Fault")
    COMPLAINT = "complaint", _("Complaint")
    SUGGESTION = "suggestion", _("Suggestion")
    REQUEST = "request", _("Request")


class Priority(models.TextChoices):
    URGENT = "urgent", _("Urgent")
    HIGH = "high", _("High")
    NORMAL = "normal", _("Normal")
    LOW = "low", _("Low")


class Channel(models.TextChoices):
    PORTAL = "portal", _("Web portal")
    EMAIL = "email", _("E-mail")
    API = "api", _("API")
    PHONE = "phone", _("Phone")
    CHAT = "chat", _("Chat")


class CaseEvent(models.TextChoices):
    """Moments in a case's life that start, stop or pause a metric's clock."""

    CREATED = "created", _("Case created")
    FIRST_PUBLIC_REPLY = "first_public_reply", _("First public reply")
    CLASSIFIED = "classified", _("Type and priority confirmed")
    INTERIM_PLAN = "interim_plan", _("Interim plan sent")
    RESOLVED = "resolved", _("Resolved")
    CLOSED = "closed", _("Closed")
    MARKED_COMPLEX = "marked_complex", _("Marked as complex")


class WaitingStatus(models.TextChoices):
    """Case statuses a metric may pause in."""

    WAITING_CUSTOMER = "waiting_customer", _("Waiting on customer")
    WAITING_THIRD_PARTY = "waiting_third_party", _("Waiting on third party")


class Service(models.Model):
    """An entry of the service catalogue that customers contract for."""

    code = models.CharField(_("code"), max_length=32, unique=True, validators=[code_validator])
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("service")
        verbose_name_plural = _("services")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ContractQuerySet(models.QuerySet["Contract"]):
    def visible_to(self, user: User) -> ContractQuerySet:
        if user.is_customer:
            return self.filter(customer_id=user.organisation_id)
        return self.all()


class Contract(models.Model):
    """What one customer bought: services, the monthly fee, and what a breach costs us."""

    code = models.CharField(_("code"), max_length=32, unique=True, validators=[code_validator])
    name = models.CharField(_("name"), max_length=200)
    customer = models.ForeignKey(
        Organisation,
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="contracts",
        limit_choices_to={"kind": "customer"},
    )
    services = models.ManyToManyField(Service, verbose_name=_("services"), blank=True)
    monthly_fee = models.DecimalField(
        _("monthly service fee"),
        max_digits=14,
        decimal_places=2,
        validators=[MinValueValidator(Decimal(0))],
    )
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    starts_on = models.DateField(_("starts"))
    ends_on = models.DateField(_("ends"), null=True, blank=True)
    compensation_cap = models.DecimalField(
        _("compensation cap per month"),
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal(0))],
        help_text=_("Empty: no cap."),
    )
    is_active = models.BooleanField(_("active"), default=True)

    objects = ContractQuerySet.as_manager()

    class Meta:
        verbose_name = _("contract")
        verbose_name_plural = _("contracts")
        ordering = ["customer__name", "code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def scope_organisation_id(self) -> int:
        return self.customer_id

    @property
    def scope_team_id(self) -> None:
        return None

    def clean(self) -> None:
        if self.ends_on and self.starts_on and self.ends_on < self.starts_on:
            raise ValidationError({"ends_on": _("A contract cannot end before it starts.")})
        if self.currency and (len(self.currency) != 3 or not self.currency.isalpha()):
            raise ValidationError({"currency": _("Use a three-letter currency code, e.g. CNY.")})
        self.currency = (self.currency or "").upper()


class CompensationRule(models.Model):
    """What one breach of a metric costs under a contract: a share of the fee or a sum."""

    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="rules")
    metric = models.ForeignKey("Metric", verbose_name=_("metric"), on_delete=models.PROTECT)
    percent_of_fee = models.DecimalField(
        # xgettext:no-python-format
        _("% of monthly fee"),
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(100))],
    )
    fixed_amount = models.DecimalField(
        _("fixed amount"),
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal(0))],
    )

    class Meta:
        verbose_name = _("compensation rule")
        verbose_name_plural = _("compensation rules")
        constraints = [
            models.UniqueConstraint(fields=["contract", "metric"], name="one_rule_per_metric"),
            models.CheckConstraint(
                condition=Q(percent_of_fee__isnull=False) | Q(fixed_amount__isnull=False),
                name="rule_has_an_amount",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.contract.code}: {self.metric.code}"

    def amount(self) -> Decimal:
        """The compensation for one breach, before the contract's monthly cap."""
        share = (self.percent_of_fee or Decimal(0)) / 100 * self.contract.monthly_fee
        return (share + (self.fixed_amount or Decimal(0))).quantize(Decimal("0.01"))


class Metric(models.Model):
    """A measured commitment: when its clock starts, stops and pauses.

    The five shipped metrics are rows like any other, so a quality manager adds a
    milestone metric (e.g. "on site within 4 h") by choosing its events, without code.
    """

    code = models.CharField(_("code"), max_length=64, unique=True, validators=[code_validator])
    name = models.CharField(_("name"), max_length=200)
    start_event = models.CharField(
        _("starts at"), max_length=32, choices=CaseEvent.choices, default=CaseEvent.CREATED
    )
    stop_event = models.CharField(_("stops at"), max_length=32, choices=CaseEvent.choices)
    pause_statuses = models.JSONField(
        _("pauses while"),
        default=list,
        blank=True,
        help_text=_("Case statuses in which the clock does not run."),
    )
    case_types = models.JSONField(
        _("case types"), default=list, blank=True, help_text=_("Empty: every case type.")
    )
    is_builtin = models.BooleanField(_("shipped"), default=False, editable=False)

    class Meta:
        verbose_name = _("metric")
        verbose_name_plural = _("metrics")
        ordering = ["pk"]

    def __str__(self) -> str:
        """Shipped names are translated (`standard.SHIPPED_NAMES`); custom ones as typed."""
        return gettext(self.name)

    def clean(self) -> None:
        if self.start_event == self.stop_event:
            raise ValidationError({"stop_event": _("A metric must stop at another event.")})
        bad = set(self.pause_statuses or []) - set(WaitingStatus.values)
        if bad:
            raise ValidationError(
                {"pause_statuses": _("Unknown status: %(s)s") % {"s": ", ".join(sorted(bad))}}
            )
        bad = set(self.case_types or []) - set(CaseType.values)
        if bad:
            raise ValidationError(
                {"case_types": _("Unknown case type: %(s)s") % {"s": ", ".join(sorted(bad))}}
            )


class PolicyQuerySet(models.QuerySet["Policy"]):
    def in_order(self) -> PolicyQuerySet:
        return self.filter(is_active=True).order_by("is_default", "position", "pk")


class Policy(models.Model):
    """An SLA policy: conditions that select cases, and per metric a target.

    Policies are tried in `position` order and the first whose conditions all hold
    wins; an empty condition holds for everything, and the default policy (at most one)
    catches whatever no other policy took.
    """

    code = models.CharField(_("code"), max_length=32, unique=True, validators=[code_validator])
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    position = models.PositiveIntegerField(_("order"), default=100)
    is_default = models.BooleanField(_("default policy"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    customers = models.ManyToManyField(
        Organisation,
        verbose_name=_("customers"),
        blank=True,
        related_name="+",
        limit_choices_to={"kind": "customer"},
    )
    contracts = models.ManyToManyField(Contract, verbose_name=_("contracts"), blank=True)
    services = models.ManyToManyField(Service, verbose_name=_("services"), blank=True)
    channels = models.JSONField(_("channels"), default=list, blank=True)
    case_types = models.JSONField(_("case types"), default=list, blank=True)
    priorities = models.JSONField(_("priorities"), default=list, blank=True)
    current_version = models.ForeignKey(
        "PolicyVersion", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    objects = PolicyQuerySet.as_manager()

    class Meta:
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")
        ordering = ["is_default", "position", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="one_default_policy"
            )
        ]

    def __str__(self) -> str:
        return self.name


class PolicyTarget(models.Model):
    """One metric's target under a policy, optionally only for some priorities."""

    policy = models.ForeignKey(Policy, on_delete=models.CASCADE, related_name="targets")
    metric = models.ForeignKey(Metric, verbose_name=_("metric"), on_delete=models.PROTECT)
    priority = models.CharField(
        _("priority"),
        max_length=16,
        choices=Priority.choices,
        blank=True,
        help_text=_("Empty: every priority without a target of its own."),
    )
    target = models.DurationField(_("target"))
    calendar = models.ForeignKey(Calendar, verbose_name=_("calendar"), on_delete=models.PROTECT)
    warning_fraction = models.DecimalField(
        _("warn at"),
        max_digits=4,
        decimal_places=3,
        default=Decimal("0.75"),
        validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(Decimal(1))],
    )

    class Meta:
        verbose_name = _("target")
        verbose_name_plural = _("targets")
        ordering = ["policy", "metric", "priority"]
        constraints = [
            models.UniqueConstraint(
                fields=["policy", "metric", "priority"], name="one_target_per_metric_priority"
            )
        ]

    def __str__(self) -> str:
        return f"{self.metric.code} {self.priority or '*'} {self.target}"


class EscalationRecipient(models.TextChoices):
    ASSIGNEE = "assignee", _("Assignee")
    FIRST_CONTACT_OWNER = "first_contact_owner", _("First-contact owner")
    TEAM_LEAD = "team_lead", _("Team lead")
    MANAGER = "manager", _("Managers")
    QUALITY_MANAGER = "quality_manager", _("Quality managers")
    DIRECTOR = "director", _("Director (administrators)")


class EscalationLevel(models.Model):
    """A step of the escalation matrix, timed relative to the due instant.

    `offset` is a fraction of the target: −0.25 fires when 75 % is used, 0 at the due
    instant, +0.5 when half the target again has passed, measured in the clock's own
    calendar time.
    """

    policy = models.ForeignKey(Policy, on_delete=models.CASCADE, related_name="escalations")
    level = models.PositiveSmallIntegerField(_("level"))
    offset = models.DecimalField(
        _("offset (fraction of target)"),
        max_digits=5,
        decimal_places=3,
        validators=[MinValueValidator(Decimal("-0.99")), MaxValueValidator(Decimal(10))],
    )
    recipients = models.JSONField(_("notify"), default=list)
    people = models.ManyToManyField(User, verbose_name=_("also notify"), blank=True)
    expedite = models.BooleanField(_("mark expedited"), default=False)
    raise_priority_to = models.CharField(
        _("raise priority to"), max_length=16, choices=Priority.choices, blank=True
    )

    class Meta:
        verbose_name = _("escalation level")
        verbose_name_plural = _("escalation levels")
        ordering = ["policy", "level"]
        constraints = [
            models.UniqueConstraint(fields=["policy", "level"], name="one_row_per_level")
        ]

    def __str__(self) -> str:
        return f"{self.policy.code} L{self.level} {self.offset:+}"

    def clean(self) -> None:
        bad = set(self.recipients or []) - set(EscalationRecipient.values)
        if bad:
            raise ValidationError(
                {"recipients": _("Unknown recipient: %(s)s") % {"s": ", ".join(sorted(bad))}}
            )


class PolicyVersion(models.Model):
    """A frozen policy: conditions, targets and escalation levels as they were."""

    policy = models.ForeignKey(Policy, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    definition = models.JSONField(_("definition"))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    created_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reason = models.CharField(_("reason"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("policy version")
        verbose_name_plural = _("policy versions")
        ordering = ["policy", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["policy", "number"], name="one_policy_version_number")
        ]

    def __str__(self) -> str:
        return f"{self.policy.code} v{self.number}"
