"""Every write of e-mail intake: storing a received message, importing it, retrying it,
and the settings of the mail channels.

`receive` is what the fetcher calls for each message it takes from a mailbox. The
message is stored whole first (its own short transaction), then imported in a second
one: found or new contact, threaded to its case or opening one through the desk's own
`open_case` / `reply`. If the import fails, that transaction rolls back completely and
the stored message keeps the error, to be retried from the intake page; nothing is lost
and, the Message-ID being unique per channel, nothing is imported twice.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import mimetypes
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parseaddr
from typing import Any

from auditlog.models import LogEntry
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from assura.commitments.models import Channel
from assura.core import services as people
from assura.core.audit import acting_as
from assura.core.models import Organisation, Role, User
from assura.core.permissions import Action, can
from assura.desk import services as desk
from assura.desk.models import Case, Message, Status
from assura.intake import mail, outgoing
from assura.intake.models import (
    Connection,
    InboundMessage,
    InboundStatus,
    MailChannel,
    OutboundMail,
    Reason,
    Security,
    UnknownSenders,
)

log = logging.getLogger("assura.intake")

RATE_WINDOW = timedelta(hours=1)
# A stored message still "received" after this long lost its import to a crash; the next
# fetch round imports it.
STALE_RECEIVED = timedelta(minutes=2)
USERNAME = re.compile(r"^[\w.@+-]+\Z")
MAX_MERGE_HOPS = 10


def _require(actor: User | None, action: Action) -> None:
    """Services are also called by the system (actor None), which may do anything."""
    if actor is not None and not can(actor, action):
        raise PermissionDenied(_("You are not allowed to do this."))


# --- receiving ---------------------------------------------------------------------------


def message_key(parsed: mail.ParsedMail | None, raw: bytes) -> str:
    """The message's identity in its channel: its Message-ID, or a digest of its bytes.

    A message without a Message-ID (or with an absurdly long one) is named by its
    content, so fetching the same bytes again still finds the stored row.
    """
    message_id = parsed.message_id if parsed else ""
    if message_id and len(message_id) <= 255:
        return message_id
    return f"<{hashlib.sha256(raw).hexdigest()}@no-message-id.invalid>"


def receive(
    channel: MailChannel, raw: bytes, *, uid: int | None = None, now: datetime | None = None
) -> InboundMessage:
    """Store a fetched message once, then import it; returns the stored row.

    A message already stored for this channel (same Message-ID) is returned as it is:
    fetching it again changes nothing. Never raises for a bad message: a failure is
    recorded on the row.
    """
    now = now or timezone.now()
    try:
        parsed: mail.ParsedMail | None = mail.parse(raw)
    except Exception:  # a message the parser chokes on is still kept, never dropped
        log.exception("could not parse a message from %s", channel)
        parsed = None
    key = message_key(parsed, raw)
    existing = InboundMessage.objects.filter(channel=channel, message_id=key).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            inbound = InboundMessage.objects.create(
                channel=channel,
                message_id=key,
                raw=raw,
                sha256=hashlib.sha256(raw).hexdigest(),
                size=len(raw),
                uid=uid,
                sender=(parsed.sender.address if parsed else "")[:254],
                subject=(parsed.subject if parsed else "")[:300],
                references=" ".join(parsed.references) if parsed else "",
                received_at=now,
            )
    except IntegrityError:  # another worker stored it a moment ago
        return InboundMessage.objects.get(channel=channel, message_id=key)
    return process(inbound, parsed=parsed)


def process(
    inbound: InboundMessage, *, force: bool = False, parsed: mail.ParsedMail | None = None
) -> InboundMessage:
    """Import a stored message (again); an imported one is left alone.

    `force` skips the loop, bounce and rate rules: a person decided the message is
    genuine. Whatever goes wrong rolls back the import and is recorded on the row.
    """
    with transaction.atomic():
        row = InboundMessage.objects.select_for_update().get(pk=inbound.pk)
        if row.status == InboundStatus.IMPORTED:
            return row
        row.attempts += 1
        row.error = ""
        try:
            with transaction.atomic():
                message = parsed or mail.parse(bytes(row.raw))
                _import(row, message, force=force)
        except SetAsideError as aside:
            _forget_import(row)
            row.status, row.reason, row.error = aside.status, aside.reason, aside.detail
        except (ValidationError, PermissionDenied) as error:
            _forget_import(row)
            row.status, row.reason, row.error = InboundStatus.FAILED, "", _explain(error)
        except Exception as error:  # the message is kept whatever the bug; the log has the trace
            log.exception("importing %s failed", row.message_id)
            _forget_import(row)
            row.status, row.reason = InboundStatus.FAILED, ""
            row.error = f"{type(error).__name__}: {error}"[:2000]
        row.save()
    inbound.refresh_from_db()
    return inbound


def _forget_import(row: InboundMessage) -> None:
    """The import was rolled back: the row must not point at what no longer exists."""
    row.case = row.case_message = None
    row.opened_case, row.imported_at, row.note = False, None, ""


def _explain(error: ValidationError | PermissionDenied) -> str:
    if isinstance(error, ValidationError):
        if hasattr(error, "error_dict"):
            return " ".join(
                f"{field}: {message}" if field != "__all__" else str(message)
                for field, messages in error.message_dict.items()
                for message in messages
            )
        return " ".join(error.messages)
    return str(error)


@dataclass
class SetAsideError(Exception):
    status: str
    reason: str
    detail: str = ""


def _import(row: InboundMessage, parsed: mail.ParsedMail, *, force: bool) -> None:
    channel = row.channel
    if not parsed.sender.address:
        raise SetAsideError(InboundStatus.REJECTED, Reason.UNKNOWN_SENDER, _("No sender address."))
    if not force:
        reason = mail.automatic_reason(parsed, own_addresses())
        if reason:
            raise SetAsideError(InboundStatus.IGNORED, reason)
        if _over_rate(row):
            raise SetAsideError(InboundStatus.IGNORED, Reason.RATE)
    twin = (
        InboundMessage.objects.filter(message_id=row.message_id, status=InboundStatus.IMPORTED)
        .exclude(pk=row.pk)
        .select_related("channel")
        .first()
    )
    if twin is not None:
        # The same message sent to two of our mailboxes (To and Cc): it is on its case once.
        row.case, row.case_message = twin.case, twin.case_message
        row.status, row.reason, row.imported_at = InboundStatus.IMPORTED, "", timezone.now()
        row.note = _("Also received through %(channel)s.") % {"channel": twin.channel}
        return
    contact = _contact(channel, parsed)
    if not contact.organisation.is_active:
        raise ValidationError(
            _("The organisation %(organisation)s is switched off and takes no cases.")
            % {"organisation": contact.organisation}
        )
    uploads, skipped = _uploads(parsed)
    notes = []
    if skipped:
        notes.append(_("Attachments not accepted: %(names)s") % {"names": ", ".join(skipped)})
    case = thread(parsed, contact)
    if case is not None and case.status == Status.CLOSED:
        notes.append(
            _("%(reference)s is closed: a new case was opened.") % {"reference": case.reference}
        )
        case = None
    if case is None:
        case, message = _open_case(row, parsed, contact, uploads)
        row.opened_case = True
    else:
        message = _add_reply(row, parsed, contact, case, uploads)
    row.case, row.case_message = case, message
    row.status, row.reason = InboundStatus.IMPORTED, ""
    row.imported_at = timezone.now()
    row.note = "; ".join(str(note) for note in notes)[:500]
    if row.opened_case and channel.acknowledge:
        outgoing.queue_acknowledgement(channel=channel, case=case, inbound=row, contact=contact)


def own_addresses() -> set[str]:
    """Addresses mail of ours comes from: every channel's and the default sender's."""
    addresses = {a.lower() for a in MailChannel.objects.values_list("address", flat=True)}
    for setting in ("DEFAULT_FROM_EMAIL", "SERVER_EMAIL"):
        address = parseaddr(str(getattr(settings, setting, "") or ""))[1].lower()
        if address:
            addresses.add(address)
    return addresses


def _over_rate(row: InboundMessage) -> bool:
    limit = row.channel.rate_limit
    if not limit:
        return False
    imported = InboundMessage.objects.filter(
        channel=row.channel,
        sender=row.sender,
        status=InboundStatus.IMPORTED,
        received_at__gt=row.received_at - RATE_WINDOW,
        received_at__lte=row.received_at,
    ).exclude(pk=row.pk)
    return imported.count() >= limit


# --- the contact -------------------------------------------------------------------------


def _contact(channel: MailChannel, parsed: mail.ParsedMail) -> User:
    """The customer contact with the sender's address, created when the channel allows."""
    address = parsed.sender.address
    known = list(
        User.objects.filter(email__iexact=address)
        .select_related("organisation")
        .order_by("-is_active", "pk")
    )
    customers = [person for person in known if person.is_customer]
    if customers:
        if not customers[0].is_active:
            raise SetAsideError(InboundStatus.REJECTED, Reason.INACTIVE_SENDER)
        return customers[0]
    if known:
        raise SetAsideError(
            InboundStatus.REJECTED,
            Reason.STAFF_SENDER,
            _("Staff answer cases on the desk; mail from staff addresses is not imported."),
        )
    if channel.unknown_senders == UnknownSenders.REJECT:
        raise SetAsideError(InboundStatus.REJECTED, Reason.UNKNOWN_SENDER)
    organisation = channel.default_organisation
    if organisation is None:
        raise ValidationError(
            _("The channel %(channel)s has no default organisation for new contacts.")
            % {"channel": channel}
        )
    if not organisation.is_active:
        raise ValidationError(
            _("The organisation %(organisation)s is switched off and takes no cases.")
            % {"organisation": organisation}
        )
    return people.create_person(
        actor=None,
        username=_username(address),
        role=Role.CUSTOMER,
        organisation=organisation,
        display_name=(parsed.sender.name or address)[:150],
        email=address,
    )


