"""Background work of the SLA app: re-measuring open clocks after a calendar changed."""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models import QuerySet
from django.tasks import task
from django.utils import timezone
from django.utils.translation import gettext as _

from assura.calendars.models import CalendarVersion, RecomputeJob
from assura.sla import services
from assura.sla.models import Clock

log = logging.getLogger("assura.sla.tasks")

BATCH = 200


def clocks_to_move(version: CalendarVersion) -> QuerySet[Clock]:
    """Open clocks on an older version of the same calendar."""
    return (
        Clock.objects.open()
        .filter(calendar_version__calendar_id=version.calendar_id)
        .exclude(calendar_version=version)
        .order_by("pk")
    )


def queue_recompute(version: CalendarVersion) -> RecomputeJob:
    """Record the job (its progress is shown to the editor) and hand it to the worker."""
    job = RecomputeJob.objects.create(
        calendar_version=version, total=clocks_to_move(version).count()
    )
    transaction.on_commit(lambda: recompute_calendar_clocks.enqueue(job.pk))
    return job


@task()
def recompute_calendar_clocks(job_id: int) -> int:
    """Move every open clock of the calendar to the new version, in small transactions.

    Each clock gets a `retarget` event naming the new version, so the change is in its
    history and applies from its start like any retarget (docs/sla.md). Small batches
    keep the database free for the web pages while thousands of clocks move.
    """
    job = RecomputeJob.objects.select_related("calendar_version").get(pk=job_id)
    version = job.calendar_version
    RecomputeJob.objects.filter(pk=job.pk).update(status=RecomputeJob.Status.RUNNING)
    moved = 0
    try:
        while batch := list(clocks_to_move(version)[:BATCH]):
            for clock in batch:
                services.retarget(
                    clock,
                    version.created_at,
                    calendar_version=version,
                    actor=version.created_by,
                    reason=_("calendar changed"),
                )
            moved += len(batch)
            RecomputeJob.objects.filter(pk=job.pk).update(done=moved)
    except Exception as error:
        log.exception("recompute job %s failed", job.pk)
        RecomputeJob.objects.filter(pk=job.pk).update(
            status=RecomputeJob.Status.FAILED,
            error=str(error)[:2000],
            finished_at=timezone.now(),
        )
        raise
    RecomputeJob.objects.filter(pk=job.pk).update(
        status=RecomputeJob.Status.DONE,
        done=moved,
        total=max(moved, job.total),
        finished_at=timezone.now(),
    )
    return moved
