"""Customer breach notices: the customer is told, with a reason, when a promise is broken.

Each breach gets one notice (unique per breach), created by the breach handler in the
contact's language with the reason of the template for its metric. It goes out through
the notification outbox at `send_at`: at once by default, or after
`ASSURA_NOTICE_DELAY_MINUTES` so the agent can word the reason first. The agent may edit
the reason at any time; an edit after sending keeps the old reason as a revision and
sends a correction. The outbox's deduplication keys (one per notice, one per
correction) make a retried send harmless.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from assura.commitments.models import Metric
from assura.core.audit import acting_as
from assura.core.models import User
from assura.core.permissions import Action, can
from assura.notify import services as notify
from assura.sla.escalation import duration_text, reference_of
from assura.sla.models import (
    Breach,
    BreachNotice,
    BreachNoticeRevision,
    NoticeLanguage,
    NoticeTemplate,
)

PLACEHOLDERS = ("reference", "metric", "promised", "breached_at", "reason")
_PLACEHOLDER = re.compile(r"\{(\w+)\}")
MAX_REASON = 2000


def delay() -> timedelta:
    return timedelta(minutes=getattr(settings, "ASSURA_NOTICE_DELAY_MINUTES", 0))


def language_of(person: User | None) -> str:
    """The notice language for a person: Chinese unless the person reads English."""
    code = ((person.language if person else "") or settings.LANGUAGE_CODE).lower()
    return NoticeLanguage.ZH_HANS if code.startswith("zh") else NoticeLanguage.EN


def template_for(metric: str, language: str) -> NoticeTemplate | None:
    """The metric's own template in the language, else the general one, else English."""
    candidates = NoticeTemplate.objects.filter(metric__in=[metric, ""])
    ranked = sorted(
        candidates,
        key=lambda t: (t.language != language, t.language != NoticeLanguage.EN, t.metric == ""),
    )
    return ranked[0] if ranked else None


def render(text: str, values: Mapping[str, str]) -> str:
    """Fill {placeholders}; unknown ones stay as written (no attribute or index access)."""
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)


def unknown_placeholders(text: str) -> list[str]:
    return sorted({name for name in _PLACEHOLDER.findall(text) if name not in PLACEHOLDERS})


def create(breach: Breach, subject: object, now: datetime) -> BreachNotice:
    """The breach's notice with the template's reason (once: unique per breach)."""
    existing = BreachNotice.objects.filter(breach=breach).first()
    if existing is not None:
        return existing
    recipients = _recipients(subject)
    recipient = recipients[0] if recipients else None
    language = language_of(recipient)
    template = template_for(breach.metric, language)
    return BreachNotice.objects.create(
        breach=breach,
        recipient=recipient,
        language=language,
        reason=template.reason if template else "",
        send_at=now + delay(),
    )


def _recipients(subject: object) -> list[User]:
    ask = getattr(subject, "breach_notice_recipients", None)
    return list(ask()) if callable(ask) else []


def send_due(now: datetime) -> int:
    """Send every notice whose editing delay has passed; returns how many went out."""
    due = list(
        BreachNotice.objects.filter(
            sent_at__isnull=True,
            send_at__lte=now,
            recipient__isnull=False,
            breach__withdrawn_at__isnull=True,
        )
        .order_by("send_at", "pk")
        .values_list("pk", flat=True)[:500]
    )
    sent = 0
    for pk in due:
        with transaction.atomic():
            notice = BreachNotice.objects.select_related("breach__clock", "recipient").get(pk=pk)
            sent += send(notice, now)
    return sent


def next_instant() -> datetime | None:
    return (
        BreachNotice.objects.filter(
            sent_at__isnull=True, recipient__isnull=False, breach__withdrawn_at__isnull=True
        )
        .order_by("send_at")
        .values_list("send_at", flat=True)
        .first()
    )


def send(notice: BreachNotice, now: datetime) -> bool:
    """Claim the unsent notice and hand it to the outbox, in the caller's transaction."""
    if notice.recipient is None or notice.breach.withdrawn_at is not None:
        return False
    if not BreachNotice.objects.filter(pk=notice.pk, sent_at__isnull=True).update(sent_at=now):
        return False
    notice.sent_at = now
    subject = notice.breach.clock.subject
    title, body = compose(notice, subject)
    _enqueue(notice, subject, f"breach-notice:{notice.breach_id}", title, body)
    notice.subject, notice.body = title[:300], body
    notice.save(update_fields=["subject", "body"])
    return True


def compose(notice: BreachNotice, subject: object, *, correction: bool = False) -> tuple[str, str]:
    """The notice's subject line and text in its language, with its current reason."""
    breach = notice.breach
    template = template_for(breach.metric, notice.language)
    with translation.override(notice.language):
        values = _values(notice, subject)
        title = render(template.subject, values) if template else values["reference"]
        body = render(template.body, values) if template else notice.reason
        if correction:
            title = _("Correction: %(subject)s") % {"subject": title}
            body = _("This notice corrects the reason given in our earlier notice.") + (
                "\n\n" + body
            )
    return title, body


def _values(notice: BreachNotice, subject: object) -> dict[str, str]:
    breach = notice.breach
    metric = Metric.objects.filter(code=breach.metric).first()
    zone = _zone(notice.recipient)
    return {
        "reference": reference_of(subject),
        "metric": str(metric) if metric else breach.metric,
        "promised": duration_text(breach.target),
        "breached_at": breach.breached_at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
        "reason": notice.reason,
    }


def _zone(person: User | None) -> ZoneInfo:
    name = (person.time_zone if person else "") or settings.TIME_ZONE
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError):
        return ZoneInfo(settings.TIME_ZONE)


def _enqueue(notice: BreachNotice, subject: object, key: str, title: str, body: str) -> None:
    if notice.recipient is None or not notice.recipient.email:
        return
    notify.enqueue(
        key,
        to=[notice.recipient.email],
        subject=title,
        body=body,
        payload={
            "kind": "breach_notice",
            "breach": notice.breach_id,
            "reference": reference_of(subject),
            "metric": notice.breach.metric,
        },
        about=subject if isinstance(subject, models.Model) else None,
    )


def edit_reason(
    *, actor: User, notice: BreachNotice, reason: str, now: datetime | None = None
) -> BreachNotice:
    """Reword the reason; after sending, keep the old one and send a correction."""
    if not can(actor, Action.WORK_CASES, notice.breach.clock):
        raise PermissionDenied(_("You are not allowed to edit this notice."))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Give the customer a reason.")})
    if len(reason) > MAX_REASON:
        raise ValidationError(
            {"reason": _("Keep the reason under %(n)s characters.") % {"n": MAX_REASON}}
        )
    now = now or timezone.now()
    with acting_as(actor):
        locked = (
            BreachNotice.objects.select_for_update(of=("self",))
            .select_related("breach__clock", "recipient")
            .get(pk=notice.pk)
        )
        if locked.reason == reason:
            return locked
        revision = BreachNoticeRevision.objects.create(
            notice=locked,
            reason=locked.reason,
            edited_by=actor,
            edited_at=now,
            after_sending=locked.sent_at is not None,
        )
        locked.reason = reason
        locked.save(update_fields=["reason"])
        if locked.sent_at is not None and locked.recipient is not None:
            subject = locked.breach.clock.subject
            title, body = compose(locked, subject, correction=True)
            key = f"breach-notice:{locked.breach_id}:correction:{revision.pk}"
            _enqueue(locked, subject, key, title, body)
            locked.subject, locked.body = title[:300], body
            locked.corrections += 1
            locked.save(update_fields=["subject", "body", "corrections"])
    return locked
