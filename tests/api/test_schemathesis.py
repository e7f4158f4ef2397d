"""Every operation of the published schema, fuzzed in-process: no server error, and every
response (status code, headers and body) is one the schema declares.

Runs as a staff member (an administrator: everything is allowed) and as a customer contact
(mostly 403 and 404), against a database with a case, a breach and its analysis, so that
path parameters often name records that exist and the success paths are exercised too.
Bounded by a small number of examples per operation to stay well under two minutes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import schemathesis
from django.conf import settings as django_settings
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from django.test import override_settings
from django.utils import translation
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from assura.commitments import services as commitments
from assura.commitments import standard
from assura.core import services as core_services
from assura.core.models import ApiToken, Role, User
from assura.desk import services as desk
from assura.sla import services as sla
from assura.sla.models import Breach, CauseCategory, Clock
from tests.factories import ContactFactory, StaffFactory, TeamFactory

SH = ZoneInfo("Asia/Shanghai")


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=SH)


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
MAX_EXAMPLES = 12

# The schema is fetched while the tests are collected, before a test database exists, so
# that one fetch is not counted against a request budget (counts live in the database).
with override_settings(
    REST_FRAMEWORK={**django_settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"user": None}}
):
    schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())


@dataclass
class World:
    caller: User
    secret: str
    known: dict[str, str]


def build_world(role: str) -> World:
    """A customer with a contract, two cases (one breached, with its analysis), and a caller."""
    standard.load()
    team = TeamFactory()
    agent = StaffFactory(role=Role.AGENT, team=team)
    contact = ContactFactory()
    service = commitments.create_service(actor=None, code="erp", name="ERP hosting")
    commitments.create_contract(
        actor=None,
        code="K-1",
        name="ERP 2026",
        customer=contact.organisation,
        monthly_fee=Decimal("20000.00"),
        starts_on=date(2025, 1, 1),
        services=[service],
    )
    fields = {"organisation": contact.organisation, "channel": "portal", "team": team}
    case = desk.open_case(actor=contact, case_type="inquiry", subject="Login", **fields)
    late = desk.open_case(
        actor=agent, case_type="request", subject="Account", at=at(2026, 3, 2, 9), **fields
    )
    desk.reply(actor=agent, case=late, body="Late", at=at(2026, 3, 2, 11))
    breach = Breach.objects.filter(clock__subject_id=late.pk).first()
    assert breach is not None
    rca = sla.write_root_cause(
        actor=agent,
        breach=breach,
        category=CauseCategory.objects.get(code="staffing"),
        description="One agent on shift",
        corrective_action="Two agents before 10:00",
    )
    caller = contact if role == Role.CUSTOMER else StaffFactory(role=Role.ADMIN)
    _token, secret = core_services.issue_api_token(actor=caller, name="fuzz")
    spare, _spare_secret = core_services.issue_api_token(actor=caller, name="spare")
    clock = Clock.objects.filter(subject_id=case.pk).first()
    assert clock is not None
    known = {
        "/api/v1/cases/": case.reference,
        "/api/v1/calendars/": "24x7",
        "/api/v1/policies/": "standard",
        "/api/v1/services/": "erp",
        "/api/v1/contracts/": "K-1",
        "/api/v1/metrics/": "first_response",
        "/api/v1/cause-categories/": "staffing",
        "/api/v1/clocks/": str(clock.pk),
        "/api/v1/breaches/": str(breach.pk),
        "/api/v1/root-causes/": str(rca.pk),
        "/api/v1/organisations/": str(contact.organisation_id),
        "/api/v1/people/": str(contact.pk),
        "/api/v1/teams/": str(team.pk),
        "/api/v1/tokens/": str(spare.pk),
    }
    return World(caller=caller, secret=secret, known=known)


@pytest.fixture(scope="module", params=[Role.ADMIN, Role.CUSTOMER])
def world(
    request: pytest.FixtureRequest, django_db_setup: None, django_db_blocker: Any
) -> Iterator[World]:
    """Built once per role and rolled back at the end; each test item runs in a savepoint."""
    with django_db_blocker.unblock(), transaction.atomic(), translation.override("en"):
        yield build_world(request.param)
        transaction.set_rollback(True)


@pytest.fixture(autouse=True)
def keep_the_test_connection() -> Iterator[None]:
    """The WSGI handler closes stale connections around each request; the test's
    transaction must survive, as Django's own test client arranges."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture(autouse=True)
def unthrottled(settings: Any) -> None:
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"user": "100000/min"},
    }


def aim(case: Any, known: dict[str, str]) -> None:
    """Point most generated path parameters at records that exist."""
    for name, value in list(case.path_parameters.items()):
        if len(str(value)) % 4 == 0:  # keep some generated values: the 404 paths
            continue
        for prefix, existing in known.items():
            if case.path.startswith(prefix):
                case.path_parameters[name] = existing


@pytest.mark.django_db
@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_answers_as_the_schema_says(case: Any, world: World) -> None:
    aim(case, world.known)
    response = case.call(headers={"Authorization": f"Bearer {world.secret}"})
    case.validate_response(response, checks=CHECKS)
    if response.status_code == 401:
        # The fuzzer must not lock itself out (e.g. by revoking its own token).
        assert ApiToken.objects.filter(user=world.caller, revoked_at__isnull=True).exists()
