"""How an audit entry's "before → after" reads to a person.

The audit log stores raw values (keys, choice codes, ISO timestamps). This module turns a
page of entries into labelled, translated values: field names by their verbose names,
choices by their labels, related records by their names (one query per kind of related
record for the whole page, never one per row), times in the reader's zone.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from auditlog.models import LogEntry
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils import formats, timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _

EMPTY = "—"


@dataclass(frozen=True)
class Change:
    field: str
    before: str
    after: str


@dataclass(frozen=True)
class DescribedEntry:
    entry: LogEntry
    changes: list[Change]


HIDDEN = object()  # a reverse relation or the key: nothing a reader needs to see


def _field(model: type[models.Model] | None, name: str) -> Any:
    """The model field behind a logged name; HIDDEN for what is not shown, None if unknown."""
    if model is None:
        return None
    try:
        field = model._meta.get_field(name)
    except FieldDoesNotExist:
        return None
    if not isinstance(field, models.Field) or field.primary_key:
        return HIDDEN
    return field


def _raw_changes(entry: LogEntry) -> dict[str, list[Any]]:
    changes = entry.changes_dict or {}
    return {name: list(values)[:2] for name, values in changes.items() if len(values) >= 2}


def describe(entries: Iterable[LogEntry]) -> list[DescribedEntry]:
    entries = list(entries)
    wanted: dict[type[models.Model], set[Any]] = defaultdict(set)
    for entry in entries:
        model = entry.content_type.model_class()
        for name, values in _raw_changes(entry).items():
            field = _field(model, name)
            if field is not None and field is not HIDDEN and field.many_to_one:
                wanted[field.related_model].update(v for v in values if v not in (None, ""))  # type: ignore[index]
    names: dict[type[models.Model], dict[str, str]] = {}
    for related, keys in wanted.items():
        found = related._base_manager.filter(pk__in=keys)
        names[related] = {str(record.pk): str(record) for record in found}
    return [DescribedEntry(entry, _changes(entry, names)) for entry in entries]


def _changes(entry: LogEntry, names: dict[type[models.Model], dict[str, str]]) -> list[Change]:
    model = entry.content_type.model_class()
    created = entry.action == LogEntry.Action.CREATE
    result = []
    for name, (before, after) in _raw_changes(entry).items():
        field = _field(model, name)
        if field is HIDDEN or before == after or (created and after in (None, "", False)):
            continue
        label = capfirst(str(field.verbose_name)) if field is not None else name
        result.append(Change(label, _value(field, before, names), _value(field, after, names)))
    return result


def _value(
    field: Any,
    value: Any,
    names: dict[type[models.Model], dict[str, str]],
) -> str:
    if value is None or value == "":
        return EMPTY
    if field is None:
        return str(value)
    if field.many_to_one and field.related_model is not None:
        shown = names.get(field.related_model, {}).get(str(value))  # type: ignore[arg-type]
        return shown if shown is not None else _("#%(key)s (no longer exists)") % {"key": value}
    if field.choices:
        return str(dict(field.flatchoices).get(value, value))
    if isinstance(field, models.BooleanField):
        return _("Yes") if value in (True, "True", "true") else _("No")
    if isinstance(field, models.DateTimeField) and isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
        if timezone.is_naive(moment):
            moment = moment.replace(tzinfo=UTC)
        return formats.date_format(timezone.localtime(moment), "Y-m-d H:i")
    return str(value)
