from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from assura.commitments import services as commitments
from assura.commitments import standard
from assura.commitments.models import Contract, Metric, Policy, Service
from assura.core.models import Organisation, Role, Team, User
from assura.desk import services as desk
from assura.desk.models import Case
from tests.factories import ContactFactory

SH = ZoneInfo("Asia/Shanghai")


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=SH)


@pytest.fixture
def guarantee(db: None) -> list[Policy]:
    """The standard guarantee, as `assura demo` loads it."""
    return standard.load()


@pytest.fixture
def customer(contact: User) -> Organisation:
    return contact.organisation


@pytest.fixture
def service(db: None) -> Service:
    return commitments.create_service(actor=None, code="erp", name="ERP hosting")


@pytest.fixture
def contract(customer: Organisation, service: Service) -> Contract:
    contract = commitments.create_contract(
        actor=None,
        code="K-1",
        name="ERP 2026",
        customer=customer,
        monthly_fee=Decimal("20000.00"),
        starts_on=date(2025, 1, 1),
        services=[service],
        compensation_cap=Decimal("3000.00"),
    )
    commitments.set_compensation_rule(
        actor=None,
        contract=contract,
        metric=Metric.objects.get(code="first_response"),
        percent_of_fee=Decimal(5),
    )
    return contract


@pytest.fixture
def other_team_agent(make_staff: Callable[..., User]) -> User:
    from tests.factories import TeamFactory

    return make_staff(Role.AGENT, team=TeamFactory())


@pytest.fixture
def make_case(
    guarantee: list[Policy], contact: User, service: Service, contract: Contract, team: Team
) -> Callable[..., Case]:
    def make(**fields: Any) -> Case:
        values: dict[str, Any] = {
            "actor": contact,
            "organisation": contact.organisation,
            "case_type": "inquiry",
            "subject": "Cannot log in",
            "channel": "portal",
            "service": service,
            "at": at(2026, 3, 2, 10),
            "team": team,
        }
        values.update(fields)
        return desk.open_case(**values)

    return make


@pytest.fixture
def second_contact(customer: Organisation) -> User:
    return ContactFactory(organisation=customer)