def _username(address: str) -> str:
    """The address itself when it is a valid, free login; otherwise a derived one."""
    base = address.lower()
    if not USERNAME.match(base) or len(base) > 140:
        base = "mail-" + hashlib.sha256(base.encode()).hexdigest()[:12]
    candidate, number = base, 1
    while User.objects.filter(username__iexact=candidate).exists():
        number += 1
        candidate = f"{base}-{number}"
    return candidate


# --- threading ---------------------------------------------------------------------------


def thread(parsed: mail.ParsedMail, contact: User) -> Case | None:
    """The case a message answers, or None for a new one.

    Found by the Message-IDs it answers (In-Reply-To, then References from the nearest),
    then by the reference in its subject. A case of another organisation is never
    joined: a forged or mistyped reference must not put text into a stranger's case.
    """
    case = case_for_ids(parsed.thread_ids)
    if case is None:
        reference = mail.case_reference(parsed.subject)
        case = Case.objects.filter(reference=reference).first() if reference else None
    hops = 0
    while case is not None and case.merged_into_id is not None and hops < MAX_MERGE_HOPS:
        case = Case.objects.get(pk=case.merged_into_id)
        hops += 1
    if case is None or case.organisation_id != contact.organisation_id:
        return None
    return case


def case_for_ids(ids: list[str]) -> Case | None:
    """The case of the nearest Message-ID we know: one we received, sent or recorded."""
    if not ids:
        return None
    found: dict[str, int] = {}
    for message_id, case_id in InboundMessage.objects.filter(
        message_id__in=ids, case__isnull=False
    ).values_list("message_id", "case_id"):
        found.setdefault(message_id, case_id)
    for message_id, case_id in OutboundMail.objects.filter(message_id__in=ids).values_list(
        "message_id", "case_id"
    ):
        found.setdefault(message_id, case_id)
    for message_id, case_id in Message.objects.filter(external_id__in=ids).values_list(
        "external_id", "case_id"
    ):
        found.setdefault(message_id, case_id)
    domains = outgoing.own_domains()
    for message_id in ids:
        if message_id in found:
            return Case.objects.get(pk=found[message_id])
        reference = next(
            (ref for d in domains if (ref := mail.reference_in_message_id(message_id, d))), ""
        )
        if reference:
            case = Case.objects.filter(reference=reference).first()
            if case is not None:
                return case
    return None


