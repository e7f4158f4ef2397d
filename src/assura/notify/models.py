"""Channels and the outbox: every notice is a row before it is a message.

A notice is written in the same transaction as the business change that causes it, so
it exists exactly when that change committed; the sender (`outbox`) then claims it with
a lease, sends it, and records each attempt. The row's `next_attempt_at` is the one
instant the sender must look at it again (the retry time, or the end of a lease), held
in an indexed column so a round finds its due work without scanning.
"""

from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import parse_qs, urlsplit

from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from assura.notify import channels
from assura.notify.channels import Kind


class ChannelKind(models.TextChoices):
    EMAIL = Kind.EMAIL.value, _("E-mail")
    WEBHOOK = Kind.WEBHOOK.value, _("Webhook")
    WECOM = Kind.WECOM.value, _("WeCom group robot")
    DINGTALK = Kind.DINGTALK.value, _("DingTalk group robot")
    FEISHU = Kind.FEISHU.value, _("Feishu group robot")


# The query parameter that carries the robot's token in the URL each platform hands out.
URL_TOKENS = {Kind.WECOM: "key", Kind.DINGTALK: "access_token"}


class SecretFingerprinted:
    """For models with a `secret` column and a `secret_fingerprint` beside it.

    The secret stays out of the audit log; its fingerprint, kept up to date on every
    save (also a save of `update_fields` that names the secret), goes in, so a changed
    secret is still seen there. Pages show `masked_secret`, never the secret.
    """

    secret: str
    secret_fingerprint: str

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.secret_fingerprint = fingerprint(self.secret)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "secret" in update_fields:
            kwargs["update_fields"] = {*update_fields, "secret_fingerprint"}
        super().save(*args, **kwargs)  # type: ignore[misc]

    @property
    def masked_secret(self) -> str:
        return channels.mask_secret(self.secret)


class NotificationChannel(SecretFingerprinted, models.Model):
    """A place notices go: an e-mail list, a webhook, or a chat group's robot.

    `config` holds what differs per kind: `url` and `signed` for HTTP channels,
    `recipients` for e-mail. The signing secret has its own column so the audit log can
    leave it out; `secret_fingerprint` changes with it, so a changed secret is still
    recorded without being revealed.
    """

    kind = models.CharField(_("kind"), max_length=16, choices=ChannelKind.choices)
    name = models.CharField(_("name"), max_length=100, unique=True)
    config = models.JSONField(_("settings"), default=dict, blank=True)
    secret = models.CharField(_("secret"), max_length=200, blank=True)
    secret_fingerprint = models.CharField(
        _("secret fingerprint"), max_length=16, blank=True, editable=False
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("changed"), auto_now=True)

    class Meta:
        verbose_name = _("notification channel")
        verbose_name_plural = _("notification channels")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        super().clean()
        errors = self.config_errors()
        if errors:
            raise ValidationError(errors)

    @property
    def url(self) -> str:
        return str(self.config.get("url", ""))

    @property
    def signed(self) -> bool:
        return bool(self.config.get("signed", False))

    @property
    def recipients(self) -> list[str]:
        return [str(address) for address in self.config.get("recipients", [])]

    @property
    def masked_url(self) -> str:
        return channels.mask_url(self.url)

    def endpoint(self) -> channels.Endpoint:
        """Where an HTTP channel posts; the secret only when signing is switched on."""
        return channels.Endpoint(
            kind=Kind(self.kind), url=self.url, secret=self.secret if self.signed else ""
        )

    def config_errors(self) -> dict[str, list[str]]:
        """Problems with the settings, keyed by the form field that holds each one."""
        if self.kind not in ChannelKind.values:
            return {}  # the kind field reports its own error
        if self.kind == Kind.EMAIL:
            return _recipient_errors(self.recipients)
        errors: dict[str, list[str]] = {}
        url_error = _url_error(self.kind, self.url)
        if url_error:
            errors["url"] = [url_error]
        if self.signed and self.kind not in channels.SIGNING_KINDS:
            errors["signed"] = [gettext("WeCom group robots do not sign requests.")]
        elif self.signed and not self.secret.strip():
            errors["secret"] = [gettext("Signing is switched on: enter the secret.")]
        return errors


