"""Connections to other systems: chat applications and signed sources coming in, webhook
subscriptions going out, every inbound request logged, every outgoing delivery tried with
its attempts kept, and imports of cases from other help desks."""

from __future__ import annotations

import secrets
import uuid
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from assura.commitments.models import CaseType, Priority
from assura.core.models import Organisation, OrganisationKind, User
from assura.desk.models import Case
from assura.notify.channels import mask_secret
from assura.notify.models import SecretFingerprinted, fingerprint


def new_key() -> str:
    """The unguessable part of an inbound address (it names the app, it does not sign)."""
    return secrets.token_urlsafe(18)


class Platform(models.TextChoices):
    WECOM = "wecom", _("WeCom (企业微信)")
    DINGTALK = "dingtalk", _("DingTalk (钉钉)")
    FEISHU = "feishu", _("Feishu (飞书)")


class UnknownSenders(models.TextChoices):
    REJECT = "reject", _("Refuse the message (logged)")
    CREATE_CONTACT = "create_contact", _("Add the sender as a contact of the customer")


class ChatApp(models.Model):
    """A WeCom, DingTalk or Feishu application whose messages become cases.

    The people who write to it are contacts of `organisation`; each platform user is
    mapped to a contact once (`ChatIdentity`). `app_id` is WeCom's corp id (the receive
    id its ciphertexts end with), DingTalk's robot code or Feishu's app id; `token`
    is WeCom's Token or Feishu's Verification Token; `encryption_key` is WeCom's
    EncodingAESKey or Feishu's Encrypt Key; `app_secret` is DingTalk's AppSecret.
    """

    platform = models.CharField(_("platform"), max_length=16, choices=Platform.choices)
    name = models.CharField(_("name"), max_length=100, unique=True)
    key = models.CharField(max_length=40, unique=True, default=new_key, editable=False)
    organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    case_type = models.CharField(
        _("type of new cases"), max_length=16, choices=CaseType.choices, default=CaseType.INQUIRY
    )
    unknown_senders = models.CharField(
        _("messages from unknown people"),
        max_length=16,
        choices=UnknownSenders.choices,
        default=UnknownSenders.CREATE_CONTACT,
    )
    app_id = models.CharField(_("corp id / app id"), max_length=100, blank=True)
    token = models.CharField(_("token"), max_length=200, blank=True)
    encryption_key = models.CharField(_("encryption key"), max_length=200, blank=True)
    app_secret = models.CharField(_("app secret"), max_length=200, blank=True)
    secrets_fingerprint = models.CharField(max_length=16, blank=True, editable=False)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("changed"), auto_now=True)

    class Meta:
        verbose_name = _("chat application")
        verbose_name_plural = _("chat applications")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.secrets_fingerprint = fingerprint(
            "\n".join([self.token, self.encryption_key, self.app_secret])
        )
        super().save(*args, **kwargs)

    def clean(self) -> None:
        super().clean()
        errors = self.settings_errors()
        if errors:
            raise ValidationError(errors)

    def settings_errors(self) -> dict[str, list[str]]:
        """What the platform needs to verify its callbacks, keyed by form field."""
        from assura.connect import chat

        errors: dict[str, list[str]] = {}
        required = gettext("Required for this platform.")
        if self.platform == Platform.WECOM:
            for field in ("app_id", "token", "encryption_key"):
                if not getattr(self, field).strip():
                    errors[field] = [required]
            if self.encryption_key and not chat.valid_encoding_aes_key(self.encryption_key):
                errors["encryption_key"] = [
                    gettext("WeCom's EncodingAESKey is 43 letters and digits.")
                ]
        elif self.platform == Platform.DINGTALK:
            if not self.app_secret.strip():
                errors["app_secret"] = [required]
        elif self.platform == Platform.FEISHU and not (self.token or self.encryption_key):
            errors["token"] = [
                gettext("Enter the Verification Token, the Encrypt Key, or both (recommended).")
            ]
        if self.organisation_id and self.organisation.kind != OrganisationKind.CUSTOMER:
            errors["organisation"] = [gettext("Choose a customer organisation.")]
        return errors

    @property
    def masked(self) -> dict[str, str]:
        return {
            "token": mask_secret(self.token),
            "encryption_key": mask_secret(self.encryption_key),
            "app_secret": mask_secret(self.app_secret),
        }


