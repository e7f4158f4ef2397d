"""Template context shared by every page: the navigation the person's role allows.

An entry is shown when the role may do its action (`can()`) and its page exists: later
features add their URL names here ahead of time, and the entry appears once the app
that serves it is installed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from assura.core.permissions import Action, can


@dataclass(frozen=True)
class NavItem:
    label: str | Promise
    url_name: str
    action: Action
    #: Where the entry leads a customer contact, when its page differs from staff's.
    customer_url_name: str = ""


@dataclass(frozen=True)
class NavGroup:
    label: str | Promise
    items: tuple[NavItem, ...]


NAVIGATION = (
    NavGroup(
        "",
        (
            NavItem(_("Home"), "web:home", Action.VIEW_HOME),
            NavItem(_("Manager view"), "web:dashboard", Action.VIEW_DASHBOARD),
        ),
    ),
    NavGroup(
        _("Service desk"),
        (
            NavItem(_("Cases"), "desk:cases", Action.VIEW_CASES, customer_url_name="desk:portal"),
            NavItem(_("Expedite channel"), "sla:expedite", Action.VIEW_EXPEDITE),
            NavItem(_("Breaches"), "sla:breaches", Action.VIEW_BREACHES),
            NavItem(_("Breach notices"), "sla:notices", Action.VIEW_CASES),
            NavItem(_("Compensation"), "sla:ledger", Action.VIEW_COMPENSATION),
        ),
    ),
    NavGroup(
        _("Voice of the customer"),
        (
            NavItem(_("Follow-ups"), "voice:follow_ups", Action.VIEW_FOLLOW_UPS),
            NavItem(_("Surveys"), "voice:surveys", Action.VIEW_SURVEYS),
            NavItem(_("Survey results"), "voice:results", Action.VIEW_SURVEYS),
            NavItem(_("My surveys"), "voice:my_surveys", Action.ANSWER_SURVEYS),
        ),
    ),
    NavGroup(
        _("Configuration"),
        (
            NavItem(_("Overview"), "commitments:index", Action.VIEW_CONFIGURATION),
            NavItem(_("Services"), "commitments:services", Action.VIEW_CONFIGURATION),
            NavItem(_("Contracts"), "commitments:contracts", Action.VIEW_CONFIGURATION),
            NavItem(_("SLA policies"), "commitments:policies", Action.VIEW_CONFIGURATION),
            NavItem(_("Calendars"), "calendars:list", Action.VIEW_CONFIGURATION),
            NavItem(_("Notification channels"), "notify:channels", Action.VIEW_CHANNELS),
            NavItem(_("E-mail intake"), "intake:channels", Action.VIEW_INTAKE),
            NavItem(_("Integrations and import"), "connect:index", Action.VIEW_INTEGRATIONS),
        ),
    ),
    NavGroup(
        _("Directory"),
        (
            NavItem(_("Organisations"), "web:organisations", Action.VIEW_ORGANISATIONS),
            NavItem(_("People"), "web:people", Action.VIEW_PEOPLE),
        ),
    ),
    NavGroup(
        _("Oversight"),
        (
            NavItem(_("Audit log"), "web:audit_log", Action.VIEW_AUDIT_LOG),
            NavItem(_("Outbox"), "notify:outbox", Action.VIEW_OUTBOX),
        ),
    ),
)


def optional_reverse(url_name: str, *args: Any) -> str:
    """The URL of `url_name`, or "" while no installed app serves it yet."""
    try:
        return reverse(url_name, args=args)
    except NoReverseMatch:
        return ""


def _section(path: str, url: str) -> bool:
    """Is `path` the page at `url` or below it (the home page only matches itself)?"""
    return path == url or (url != "/" and path.startswith(url))


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_groups": []}
    groups = []
    for group in NAVIGATION:
        items = []
        for item in group.items:
            if not can(user, item.action):
                continue
            url_name = (user.is_customer and item.customer_url_name) or item.url_name
            url = optional_reverse(url_name)
            if url:
                items.append(
                    {"label": item.label, "url": url, "active": _section(request.path, url)}
                )
        if items:
            groups.append({"label": group.label, "items": items})
    return {"nav_groups": groups}