def fingerprint(secret: str) -> str:
    """A short digest that changes with the secret and reveals nothing of it."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()[:12] if secret else ""


def _url_error(kind: str, url: str) -> str:
    if not url.strip():
        return gettext("Enter the address the messages are posted to.")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return gettext("The address must start with https:// or http://.")
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError:
        return gettext("This is not a valid web address.")
    token = URL_TOKENS.get(Kind(kind))
    if token and not parse_qs(parts.query).get(token):
        return gettext(
            "The robot's address must contain its %(token)s parameter: copy the whole"
            " webhook address from the group's robot settings."
        ) % {"token": token}
    return ""


def _recipient_errors(recipients: list[str]) -> dict[str, list[str]]:
    if not recipients:
        return {"recipients": [gettext("Enter at least one e-mail address.")]}
    wrong = []
    for address in recipients:
        try:
            validate_email(address)
        except ValidationError:
            wrong.append(address)
    if wrong:
        message = gettext("Not e-mail addresses: %(addresses)s") % {"addresses": ", ".join(wrong)}
        return {"recipients": [message]}
    return {}


class Status(models.TextChoices):
    PENDING = "pending", _("pending")
    SENDING = "sending", _("sending")
    SENT = "sent", _("sent")
    FAILED = "failed", _("failed, will retry")
    DEAD = "dead", _("gave up")


# States the sender still has work for; each has a next instant of interest.
OPEN_STATUSES = (Status.PENDING, Status.SENDING, Status.FAILED)
FINAL_STATUSES = (Status.SENT, Status.DEAD)
RETRYABLE_STATUSES = (Status.FAILED, Status.DEAD)


class NotificationQuerySet(models.QuerySet["Notification"]):
    def about(self, record: models.Model) -> NotificationQuerySet:
        """The notices sent about one record (a case, a breach), newest first."""
        return self.filter(
            about_type=ContentType.objects.get_for_model(record), about_id=str(record.pk)
        ).order_by("-created_at", "-pk")


class Notification(models.Model):
    """One notice in the outbox, from enqueueing to sent (or given up).

    `dedup_key` names the logical message ("breach-notice:42:email:x@example.cn"):
    enqueueing it again returns this row, so a retried business action cannot notify
    twice. A notice goes to a channel, or by e-mail straight to `recipients`.
    """

    dedup_key = models.CharField(_("key"), max_length=200, unique=True)
    channel = models.ForeignKey(
        NotificationChannel,
        verbose_name=_("channel"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="notifications",
    )
    recipients = models.JSONField(_("recipients"), default=list, blank=True)
    subject = models.CharField(_("subject"), max_length=300)
    body = models.TextField(_("text"))
    markdown = models.TextField(_("markdown"), blank=True)
    html = models.TextField(_("HTML"), blank=True)
    payload = models.JSONField(_("payload"), default=dict, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    lease_until = models.DateTimeField(_("leased until"), null=True, blank=True)
    lease_token = models.CharField(max_length=32, blank=True, editable=False)
    last_error = models.TextField(_("last error"), blank=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    about_type = models.ForeignKey(
        ContentType, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    about_id = models.CharField(max_length=64, blank=True)
    about = GenericForeignKey("about_type", "about_id")

    objects = NotificationQuerySet.as_manager()

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(next_attempt_at__isnull=False),
                name="notify_due_idx",
            ),
            models.Index(fields=["about_type", "about_id"], name="notify_about_idx"),
            models.Index(fields=["status", "-created_at"], name="notify_status_idx"),
        ]
        constraints = [
            # The sender finds work only through next_attempt_at: an open notice without it
            # would never be sent, and a finished one with it would be sent again.
            models.CheckConstraint(
                condition=(
                    Q(status__in=OPEN_STATUSES, next_attempt_at__isnull=False)
                    | Q(status__in=FINAL_STATUSES, next_attempt_at__isnull=True)
                ),
                name="notify_open_iff_due",
            ),
        ]

    def __str__(self) -> str:
        return self.dedup_key

    @property
    def can_retry(self) -> bool:
        return self.status in RETRYABLE_STATUSES

    @property
    def destination(self) -> str:
        """Where it goes, as a person reads it: the channel's name or the addresses."""
        if self.channel_id is not None:
            return str(self.channel)
        return ", ".join(self.recipients)

    def message(self) -> channels.Message:
        return channels.Message(
            key=self.dedup_key,
            subject=self.subject,
            body=self.body,
            markdown=self.markdown,
            payload=self.payload or None,
        )


class AttemptOutcome(models.TextChoices):
    SENT = "sent", _("sent")
    FAILED = "failed", _("failed")
    ABANDONED = "abandoned", _("no outcome: the sender stopped")


class NotificationAttempt(models.Model):
    """One try at sending, as the administrator's outbox page shows it.

    Numbered per notice and unique per number, so a try is recorded once even when a
    slow sender and the one that took over its expired lease both report.
    """

    notification = models.ForeignKey(
        Notification, verbose_name=_("notification"), on_delete=models.CASCADE, related_name="tries"
    )
    number = models.PositiveSmallIntegerField(_("attempt"))
    started_at = models.DateTimeField(_("started"))
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=16, choices=AttemptOutcome.choices)
    status_code = models.PositiveIntegerField(_("status code"), null=True, blank=True)
    reply = models.CharField(_("reply"), max_length=500, blank=True)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        verbose_name = _("notification attempt")
        verbose_name_plural = _("notification attempts")
        ordering = ["notification", "number"]
        constraints = [
            models.UniqueConstraint(fields=["notification", "number"], name="notify_attempt_once")
        ]

    def __str__(self) -> str:
        return f"{self.notification} #{self.number}: {self.outcome}"
