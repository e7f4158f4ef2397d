"""Mail to customers that threads: replies from the desk and acknowledgements.

Each message gets its own Message-ID carrying the case reference
(``<C-2026-000123.5f3a…@support.example.cn>``), answers the customer's last message
(In-Reply-To, and References with the chain before it) and has the reference in its
subject (``[C-2026-000123] …``). Whatever the customer's mail client keeps of these, the
answer comes back to the case.

Why not the notify outbox: `notify.services.enqueue` takes no extra headers (its
Message-ID is derived from the dedup key and it cannot set In-Reply-To or References),
and it always sends through the default mailer, while a channel may have an SMTP
account of its own. This module therefore keeps a small outbox of its own on the shared
mechanism of `assura.core.outbox` (its docstring explains the scheme): the row is
written in the transaction of the reply, the worker claims it with a lease, sends it
through Django's mail classes, and retries with a back-off. A sender that reports after
its lease was taken over changes nothing.
"""

from __future__ import annotations

import logging
import secrets
import smtplib
from datetime import datetime, timedelta
from email.utils import parseaddr
from typing import TYPE_CHECKING, Any

from auditlog.models import LogEntry
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import EmailMultiAlternatives, mailers
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.backends.smtp import EmailBackend
from django.utils import timezone
from django.utils.translation import gettext as _

from assura.commitments.models import Channel
from assura.core import outbox as core_outbox
from assura.core.outbox import Claim
from assura.core.permissions import Action, can
from assura.desk.models import Case, Message, MessageKind
from assura.intake import mail
from assura.intake.models import (
    InboundMessage,
    InboundStatus,
    MailChannel,
    OutboundKind,
    OutboundMail,
    OutboundStatus,
    Security,
)

if TYPE_CHECKING:
    from assura.core.models import User

log = logging.getLogger("assura.intake")

LEASE = timedelta(minutes=5)
BACKOFF = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=6),
)
MAX_ATTEMPTS = len(BACKOFF) + 1
# A mail whose sender died on its last attempt is not tried again.
GIVE_UP = core_outbox.GiveUp(
    MAX_ATTEMPTS,
    {
        "status": OutboundStatus.DEAD,
        "next_attempt_at": None,
        "last_error": "The sender stopped during the last attempt; given up.",
    },
)
# One round sends at most this many mails and starts none after the time budget, so a
# slow SMTP server cannot keep the worker from its other timers for long.
ROUND_LIMIT = 20
ROUND_BUDGET_SECONDS = 20.0
SMTP_TIMEOUT = 20
MAX_REFERENCES = 20


def own_domains() -> list[str]:
    """The domains of our Message-IDs: every channel's, and the default sender's."""
    domains = [channel.domain for channel in MailChannel.objects.all()]
    default = parseaddr(str(settings.DEFAULT_FROM_EMAIL))[1].rpartition("@")[2].lower()
    return list(dict.fromkeys([*domains, default or "localhost"]))


def new_message_id(case: Case, domain: str) -> str:
    return f"<{case.reference}.{secrets.token_hex(8)}@{domain}>"


def last_inbound(case: Case) -> InboundMessage | None:
    """The customer's latest message on the case that came in by e-mail."""
    return (
        InboundMessage.objects.filter(case=case, status=InboundStatus.IMPORTED)
        .select_related("channel")
        .order_by("-received_at", "-pk")
        .first()
    )


def _thread_headers(case: Case, inbound: InboundMessage | None) -> tuple[str, list[str]]:
    """In-Reply-To and References for a message on `case`.

    Answering the customer's last message when there is one; otherwise continuing our
    own last message on the case, so a thread never starts over.
    """
    if inbound is not None and not inbound.message_id.endswith("@no-message-id.invalid>"):
        chain = [*inbound.references.split(), inbound.message_id]
        return inbound.message_id, list(dict.fromkeys(chain))[-MAX_REFERENCES:]
    previous = OutboundMail.objects.filter(case=case).order_by("-created_at", "-pk").first()
    if previous is None:
        return "", []
    chain = [*previous.references.split(), previous.message_id]
    return previous.message_id, list(dict.fromkeys(chain))[-MAX_REFERENCES:]


def subject_for(case: Case) -> str:
    return f"[{case.reference}] {mail.clean_subject(case.subject)}".strip()[:300]


