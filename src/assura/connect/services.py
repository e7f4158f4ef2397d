"""Every write of the connect app: inbound messages and events, settings, redeliveries.

Inbound requests are verified by the views with the platform's own scheme (`chat`)
before anything here runs. What arrives then goes through the desk's one door
(`desk.services.open_case`, `reply`), in one transaction together with the log row that
marks its nonce and event id as used, so a request replayed at the same instant cannot
be accepted twice. A rejected request is logged afterwards, on its own, and changes
nothing else.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from auditlog.models import LogEntry
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from assura.commitments.models import Channel
from assura.connect import chat
from assura.connect.events import EVENTS, PING, jsonable
from assura.connect.models import (
    ChatApp,
    ChatIdentity,
    ChatThread,
    DeliveryStatus,
    InboundEvent,
    InboundSource,
    InboundStatus,
    Outcome,
    UnknownSenders,
    WebhookDelivery,
    WebhookSubscription,
)
from assura.core import services as core
from assura.core.audit import acting_as
from assura.core.models import Organisation, Role, User
from assura.core.permissions import Action, can
from assura.desk import services as desk
from assura.desk.models import ACTIVE_STATUSES, Case

BODY_EXCERPT = 2000
SUBJECT_LENGTH = 120
#: A chat message's own time is used for the case when it is at most this old.
MESSAGE_TIME_WINDOW = timedelta(days=1)
#: A signed event may say when it happened, at most this long ago.
EVENT_TIME_WINDOW = timedelta(days=7)


def _require(actor: User | None, action: Action) -> None:
    if actor is not None and not can(actor, action):
        raise PermissionDenied(_("You are not allowed to do this."))


# --- inbound -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    """What the log keeps of an HTTP request to an inbound address."""

    channel: str
    method: str = "POST"
    path: str = ""
    remote_addr: str = ""
    body: bytes = b""


class _RefusedError(Exception):
    def __init__(self, outcome: str, detail: str) -> None:
        super().__init__(detail)
        self.outcome = outcome
        self.detail = detail


def log_request(
    request: Request,
    *,
    status: str,
    outcome: str,
    detail: str = "",
    app: ChatApp | None = None,
    source: InboundSource | None = None,
    nonce: str = "",
    event_id: str = "",
    event_type: str = "",
    case: Case | None = None,
) -> InboundEvent:
    return InboundEvent.objects.create(
        channel=request.channel,
        chat_app=app,
        source=source,
        status=status,
        outcome=outcome,
        detail=detail[:500],
        nonce=nonce[:200],
        event_id=event_id[:200],
        event_type=event_type[:100],
        case=case,
        method=request.method[:8],
        path=request.path[:500],
        remote_addr=request.remote_addr[:64],
        body_excerpt=request.body[:BODY_EXCERPT].decode("utf-8", "replace"),
    )


def reject(request: Request, outcome: str, detail: str, **fields: Any) -> InboundEvent:
    """Log a refused request; it changed nothing."""
    return log_request(
        request, status=InboundStatus.REJECTED, outcome=outcome, detail=detail, **fields
    )


def _seen(
    app: ChatApp | None, source: InboundSource | None, nonce: str, event_id: str
) -> InboundEvent | None:
    """The accepted request that already used this nonce or event id, if any."""
    if not nonce and not event_id:
        return None
    same = Q()
    if nonce:
        same |= Q(nonce=nonce)
    if event_id:
        same |= Q(event_id=event_id)
    scope = Q(chat_app=app) if app is not None else Q(source=source)
    return (
        InboundEvent.objects.filter(scope, same, status=InboundStatus.ACCEPTED)
        .select_related("case")
        .first()
    )


def _replayed(request: Request, first: InboundEvent, **fields: Any) -> InboundEvent:
    detail = _("Seen before: first accepted at %(at)s.") % {
        "at": timezone.localtime(first.received_at).strftime("%Y-%m-%d %H:%M:%S")
    }
    return reject(request, Outcome.REPLAYED, detail, case=first.case, **fields)


def take_chat(app: ChatApp, opened: chat.Opened, request: Request) -> InboundEvent:
    """A verified callback of `app`: answer a check, open a case, or add to the open one."""
    fields: dict[str, Any] = {
        "app": app,
        "nonce": opened.nonce,
        "event_id": opened.event_id,
        "event_type": opened.event_type,
    }
    if opened.challenge is not None:
        return log_request(
            request, status=InboundStatus.ACCEPTED, outcome=Outcome.CHALLENGE, **fields
        )
    first = _seen(app, None, opened.nonce, opened.event_id)
    if first is not None:
        return _replayed(request, first, **fields)
    message = opened.message
    try:
        with transaction.atomic():
            if message is None or message.kind != "text" or not message.text.strip():
                detail = _("Only text messages open cases (%(kind)s).") % {
                    "kind": opened.event_type or "?"
                }
                return log_request(
                    request,
                    status=InboundStatus.ACCEPTED,
                    outcome=Outcome.IGNORED,
                    detail=detail,
                    **fields,
                )
            contact = _contact(app, message)
            case, outcome = _chat_into_case(app, contact, message)
            return log_request(
                request, status=InboundStatus.ACCEPTED, outcome=outcome, case=case, **fields
            )
    except IntegrityError:
        first = _seen(app, None, opened.nonce, opened.event_id)
        if first is not None:
            return _replayed(request, first, **fields)
        return reject(request, Outcome.REFUSED, _("Conflicting request; please retry."), **fields)
    except _RefusedError as refusal:
        return reject(request, refusal.outcome, refusal.detail, **fields)
    except (ValidationError, PermissionDenied) as error:
        return reject(request, Outcome.REFUSED, _messages(error), **fields)


def _messages(error: Exception) -> str:
    if isinstance(error, ValidationError):
        return " ".join(error.messages)
    return str(error) or _("Not allowed.")


def _contact(app: ChatApp, message: chat.ChatMessage) -> User:
    identity = (
        ChatIdentity.objects.select_related("person")
        .filter(app=app, user_id=message.sender_id)
        .first()
    )
    if identity is not None:
        return identity.person
    if app.unknown_senders != UnknownSenders.CREATE_CONTACT:
        raise _RefusedError(
            Outcome.UNKNOWN_SENDER,
            _("%(sender)s is not linked to a contact of %(customer)s.")
            % {"sender": message.sender_id, "customer": app.organisation},
        )
    digest = hashlib.sha256(f"{app.pk}:{message.sender_id}".encode()).hexdigest()[:16]
    username = f"{app.platform}-{digest}"
    name = message.sender_name or f"{app.get_platform_display()} {message.sender_id}"
    # Found when its link was removed: the same person again, not a second account.
    person = User.objects.filter(
        username=username, organisation=app.organisation
    ).first() or core.create_person(
        actor=None,
        username=username,
        role=Role.CUSTOMER,
        organisation=app.organisation,
        display_name=name[:150],
    )
    ChatIdentity.objects.create(app=app, user_id=message.sender_id, person=person)
    return person


def _message_time(message: chat.ChatMessage) -> datetime:
    """The message's own time when it is plausible (a delayed delivery), else now."""
    now = timezone.now()
    if message.sent_at is None:
        return now
    sent = datetime.fromtimestamp(message.sent_at, tz=timezone.get_current_timezone())
    return sent if now - MESSAGE_TIME_WINDOW <= sent <= now else now