# --- into the desk -----------------------------------------------------------------------


def _uploads(parsed: mail.ParsedMail) -> tuple[list[SimpleUploadedFile], list[str]]:
    """The attachments the desk accepts, and the names of those it would refuse.

    A refused file does not stop the message: it stays in the stored original.
    """
    limit = settings.ASSURA_ATTACHMENT_MAX_BYTES
    allowed = settings.ASSURA_ATTACHMENT_TYPES
    uploads, skipped = [], []
    for part in parsed.attachments:
        if not part.data:
            continue
        kind = mimetypes.guess_type(part.name)[0] or "application/octet-stream"
        if kind not in allowed or len(part.data) > limit:
            skipped.append(part.name)
            continue
        uploads.append(SimpleUploadedFile(part.name[-255:], part.data, content_type=kind))
    return uploads, skipped


def _open_case(
    row: InboundMessage,
    parsed: mail.ParsedMail,
    contact: User,
    uploads: list[SimpleUploadedFile],
) -> tuple[Case, Message | None]:
    """A new case with the whole text (a forward's history is the substance of it)."""
    channel = row.channel
    subject = mail.clean_subject(parsed.subject) or _first_line(parsed.text)
    case = desk.open_case(
        actor=contact,
        organisation=contact.organisation,
        case_type=channel.default_case_type,
        subject=(subject or _("(no subject)"))[:300],
        channel=Channel.EMAIL,
        description=parsed.text,
        contact=contact,
        team=channel.default_team,
        attachments=uploads,
        # The customer's message arrived when we received it, whatever happened since.
        at=row.received_at,
        idempotency_key=f"email:{row.pk}",
    )
    return case, Message.objects.filter(case=case).order_by("pk").first()


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")[:80]


