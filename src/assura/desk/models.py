"""Cases (工单) and what happens on them: messages, attachments, the activity timeline."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from assura.commitments.models import (
    CaseType,
    Channel,
    Contract,
    PolicyVersion,
    Priority,
    Service,
)
from assura.core.models import Organisation, Team, User
from assura.core.numbering import YearCounter

if TYPE_CHECKING:
    from django.core.files.uploadedfile import UploadedFile


class Status(models.TextChoices):
    NEW = "new", _("New")
    OPEN = "open", _("Open")
    WAITING_CUSTOMER = "waiting_customer", _("Waiting on customer")
    WAITING_THIRD_PARTY = "waiting_third_party", _("Waiting on third party")
    RESOLVED = "resolved", _("Resolved")
    CLOSED = "closed", _("Closed")


ACTIVE_STATUSES = (Status.NEW, Status.OPEN, Status.WAITING_CUSTOMER, Status.WAITING_THIRD_PARTY)


class CaseQuerySet(models.QuerySet["Case"]):
    def visible_to(self, user: User) -> CaseQuerySet:
        """A customer contact sees its organisation's cases; staff see every case."""
        if user.is_customer:
            return self.filter(organisation_id=user.organisation_id)
        return self.all()

    def active(self) -> CaseQuerySet:
        return self.filter(status__in=ACTIVE_STATUSES)


