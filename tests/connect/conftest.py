from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from django.test import Client

from assura.commitments import standard
from assura.commitments.models import Policy
from assura.core.models import Organisation, Role, User
from tests.connect.servers import Receiver
from tests.factories import ContactFactory, CustomerFactory


@pytest.fixture
def guarantee(db: None) -> list[Policy]:
    """The standard guarantee: inquiries owe a first response within 15 office minutes."""
    return standard.load()


@pytest.fixture
def customer(db: None) -> Organisation:
    return CustomerFactory(code="ECM", name="华东制造有限公司")


@pytest.fixture
def contact(customer: Organisation) -> User:
    return ContactFactory(organisation=customer, email="zhang@ecm.example.cn")


@pytest.fixture
def quality(make_staff: Callable[..., User]) -> User:
    return make_staff(Role.QUALITY_MANAGER)


@pytest.fixture
def callbacks() -> Client:
    """A client that enforces CSRF like a browser would: callbacks must not need it."""
    return Client(enforce_csrf_checks=True)


@pytest.fixture
def receiver() -> Iterator[Callable[..., Receiver]]:
    """Start a webhook receiver on 127.0.0.1 (ephemeral port) that checks the signature."""
    started: list[Receiver] = []

    def start(secret: str) -> Receiver:
        server = Receiver(secret).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
