"""The demo's surveys and follow-ups come from the real services and look like a real desk."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.utils import timezone

from assura.voice import queries
from assura.voice.models import FollowUp, FollowUpStatus, Invitation, Programme, Response

pytestmark = pytest.mark.django_db


def test_the_demo_surveys_and_follows_up(settings) -> None:  # type: ignore[no-untyped-def]
    settings.ASSURA_DEMO_DAYS = 20  # enough resolved cases for the sampled surveys
    with open("/dev/null", "w") as quiet:
        call_command("load_demo", stdout=quiet)
    everything = queries.Scope()
    csat = queries.csat(everything)
    assert csat.n >= 3
    assert 3.8 <= csat.mean <= 5.0  # type: ignore[operator]
    assert queries.nps(everything).n >= 2
    assert queries.servqual_result(everything).respondents >= 4
    assert Programme.objects.filter(code__startswith="demo-").count() == 4
    assert FollowUp.objects.filter(status=FollowUpStatus.DONE).exists()
    due = queries.on_time(queries.follow_ups_due(None, timezone.now()))
    assert due.rate >= 0.8  # type: ignore[operator]
    # Nothing was e-mailed for the past, and nothing waits to be reminded.
    assert not Invitation.objects.filter(remind_at__isnull=False).exists()
    counts = (Invitation.objects.count(), Response.objects.count(), FollowUp.objects.count())
    with open("/dev/null", "w") as quiet:
        call_command("load_demo", stdout=quiet)
    assert (
        Invitation.objects.count(),
        Response.objects.count(),
        FollowUp.objects.count(),
    ) == counts
