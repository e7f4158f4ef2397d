"""DRF's door to `assura.core.permissions`: a view names the action it needs.

Lives in core (not in the api app) so every app's api.py can use it without
importing upwards.
"""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from assura.core.permissions import Action, can


class ActionPermission(BasePermission):
    """Allow when the matrix lets the user do the view's `required_action`.

    Object scope is applied by the view's queryset (`visible_to`), so an object outside
    the user's scope is a 404, never a 403 that would confirm it exists.
    """

    def has_permission(self, request: Request, view: APIView) -> bool:
        action: Action = getattr(view, "required_action", Action.USE_API)
        return bool(can(request.user, Action.USE_API) and can(request.user, action))

    def has_object_permission(self, request: Request, view: APIView, obj: Any) -> bool:
        return True
