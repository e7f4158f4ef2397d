from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from assura.commitments import services as commitments
from assura.commitments import standard
from assura.commitments.models import Contract, Metric, Policy, Service
from assura.core import services as core_services
from assura.core.models import Organisation, Role, Team, User
from assura.desk import services as desk
from assura.desk.models import Case
from tests.factories import TeamFactory


class Api:
    """A test client speaking JSON with one person's bearer token."""

    def __init__(self, person: User | None, language: str = "en") -> None:
        self.client = Client()
        self.headers: dict[str, str] = {"HTTP_ACCEPT_LANGUAGE": language}
        if person is not None:
            _token, secret = core_services.issue_api_token(actor=person, name="tests")
            self.secret = secret
            self.headers["HTTP_AUTHORIZATION"] = f"Bearer {secret}"

    def get(self, path: str, **params: Any) -> Any:
        return self.client.get(path, params, **self.headers)

    def post(self, path: str, body: Any = None, **headers: str) -> Any:
        payload = json.dumps(body if body is not None else {})
        return self.client.post(
            path, payload, content_type="application/json", **self.headers, **headers
        )


@pytest.fixture
def api() -> Callable[..., Api]:
    return Api


@pytest.fixture
def guarantee(db: None) -> list[Policy]:
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
    return make_staff(Role.AGENT, team=TeamFactory())


@pytest.fixture
def manager(make_staff: Callable[..., User]) -> User:
    return make_staff(Role.MANAGER)


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
            "team": team,
        }
        values.update(fields)
        return desk.open_case(**values)

    return make


@pytest.fixture
def case(make_case: Callable[..., Case]) -> Case:
    return make_case()


@pytest.fixture
def other_case(make_case: Callable[..., Case], other_contact: User) -> Case:
    return make_case(
        actor=other_contact, organisation=other_contact.organisation, service=None, team=None
    )
