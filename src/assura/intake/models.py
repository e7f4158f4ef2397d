"""E-mail intake: mailboxes assura reads, every message it received, every mail it sends.

A `MailChannel` is one mailbox (IMAP for what comes in, SMTP for what goes out) with the
rules for strangers and machines. Each fetched message is stored whole as an
`InboundMessage` before anything is done with it, so a message that cannot be imported
is kept with its error and retried later, and its Message-ID (unique per channel) makes
a second fetch of the same message a no-op. An `OutboundMail` is a reply or notice to a
customer, written in the transaction of the reply and sent by the worker with the
headers that thread the customer's answer back to the case.
"""

from __future__ import annotations

from datetime import timedelta
from email.utils import formataddr

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from assura.commitments.models import CaseType
from assura.core.models import Organisation, Team
from assura.desk.models import Case, Message


class Security(models.TextChoices):
    SSL = "ssl", _("SSL/TLS")
    STARTTLS = "starttls", _("STARTTLS")
    NONE = "none", _("None (local servers only)")


class FetchMode(models.TextChoices):
    POLL = "poll", _("Poll at an interval")
    IDLE = "idle", _("IMAP IDLE (new mail at once)")


class UnknownSenders(models.TextChoices):
    CREATE = "create", _("Create a contact in the default organisation")
    REJECT = "reject", _("Reject the message")


class Connection(models.TextChoices):
    UNKNOWN = "unknown", _("not checked yet")
    CONNECTED = "connected", _("connected")
    DISCONNECTED = "disconnected", _("disconnected")
    REFUSED = "refused", _("refused")


DEFAULT_ACK_SUBJECT = "[{reference}] {subject}"
DEFAULT_ACK_BODY = (
    "您好 {name}，\n\n"
    "我们已收到您的邮件，工单号 {reference}。我们会尽快答复；回复本邮件即可补充信息。\n\n"
    "Hello {name},\n\n"
    "We have received your message as case {reference} and will answer soon. Reply to "
    "this e-mail to add information.\n"
)