def queue_reply(message: Message) -> OutboundMail | None:
    """Write the e-mail for a public reply on a case that lives in e-mail; else None.

    Called in the reply's own transaction, so the mail exists exactly when the reply
    does. A case lives in e-mail when a customer's message on it came in by e-mail, or
    when it was opened as an e-mail case; the customer who wrote last gets the answer,
    with the case's contact.
    """
    if message.kind != MessageKind.REPLY:
        return None
    case = message.case
    inbound = last_inbound(case)
    if inbound is None and case.channel != Channel.EMAIL:
        return None
    channel = inbound.channel if inbound else _default_channel()
    recipients = [inbound.sender] if inbound and inbound.sender else []
    if case.contact is not None and case.contact.email:
        recipients.append(case.contact.email.lower())
    recipients = list(dict.fromkeys(recipients))
    if not recipients or OutboundMail.objects.filter(case_message=message).exists():
        return None
    in_reply_to, references = _thread_headers(case, inbound)
    return OutboundMail.objects.create(
        channel=channel,
        case=case,
        case_message=message,
        kind=OutboundKind.REPLY,
        message_id=new_message_id(case, _domain(channel)),
        in_reply_to=in_reply_to,
        references=" ".join(references),
        recipients=recipients,
        subject=subject_for(case),
        body=message.body,
        next_attempt_at=timezone.now(),
    )


def queue_acknowledgement(
    *, channel: MailChannel, case: Case, inbound: InboundMessage, contact: User
) -> OutboundMail | None:
    """The automatic "we have your message as C-…" for a new case, once per case."""
    if OutboundMail.objects.filter(case=case, kind=OutboundKind.ACKNOWLEDGEMENT).exists():
        return None
    values = {
        "reference": case.reference,
        "subject": mail.clean_subject(case.subject),
        "name": str(contact),
    }
    subject = _fill(channel.ack_subject, values) or subject_for(case)
    if case.reference not in subject:
        subject = f"[{case.reference}] {subject}"
    chain = [*inbound.references.split(), inbound.message_id]
    return OutboundMail.objects.create(
        channel=channel,
        case=case,
        kind=OutboundKind.ACKNOWLEDGEMENT,
        message_id=new_message_id(case, channel.domain),
        in_reply_to=inbound.message_id,
        references=" ".join(list(dict.fromkeys(chain))[-MAX_REFERENCES:]),
        recipients=[inbound.sender],
        subject=subject[:300],
        body=_fill(channel.ack_body, values),
        next_attempt_at=timezone.now(),
    )


