"""Events that webhook subscriptions receive: their names, where each one comes from, and
what its payload says.

Each event has one or more `Hook`s: a signal (named by its dotted path, so an app that is
not installed, or a signal another app has not added yet, is simply skipped) and the
receiver that turns it into deliveries. `connect_all` runs when the app is ready; a new
event plugs in with one more `Hook` in `HOOKS`.

A delivery row is written by `emit`: inside the business transaction for model signals
(so it exists exactly when the change committed), or right after the commit for the
signals that are sent then (breaches, warnings, surveys). Receivers never let an error
escape: a failed webhook write must not undo or break the business action it reports.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from importlib import import_module
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import models, transaction
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from assura.connect.models import DeliveryStatus, WebhookDelivery, WebhookSubscription

log = logging.getLogger("assura.connect.events")

EVENTS: dict[str, Promise] = {
    "case.created": _("Case created"),
    "case.updated": _("Case updated: status, priority, type, assignment, messages"),
    "clock.warning": _("SLA clock near its due time"),
    "breach.recorded": _("SLA breach recorded"),
    "escalation.fired": _("Escalation level fired"),
    "notice.sent": _("Breach notice sent to the customer"),
    "ledger.booked": _("Compensation booked in the credit ledger"),
    "survey.responded": _("Survey answered"),
    "follow_up.done": _("Follow-up completed"),
}
#: Not subscribable: the test message a manager sends to check an address.
PING = "ping"

#: Field names never copied into a payload (survey links, tokens, hashes).
SECRET_WORDS = ("token", "secret", "password", "digest", "key")

_quiet: ContextVar[bool] = ContextVar("connect_quiet", default=False)


@contextmanager
def quiet() -> Iterator[None]:
    """No webhooks for what happens inside (an import replaying years-old history)."""
    token = _quiet.set(True)
    try:
        yield
    finally:
        _quiet.reset(token)


def emit(
    event: str, key: str, data: Callable[[], Mapping[str, Any]], at: datetime | None = None
) -> int:
    """Queue `event` for every active subscription to it, once per `key`; how many queued.

    `data` is called only when someone subscribed, so an event nobody listens to costs
    one small query.
    """
    if _quiet.get():
        return 0
    wanted = [
        pk
        for pk, events in WebhookSubscription.objects.filter(is_active=True).values_list(
            "pk", "events"
        )
        if event in (events or [])
    ]
    if not wanted:
        return 0
    now = timezone.now()
    payload = {"event": event, "occurred_at": jsonable(at or now), "data": jsonable(data())}
    rows = [
        WebhookDelivery(
            subscription_id=pk,
            event=event,
            event_key=f"{event}:{key}"[:200],
            payload=payload,
            status=DeliveryStatus.PENDING,
            next_attempt_at=now,
        )
        for pk in wanted
    ]
    # A savepoint: a failure here rolls back these rows only, never the caller's change.
    with transaction.atomic():
        WebhookDelivery.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


# --- payloads ----------------------------------------------------------------------------


def jsonable(value: Any) -> Any:
    """Plain JSON values: times in ISO 8601 (UTC), money as strings, durations in seconds."""
    if isinstance(value, datetime):
        return (value.astimezone(UTC) if timezone.is_aware(value) else value).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return int(value.total_seconds())
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Promise):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def case_url(reference: str) -> str:
    try:
        return f"{settings.SITE_URL}{reverse('desk:case', args=[reference])}"
    except NoReverseMatch:
        return ""


def case_data(case: Any) -> dict[str, Any]:
    contact = case.contact
    return {
        "reference": case.reference,
        "subject": case.subject,
        "type": case.case_type,
        "priority": case.priority,
        "status": case.status,
        "channel": case.channel,
        "customer": {"code": case.organisation.code, "name": case.organisation.name},
        "contact": {"name": str(contact), "email": contact.email} if contact else None,
        "team": case.team.code if case.team_id else None,
        "assignee": case.assignee.username if case.assignee_id else None,
        "expedited_at": case.expedited_at,
        "created_at": case.created_at,
        "first_reply_at": case.first_reply_at,
        "resolved_at": case.resolved_at,
        "closed_at": case.closed_at,
        "url": case_url(case.reference),
    }


def subject_data(subject: Any) -> dict[str, Any] | None:
    """The record a clock runs on: a case in full, anything else by its reference."""
    if subject is None:
        return None
    from assura.desk.models import Case

    if isinstance(subject, Case):
        return {"kind": "case", **case_data(subject)}
    return {
        "kind": subject._meta.model_name if isinstance(subject, models.Model) else "",
        "reference": str(getattr(subject, "reference", "") or subject),
    }


def record_data(record: models.Model) -> dict[str, Any]:
    """A record's own columns (foreign keys as ids), without anything secret-looking."""
    data: dict[str, Any] = {"id": record.pk}
    for field in record._meta.concrete_fields:
        name = field.attname
        if any(word in name.lower() for word in SECRET_WORDS) or name == "id":
            continue
        data[name] = getattr(record, name)
    case = getattr(record, "case", None)
    if case is not None:
        data["case"] = subject_data(case)
    return data