def subject_of(text: str) -> str:
    line = next((part.strip() for part in text.strip().splitlines() if part.strip()), "")
    return line if len(line) <= SUBJECT_LENGTH else line[: SUBJECT_LENGTH - 1] + "…"


def _chat_into_case(app: ChatApp, contact: User, message: chat.ChatMessage) -> tuple[Case, str]:
    at = _message_time(message)
    thread = (
        ChatThread.objects.select_related("case")
        .filter(
            app=app,
            conversation_id=message.conversation_id,
            sender_id=message.sender_id,
            case__status__in=ACTIVE_STATUSES,
            case__merged_into__isnull=True,
        )
        .order_by("-pk")
        .first()
    )
    if thread is not None:
        desk.reply(
            actor=contact,
            case=thread.case,
            body=message.text,
            at=max(at, thread.case.created_at),
            channel=Channel.CHAT,
            external_id=message.message_id[:300],
        )
        return thread.case, Outcome.REPLIED
    case = desk.open_case(
        actor=contact,
        organisation=app.organisation,
        case_type=app.case_type,
        subject=subject_of(message.text),
        channel=Channel.CHAT,
        description=message.text,
        contact=contact,
        at=at,
        idempotency_key=f"chat:{app.pk}:{message.message_id}"[:100],
    )
    ChatThread.objects.create(
        app=app,
        conversation_id=message.conversation_id[:200],
        sender_id=message.sender_id[:200],
        case=case,
    )
    return case, Outcome.CREATED


