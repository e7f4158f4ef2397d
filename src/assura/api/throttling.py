"""Requests per person: one budget per token owner (or session), set by ASSURA_API_RATE_LIMIT."""

from __future__ import annotations

from rest_framework.settings import api_settings
from rest_framework.throttling import UserRateThrottle


class PersonRateThrottle(UserRateThrottle):
    """DRF's per-user throttle, reading its rate when used rather than when imported.

    Counted in the default cache, a table of the main database unless ASSURA_CACHE says
    otherwise, so all server processes draw on one budget per person.
    """

    def get_rate(self) -> str | None:
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)