# --- receivers ---------------------------------------------------------------------------


def _safe(receiver: Callable[..., None]) -> Callable[..., None]:
    @functools.wraps(receiver)
    def wrapped(*args: Any, **kwargs: Any) -> None:
        try:
            receiver(*args, **kwargs)
        except Exception:
            log.exception("webhook event from %s not queued", receiver.__name__)

    return wrapped


@_safe
def on_activity(sender: object, instance: Any, created: bool = False, **kwargs: Any) -> None:
    if not created or kwargs.get("raw"):
        return
    case = instance.case
    if instance.kind == "created":
        emit("case.created", f"case:{case.pk}", lambda: case_data(case), instance.at)
        return
    if instance.kind == "policy" and instance.at == case.created_at and not instance.before:
        return  # the policy chosen when the case was opened is part of case.created
    change = {
        "what": instance.kind,
        "before": instance.before,
        "after": instance.after,
        "note": instance.note,
        "by": str(instance.actor) if instance.actor_id else None,
    }
    emit(
        "case.updated",
        f"activity:{instance.pk}",
        lambda: {**case_data(case), "change": change},
        instance.at,
    )


@_safe
def on_message(sender: object, instance: Any, created: bool = False, **kwargs: Any) -> None:
    if not created or kwargs.get("raw"):
        return
    case = instance.case
    public = instance.kind != "note"
    change = {
        "what": "message",
        "kind": instance.kind,
        "public": public,
        "by": str(instance.author) if instance.author_id else None,
        "body": instance.body if public else "",
        "channel": instance.channel,
    }
    emit(
        "case.updated",
        f"message:{instance.pk}",
        lambda: {**case_data(case), "change": change},
        instance.created_at,
    )


@_safe
def on_warnings(sender: object, warning_ids: Iterable[int] = (), **kwargs: Any) -> None:
    from assura.sla.models import ClockWarning

    for warning in ClockWarning.objects.filter(pk__in=list(warning_ids)).select_related("clock"):
        clock = warning.clock
        emit(
            "clock.warning",
            f"warning:{warning.pk}",
            lambda w=warning, c=clock: {
                "id": w.pk,
                "metric": c.metric,
                "target_seconds": c.target,
                "due_at": c.due_at,
                "warned_at": w.warned_at,
                "subject": subject_data(c.subject),
            },
            warning.warned_at,
        )


@_safe
def on_breaches(sender: object, breach_ids: Iterable[int] = (), **kwargs: Any) -> None:
    from assura.sla.models import Breach

    for breach in Breach.objects.filter(pk__in=list(breach_ids)).select_related("clock"):
        emit(
            "breach.recorded",
            f"breach:{breach.pk}",
            lambda b=breach: {
                "id": b.pk,
                "metric": b.metric,
                "target_seconds": b.target,
                "breached_at": b.breached_at,
                "recorded_at": b.recorded_at,
                "subject": subject_data(b.clock.subject),
            },
            breach.breached_at,
        )


@_safe
def on_escalation(sender: object, instance: Any, **kwargs: Any) -> None:
    fields = kwargs.get("update_fields") or ()
    if instance.fired_at is None or "notified" not in fields:
        return
    clock = instance.clock
    emit(
        "escalation.fired",
        f"escalation:{instance.pk}",
        lambda: {
            "id": instance.pk,
            "level": instance.level,
            "metric": clock.metric,
            "fired_at": instance.fired_at,
            "expedite": instance.expedite,
            "raise_priority_to": instance.raise_priority_to,
            "notified": len(instance.notified or []),
            "subject": subject_data(clock.subject),
        },
        instance.fired_at,
    )


