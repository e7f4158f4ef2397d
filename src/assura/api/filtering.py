"""The filter backend of every list: django-filter, with instants resolved to UTC.

An ISO 8601 filter value may carry any offset Python accepts (up to ±23:59), more than
the database does; every ISO date-time filter of every viewset therefore parses with
`InstantField`, which hands on UTC and refuses an instant outside years 1-9999 as invalid.
"""

from __future__ import annotations

from typing import Any

from django_filters import filters
from django_filters.rest_framework import DjangoFilterBackend


class FilterBackend(DjangoFilterBackend):
    def get_filterset(self, request: Any, queryset: Any, view: Any) -> Any:
        # Imported here: DRF loads this class while the viewsets' modules are importing.
        from assura.core.api import InstantField

        filterset = super().get_filterset(request, queryset, view)
        if filterset is not None:
            for declared in filterset.filters.values():
                if isinstance(declared, filters.IsoDateTimeFilter) and not isinstance(
                    getattr(declared, "_field", None), InstantField
                ):
                    declared.field_class = InstantField
                    declared.__dict__.pop("_field", None)  # built before: build it again
        return filterset
