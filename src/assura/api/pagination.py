"""Lists come in pages: `?limit=` (default 50, at most 500) and `?offset=`."""

from __future__ import annotations

from rest_framework.pagination import LimitOffsetPagination
from rest_framework.request import Request

MAX_OFFSET = 2**31 - 1


class Pagination(LimitOffsetPagination):
    default_limit = 50
    max_limit = 500

    def get_offset(self, request: Request) -> int:
        # Past any real list, and inside what every database accepts as an OFFSET.
        return min(super().get_offset(request), MAX_OFFSET)
