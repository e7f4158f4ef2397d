"""Every write of the notify app: queueing notices, channels, retries.

`enqueue` is what other apps call, inside their own transaction: the notice is then
stored exactly when their change commits, and the sender (`outbox`) delivers it later.
Nothing here sends anything.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import models, transaction
from django.utils import timezone
from django.utils.crypto import get_random_string
from django.utils.translation import gettext as _

from assura.core.audit import acting_as
from assura.core.models import User
from assura.core.permissions import Action, can
from assura.notify.models import (
    ChannelKind,
    Notification,
    NotificationChannel,
    Status,
)


def _require(actor: User | None, action: Action) -> None:
    """Services are also called by the system (actor None), which may do anything."""
    if actor is not None and not can(actor, action):
        raise PermissionDenied(_("You are not allowed to do this."))


# --- the outbox --------------------------------------------------------------------------


def enqueue(
    dedup_key: str,
    *,
    channel: NotificationChannel | None = None,
    to: Iterable[str] = (),
    subject: str,
    body: str,
    markdown: str = "",
    html: str = "",
    payload: Mapping[str, Any] | None = None,
    about: models.Model | None = None,
) -> Notification:
    """Put a notice in the outbox, once per `dedup_key`; returns the stored row.

    Call it inside the transaction of the change the notice is about. A second call with
    the same key (a retried request, a replayed event) returns the first row unchanged
    and sends nothing more. Without a channel the notice is an e-mail to `to`; with an
    e-mail channel `to` adds addresses to the channel's list; robots and webhooks ignore
    it. `markdown` is used by the robots, `html` as the e-mail's HTML part, `payload` is
    the structured part of a webhook's body.
    """
    key = dedup_key.strip()
    recipients = _addresses(to)
    if not key:
        raise ValidationError({"dedup_key": _("A notice needs a key.")})
    if channel is None and not recipients:
        raise ValidationError({"to": _("A notice needs a channel or an e-mail address.")})
    now = timezone.now()
    about_fields = _about(about)
    with transaction.atomic():
        notification, _created = Notification.objects.get_or_create(
            dedup_key=key,
            defaults={
                "channel": channel,
                "recipients": recipients,
                "subject": subject[:300],
                "body": body,
                "markdown": markdown,
                "html": html,
                "payload": dict(payload or {}),
                "status": Status.PENDING,
                "next_attempt_at": now,
                **about_fields,
            },
        )
    return notification


def _addresses(to: Iterable[str]) -> list[str]:
    if isinstance(to, str):
        raise TypeError("`to` is a list of addresses, not one string")
    addresses = [address.strip() for address in to if address.strip()]
    for address in addresses:
        try:
            validate_email(address)
        except ValidationError:
            raise ValidationError(
                {"to": _("%(address)s is not an e-mail address.") % {"address": address}}
            ) from None
    return list(dict.fromkeys(addresses))


def _about(record: models.Model | None) -> dict[str, Any]:
    if record is None:
        return {}
    if record.pk is None:
        raise ValueError("a notice can only be about a saved record")
    return {"about_type": ContentType.objects.get_for_model(record), "about_id": str(record.pk)}


def retry_now(*, actor: User | None, notification: Notification) -> Notification:
    """An administrator sends a failed or dead notice again at once.

    A failed notice keeps its retry schedule; a dead one gets one more attempt and is
    dead again if that fails too (its schedule was used up).
    """
    _require(actor, Action.RETRY_NOTIFICATIONS)
    with transaction.atomic():
        current = Notification.objects.select_for_update().get(pk=notification.pk)
        if not current.can_retry:
            raise ValidationError(_("Only failed or abandoned notices can be retried."))
        before = current.status
        now = timezone.now()
        Notification.objects.filter(pk=current.pk, status=before).update(
            status=Status.PENDING, next_attempt_at=now
        )
        LogEntry.objects.log_create(
            current,
            action=LogEntry.Action.UPDATE,
            changes={"status": [before, str(Status.PENDING)]},
            actor=actor,
        )
    current.refresh_from_db()
    return current


# --- channels ----------------------------------------------------------------------------


def create_channel(
    *,
    actor: User | None,
    kind: str,
    name: str,
    url: str = "",
    recipients: Iterable[str] = (),
    signed: bool = False,
    secret: str = "",
    is_active: bool = True,
) -> NotificationChannel:
    """A new channel, validated before anything is saved (errors keyed by form field)."""
    _require(actor, Action.MANAGE_CHANNELS)
    channel = NotificationChannel(kind=kind)
    _apply(channel, name=name, url=url, recipients=recipients, signed=signed, secret=secret)
    channel.is_active = is_active
    channel.full_clean()
    with acting_as(actor):
        channel.save()
    return channel


def update_channel(
    *,
    actor: User | None,
    channel: NotificationChannel,
    name: str,
    url: str = "",
    recipients: Iterable[str] = (),
    signed: bool = False,
    secret: str | None = None,
    is_active: bool = True,
) -> NotificationChannel:
    """Change a channel's settings; `secret=None` keeps the stored secret (the form never
    shows it, so an empty field means "unchanged", not "remove")."""
    _require(actor, Action.MANAGE_CHANNELS)
    changed = NotificationChannel.objects.get(pk=channel.pk)
    _apply(
        changed,
        name=name,
        url=url,
        recipients=recipients,
        signed=signed,
        secret=changed.secret if secret is None else secret,
    )
    changed.is_active = is_active
    changed.full_clean()
    with acting_as(actor):
        changed.save()
    return changed


def _apply(
    channel: NotificationChannel,
    *,
    name: str,
    url: str,
    recipients: Iterable[str],
    signed: bool,
    secret: str,
) -> None:
    """Put the settings a kind uses into `config`; the others are dropped, not kept stale."""
    channel.name = name.strip()
    channel.secret = secret.strip()
    if channel.kind == ChannelKind.EMAIL:
        addresses = [address.strip() for address in recipients if address.strip()]
        channel.config = {"recipients": list(dict.fromkeys(addresses))}
        channel.secret = ""
    else:
        channel.config = {"url": url.strip(), "signed": bool(signed)}


def send_test(
    *, actor: User | None, channel: NotificationChannel, now: datetime | None = None
) -> Notification:
    """Queue a test message on `channel`; the channel page follows its outcome."""
    _require(actor, Action.MANAGE_CHANNELS)
    moment = now or timezone.now()
    key = f"channel-test:{channel.pk}:{moment:%Y%m%dT%H%M%S}:{get_random_string(6)}"
    subject = _("assura test message")
    body = _(
        "This is a test message from assura for the channel “%(name)s”. If you can read"
        " it, notifications reach this destination."
    ) % {"name": channel.name}
    requested_by = _("Sent by %(person)s.") % {"person": actor} if actor else ""
    return enqueue(
        key,
        channel=channel,
        subject=subject,
        body=f"{body}\n{requested_by}".strip(),
        payload={"event": "test", "channel": channel.name},
        about=channel,
    )
