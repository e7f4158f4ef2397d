"""Factories for the records most tests need; every one is valid as built."""

from __future__ import annotations

import factory
from factory.django import DjangoModelFactory

from assura.core.models import Organisation, OrganisationKind, Role, Team, User

PASSWORD = "correct-horse-battery"


class ProviderFactory(DjangoModelFactory[Organisation]):
    class Meta:
        model = Organisation
        django_get_or_create = ("kind",)

    kind = OrganisationKind.PROVIDER
    code = "provider"
    name = "Provider Ltd"


class CustomerFactory(DjangoModelFactory[Organisation]):
    class Meta:
        model = Organisation

    kind = OrganisationKind.CUSTOMER
    code = factory.Sequence(lambda n: f"CUST{n}")
    name = factory.Sequence(lambda n: f"Customer {n}")


class TeamFactory(DjangoModelFactory[Team]):
    class Meta:
        model = Team

    code = factory.Sequence(lambda n: f"team{n}")
    name = factory.Sequence(lambda n: f"Team {n}")


class StaffFactory(DjangoModelFactory[User]):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"staff{n}")
    display_name = factory.Sequence(lambda n: f"Staff {n}")
    role = Role.AGENT
    organisation = factory.SubFactory(ProviderFactory)
    password = factory.django.Password(PASSWORD)


class ContactFactory(StaffFactory):
    username = factory.Sequence(lambda n: f"contact{n}")
    display_name = factory.Sequence(lambda n: f"Contact {n}")
    role = Role.CUSTOMER
    organisation = factory.SubFactory(CustomerFactory)