class _Blank(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _fill(template: str, values: dict[str, str]) -> str:
    """A template with {reference}, {subject}, {name}; a broken template is sent as is."""
    try:
        return template.format_map(_Blank(values))
    except (ValueError, IndexError, AttributeError):
        return template


def _default_channel() -> MailChannel | None:
    return MailChannel.objects.filter(is_active=True).order_by("pk").first()


def _domain(channel: MailChannel | None) -> str:
    if channel is not None:
        return channel.domain
    return parseaddr(str(settings.DEFAULT_FROM_EMAIL))[1].rpartition("@")[2].lower() or "localhost"


# --- sending -----------------------------------------------------------------------------


class MailSender:
    """The worker's timer that sends queued mail (see `assura.core.timers`)."""

    name = "intake-sender"

    def run_due(self, now: datetime) -> datetime | None:
        send_due(now)
        return next_instant()


def next_instant() -> datetime | None:
    """When a mail next needs the sender: a send or retry time, or the end of a lease."""
    return core_outbox.next_instant(OutboundMail)


def send_due(now: datetime, *, limit: int = ROUND_LIMIT) -> int:
    """Send what is due at `now`, one claim at a time; returns how many were tried.

    Outcomes are dated with the round's `now` (sent time, base of the retry time), so
    the caller's instant decides them as it always did here; leases run from the moving
    clock, like every outbox's.
    """
    return core_outbox.send_round(
        now,
        claim_next,
        lambda claim, clock: deliver(claim, clock.start),
        limit=limit,
        budget_seconds=ROUND_BUDGET_SECONDS,
    )


def claim_next(now: datetime) -> Claim | None:
    """Take the most overdue mail under a fresh lease, or None when nothing is due."""
    return core_outbox.claim_next(
        OutboundMail,
        now,
        sending=OutboundStatus.SENDING,
        lease=LEASE,
        on_abandoned=_note_abandoned,
        give_up=GIVE_UP,
    )


def _note_abandoned(claim: Claim) -> None:
    # Outgoing mail keeps no attempt log: this warning is the only trace that the mail
    # may have gone out already.
    log.warning("mail %s: attempt %s has no outcome; retrying", claim.pk, claim.number - 1)


def deliver(claim: Claim, now: datetime) -> OutboundMail:
    """Send one claimed mail and record the outcome (sent, retry later, or given up)."""
    row = OutboundMail.objects.select_related("channel").get(pk=claim.pk)
    try:
        error, permanent = _send(row)
    except Exception as failure:
        # A mail that cannot even be built (a bug, a header Django refuses) must cost one
        # attempt and end up given up, not stay `sending` and be claimed forever.
        log.exception("mail %s: sending raised", row.message_id)
        error, permanent = f"{type(failure).__name__}: {failure}", False
    if error:
        log.warning("mail %s to %s: %s", row.message_id, row.recipients, error)
    record(claim, error, permanent=permanent, at=now)
    row.refresh_from_db()
    return row


def _send(row: OutboundMail) -> tuple[str, bool]:
    """Hand the mail to its mailer: the error ("" once accepted), and whether it is final.

    Only the server's 5xx is final; anything else (a 4xx, no connection) may pass later.
    """
    try:
        email = build(row)
        with _mailer(row.channel) as connection:
            accepted = connection.send_messages([email])
    except smtplib.SMTPRecipientsRefused as refused:
        codes = [code for code, _text in refused.recipients.values()]
        permanent = bool(codes) and all(500 <= code < 600 for code in codes)
        return f"refused: {refused.recipients}", permanent
    except smtplib.SMTPResponseException as response:
        error = f"SMTP {response.smtp_code}: {response.smtp_error!r}"
        return error, 500 <= response.smtp_code < 600
    except (smtplib.SMTPException, OSError) as failure:
        return f"{type(failure).__name__}: {failure}", False
    return ("" if accepted else "the mailer accepted no message"), False


def record(claim: Claim, error: str, *, permanent: bool, at: datetime) -> bool:
    """Move the mail on after an attempt; False when the lease was lost meanwhile.

    A sender slower than its lease must not overwrite the outcome of the sender that
    took the mail over: only the lease holder's outcome counts.
    """
    updated = core_outbox.finish(
        OutboundMail,
        claim,
        _next_state(claim, error, permanent=permanent, at=at),
        sending=OutboundStatus.SENDING,
    )
    if not updated:
        log.warning("mail %s: lease lost before attempt %s was recorded", claim.pk, claim.number)
    return updated


def _next_state(claim: Claim, error: str, *, permanent: bool, at: datetime) -> dict[str, object]:
    if not error:
        return {
            "status": OutboundStatus.SENT,
            "next_attempt_at": None,
            "sent_at": at,
            "last_error": "",
        }
    if permanent or claim.number >= MAX_ATTEMPTS:
        return {"status": OutboundStatus.DEAD, "next_attempt_at": None, "last_error": error[:2000]}
    return {
        "status": OutboundStatus.FAILED,
        "next_attempt_at": at + backoff(claim.number),
        "last_error": error[:2000],
    }


def backoff(failed_attempts: int) -> timedelta:
    """The wait after the n-th failed attempt (the last wait repeats past the table)."""
    return core_outbox.backoff(BACKOFF, failed_attempts)


def build(row: OutboundMail) -> EmailMultiAlternatives:
    """The e-mail with its threading headers; a reply carries the reply's attachments."""
    headers: dict[str, Any] = {"Message-ID": row.message_id}
    if row.in_reply_to:
        headers["In-Reply-To"] = row.in_reply_to
    if row.references:
        headers["References"] = row.references
    if row.kind == OutboundKind.ACKNOWLEDGEMENT:
        # RFC 3834: an automatic answer; well-behaved robots do not answer it again.
        headers["Auto-Submitted"] = "auto-replied"
        headers["X-Auto-Response-Suppress"] = "All"
    sender = row.channel.sender if row.channel else str(settings.DEFAULT_FROM_EMAIL)
    email = EmailMultiAlternatives(
        subject=row.subject,
        body=row.body,
        from_email=sender,
        to=list(row.recipients),
        headers=headers,
    )
    if row.case_message is not None:
        for attachment in row.case_message.attachments.all():
            with attachment.file.open("rb") as handle:
                email.attach(attachment.name, handle.read(), attachment.content_type)
    return email


def _mailer(channel: MailChannel | None) -> BaseEmailBackend:
    """The channel's own SMTP account, or the default mailer (MAILERS)."""
    if channel is None or channel.smtp_use_default or not channel.smtp_host:
        return mailers.default
    return EmailBackend(
        alias=f"intake-channel-{channel.pk}",
        host=channel.smtp_host,
        port=channel.smtp_port,
        username=channel.smtp_user or None,
        password=channel.smtp_password or None,
        use_ssl=channel.smtp_security == Security.SSL,
        use_tls=channel.smtp_security == Security.STARTTLS,
        timeout=SMTP_TIMEOUT,
    )


def retry_now(*, actor: User | None, outbound: OutboundMail) -> OutboundMail:
    """Send a failed or given-up mail again at the next round."""
    if actor is not None and not can(actor, Action.MANAGE_INTAKE):
        raise PermissionDenied(_("You are not allowed to do this."))
    updated = OutboundMail.objects.filter(
        pk=outbound.pk, status__in=(OutboundStatus.FAILED, OutboundStatus.DEAD)
    ).update(status=OutboundStatus.PENDING, next_attempt_at=timezone.now())
    if not updated:
        raise ValidationError(_("Only failed or abandoned mail can be sent again."))
    before = outbound.status
    outbound.refresh_from_db()
    LogEntry.objects.log_create(
        outbound,
        action=LogEntry.Action.UPDATE,
        changes={"status": [before, outbound.status]},
        actor=actor,
    )
    return outbound