def _add_reply(
    row: InboundMessage,
    parsed: mail.ParsedMail,
    contact: User,
    case: Case,
    uploads: list[SimpleUploadedFile],
) -> Message:
    """The new part of the customer's answer, as a message on its case (once)."""
    existing = Message.objects.filter(case=case, external_id=row.message_id).first()
    if existing is not None:
        return existing
    body = parsed.new_text or ("" if uploads else parsed.subject or "-")
    return desk.reply(
        actor=contact,
        case=case,
        body=body,
        attachments=uploads,
        at=row.received_at,
        channel=Channel.EMAIL,
        external_id=row.message_id,
    )


# --- people's actions --------------------------------------------------------------------


def retry(*, actor: User | None, inbound: InboundMessage, force: bool = False) -> InboundMessage:
    """Import a failed message again, or (force) one that was set aside, on purpose."""
    _require(actor, Action.MANAGE_INTAKE)
    current = InboundMessage.objects.get(pk=inbound.pk)
    if current.status == InboundStatus.IMPORTED:
        raise ValidationError(_("This message is already imported."))
    if not force and not current.can_retry:
        raise ValidationError(_("Only failed messages are retried; import it anyway instead."))
    before = current.status
    result = process(current, force=force)
    LogEntry.objects.log_create(
        result,
        action=LogEntry.Action.UPDATE,
        changes={"status": [before, result.status], "forced": ["", str(force)]},
        actor=actor,
    )
    return result


