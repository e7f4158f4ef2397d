"""Request middleware: per-person language and time zone; the audit log's trusted address."""

from __future__ import annotations

from collections.abc import Callable
from zoneinfo import ZoneInfo

from auditlog.middleware import AuditlogMiddleware
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone, translation

from assura.core.http import client_address, client_port

Handler = Callable[[HttpRequest], HttpResponse]


class UserPreferencesMiddleware:
    """Speak the person's language and show times in its zone; the database keeps UTC.

    Sits after authentication and overrides LocaleMiddleware's guess (cookie,
    Accept-Language) once the person has chosen a language in the profile; before login
    the guess and the login page's switcher decide.
    """

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        language = getattr(user, "language", "")
        if language in dict(settings.LANGUAGES):
            translation.activate(language)
            request.LANGUAGE_CODE = language
        timezone.activate(ZoneInfo(getattr(user, "time_zone", "") or settings.TIME_ZONE))
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()


class AuditMiddleware(AuditlogMiddleware):
    """django-auditlog's middleware, recording the address the request came from.

    The library takes the first X-Forwarded-For entry, which the caller writes: an audit
    entry would show whatever address a forger chose. `client_address` trusts the header
    only behind the configured proxies.
    """

    @staticmethod
    def _get_remote_addr(request: HttpRequest) -> str | None:
        return client_address(request) or None

    @staticmethod
    def _get_remote_port(request: HttpRequest) -> int | None:
        return client_port(request)
