"""The audit trail: every change to a business record, with actor and before → after.

django-auditlog records the changes (it hooks model saves, so no service can forget
one); this module decides which models it watches and gives services one way to name
the actor when no web request does (the worker, commands, imports).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from auditlog.context import set_actor
from auditlog.registry import auditlog
from django.db import transaction

if TYPE_CHECKING:
    from assura.core.models import User

NEVER_LOGGED_FIELDS = ("password", "last_login")


def register_models() -> None:
    """Watch the core records; each later app registers its own in its apps.py."""
    from assura.core.models import Organisation, Team, User

    auditlog.register(Organisation)
    auditlog.register(Team)
    auditlog.register(User, exclude_fields=list(NEVER_LOGGED_FIELDS))


@contextmanager
def acting_as(actor: User | None) -> Iterator[None]:
    """One business action: a transaction whose audit entries name `actor`.

    The transaction makes the change and its audit entries land together or not at all.
    """
    with transaction.atomic():
        if actor is None:
            yield
            return
        with set_actor(actor):
            yield