def retry_stale(channel: MailChannel, now: datetime) -> int:
    """Import messages whose first import was cut short (stored, never processed)."""
    stale = InboundMessage.objects.filter(
        channel=channel, status=InboundStatus.RECEIVED, received_at__lt=now - STALE_RECEIVED
    ).order_by("received_at")[:20]
    count = 0
    for row in stale:
        process(row)
        count += 1
    return count


def check_connection(*, actor: User | None, channel: MailChannel) -> MailChannel:
    """Try the channel's mailbox now and record what happened (the "test" button)."""
    from assura.intake import fetcher

    _require(actor, Action.MANAGE_INTAKE)
    fetcher.check(channel)
    channel.refresh_from_db()
    return channel


# --- channel settings --------------------------------------------------------------------

# What a person sets on a channel; the fetch state and the connection are the worker's.
SETTINGS = frozenset(
    {
        "name",
        "address",
        "from_name",
        "is_active",
        "imap_host",
        "imap_port",
        "imap_security",
        "imap_user",
        "imap_password",
        "imap_folder",
        "fetch_mode",
        "poll_seconds",
        "smtp_use_default",
        "smtp_host",
        "smtp_port",
        "smtp_security",
        "smtp_user",
        "smtp_password",
        "unknown_senders",
        "default_organisation",
        "default_case_type",
        "default_team",
        "acknowledge",
        "ack_subject",
        "ack_body",
        "rate_limit",
    }
)
PASSWORDS = ("imap_password", "smtp_password")
# Changing one of these makes the recorded connection state stale.
CONNECTION_SETTINGS = (
    "imap_host",
    "imap_port",
    "imap_security",
    "imap_user",
    "imap_password",
    "imap_folder",
)
# Changing one of these points the channel at another mailbox: the UIDs seen so far
# belong to the old one.
MAILBOX_SETTINGS = ("imap_host", "imap_user", "imap_folder")
ONE_LINE = ("name", "from_name", "imap_host", "imap_user", "imap_folder", "smtp_host", "smtp_user")
# Audit entries show a stored password as this mark, never its value.
PASSWORD_MARK = "********"  # noqa: S105 - a mark, not a password
SSL_PORTS = {"imap": frozenset({993}), "smtp": frozenset({465})}
PLAIN_PORTS = {"imap": frozenset({143}), "smtp": frozenset({25, 587})}
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


def create_channel(*, actor: User | None, **values: Any) -> MailChannel:
    """A new mail channel, validated whole before anything is saved.

    `values` are the settings (`SETTINGS`); errors are keyed by setting, so a form shows
    each beside its field. Nothing is stored when one is wrong.
    """
    _require(actor, Action.MANAGE_INTAKE)
    record = MailChannel()
    _assign(record, values)
    _validate(record, before=None)
    with acting_as(actor):
        _save(record)
    return record


def update_channel(*, actor: User | None, channel: MailChannel, **values: Any) -> MailChannel:
    """Change a channel's settings; the ones not given stay as they are.

    A password given as None (or not given) keeps the stored one, an empty one removes
    it: a form never shows the stored password, so its empty field means "unchanged".
    Changing where mail is fetched from forgets the last connection state, and changing
    the mailbox (server, user or folder) also its place in the old mailbox.
    """
    _require(actor, Action.MANAGE_INTAKE)
    before = MailChannel.objects.get(pk=channel.pk)
    record = MailChannel.objects.get(pk=channel.pk)
    _assign(record, {k: v for k, v in values.items() if not (k in PASSWORDS and v is None)})
    _validate(record, before=before)
    changed = _changed(before, record)
    if not changed:
        return record
    now = timezone.now()
    state: dict[str, Any] = {}
    if changed & set(CONNECTION_SETTINGS):
        state.update(
            connection=Connection.UNKNOWN, connection_detail="", checked_at=None, next_fetch_at=now
        )
    if changed & set(MAILBOX_SETTINGS):
        state.update(uidvalidity=None, last_uid=0)
    if record.is_active and not before.is_active:
        state.update(next_fetch_at=now)
    for name, value in state.items():
        setattr(record, name, value)
    with acting_as(actor):
        # Only what changed: the worker writes the fetch state of this row meanwhile.
        _save(record, update_fields=sorted(changed | set(state)))
        _log_passwords(actor, before, record)
    return record


