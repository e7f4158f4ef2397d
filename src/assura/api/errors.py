"""One error format for the whole API: a code, a message, and messages per field.

    {"error": {"code": "invalid", "message": "…", "fields": {"name": ["…"]}}}

Django's own `ValidationError` and `PermissionDenied`, raised by services, are turned
into the same shape, so a service's message reaches the client in its language.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(_django_errors(exc))
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    response.data = {"error": _body(exc, response)}
    return response


def _django_errors(exc: DjangoValidationError) -> dict[str, list[str]] | list[str]:
    if hasattr(exc, "error_dict"):
        return {
            field: [str(message) for error in errors for message in error.messages]
            for field, errors in exc.error_dict.items()
        }
    return [str(message) for message in exc.messages]


def _body(exc: Exception, response: Response) -> dict[str, Any]:
    if isinstance(exc, exceptions.ValidationError):
        detail = exc.detail
        fields: dict[str, Any] = {}
        messages: list[str] = []
        if isinstance(detail, dict):
            fields = {key: _flatten(value) for key, value in detail.items()}
            messages = fields.pop("non_field_errors", [])
        else:
            messages = _flatten(detail)
        message = " ".join(messages) or _("The request has invalid fields.")
        return {"code": "invalid", "message": message, "fields": fields}
    code = getattr(exc, "default_code", "error")
    detail = getattr(exc, "detail", None)
    message = str(detail) if detail is not None else str(exc)
    if response.status_code == status.HTTP_404_NOT_FOUND:
        message = _("Not found.")
    return {"code": str(code), "message": message, "fields": {}}


def _flatten(value: Any) -> list[str]:
    if isinstance(value, list | tuple):
        return [item for element in value for item in _flatten(element)]
    if isinstance(value, dict):
        return [item for element in value.values() for item in _flatten(element)]
    return [str(value)]