class ChatIdentity(models.Model):
    """A platform user known as one of the customer's contacts."""

    app = models.ForeignKey(ChatApp, on_delete=models.CASCADE, related_name="identities")
    user_id = models.CharField(_("platform user id"), max_length=200)
    person = models.ForeignKey(
        User, verbose_name=_("contact"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("chat identity")
        verbose_name_plural = _("chat identities")
        constraints = [
            models.UniqueConstraint(fields=["app", "user_id"], name="connect_one_identity")
        ]

    def __str__(self) -> str:
        return f"{self.app}: {self.user_id} → {self.person}"


class ChatThread(models.Model):
    """Which case a person's messages in one chat go to while it is open."""

    app = models.ForeignKey(ChatApp, on_delete=models.CASCADE, related_name="threads")
    conversation_id = models.CharField(max_length=200, blank=True)
    sender_id = models.CharField(max_length=200)
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("chat thread")
        verbose_name_plural = _("chat threads")
        indexes = [
            models.Index(fields=["app", "conversation_id", "sender_id"], name="connect_thread_idx")
        ]

    def __str__(self) -> str:
        return f"{self.app} {self.conversation_id}/{self.sender_id} → {self.case.reference}"


class InboundSource(SecretFingerprinted, models.Model):
    """Another system (a monitoring tool, an ERP) posting signed JSON events that open cases."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    key = models.CharField(max_length=40, unique=True, default=new_key, editable=False)
    secret = models.CharField(_("signing secret"), max_length=200)
    secret_fingerprint = models.CharField(max_length=16, blank=True, editable=False)
    organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("Cases are opened for this customer unless an event names another."),
    )
    case_type = models.CharField(
        _("type of new cases"), max_length=16, choices=CaseType.choices, default=CaseType.FAULT
    )
    priority = models.CharField(
        _("priority of new cases"), max_length=16, choices=Priority.choices, default=Priority.HIGH
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("changed"), auto_now=True)

    class Meta:
        verbose_name = _("signed event source")
        verbose_name_plural = _("signed event sources")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class InboundChannel(models.TextChoices):
    WECOM = Platform.WECOM.value, Platform.WECOM.label
    DINGTALK = Platform.DINGTALK.value, Platform.DINGTALK.label
    FEISHU = Platform.FEISHU.value, Platform.FEISHU.label
    SIGNED = "signed", _("Signed JSON")


class InboundStatus(models.TextChoices):
    ACCEPTED = "accepted", _("accepted")
    REJECTED = "rejected", _("rejected")


class Outcome(models.TextChoices):
    """What became of an inbound request: for accepted ones the effect, else the reason."""

    CREATED = "created", _("case created")
    REPLIED = "replied", _("added to the open case")
    CHALLENGE = "challenge", _("address check answered")
    IGNORED = "ignored", _("nothing to do (not a text message)")
    UNKNOWN_APP = "unknown_app", _("unknown address")
    INACTIVE = "inactive", _("switched off")
    BAD_REQUEST = "bad_request", _("malformed request")
    BAD_SIGNATURE = "bad_signature", _("wrong signature")
    STALE = "stale_timestamp", _("timestamp too old or in the future")
    UNDECRYPTABLE = "undecryptable", _("cannot be decrypted")
    WRONG_RECEIVER = "wrong_receiver", _("encrypted for another receiver")
    BAD_TOKEN = "bad_token", _("wrong verification token")
    REPLAYED = "replayed", _("replayed (nonce or event id seen before)")
    UNKNOWN_SENDER = "unknown_sender", _("sender is not a known contact")
    REFUSED = "refused", _("refused by the service desk")


class InboundEvent(models.Model):
    """One request to an inbound address, accepted or rejected, with what it did or why not.

    Accepted requests hold the nonce and the event id they carried; the partial unique
    constraints make a replayed request fail to be accepted twice even when both copies
    arrive at the same instant.
    """

    received_at = models.DateTimeField(_("received"), auto_now_add=True, db_index=True)
    channel = models.CharField(_("channel"), max_length=16, choices=InboundChannel.choices)
    chat_app = models.ForeignKey(
        ChatApp,
        verbose_name=_("chat application"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="events",
    )
    source = models.ForeignKey(
        InboundSource,
        verbose_name=_("source"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="events",
    )
    status = models.CharField(_("status"), max_length=16, choices=InboundStatus.choices)
    outcome = models.CharField(_("outcome"), max_length=24, choices=Outcome.choices)
    detail = models.CharField(_("detail"), max_length=500, blank=True)
    nonce = models.CharField(max_length=200, blank=True)
    event_id = models.CharField(_("event id"), max_length=200, blank=True)
    event_type = models.CharField(_("event type"), max_length=100, blank=True)
    case = models.ForeignKey(
        Case,
        verbose_name=_("case"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    method = models.CharField(max_length=8, blank=True)
    path = models.CharField(max_length=500, blank=True)
    remote_addr = models.CharField(_("from"), max_length=64, blank=True)
    body_excerpt = models.TextField(_("body (start)"), blank=True)

    class Meta:
        verbose_name = _("inbound request")
        verbose_name_plural = _("inbound requests")
        ordering = ["-received_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["chat_app", "nonce"],
                condition=Q(status="accepted") & ~Q(nonce=""),
                name="connect_app_nonce_once",
            ),
            models.UniqueConstraint(
                fields=["chat_app", "event_id"],
                condition=Q(status="accepted") & ~Q(event_id=""),
                name="connect_app_event_once",
            ),
            models.UniqueConstraint(
                fields=["source", "event_id"],
                condition=Q(status="accepted") & ~Q(event_id=""),
                name="connect_source_event_once",
            ),
        ]
        indexes = [models.Index(fields=["status", "-received_at"], name="connect_inbound_status")]

    def __str__(self) -> str:
        return f"{self.channel} {self.status} {self.outcome} {self.received_at:%Y-%m-%d %H:%M:%S}"


# --- webhooks out ------------------------------------------------------------------------


class WebhookSubscription(SecretFingerprinted, models.Model):
    """An address that receives the events it subscribed to, signed with its secret."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    url = models.CharField(_("address"), max_length=2000)
    secret = models.CharField(_("signing secret"), max_length=200)
    secret_fingerprint = models.CharField(max_length=16, blank=True, editable=False)
    events = models.JSONField(_("events"), default=list)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("changed"), auto_now=True)

    class Meta:
        verbose_name = _("webhook subscription")
        verbose_name_plural = _("webhook subscriptions")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        super().clean()
        from assura.connect.events import EVENTS

        errors: dict[str, list[str]] = {}
        try:
            URLValidator(schemes=["http", "https"])(self.url)
        except ValidationError:
            errors["url"] = [gettext("Enter an http:// or https:// address.")]
        unknown = [event for event in self.events if event not in EVENTS]
        if not self.events:
            errors["events"] = [gettext("Choose at least one event.")]
        elif unknown:
            errors["events"] = [
                gettext("Unknown events: %(events)s") % {"events": ", ".join(unknown)}
            ]
        if len(self.secret) < 16:
            errors["secret"] = [gettext("Use a secret of at least 16 characters.")]
        if errors:
            raise ValidationError(errors)


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("pending")
    SENDING = "sending", _("sending")
    DELIVERED = "delivered", _("delivered")
    FAILED = "failed", _("failed, will retry")
    DEAD = "dead", _("gave up")


OPEN_DELIVERY = (DeliveryStatus.PENDING, DeliveryStatus.SENDING, DeliveryStatus.FAILED)
FINAL_DELIVERY = (DeliveryStatus.DELIVERED, DeliveryStatus.DEAD)


class WebhookDelivery(models.Model):
    """One event for one subscription, from queued to delivered (or given up).

    `event_key` names the happening ("breach:42"), unique per subscription, so an event
    announced twice is delivered once. `next_attempt_at` is the only column the sender
    looks at: the time to send, the retry time, or the end of a lease.
    """

    delivery_id = models.UUIDField(_("delivery id"), default=uuid.uuid4, unique=True)
    subscription = models.ForeignKey(
        WebhookSubscription,
        verbose_name=_("subscription"),
        on_delete=models.CASCADE,
        related_name="deliveries",
    )
    event = models.CharField(_("event"), max_length=40)
    event_key = models.CharField(max_length=200)
    payload = models.JSONField(_("payload"), default=dict)
    status = models.CharField(
        _("status"), max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    lease_token = models.CharField(max_length=32, blank=True, editable=False)
    last_status_code = models.PositiveIntegerField(_("last response code"), null=True, blank=True)
    last_response = models.CharField(_("last response"), max_length=500, blank=True)
    last_error = models.CharField(_("last error"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(next_attempt_at__isnull=False),
                name="connect_delivery_due",
            ),
            models.Index(fields=["subscription", "-created_at"], name="connect_delivery_sub"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "event_key"], name="connect_delivery_once"
            ),
            models.CheckConstraint(
                condition=(
                    Q(status__in=OPEN_DELIVERY, next_attempt_at__isnull=False)
                    | Q(status__in=FINAL_DELIVERY, next_attempt_at__isnull=True)
                ),
                name="connect_delivery_open_iff_due",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event} → {self.subscription} ({self.status})"

    @property
    def can_redeliver(self) -> bool:
        return self.status in (DeliveryStatus.FAILED, DeliveryStatus.DEAD, DeliveryStatus.DELIVERED)


class WebhookAttempt(models.Model):
    """One try at delivering, with the receiver's answer code; unique per number."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="tries")
    number = models.PositiveSmallIntegerField(_("attempt"))
    started_at = models.DateTimeField(_("started"))
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), null=True, blank=True)
    ok = models.BooleanField(_("delivered"), null=True)
    status_code = models.PositiveIntegerField(_("response code"), null=True, blank=True)
    response = models.CharField(_("response"), max_length=500, blank=True)
    error = models.CharField(_("error"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("webhook attempt")
        verbose_name_plural = _("webhook attempts")
        ordering = ["delivery", "number"]
        constraints = [
            models.UniqueConstraint(fields=["delivery", "number"], name="connect_attempt_once")
        ]

    def __str__(self) -> str:
        return f"{self.delivery_id} #{self.number}: {self.status_code or self.error}"


# --- imports -----------------------------------------------------------------------------


class ImportStatus(models.TextChoices):
    CHECKED = "checked", _("checked, not imported")
    QUEUED = "queued", _("waiting for the worker")
    RUNNING = "running", _("importing")
    DONE = "done", _("imported")
    FAILED = "failed", _("stopped by an error")


class CaseImport(models.Model):
    """An uploaded file of cases from another help desk: checked, then imported once.

    The file itself is kept (its SHA-256 tells a second upload of the same file), and
    `problems` lists each row's errors and warnings as codes with their values, so the
    error report is written in the language of whoever downloads it.
    """

    file_name = models.CharField(_("file"), max_length=255)
    file_format = models.CharField(_("format"), max_length=8)
    sha256 = models.CharField(max_length=64, db_index=True)
    content = models.BinaryField()
    options = models.JSONField(default=dict)
    uploaded_by = models.ForeignKey(
        User, verbose_name=_("uploaded by"), on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(_("uploaded"), auto_now_add=True)
    status = models.CharField(
        _("status"), max_length=16, choices=ImportStatus.choices, default=ImportStatus.CHECKED
    )
    rows = models.PositiveIntegerField(_("rows"), default=0)
    valid_rows = models.PositiveIntegerField(_("rows without errors"), default=0)
    imported = models.PositiveIntegerField(_("imported"), default=0)
    skipped = models.PositiveIntegerField(_("already there"), default=0)
    failed = models.PositiveIntegerField(_("not imported"), default=0)
    problems = models.JSONField(default=list)
    references = models.JSONField(default=list)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        verbose_name = _("case import")
        verbose_name_plural = _("case imports")
        ordering = ["-uploaded_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.get_status_display()})"

    @property
    def in_progress(self) -> bool:
        return self.status in (ImportStatus.QUEUED, ImportStatus.RUNNING)