def _changed(before: MailChannel, after: MailChannel) -> set[str]:
    fields = (MailChannel._meta.get_field(name) for name in SETTINGS)
    return {
        field.name
        for field in fields
        if getattr(before, field.attname) != getattr(after, field.attname)  # type: ignore[union-attr]
    }


def set_channel_active(*, actor: User | None, channel: MailChannel, active: bool) -> MailChannel:
    """Switch a channel off (no longer fetched) or on again (fetched at once).

    A channel is never deleted from the pages: its received messages and sent mail keep
    pointing at it. Replies to cases that came through an inactive channel still go out
    through it.
    """
    _require(actor, Action.MANAGE_INTAKE)
    with acting_as(actor):
        record = MailChannel.objects.select_for_update().get(pk=channel.pk)
        if record.is_active == active:
            return record
        record.is_active = active
        if active:
            record.next_fetch_at = timezone.now()
        record.save(update_fields=["is_active", "next_fetch_at"])
    return record


def channel_warnings(channel: MailChannel) -> list[str]:
    """Settings that are allowed but probably wrong, to show beside the channel.

    Unusual combinations of port and security are warned about, not refused: a server
    may well run SSL/TLS on a port of its own.
    """
    warnings = []
    accounts = [("imap", "IMAP", channel.imap_host, channel.imap_port, channel.imap_security)]
    if not channel.smtp_use_default:
        accounts.append(
            ("smtp", "SMTP", channel.smtp_host, channel.smtp_port, channel.smtp_security)
        )
    for kind, server, host, port, security in accounts:
        values = {"server": server, "port": port}
        if port in SSL_PORTS[kind] and security != Security.SSL:
            warnings.append(
                _(
                    "%(server)s: port %(port)s normally expects SSL/TLS from the start; with "
                    "another choice the connection is likely to hang or fail."
                )
                % values
            )
        elif port in PLAIN_PORTS[kind] and security == Security.SSL:
            warnings.append(
                _(
                    "%(server)s: port %(port)s normally starts unencrypted and switches with "
                    "STARTTLS; SSL/TLS there is likely to fail."
                )
                % values
            )
        if security == Security.NONE and host.strip().lower() not in LOCAL_HOSTS:
            warnings.append(
                _(
                    "%(server)s: without encryption the password crosses the network "
                    "readable; use it only for a server on this machine."
                )
                % values
            )
    if not channel.imap_password:
        warnings.append(
            _("No IMAP password is stored: the server will refuse to log in unless it needs none.")
        )
    return [str(warning) for warning in warnings]


def _assign(record: MailChannel, values: dict[str, Any]) -> None:
    unknown = set(values) - SETTINGS
    if unknown:
        raise TypeError(f"not a mail channel setting: {', '.join(sorted(unknown))}")
    for name, value in values.items():
        if isinstance(value, str) and name not in PASSWORDS:
            value = value.strip()
        setattr(record, name, value)