@_safe
def on_notice(sender: object, instance: Any, **kwargs: Any) -> None:
    if instance.sent_at is None or kwargs.get("raw"):
        return
    emit(
        "notice.sent",
        f"notice:{instance.pk}",
        lambda: {
            "id": instance.pk,
            "breach": instance.breach_id,
            "metric": instance.breach.metric,
            "language": instance.language,
            "recipient": str(instance.recipient) if instance.recipient_id else None,
            "title": instance.subject,
            "sent_at": instance.sent_at,
            "subject": subject_data(instance.breach.clock.subject),
        },
        instance.sent_at,
    )


@_safe
def on_ledger(sender: object, instance: Any, created: bool = False, **kwargs: Any) -> None:
    if not created or kwargs.get("raw"):
        return
    emit(
        "ledger.booked",
        f"ledger:{instance.pk}",
        lambda: {
            "id": instance.pk,
            "breach": instance.breach_id,
            "contract": instance.contract.code,
            "metric": instance.metric,
            "month": instance.month,
            "amount": instance.amount,
            "uncapped_amount": instance.uncapped_amount,
            "capped": instance.capped,
            "currency": instance.currency,
            "status": instance.status,
            "subject": subject_data(instance.breach.clock.subject),
        },
    )


@_safe
def on_survey(sender: object, response: Any = None, low: bool = False, **kwargs: Any) -> None:
    if response is None:
        return
    emit(
        "survey.responded",
        f"survey-response:{response.pk}",
        lambda: {**record_data(response), "low": low},
    )


@_safe
def on_follow_up(sender: object, follow_up: Any = None, **kwargs: Any) -> None:
    if follow_up is None:
        return
    emit("follow_up.done", f"follow-up:{follow_up.pk}", lambda: record_data(follow_up))


# --- the registry ------------------------------------------------------------------------

POST_SAVE = "django.db.models.signals.post_save"


@dataclass(frozen=True)
class Hook:
    """Where an event comes from: a signal by dotted path, for one sender model or any."""

    event: str
    signal: str
    receiver: Callable[..., None]
    sender: str = ""  # "app_label.ModelName" for model signals


HOOKS: list[Hook] = [
    Hook("case.created", POST_SAVE, on_activity, "desk.Activity"),
    Hook("case.updated", POST_SAVE, on_activity, "desk.Activity"),
    Hook("case.updated", POST_SAVE, on_message, "desk.Message"),
    Hook("clock.warning", "assura.sla.services.warnings_recorded", on_warnings),
    Hook("breach.recorded", "assura.sla.services.breaches_recorded", on_breaches),
    Hook("escalation.fired", POST_SAVE, on_escalation, "sla.Escalation"),
    Hook("notice.sent", POST_SAVE, on_notice, "sla.BreachNotice"),
    Hook("ledger.booked", POST_SAVE, on_ledger, "sla.CompensationEntry"),
    Hook("survey.responded", "assura.voice.signals.survey_responded", on_survey),
    Hook("follow_up.done", "assura.voice.signals.follow_up_done", on_follow_up),
]

_available: set[str] = set()


def _signal(dotted: str) -> Any:
    module, _dot, name = dotted.rpartition(".")
    try:
        return getattr(import_module(module), name, None)
    except ImportError:
        return None


def connect_all() -> set[str]:
    """Connect every hook whose signal (and sender model) exists; the events that can fire."""
    for hook in HOOKS:
        signal = _signal(hook.signal)
        if signal is None:
            continue
        sender = None
        if hook.sender:
            try:
                sender = apps.get_model(hook.sender)
            except LookupError:
                continue
        signal.connect(
            hook.receiver,
            sender=sender,
            weak=False,
            dispatch_uid=f"connect:{hook.signal}:{hook.sender}:{hook.receiver.__name__}",
        )
        _available.add(hook.event)
    return set(_available)


def available() -> set[str]:
    """The events that can fire in this installation (their source app is present)."""
    return set(_available)


def choices() -> list[tuple[str, str]]:
    return [(name, str(label)) for name, label in EVENTS.items()]
