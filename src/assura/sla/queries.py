"""Reads about clocks and breaches of any subject (a case, a follow-up…)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Count, Q

from assura.sla.models import Breach, Clock, ClockStatus


def clocks_of(subject: models.Model) -> models.QuerySet[Clock]:
    return Clock.objects.filter(
        subject_type=ContentType.objects.get_for_model(subject), subject_id=subject.pk
    )


def breaches_of(subject: models.Model) -> models.QuerySet[Breach]:
    return Breach.objects.standing().filter(
        clock__subject_type=ContentType.objects.get_for_model(subject),
        clock__subject_id=subject.pk,
    )


def breaches_without_rca(subject: models.Model) -> list[Breach]:
    """Standing breaches of `subject` that still need their root-cause analysis."""
    return list(breaches_of(subject).filter(rca__isnull=True))


@dataclass(frozen=True)
class Compliance:
    """One metric's promise-keeping over a period; see docs/kpis.md "SLA compliance"."""

    metric: str
    met: int
    breached: int

    @property
    def decided(self) -> int:
        return self.met + self.breached

    @property
    def share(self) -> float | None:
        """met ÷ (met + breached); None when nothing was decided in the period."""
        return self.met / self.decided if self.decided else None


def compliance(
    clocks: models.QuerySet[Clock], since: datetime, until: datetime
) -> list[Compliance]:
    """Per metric: clocks met in [since, until) against clocks breached in it.

    A clock is counted once, in the period of its outcome: the instant it was met
    (stopped within target) or the instant it was breached, whether or not it has
    stopped since. Running clocks not yet breached and cancelled clocks have no outcome.
    """
    rows = (
        clocks.exclude(status=ClockStatus.CANCELLED)
        .values("metric")
        .annotate(
            met=Count("pk", filter=Q(met_at__gte=since, met_at__lt=until)),
            breached=Count("pk", filter=Q(breached_at__gte=since, breached_at__lt=until)),
        )
        .order_by("metric")
    )
    return [
        Compliance(row["metric"], row["met"], row["breached"])
        for row in rows
        if row["met"] or row["breached"]
    ]