@dataclass(frozen=True)
class SignedResult:
    event: InboundEvent
    case: Case | None
    created: bool


def take_signed(
    source: InboundSource, document: Mapping[str, Any], request: Request
) -> SignedResult:
    """A verified event of another system: open a case once per event id.

    A repeated event id is answered with the case the first one opened (so a sender
    that retries after a timeout gets its answer) and logged as a rejected replay.
    """
    event_id = str(document.get("event_id") or "").strip()
    fields: dict[str, Any] = {
        "source": source,
        "event_id": event_id,
        "event_type": str(document.get("type") or "")[:100],
    }
    if not event_id or len(event_id) > 200:
        event = reject(
            request,
            Outcome.BAD_REQUEST,
            _("event_id is required (at most 200 characters)."),
            **fields,
        )
        return SignedResult(event, None, False)
    first = _seen(None, source, "", event_id)
    if first is not None:
        return SignedResult(_replayed(request, first, **fields), first.case, False)
    try:
        values = _signed_case_values(source, document)
    except _RefusedError as refusal:
        return SignedResult(reject(request, refusal.outcome, refusal.detail, **fields), None, False)
    try:
        with transaction.atomic():
            case = desk.open_case(
                actor=None,
                channel=Channel.API,
                idempotency_key=f"signed:{source.pk}:{event_id}"[:100],
                **values,
            )
            event = log_request(
                request, status=InboundStatus.ACCEPTED, outcome=Outcome.CREATED, case=case, **fields
            )
    except IntegrityError:
        first = _seen(None, source, "", event_id)
        if first is not None:
            return SignedResult(_replayed(request, first, **fields), first.case, False)
        event = reject(request, Outcome.REFUSED, _("Conflicting request; please retry."), **fields)
        return SignedResult(event, None, False)
    except (ValidationError, PermissionDenied) as error:
        return SignedResult(
            reject(request, Outcome.REFUSED, _messages(error), **fields), None, False
        )
    return SignedResult(event, case, True)


def _signed_case_values(source: InboundSource, document: Mapping[str, Any]) -> dict[str, Any]:
    subject = str(document.get("subject") or "").strip()
    if not subject:
        raise _RefusedError(Outcome.BAD_REQUEST, _("subject is required."))
    organisation = source.organisation
    code = str(document.get("customer") or "").strip()
    if code:
        found = Organisation.objects.customers().filter(code=code, is_active=True).first()
        if found is None:
            raise _RefusedError(
                Outcome.BAD_REQUEST, _("Unknown customer %(code)s.") % {"code": code}
            )
        organisation = found
    contact = None
    email = str(document.get("contact_email") or "").strip()
    if email:
        contact = User.objects.filter(
            organisation=organisation, role=Role.CUSTOMER, email__iexact=email, is_active=True
        ).first()
        if contact is None:
            raise _RefusedError(
                Outcome.BAD_REQUEST,
                _("%(email)s is not a contact of %(customer)s.")
                % {"email": email, "customer": organisation},
            )
    return {
        "organisation": organisation,
        "case_type": str(document.get("type") or source.case_type),
        "priority": str(document.get("priority") or source.priority),
        "subject": subject[:300],
        "description": str(document.get("description") or ""),
        "contact": contact,
        "at": _occurred_at(document.get("occurred_at")),
    }


def _occurred_at(value: object) -> datetime:
    now = timezone.now()
    if value in (None, ""):
        return now
    parsed = parse_datetime(str(value))
    if parsed is None or timezone.is_naive(parsed):
        raise _RefusedError(
            Outcome.BAD_REQUEST,
            _("occurred_at must be an ISO 8601 time with a zone, e.g. 2026-03-02T10:15:00+08:00."),
        )
    if parsed > now + timedelta(minutes=5) or parsed < now - EVENT_TIME_WINDOW:
        raise _RefusedError(Outcome.BAD_REQUEST, _("occurred_at must lie within the last 7 days."))
    return min(parsed, now)


# --- settings ----------------------------------------------------------------------------


def _save(actor: User | None, record: Any) -> Any:
    record.full_clean()
    with acting_as(actor):
        record.save()
    return record


def save_chat_app(*, actor: User | None, app: ChatApp | None = None, **values: Any) -> ChatApp:
    """Create or change a chat application; a secret given as None keeps the stored one."""
    _require(actor, Action.MANAGE_INTEGRATIONS)
    record = ChatApp.objects.get(pk=app.pk) if app is not None else ChatApp()
    for name, value in values.items():
        if value is None and name in ("token", "encryption_key", "app_secret"):
            continue
        setattr(record, name, value.strip() if isinstance(value, str) else value)
    return _save(actor, record)


