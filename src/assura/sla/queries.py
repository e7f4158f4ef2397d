"""Reads about clocks and breaches of any subject (a case, a follow-up…)."""

from __future__ import annotations

from django.contrib.contenttypes.models import ContentType
from django.db import models

from assura.sla.models import Breach, Clock


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
