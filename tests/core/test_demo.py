from __future__ import annotations

import pytest
from django.core.management import call_command

from assura.core.models import Organisation, Role, Team, User

pytestmark = pytest.mark.django_db


def test_the_demo_has_every_role_and_running_it_twice_duplicates_nothing() -> None:
    call_command("load_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    counts = (User.objects.count(), Team.objects.count(), Organisation.objects.count())
    call_command("load_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert (User.objects.count(), Team.objects.count(), Organisation.objects.count()) == counts
    assert Organisation.objects.customers().count() == 2
    assert Team.objects.count() == 3
    assert User.objects.filter(role=Role.AGENT).count() == 8
    for role in (Role.QUALITY_MANAGER, Role.MANAGER, Role.AUDITOR):
        assert User.objects.filter(role=role).count() == 1
    assert all(team.lead is not None for team in Team.objects.all())
    assert User.objects.get(username="agent1").check_password("assura-demo")
