"""The answer for any path under /api/ that names no endpoint: the error format, 404."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt


@csrf_exempt  # a POST to an unknown path is a 404 too, not a CSRF page
def not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    body = {"error": {"code": "not_found", "message": _("Not found."), "fields": {}}}
    return JsonResponse(body, status=404)
