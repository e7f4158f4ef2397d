"""Per-person language and time zone, taken from the profile on every request."""

from __future__ import annotations

from collections.abc import Callable
from zoneinfo import ZoneInfo

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone, translation

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
