"""What happens after a breach or a warning is recorded (connected in `SlaConfig.ready`).

`breaches_recorded` and `warnings_recorded` are sent after the recording transaction
commits. Each breach is then handled in one transaction of its own, under a lock on the
breach row: compensation booked, the customer notice created (and sent unless delayed),
and the subject's accountable staff told. The notice row is the mark that a breach was
handled, so handling twice is a no-op, and `BreachFollowUp` (a worker timer) hands over
the breaches that a crash between the commit and the handler left unhandled, and sends
the notices whose editing delay has passed.

Historical breaches and warnings (recorded while an import replayed another help desk's
past, see `sla.services.history`) are measured, never acted on: they are not announced,
and every function here passes them over should one be handed in anyway.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from assura.commitments.models import Metric
from assura.sla import compensation, notices
from assura.sla.escalation import duration_text, link_of, local, reference_of, send_to
from assura.sla.models import Breach, BreachNotice, ClockWarning

log = logging.getLogger("assura.sla.handlers")

#: A recorded batch of up to this many breaches is handled at once, after its commit;
#: a bigger burst is left to the follow-up timer, so the watcher keeps its pace.
INLINE_LIMIT = 10
#: How often the follow-up timer looks again at every breach, for one that failed.
FULL_SWEEP_EVERY = timedelta(minutes=10)
#: Seconds of work per round of the follow-up timer: short, because the watcher waits
#: behind it in the same loop (bench/RESULTS.md: 1 s gave a p99 breach lag of 1.2-1.5 s
#: under a burst, 0.2 s about 0.6 s).
BUDGET = 0.2


def on_breaches_recorded(sender: object, breach_ids: Iterable[int], **kwargs: Any) -> None:
    breach_ids = list(breach_ids)
    if len(breach_ids) > INLINE_LIMIT:
        return
    for pk in breach_ids:
        try:
            handle_breach(pk)
        except Exception:
            # The breach itself is recorded; the follow-up timer hands it over again.
            log.exception("breach %s could not be handled yet", pk)


def on_warnings_recorded(sender: object, warning_ids: Iterable[int], **kwargs: Any) -> None:
    try:
        announce_warnings(list(warning_ids))
    except Exception:
        log.exception("warnings %s could not be announced", warning_ids)


def handle_breach(pk: int, now: datetime | None = None) -> bool:
    """Book, notify and announce one breach, once; False when there was nothing to do
    (withdrawn, handled already, or imported history)."""
    now = now or timezone.now()
    with transaction.atomic():
        breach = (
            Breach.objects.select_for_update(of=("self",))
            .select_related("clock")
            .filter(pk=pk)
            .first()
        )
        if breach is None or breach.withdrawn_at is not None or breach.historical:
            return False
        if BreachNotice.objects.filter(breach=breach).exists():
            return False
        subject = breach.clock.subject
        compensation.book(breach, subject)
        notice = notices.create(breach, subject, now)
        _tell_staff(breach, subject)
        if notice.send_at <= now:
            notices.send(notice, now)
    return True


def _tell_staff(breach: Breach, subject: object) -> None:
    """首问负责制: the assignee and the first-contact owner hear of every breach."""
    ask = getattr(subject, "accountable_staff", None)
    people = [p for p in (ask() if callable(ask) else []) if p.is_active]
    if not people:
        return
    metric = Metric.objects.filter(code=breach.metric).first()
    reference = reference_of(subject)
    for person in people:
        with translation.override(person.language or settings.LANGUAGE_CODE):
            name = str(metric) if metric else breach.metric
            title = _("[%(reference)s] Promise broken: %(metric)s") % {
                "reference": reference,
                "metric": name,
            }
            body = "\n".join(
                line
                for line in (
                    str(subject) if subject is not None else reference,
                    _("%(metric)s, target %(target)s, was exceeded at %(at)s.")
                    % {
                        "metric": name,
                        "target": duration_text(breach.target),
                        "at": local(breach.breached_at),
                    },
                    _("Write the root-cause analysis before the case can close."),
                    link_of(subject),
                )
                if line
            )
        send_to(
            person,
            f"breach:{breach.pk}:staff:{person.pk}",
            subject=title,
            body=body,
            payload={"kind": "breach", "breach": breach.pk, "reference": reference},
            about=subject,
        )


def announce_warnings(warning_ids: list[int]) -> int:
    """Tell the accountable staff that a clock is near its due instant.

    Not for a clock whose escalation matrix has a level before the due instant: that
    level already warns the people it names, and one warning is enough. Not for a
    historical warning either (imported history). Returns the number of messages queued.
    """
    warnings = list(
        ClockWarning.objects.filter(pk__in=warning_ids, historical=False)
        .exclude(clock__escalations__offset__lt=0)
        .select_related("clock")
        .prefetch_related("clock__subject")
    )
    if not warnings:
        return 0
    metrics = {
        m.code: m for m in Metric.objects.filter(code__in={w.clock.metric for w in warnings})
    }
    queued = 0
    for warning in warnings:
        clock, subject = warning.clock, warning.clock.subject
        ask = getattr(subject, "accountable_staff", None)
        people = [p for p in (ask() if callable(ask) else []) if p.is_active]
        reference = reference_of(subject)
        metric = metrics.get(clock.metric)
        for person in people:
            with translation.override(person.language or settings.LANGUAGE_CODE):
                name = str(metric) if metric else clock.metric
                title = _("[%(reference)s] Due soon: %(metric)s") % {
                    "reference": reference,
                    "metric": name,
                }
                due = _("%(metric)s is due at %(at)s.") % {
                    "metric": name,
                    "at": local(clock.due_at),
                }
                body = "\n".join(line for line in (str(subject), due, link_of(subject)) if line)
            queued += send_to(
                person,
                f"warning:{warning.pk}:{person.pk}",
                subject=title,
                body=body,
                payload={"kind": "warning", "clock": clock.pk, "reference": reference},
                about=subject,
            )
    return queued


def unhandled(after: int = 0, limit: int = 100) -> list[int]:
    """Standing live breaches without a notice: their handler never ran or never finished.

    Historical breaches never get a notice, so they are left out here.
    """
    return list(
        Breach.objects.filter(
            pk__gt=after, withdrawn_at__isnull=True, historical=False, notice__isnull=True
        )
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )


class BreachFollowUp:
    """The timer that hands over unhandled breaches and sends delayed notices.

    It reads the breaches above the highest one it has seen handled (an index range,
    not the whole table) and looks at all of them again every `FULL_SWEEP_EVERY`, and
    at its first round after a (re)start. Each round stops after `BUDGET` seconds of
    work and asks to run again at once, so a burst of breaches never holds up the
    other timers of the worker.
    """

    name = "sla-breach-follow-up"

    def __init__(self) -> None:
        self.seen = 0
        self.full_sweep_at: datetime | None = None

    def run_due(self, now: datetime) -> datetime | None:
        deadline = time.monotonic() + BUDGET
        if self.full_sweep_at is None or now >= self.full_sweep_at:
            self.seen, self.full_sweep_at = 0, now + FULL_SWEEP_EVERY
        while batch := unhandled(after=self.seen):
            for pk in batch:
                try:
                    handle_breach(pk, now)
                except Exception:
                    # Tried again at the next full sweep.
                    log.exception("breach %s could not be handled yet", pk)
                self.seen = pk
                if time.monotonic() > deadline:
                    return now
        notices.send_due(now)
        upcoming = [t for t in (notices.next_instant(), self.full_sweep_at) if t is not None]
        return min(upcoming, default=None)