def _validate(record: MailChannel, *, before: MailChannel | None) -> None:
    """Every rule at once, so a person sees all that is wrong in one go."""
    errors: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    for name in ONE_LINE:
        if any(char in str(getattr(record, name)) for char in "\r\n"):
            add(name, _("Write it on one line."))
    if any(char in record.ack_subject for char in "\r\n"):
        add("ack_subject", _("Write it on one line."))
    others = MailChannel.objects.exclude(pk=record.pk) if record.pk else MailChannel.objects.all()
    if record.name and others.filter(name__iexact=record.name).exists():
        add("name", _("Another mail channel is already called “%(name)s”.") % {"name": record.name})
    if record.address:
        taken = others.filter(address__iexact=record.address).first()
        if taken is not None:
            add(
                "address",
                _("The mail channel “%(channel)s” already reads this address.")
                % {"channel": taken.name},
            )
    for field in ("imap_host", "smtp_host"):
        if getattr(record, field) and not _plausible_host(getattr(record, field)):
            add(
                field,
                _(
                    "Enter only the server's name or IP address, for example "
                    "imap.exmail.qq.com: no “imap://”, no port, no path."
                ),
            )
    for field in ("imap_port", "smtp_port"):
        port = getattr(record, field)
        if not isinstance(port, int) or not 1 <= port <= 65535:
            add(field, _("Enter a port from 1 to 65535."))
    if not record.imap_folder:
        add("imap_folder", _("Name the folder to read, usually INBOX."))
    if not record.smtp_use_default and not record.smtp_host:
        add(
            "smtp_host",
            _("Enter the SMTP server, or send with the default mailer."),
        )
    _validate_defaults(record, before, add)
    try:
        record.full_clean(validate_unique=False)
    except ValidationError as error:
        # The model's own messages, for fields that have no more precise one already.
        for field, messages in error.message_dict.items():
            if field not in errors:
                errors[field] = list(messages)
    if errors:
        raise ValidationError(errors)


def _validate_defaults(
    record: MailChannel, before: MailChannel | None, add: Callable[[str, str], None]
) -> None:
    """Where new contacts go, and what their cases become."""
    organisation = record.default_organisation
    if organisation is not None:
        if not Organisation.objects.customers().filter(pk=organisation.pk).exists():
            add("default_organisation", _("Choose a customer organisation."))
        elif not organisation.is_active and (
            before is None or before.default_organisation_id != organisation.pk
        ):
            add(
                "default_organisation",
                _("The organisation %(organisation)s is switched off and takes no cases.")
                % {"organisation": organisation},
            )
    elif record.unknown_senders == UnknownSenders.CREATE:
        add(
            "default_organisation",
            _(
                "Mail from unknown addresses creates contacts in this organisation: choose "
                "one, or reject unknown senders."
            ),
        )
    team = record.default_team
    if (
        team is not None
        and not team.is_active
        and (before is None or before.default_team_id != team.pk)
    ):
        add("default_team", _("The team %(team)s is switched off.") % {"team": team})


def _plausible_host(host: str) -> bool:
    """A name or an IP address, nothing around it (no scheme, port, path or spaces)."""
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return not any(char in host for char in " \t/:@\\?#")
    return True


def _save(record: MailChannel, update_fields: list[str] | None = None) -> None:
    try:
        with transaction.atomic():
            record.save(update_fields=update_fields)
    except IntegrityError as error:  # the same name or address saved a moment ago
        others = MailChannel.objects.exclude(pk=record.pk)
        taken = others.filter(address__iexact=record.address).first()
        if taken is not None:
            raise ValidationError(
                {
                    "address": _("The mail channel “%(channel)s” already reads this address.")
                    % {"channel": taken.name}
                }
            ) from error
        raise ValidationError(
            {
                "name": _("Another mail channel is already called “%(name)s”.")
                % {"name": record.name}
            }
        ) from error


def _log_passwords(actor: User | None, before: MailChannel, after: MailChannel) -> None:
    """The audit log says that a password changed (never what it is): a mark, not a value."""
    changes = {
        name: [_mark(getattr(before, name)), _mark(getattr(after, name))]
        for name in PASSWORDS
        if getattr(before, name) != getattr(after, name)
    }
    if changes:
        LogEntry.objects.log_create(
            after, action=LogEntry.Action.UPDATE, changes=changes, actor=actor, force_log=True
        )


def _mark(password: str) -> str:
    return PASSWORD_MARK if password else ""
