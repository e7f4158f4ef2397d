"""The things a clock measures, found by the reference people know them by.

A clock measures one metric of one subject (a case, a follow-up), and a breach is one
per clock, so "the breach of C-2026-000123's first response" names exactly one breach:
that is its address, `/sla/breaches/C-2026-000123/first_response/`, never a database id
(docs/sla.md, "Pages").

sla sits below the apps whose records it measures, so it cannot import them: each of
them registers its model here from its `AppConfig.ready()`, and sla asks the registry.
A registered model has a unique `reference` field; its prefix, when given, spares the
lookup a query per registered model.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured
from django.db import models
from django.urls import reverse

if TYPE_CHECKING:
    from assura.sla.models import Breach

_registry: dict[type[models.Model], str] = {}

#: The breach pages, by the name `breach_url` takes.
PAGES = {"": "sla:breach", "rca": "sla:breach_rca", "notice": "sla:breach_notice"}


def register(model: type[models.Model], *, prefix: str = "") -> None:
    """Let clocks on `model` be found by its `reference` (unique); idempotent."""
    try:
        field = model._meta.get_field("reference")
    except FieldDoesNotExist:
        raise ImproperlyConfigured(f"{model.__name__} has no reference field.") from None
    if not getattr(field, "unique", False):
        raise ImproperlyConfigured(f"{model.__name__}.reference is not unique.")
    _registry[model] = prefix


def registered() -> tuple[type[models.Model], ...]:
    return tuple(_registry)


def resolve(reference: str) -> tuple[ContentType, int] | None:
    """The subject known as `reference`: its type and primary key, or None.

    One indexed query per registered model whose prefix fits (so one in practice).
    """
    for model, prefix in _registry.items():
        if prefix and not reference.startswith(prefix):
            continue
        pk = model._default_manager.filter(reference=reference).values_list("pk", flat=True)
        found = pk.first()
        if found is not None:
            return ContentType.objects.get_for_model(model), found
    return None


def breach_url(breach: Breach, page: str = "") -> str:
    """The address of a breach's page (`page`: "", "rca" or "notice"), from its subject's
    reference and the metric code; "" if the subject has no reference to show.

    Reads `breach.clock.subject`: a list prefetches it (`prefetch_related(
    "clock__subject")`), so building every row's link costs no query.
    """
    clock = breach.clock
    reference = getattr(clock.subject, "reference", "")
    if not reference:
        return ""
    return reverse(PAGES[page], args=[reference, clock.metric])