class MailChannel(models.Model):
    """One support mailbox: where mail is fetched, how replies go out, whom to trust."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    address = models.EmailField(
        _("address"),
        help_text=_(
            "The mailbox's own address: replies come from it, and mail from it is never "
            "imported (that would be a loop)."
        ),
    )
    from_name = models.CharField(_("sender name"), max_length=100, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    imap_host = models.CharField(_("IMAP server"), max_length=200)
    imap_port = models.PositiveIntegerField(
        _("IMAP port"), default=993, validators=[MaxValueValidator(65535)]
    )
    imap_security = models.CharField(
        _("IMAP security"), max_length=10, choices=Security.choices, default=Security.SSL
    )
    imap_user = models.CharField(_("IMAP user"), max_length=200)
    imap_password = models.CharField(_("IMAP password"), max_length=200, blank=True)
    imap_folder = models.CharField(_("folder"), max_length=200, default="INBOX")
    fetch_mode = models.CharField(
        _("fetching"), max_length=8, choices=FetchMode.choices, default=FetchMode.POLL
    )
    poll_seconds = models.PositiveIntegerField(
        _("polling interval (seconds)"),
        default=60,
        validators=[MinValueValidator(10), MaxValueValidator(86400)],
        help_text=_("With IMAP IDLE, the interval of the safety check."),
    )

    smtp_use_default = models.BooleanField(
        _("send with the default mailer"),
        default=True,
        help_text=_("Off: replies go out through the SMTP account below."),
    )
    smtp_host = models.CharField(_("SMTP server"), max_length=200, blank=True)
    smtp_port = models.PositiveIntegerField(
        _("SMTP port"), default=465, validators=[MaxValueValidator(65535)]
    )
    smtp_security = models.CharField(
        _("SMTP security"), max_length=10, choices=Security.choices, default=Security.SSL
    )
    smtp_user = models.CharField(_("SMTP user"), max_length=200, blank=True)
    smtp_password = models.CharField(_("SMTP password"), max_length=200, blank=True)

    unknown_senders = models.CharField(
        _("unknown senders"),
        max_length=8,
        choices=UnknownSenders.choices,
        default=UnknownSenders.CREATE,
    )
    default_organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("default organisation"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("New contacts from unknown addresses are created in it."),
    )
    default_case_type = models.CharField(
        _("default case type"), max_length=16, choices=CaseType.choices, default=CaseType.INQUIRY
    )
    default_team = models.ForeignKey(
        Team,
        verbose_name=_("default team"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    acknowledge = models.BooleanField(_("acknowledge new cases"), default=False)
    ack_subject = models.CharField(
        _("acknowledgement subject"), max_length=300, default=DEFAULT_ACK_SUBJECT
    )
    ack_body = models.TextField(
        _("acknowledgement text"),
        default=DEFAULT_ACK_BODY,
        help_text=_("Placeholders: {reference}, {subject}, {name}."),
    )
    rate_limit = models.PositiveIntegerField(
        _("messages per sender per hour"),
        default=20,
        help_text=_("More from one address within an hour are set aside (0: no limit)."),
    )

    # Fetch state: the mailbox's UIDVALIDITY and the highest UID taken from it.
    uidvalidity = models.BigIntegerField(null=True, blank=True, editable=False)
    last_uid = models.BigIntegerField(default=0, editable=False)
    next_fetch_at = models.DateTimeField(default=timezone.now, editable=False)
    fetching_until = models.DateTimeField(null=True, blank=True, editable=False)
    connection = models.CharField(
        _("connection"),
        max_length=16,
        choices=Connection.choices,
        default=Connection.UNKNOWN,
        editable=False,
    )
    connection_detail = models.CharField(max_length=500, blank=True, editable=False)
    checked_at = models.DateTimeField(_("last checked"), null=True, blank=True, editable=False)
    connected_at = models.DateTimeField(_("last connected"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("mail channel")
        verbose_name_plural = _("mail channels")
        ordering = ["name"]
        indexes = [models.Index(fields=["is_active", "next_fetch_at"], name="intake_due_idx")]
        constraints = [
            # Names and addresses are compared without regard to case (as people and
            # mail servers do); the services check first, these hold under a race.
            models.UniqueConstraint(Lower("name"), name="one_mail_channel_per_name"),
            models.UniqueConstraint(Lower("address"), name="one_mail_channel_per_address"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def interval(self) -> timedelta:
        return timedelta(seconds=max(10, self.poll_seconds))

    @property
    def sender(self) -> str:
        return formataddr((self.from_name or self.name, self.address))

    @property
    def domain(self) -> str:
        return self.address.rpartition("@")[2].lower() or "localhost"


class InboundStatus(models.TextChoices):
    RECEIVED = "received", _("received")
    IMPORTED = "imported", _("imported")
    FAILED = "failed", _("failed")
    IGNORED = "ignored", _("ignored")
    REJECTED = "rejected", _("rejected")


class Reason(models.TextChoices):
    """Why a message was set aside instead of imported."""

    OWN_ADDRESS = "own-address", _("sent from our own address (a loop)")
    BOUNCE = "bounce", _("a bounce or delivery report")
    AUTO_SUBMITTED = "auto-submitted", _("sent automatically (Auto-Submitted)")
    AUTO_REPLY = "auto-reply", _("an automatic reply")
    BULK = "bulk", _("bulk or mailing-list mail")
    RATE = "rate", _("too many messages from this sender")
    UNKNOWN_SENDER = "unknown-sender", _("unknown sender")
    STAFF_SENDER = "staff-sender", _("sent by a member of staff")
    INACTIVE_SENDER = "inactive-sender", _("the sender's account is switched off")


class InboundMessage(models.Model):
    """One message as received: kept whole, whatever became of it."""

    channel = models.ForeignKey(
        MailChannel, verbose_name=_("channel"), on_delete=models.PROTECT, related_name="inbound"
    )
    message_id = models.CharField(_("Message-ID"), max_length=255)
    raw = models.BinaryField(_("message"))
    sha256 = models.CharField(max_length=64)
    size = models.PositiveIntegerField(_("size"), default=0)
    references = models.TextField(
        _("References"), blank=True, help_text=_("The Message-IDs it answers, oldest first.")
    )
    uid = models.BigIntegerField(_("IMAP UID"), null=True, blank=True)
    sender = models.CharField(_("from"), max_length=254, blank=True, db_index=True)
    subject = models.CharField(_("subject"), max_length=300, blank=True)
    received_at = models.DateTimeField(_("received"), db_index=True)
    status = models.CharField(
        _("status"), max_length=16, choices=InboundStatus.choices, default=InboundStatus.RECEIVED
    )
    reason = models.CharField(_("reason"), max_length=20, choices=Reason.choices, blank=True)
    error = models.TextField(_("error"), blank=True)
    note = models.CharField(_("note"), max_length=500, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    case = models.ForeignKey(
        Case,
        verbose_name=_("case"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    case_message = models.ForeignKey(
        Message,
        verbose_name=_("case message"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    opened_case = models.BooleanField(_("opened the case"), default=False)
    imported_at = models.DateTimeField(_("imported"), null=True, blank=True)

    class Meta:
        verbose_name = _("received message")
        verbose_name_plural = _("received messages")
        ordering = ["-received_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "message_id"], name="intake_one_message_per_channel"
            )
        ]
        indexes = [
            models.Index(fields=["status", "-received_at"], name="intake_status_idx"),
            models.Index(fields=["message_id"], name="intake_message_id_idx"),
            models.Index(fields=["case", "-received_at"], name="intake_case_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.message_id} ({self.status})"

    @property
    def can_retry(self) -> bool:
        return self.status in (InboundStatus.FAILED, InboundStatus.RECEIVED)

    @property
    def can_import_anyway(self) -> bool:
        return self.status in (InboundStatus.IGNORED, InboundStatus.REJECTED)


class OutboundKind(models.TextChoices):
    REPLY = "reply", _("reply")
    ACKNOWLEDGEMENT = "ack", _("acknowledgement")


class OutboundStatus(models.TextChoices):
    PENDING = "pending", _("pending")
    SENDING = "sending", _("sending")
    SENT = "sent", _("sent")
    FAILED = "failed", _("failed, will retry")
    DEAD = "dead", _("gave up")


OUTBOUND_OPEN = (OutboundStatus.PENDING, OutboundStatus.SENDING, OutboundStatus.FAILED)
OUTBOUND_FINAL = (OutboundStatus.SENT, OutboundStatus.DEAD)


class OutboundMail(models.Model):
    """A reply or notice to a customer, with the headers that thread its answer back."""

    channel = models.ForeignKey(
        MailChannel,
        verbose_name=_("channel"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="outbound",
    )
    case = models.ForeignKey(
        Case, verbose_name=_("case"), on_delete=models.CASCADE, related_name="+"
    )
    case_message = models.OneToOneField(
        Message,
        verbose_name=_("case message"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    kind = models.CharField(_("kind"), max_length=8, choices=OutboundKind.choices)
    message_id = models.CharField(_("Message-ID"), max_length=255, unique=True)
    in_reply_to = models.CharField(_("In-Reply-To"), max_length=255, blank=True)
    references = models.TextField(_("References"), blank=True)
    recipients = models.JSONField(_("recipients"), default=list)
    subject = models.CharField(_("subject"), max_length=300)
    body = models.TextField(_("text"))
    status = models.CharField(
        _("status"), max_length=8, choices=OutboundStatus.choices, default=OutboundStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    lease_token = models.CharField(max_length=32, blank=True, editable=False)
    last_error = models.TextField(_("last error"), blank=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("outgoing mail")
        verbose_name_plural = _("outgoing mail")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(next_attempt_at__isnull=False),
                name="intake_outbound_due_idx",
            ),
            models.Index(fields=["case", "-created_at"], name="intake_outbound_case_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(status__in=OUTBOUND_OPEN, next_attempt_at__isnull=False)
                    | Q(status__in=OUTBOUND_FINAL, next_attempt_at__isnull=True)
                ),
                name="intake_outbound_open_iff_due",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case.reference} {self.kind} {self.message_id}"

    @property
    def can_retry(self) -> bool:
        return self.status in (OutboundStatus.FAILED, OutboundStatus.DEAD)
