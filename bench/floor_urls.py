"""assura's addresses plus POST /bench/floor/: the rows of a case creation, and nothing else.

The floor writes what a creation writes (the case with its audit entry, two activities,
three clocks with their start events and escalation plans) by copying the newest case's
rows straight through the ORM: no validation, no policy or contract selection, no
reference counter, no clock arithmetic. No implementation of case creation on the Django
ORM can cost less, so its throughput bounds what any rewrite of the creation could reach.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from functools import cache
from typing import Any

from django.db import transaction
from django.urls import include, path
from django.utils import timezone
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from assura.desk.models import Activity, Case
from assura.sla.models import Clock, ClockEvent, Escalation


@cache
def floor_writer() -> Callable[[], str]:
    """A function writing one more copy of the newest case's rows; returns its reference.

    The rows to copy are read once per process: a creation reads its policy and calendars
    too, so the floor leaves all reads out.
    """
    model = Case.objects.order_by("-pk").first()
    assert model is not None, "the floor copies a case: create one first"
    clocks = list(Clock.objects.filter(subject_id=model.pk, subject_type__model="case"))
    plans = list(Escalation.objects.filter(clock__in=clocks))

    def write() -> str:
        now = timezone.now()
        with transaction.atomic():
            case = copy(model, reference=f"F-{uuid.uuid4().hex[:12]}", idempotency_key=None)
            case.save()
            Activity.objects.create(case=case, kind="created", at=now, after="API")
            Activity.objects.create(case=case, kind="policy", at=now, after="standard v1")
            new = Clock.objects.bulk_create([copy(c, subject_id=case.pk) for c in clocks])
            ClockEvent.objects.bulk_create(
                [ClockEvent(clock=c, seq=1, kind="start", at=now, recorded_at=now) for c in new]
            )
            by_old = {old.pk: fresh.pk for old, fresh in zip(clocks, new, strict=True)}
            Escalation.objects.bulk_create([copy(e, clock_id=by_old[e.clock_id]) for e in plans])
        return str(case.reference)

    return write


def copy(row: Any, **changes: Any) -> Any:
    """An unsaved copy of a model row with some fields changed."""
    fields = {f.attname: getattr(row, f.attname) for f in type(row)._meta.concrete_fields}
    fields.pop("id")
    return type(row)(**{**fields, **changes})


class FloorView(APIView):
    """Authenticated and rate-limited like every API view; the body is not read."""

    def post(self, request: Request) -> Response:
        return Response({"reference": floor_writer()()}, status=201)


urlpatterns = [
    path("bench/floor/", FloorView.as_view()),
    path("", include("assura.urls")),
]