def link_identity(*, actor: User | None, app: ChatApp, user_id: str, person: User) -> ChatIdentity:
    """Say which contact a platform user is (before or after the first message)."""
    _require(actor, Action.MANAGE_INTEGRATIONS)
    if person.organisation_id != app.organisation_id or not person.is_customer:
        raise ValidationError(
            {"person": _("Choose a contact of %(customer)s.") % {"customer": app.organisation}}
        )
    if not user_id.strip():
        raise ValidationError({"user_id": _("Enter the platform's user id.")})
    with acting_as(actor):
        identity, _created = ChatIdentity.objects.update_or_create(
            app=app, user_id=user_id.strip(), defaults={"person": person}
        )
    return identity


def save_source(
    *, actor: User | None, source: InboundSource | None = None, **values: Any
) -> tuple[InboundSource, str]:
    """Create or change a signed source; returns it and its secret when a new one was made.

    An empty secret on a new source (or `rotate=True`) generates one, shown once.
    """
    _require(actor, Action.MANAGE_INTEGRATIONS)
    rotate = bool(values.pop("rotate", False))
    record = InboundSource.objects.get(pk=source.pk) if source is not None else InboundSource()
    for name, value in values.items():
        if name == "secret" and not value:
            continue
        setattr(record, name, value.strip() if isinstance(value, str) else value)
    made = ""
    if rotate or not record.secret:
        made = record.secret = secrets.token_urlsafe(32)
    _check_customer(record.organisation_id)
    return _save(actor, record), made


def _check_customer(organisation_id: int | None) -> None:
    if organisation_id and not Organisation.objects.customers().filter(pk=organisation_id).exists():
        raise ValidationError({"organisation": _("Choose a customer organisation.")})


def save_subscription(
    *,
    actor: User | None,
    subscription: WebhookSubscription | None = None,
    name: str,
    url: str,
    events: Iterable[str],
    is_active: bool = True,
    secret: str | None = None,
    rotate: bool = False,
) -> tuple[WebhookSubscription, str]:
    """Create or change a subscription; returns it and its secret when a new one was made."""
    _require(actor, Action.MANAGE_INTEGRATIONS)
    record = (
        WebhookSubscription.objects.get(pk=subscription.pk)
        if subscription is not None
        else WebhookSubscription()
    )
    record.name, record.url, record.is_active = name.strip(), url.strip(), is_active
    record.events = [event for event in EVENTS if event in set(events)] + [
        event for event in events if event not in EVENTS
    ]
    made = ""
    if secret:
        record.secret = secret.strip()
    elif rotate or not record.secret:
        made = record.secret = secrets.token_urlsafe(32)
    return _save(actor, record), made


def send_ping(*, actor: User | None, subscription: WebhookSubscription) -> WebhookDelivery:
    """Queue a test delivery (event `ping`) whatever the subscription listens to."""
    _require(actor, Action.MANAGE_INTEGRATIONS)
    now = timezone.now()
    stamp = secrets.token_hex(6)
    return WebhookDelivery.objects.create(
        subscription=subscription,
        event=PING,
        event_key=f"{PING}:{now:%Y%m%dT%H%M%S}:{stamp}",
        payload={
            "event": PING,
            "occurred_at": jsonable(now),
            "data": {"subscription": subscription.name, "by": str(actor) if actor else None},
        },
        next_attempt_at=now,
    )


def redeliver(*, actor: User | None, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send a delivery again now: a failed one keeps its schedule, a dead one gets one more
    attempt (dead again if that fails), a delivered one is sent once more."""
    _require(actor, Action.MANAGE_INTEGRATIONS)
    with transaction.atomic():
        current = WebhookDelivery.objects.select_for_update().get(pk=delivery.pk)
        if not current.can_redeliver:
            raise ValidationError(_("This delivery is on its way already."))
        before = current.status
        WebhookDelivery.objects.filter(pk=current.pk, status=before).update(
            status=DeliveryStatus.PENDING, next_attempt_at=timezone.now()
        )
        LogEntry.objects.log_create(
            current,
            action=LogEntry.Action.UPDATE,
            changes={"status": [before, str(DeliveryStatus.PENDING)]},
            actor=actor,
        )
    current.refresh_from_db()
    return current
