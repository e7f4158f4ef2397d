from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from assura.core.models import Role, User
from tests.factories import ContactFactory


@pytest.fixture
def person_in_role(make_staff: Callable[..., User]) -> Callable[[Role], User]:
    """Someone in `role`: staff for the staff roles, a customer contact otherwise."""

    def make(role: Role) -> User:
        return ContactFactory() if role == Role.CUSTOMER else make_staff(role)

    return make


@pytest.fixture
def signed_in(client: Client) -> Callable[[User], Client]:
    def sign_in(user: User) -> Client:
        client.force_login(user)
        return client

    return sign_in
