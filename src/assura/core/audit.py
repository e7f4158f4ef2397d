"""The audit trail: every change to a business record, with actor and before → after.

django-auditlog records the changes (it hooks model saves, so no service can forget
one); this module decides which models it watches and gives services one way to name
the actor when no web request does (the worker, commands, imports).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from auditlog.context import auditlog_value, set_actor
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
    Inside a request the entries keep the address the request came from (the audit
    middleware's); django-auditlog's `set_actor` would blank it and, on leaving, not
    restore the request's context for the entries written after.
    """
    with transaction.atomic():
        if actor is None:
            yield
            return
        request = auditlog_value.get(None) or {}
        try:
            with set_actor(
                actor,
                remote_addr=request.get("remote_addr"),
                remote_port=request.get("remote_port"),
            ):
                yield
        finally:
            if request:
                auditlog_value.set(request)
