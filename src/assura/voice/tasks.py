"""The voice app's timer in `assura worker`: invitations, reminders, periodic surveys.

Each round sends the invitations whose instant has come and the reminders that are due
(each claimed with a conditional UPDATE, so several workers never send one twice), runs
the periodic triggers whose next run has passed, and every `SWEEP_EVERY` catches up on
resolutions whose after-commit handler did not run.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db.models import Min

from assura.voice import services
from assura.voice.models import Invitation, InvitationStatus, Trigger, TriggerKind

log = logging.getLogger("assura.voice.tasks")

SWEEP_EVERY = timedelta(minutes=15)


class VoiceTimer:
    name = "voice"

    def __init__(self) -> None:
        self.sweep_at: datetime | None = None

    def run_due(self, now: datetime) -> datetime | None:
        services.send_due(now)
        services.send_reminders(now)
        services.run_due_triggers(now)
        if self.sweep_at is None or now >= self.sweep_at:
            self.sweep_at = now + SWEEP_EVERY
            services.sweep_resolved(now)
        return min(
            (t for t in (next_instant(), self.sweep_at) if t is not None),
            default=None,
        )


def next_instant() -> datetime | None:
    """The earliest scheduled send, reminder or periodic run."""
    candidates = [
        Invitation.objects.filter(status=InvitationStatus.SCHEDULED).aggregate(t=Min("send_at"))[
            "t"
        ],
        Invitation.objects.filter(status=InvitationStatus.SENT, remind_at__isnull=False).aggregate(
            t=Min("remind_at")
        )["t"],
        Trigger.objects.filter(
            kind=TriggerKind.PERIODIC, is_active=True, next_run_at__isnull=False
        ).aggregate(t=Min("next_run_at"))["t"],
    ]
    return min((t for t in candidates if t is not None), default=None)
