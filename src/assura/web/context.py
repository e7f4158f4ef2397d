"""Template context shared by every page: the navigation the person's role allows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from assura.core.permissions import Action, can


@dataclass(frozen=True)
class NavItem:
    label: str | Promise
    url_name: str
    action: Action


NAVIGATION = (
    NavItem(_("Home"), "web:home", Action.VIEW_HOME),
    NavItem(_("Organisations"), "web:organisations", Action.VIEW_ORGANISATIONS),
    NavItem(_("People"), "web:people", Action.VIEW_PEOPLE),
    NavItem(_("Audit log"), "web:audit_log", Action.VIEW_AUDIT_LOG),
)


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": []}
    current = request.resolver_match.view_name if request.resolver_match else ""
    items = [
        {"label": item.label, "url": reverse(item.url_name), "active": item.url_name == current}
        for item in NAVIGATION
        if can(user, item.action)
    ]
    return {"nav_items": items}