class Case(models.Model):
    """A request, fault, complaint, suggestion or inquiry, from intake to closure."""

    reference = models.CharField(_("reference"), max_length=20, unique=True, editable=False)
    case_type = models.CharField(_("type"), max_length=16, choices=CaseType.choices)
    priority = models.CharField(
        _("priority"), max_length=16, choices=Priority.choices, default=Priority.NORMAL
    )
    status = models.CharField(
        _("status"), max_length=24, choices=Status.choices, default=Status.NEW
    )
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    subject = models.CharField(_("subject"), max_length=300)
    description = models.TextField(_("description"), blank=True)
    organisation = models.ForeignKey(
        Organisation, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="cases"
    )
    contact = models.ForeignKey(
        User,
        verbose_name=_("contact"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="cases_raised",
    )
    service = models.ForeignKey(
        Service, verbose_name=_("service"), on_delete=models.PROTECT, null=True, blank=True
    )
    contract = models.ForeignKey(
        Contract, verbose_name=_("contract"), on_delete=models.PROTECT, null=True, blank=True
    )
    policy_version = models.ForeignKey(
        PolicyVersion,
        verbose_name=_("SLA policy"),
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
        related_name="cases",
    )
    assignee = models.ForeignKey(
        User,
        verbose_name=_("assignee"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="assigned_cases",
    )
    first_contact_owner = models.ForeignKey(
        User,
        verbose_name=_("first-contact owner"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="owned_cases",
        help_text=_(
            "首问负责人: the first member of staff who took the case; accountable "
            "until closure even after a hand-over."
        ),
    )
    is_complex = models.BooleanField(_("complex problem"), default=False)
    expedited_at = models.DateTimeField(_("expedited"), null=True, blank=True)
    classified_at = models.DateTimeField(_("classified"), null=True, blank=True)
    first_reply_at = models.DateTimeField(_("first reply"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    reopen_count = models.PositiveSmallIntegerField(_("reopened"), default=0)
    merged_into = models.ForeignKey(
        "self",
        verbose_name=_("merged into"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="merged_cases",
    )
    created_at = models.DateTimeField(_("created"), db_index=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    idempotency_key = models.CharField(
        max_length=100, null=True, blank=True, unique=True, editable=False
    )

    objects = CaseQuerySet.as_manager()

    class Meta:
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["organisation", "status"], name="case_org_status"),
            models.Index(fields=["team", "status"], name="case_team_status"),
            models.Index(fields=["assignee", "status"], name="case_assignee_status"),
            models.Index(
                fields=["expedited_at"],
                name="case_expedited",
                condition=Q(expedited_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.subject}"

    @property
    def scope_organisation_id(self) -> int:
        return self.organisation_id

    @property
    def scope_team_id(self) -> int | None:
        return self.team_id

    @property
    def is_open(self) -> bool:
        return self.status in ACTIVE_STATUSES

    def breach_notice_recipients(self) -> list[User]:
        """Who hears of a broken promise on this case (the sla app asks, never imports)."""
        return [self.contact] if self.contact and self.contact.email else []

    def accountable_staff(self) -> list[User]:
        """Assignee and first-contact owner: both hear of every breach until closure."""
        people = [self.assignee, self.first_contact_owner]
        return list({p.pk: p for p in people if p is not None}.values())


class ReferenceCounter(YearCounter):
    """The last case number of a year, for references like C-2026-000123."""

    class Meta:
        verbose_name = _("reference counter")


class MessageKind(models.TextChoices):
    CUSTOMER = "customer", _("From the customer")
    REPLY = "reply", _("Public reply")
    NOTE = "note", _("Internal note")
    SYSTEM = "system", _("System notice")


class Message(models.Model):
    """Something written on a case; internal notes are never shown to customers."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="messages")
    kind = models.CharField(_("kind"), max_length=16, choices=MessageKind.choices)
    author = models.ForeignKey(
        User,
        verbose_name=_("author"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    body = models.TextField(_("message"))
    created_at = models.DateTimeField(_("written"), db_index=True)
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices, blank=True)
    external_id = models.CharField(
        _("external id"),
        max_length=300,
        blank=True,
        help_text=_("E-mail Message-ID or chat message id, for threading and de-duplication."),
    )

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.case.reference} {self.kind} {self.created_at:%Y-%m-%d %H:%M}"

    @property
    def is_public(self) -> bool:
        return self.kind != MessageKind.NOTE


def attachment_path(instance: Attachment, filename: str) -> str:
    """Stored under a content hash, never under the uploader's file name."""
    return f"attachments/{instance.sha256[:2]}/{instance.sha256}"


class Attachment(models.Model):
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to=attachment_path)
    name = models.CharField(_("file name"), max_length=255)
    content_type = models.CharField(_("type"), max_length=100)
    size = models.PositiveBigIntegerField(_("size"))
    sha256 = models.CharField(max_length=64)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    def __str__(self) -> str:
        return self.name

    @staticmethod
    def digest(upload: UploadedFile) -> str:
        sha = hashlib.sha256()
        for chunk in upload.chunks():
            sha.update(chunk)
        upload.seek(0)
        return sha.hexdigest()


class ActivityKind(models.TextChoices):
    CREATED = "created", _("Case created")
    STATUS = "status", _("Status changed")
    PRIORITY = "priority", _("Priority changed")
    TYPE = "type", _("Type changed")
    CLASSIFIED = "classified", _("Classified")
    ASSIGNED = "assigned", _("Assigned")
    HANDED_OVER = "handed_over", _("Handed over")
    COMPLEX = "complex", _("Marked complex")
    INTERIM_PLAN = "interim_plan", _("Interim plan sent")
    REOPENED = "reopened", _("Reopened")
    MERGED = "merged", _("Merged")
    EXPEDITED = "expedited", _("Expedited")
    POLICY = "policy", _("SLA policy applied")


class Activity(models.Model):
    """One entry of a case's timeline besides messages (who changed what, from → to)."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="activities")
    kind = models.CharField(_("kind"), max_length=16, choices=ActivityKind.choices)
    at = models.DateTimeField(_("at"), db_index=True)
    actor = models.ForeignKey(
        User,
        verbose_name=_("by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    before = models.CharField(max_length=100, blank=True)
    after = models.CharField(max_length=100, blank=True)
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("activity")
        verbose_name_plural = _("activities")
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.case.reference} {self.kind} {self.before}→{self.after}"


class SavedViewQuerySet(models.QuerySet["SavedView"]):
    def visible_to(self, user: User) -> SavedViewQuerySet:
        """A person's own views, and those its team's members shared with the team."""
        shared = Q(team_id=user.team_id) if user.team_id else Q(pk__in=[])
        return self.filter(Q(owner_id=user.pk) | shared)


class SavedView(models.Model):
    """A named set of queue filters: its owner's, optionally shared with the owner's team."""

    owner = models.ForeignKey(
        User,
        verbose_name=_("owner"),
        on_delete=models.CASCADE,
        related_name="saved_case_views",
    )
    name = models.CharField(_("name"), max_length=80)
    filters = models.JSONField(_("filters"), default=dict, blank=True)
    team = models.ForeignKey(
        Team,
        verbose_name=_("shared with"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Empty: only its owner sees it."),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    objects = SavedViewQuerySet.as_manager()

    class Meta:
        verbose_name = _("saved view")
        verbose_name_plural = _("saved views")
        ordering = ["name", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="one_saved_view_name_per_owner")
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def scope_organisation_id(self) -> int:
        return self.owner.organisation_id

    @property
    def scope_team_id(self) -> int | None:
        return self.team_id
