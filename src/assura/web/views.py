"""The web shell: login, the home page per role, preferences, people, organisations,
the audit log and personal API tokens.

Views stay thin: they check the permission with `can()`, read through the models'
`visible_to` scope or `queries`, call a service for every change, and render.
A record outside a customer's scope answers 404, so its existence is not revealed.
"""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse, reverse_lazy
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST, require_safe
from django.views.i18n import set_language

from assura.core import queries, services
from assura.core.forms import show_errors
from assura.core.models import ApiToken, Organisation, OrganisationKind, Role, Team, User
from assura.core.permissions import Action, can
from assura.desk import queries as desk_queries
from assura.sla import queries as sla_queries
from assura.sla.escalation import reference_of
from assura.sla.forms import DecisionForm
from assura.web import changes
from assura.web.forms import (
    AuditFilterForm,
    DashboardForm,
    DeactivateForm,
    OrganisationForm,
    PeopleFilterForm,
    PersonForm,
    PreferencesForm,
    TokenForm,
    time_zone_names,
)

PAGE_SIZE = 50


def require(request: HttpRequest, action: Action) -> User:
    """The signed-in person, if the matrix lets its role do `action`; 403 otherwise."""
    user = request.user
    if not can(user, action):  # type: ignore[arg-type]
        raise PermissionDenied
    return user  # type: ignore[return-value]


def _page(request: HttpRequest, items: Any) -> Any:
    return Paginator(items, PAGE_SIZE).get_page(request.GET.get("page"))


# --- signing in, preferences ---------------------------------------------------------


class LoginView(auth_views.LoginView):
    template_name = "web/login.html"
    redirect_authenticated_user = True


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "web/password_change.html"
    success_url = reverse_lazy("web:password_change_done")


class PasswordChangeDoneView(auth_views.PasswordChangeDoneView):
    template_name = "web/password_done.html"


@login_required
def preferences(request: HttpRequest) -> HttpResponse:
    user = require(request, Action.VIEW_HOME)
    initial = {"language": user.language or request.LANGUAGE_CODE, "time_zone": user.time_zone}
    form = PreferencesForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        language = form.cleaned_data["language"]
        try:
            services.update_preferences(
                actor=user,
                person=user,
                language=language,
                time_zone=form.cleaned_data["time_zone"].strip(),
            )
        except ValidationError as error:
            show_errors(form, error)
        else:
            response = redirect("web:preferences")
            response.set_cookie(settings.LANGUAGE_COOKIE_NAME, language, samesite="Lax")
            with translation.override(language):
                messages.success(request, _("Your preferences were saved."))
            return response
    context = {"form": form, "time_zones": time_zone_names(), "default_zone": settings.TIME_ZONE}
    return render(request, "web/preferences.html", context)


@require_POST
def switch_language(request: HttpRequest) -> HttpResponse:
    """The header's language switch: Django's own, and for a signed-in person the profile.

    The profile's language wins over the cookie on every later request, so it is saved
    too; otherwise the switch would seem to work once and then snap back.
    """
    response = set_language(request)
    language = request.POST.get("language", "")
    user = request.user
    if (
        user.is_authenticated
        and can(user, Action.VIEW_HOME)  # type: ignore[arg-type]
        and language in dict(settings.LANGUAGES)
        and language != user.language  # type: ignore[union-attr]
    ):
        services.update_preferences(
            actor=user,  # type: ignore[arg-type]
            person=user,  # type: ignore[arg-type]
            language=language,
            time_zone=user.time_zone,  # type: ignore[union-attr]
        )
    return response


# --- home ----------------------------------------------------------------------------

HOME_TEMPLATES = {
    Role.ADMIN: "web/home/admin.html",
    Role.QUALITY_MANAGER: "web/home/quality_manager.html",
    Role.MANAGER: "web/home/lead.html",
    Role.TEAM_LEAD: "web/home/lead.html",
    Role.AGENT: "web/home/agent.html",
    Role.AUDITOR: "web/home/auditor.html",
    Role.CUSTOMER: "web/home/customer.html",
}


@login_required
def home(request: HttpRequest) -> HttpResponse:
    user = require(request, Action.VIEW_HOME)
    context: dict[str, Any] = {"home_template": HOME_TEMPLATES[Role(user.role)]}
    if user.role in (Role.TEAM_LEAD, Role.MANAGER):
        teams = Team.objects.filter(is_active=True).select_related("lead")
        if user.role == Role.TEAM_LEAD:
            teams = teams.filter(Q(lead=user) | Q(pk=user.team_id))
        context["teams"] = teams.annotate(
            size=Count("members", filter=Q(members__is_active=True))
        ).order_by("name")
    if user.role == Role.ADMIN:
        active = User.objects.filter(is_active=True)
        context["counts"] = {
            "staff": active.exclude(role=Role.CUSTOMER).count(),
            "contacts": active.filter(role=Role.CUSTOMER).count(),
            "customers": Organisation.objects.customers().filter(is_active=True).count(),
        }
    if can(user, Action.VIEW_AUDIT_LOG):
        context["recent"] = changes.describe(queries.audit_entries()[:5])
    return render(request, "web/home.html", context)


# --- the manager view ----------------------------------------------------------------

#: Trailing windows of the compliance figures, in local days (docs/kpis.md).
COMPLIANCE_WINDOWS = (7, 30, 90)
#: Rows each section shows; its count and the link to the full page tell the rest.
EXPEDITE_ROWS = 5
BREACH_ROWS = 8
AT_RISK_ROWS = 10
COMPENSATION_ROWS = 8
#: Clock metrics that are not commitment metrics (no `Metric` row names them).
OTHER_METRICS = {"follow_up": gettext_lazy("Follow-up")}


@login_required
@require_safe
def dashboard(request: HttpRequest) -> HttpResponse:
    """The manager view (管理看板): what needs a decision now and how promises are kept.

    Every section reads through `sla.queries` / `desk.queries` in the reader's scope (a
    team lead's teams, else the whole desk); each figure is defined in docs/kpis.md.
    """
    user = require(request, Action.VIEW_DASHBOARD)
    form, hours, note = DashboardForm.settle(request.GET)
    now = timezone.now()
    zone = timezone.get_current_timezone()
    teams = sla_queries.team_scope(user)
    within = timedelta(hours=hours)
    names = {code: str(name) for code, name in OTHER_METRICS.items()}
    names.update(desk_queries.metric_names())
    context: dict[str, Any] = {
        "form": form,
        "hours": hours,
        "hours_note": note,
        "now": now,
        "scoped": teams is not None,
        "at_risk": desk_queries.at_risk_cases(user, teams, now, within, AT_RISK_ROWS, names),
        "load": desk_queries.team_load(user, teams, now, within),
        **_breach_section(user, teams, now, zone, names),
        **_compliance_section(user, teams, now, zone, names),
    }
    if can(user, Action.VIEW_EXPEDITE):
        context["expedite"] = desk_queries.expedited(user, teams, EXPEDITE_ROWS)
    if can(user, Action.VIEW_COMPENSATION):
        context.update(_compensation_section(request, user, names))
    return render(request, "web/dashboard.html", context)


@login_required
@require_safe
def dashboard_at_risk(request: HttpRequest) -> HttpResponse:
    """The at-risk section alone, which the manager view reloads every minute (htmx)."""
    user = require(request, Action.VIEW_DASHBOARD)
    _form, hours, _note = DashboardForm.settle(request.GET)
    now = timezone.now()
    teams = sla_queries.team_scope(user)
    at_risk = desk_queries.at_risk_cases(user, teams, now, timedelta(hours=hours), AT_RISK_ROWS)
    context = {"at_risk": at_risk, "hours": hours, "now": now}
    return render(request, "web/dashboard/at_risk.html", context)


def _breach_section(
    user: User, teams: QuerySet[Team] | None, now: datetime, zone: tzinfo, names: dict[str, str]
) -> dict[str, Any]:
    periods = sla_queries.today_and_week(now, zone)
    breaches = sla_queries.scoped_breaches(user, teams)
    counts = sla_queries.count_between(breaches, periods)
    rows = [
        {
            "breach": breach,
            "reference": reference_of(breach.clock.subject),
            "metric": names.get(breach.metric, breach.metric),
            "today": breach.breached_at >= periods["today"][0],
        }
        for breach in sla_queries.breaches_between(breaches, *periods["week"])[:BREACH_ROWS]
    ]
    return {
        "breaches": {
            "today": counts["today"],
            "week": counts["week"],
            "rows": rows,
            "today_url": _breach_list_url(*periods["today"]),
            "week_url": _breach_list_url(*periods["week"]),
        }
    }


def _breach_list_url(since: datetime, until: datetime) -> str:
    """The breach list filtered to local days [since, until) (its "To" date is inclusive)."""
    last = (until - timedelta(days=1)).date()
    query = urlencode({"since": since.date().isoformat(), "until": last.isoformat()})
    return f"{reverse('sla:breaches')}?{query}"


def _compliance_section(
    user: User, teams: QuerySet[Team] | None, now: datetime, zone: tzinfo, names: dict[str, str]
) -> dict[str, Any]:
    """Per metric and window: met, decided and the share in percent (one decimal), for the
    chart (as JSON) and for the table beside it (the same figures, readable without it)."""
    clocks = sla_queries.scoped_clocks(user, teams)
    figures = sla_queries.compliance_windows(clocks, now, zone, COMPLIANCE_WINDOWS)
    labels = [_("Last %(days)s days") % {"days": days} for days in COMPLIANCE_WINDOWS]
    rows = [
        {
            "metric": names.get(row.metric, row.metric),
            "code": row.metric,
            "cells": [
                {"label": label, "figure": _figure(figure)}
                for label, figure in zip(labels, row.windows, strict=True)
            ],
        }
        for row in figures
    ]
    # The chart's series: one per window, a point per metric ({percent, met, decided} or
    # null when nothing was decided), so its tooltip can show the counts behind a bar.
    chart = {
        "metrics": [row["metric"] for row in rows],
        "axis": _("Promises kept (%)"),
        "series": [
            {"name": label, "points": [row["cells"][index]["figure"] for row in rows]}
            for index, label in enumerate(labels)
        ],
    }
    return {"compliance": {"rows": rows, "labels": labels, "chart": chart}}


def _figure(figure: sla_queries.Compliance | None) -> dict[str, Any] | None:
    if figure is None:
        return None
    percent = round(100 * figure.met / figure.decided, 1)
    return {"met": figure.met, "decided": figure.decided, "percent": percent}


def _compensation_section(
    request: HttpRequest, user: User, names: dict[str, str]
) -> dict[str, Any]:
    pending = sla_queries.pending_compensation(user, COMPENSATION_ROWS)
    may_decide = can(user, Action.APPROVE_COMPENSATION)
    rows = [
        {
            "entry": entry,
            "reference": reference_of(entry.breach.clock.subject),
            "metric": names.get(entry.metric, entry.metric),
            "form": DecisionForm(prefix=f"e{entry.pk}") if may_decide else None,
        }
        for entry in pending.entries
    ]
    return {
        "compensation": {
            "count": pending.count,
            "totals": pending.totals,
            "rows": rows,
            "may_decide": may_decide,
            "next": f"{request.get_full_path()}#compensation",
        }
    }


# --- people --------------------------------------------------------------------------


@login_required
def people(request: HttpRequest) -> HttpResponse:
    user = require(request, Action.VIEW_PEOPLE)
    organisations = Organisation.objects.visible_to(user)
    form = PeopleFilterForm(request.GET or None, organisations=organisations)
    listing = User.objects.visible_to(user).select_related("organisation", "team")
    filters = form.cleaned_data if form.is_valid() else {}
    if filters.get("q"):
        text = filters["q"].strip()
        listing = listing.filter(
            Q(username__icontains=text) | Q(display_name__icontains=text) | Q(email__icontains=text)
        )
    if filters.get("role"):
        listing = listing.filter(role=filters["role"])
    if filters.get("organisation"):
        listing = listing.filter(organisation=filters["organisation"])
    if filters.get("status"):
        listing = listing.filter(is_active=filters["status"] == "active")
    ordered = listing.order_by("-organisation__kind", "organisation__name", "username")
    page = _page(request, ordered)
    context = {
        "form": form,
        "page": page,
        "filtered": any(filters.values()),
        "may_manage": can(user, Action.MANAGE_PEOPLE),
        "show_organisation": not user.is_customer,
    }
    return render(request, "web/people.html", context)


def _visible_person(user: User, username: str) -> User:
    people = User.objects.visible_to(user).select_related("organisation", "team")
    return get_object_or_404(people, username=username)


@login_required
def person(request: HttpRequest, username: str) -> HttpResponse:
    user = require(request, Action.VIEW_PEOPLE)
    shown = _visible_person(user, username)
    return _render_person(request, user, shown, DeactivateForm())


def _render_person(
    request: HttpRequest, user: User, shown: User, form: DeactivateForm, status: int = 200
) -> HttpResponse:
    context = {
        "person": shown,
        "form": form,
        "may_deactivate": can(user, Action.MANAGE_PEOPLE) and shown.is_active and shown != user,
        "may_see_organisation": not user.is_customer,
    }
    return render(request, "web/person.html", context, status=status)


@login_required
def person_new(request: HttpRequest) -> HttpResponse:
    user = require(request, Action.MANAGE_PEOPLE)
    form = PersonForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            created = services.create_person(
                actor=user,
                username=data["username"],
                role=data["role"],
                organisation=data["organisation"],
                password=data["password"] or None,
                display_name=data["display_name"],
                email=data["email"],
                team=data["team"],
                language=data["language"],
                time_zone=data["time_zone"].strip(),
            )
        except ValidationError as error:
            show_errors(form, error)
        else:
            messages.success(request, _("%(person)s was added.") % {"person": created})
            return redirect("web:person", username=created.username)
    context = {"form": form, "time_zones": time_zone_names()}
    return render(request, "web/person_new.html", context, status=400 if form.errors else 200)


@login_required
@require_POST
def person_deactivate(request: HttpRequest, username: str) -> HttpResponse:
    user = require(request, Action.MANAGE_PEOPLE)
    shown = _visible_person(user, username)
    form = DeactivateForm(request.POST)
    if shown == user:
        form.add_error(None, _("You cannot deactivate your own account."))
    if not form.is_valid():
        return _render_person(request, user, shown, form, status=400)
    services.deactivate_person(actor=user, person=shown)
    messages.success(request, _("%(person)s was deactivated.") % {"person": shown})
    return redirect("web:person", username=shown.username)


# --- organisations -------------------------------------------------------------------


@login_required
def organisations(request: HttpRequest) -> HttpResponse:
    user = require(request, Action.VIEW_ORGANISATIONS)
    listing = Organisation.objects.visible_to(user).annotate(
        size=Count("people", filter=Q(people__is_active=True))
    )
    context = {
        "organisations": listing,
        "may_manage": can(user, Action.MANAGE_ORGANISATIONS),
    }
    return render(request, "web/organisations.html", context)


@login_required
def organisation(request: HttpRequest, code: str) -> HttpResponse:
    user = require(request, Action.VIEW_ORGANISATIONS)
    shown = get_object_or_404(Organisation.objects.visible_to(user), code=code)
    members = (
        User.objects.visible_to(user)
        .filter(organisation=shown)
        .select_related("team")
        .order_by("-is_active", "display_name", "username")
    )
    context = {
        "organisation": shown,
        "page": _page(request, members),
        "may_view_people": can(user, Action.VIEW_PEOPLE),
    }
    return render(request, "web/organisation.html", context)


@login_required
def organisation_new(request: HttpRequest) -> HttpResponse:
    user = require(request, Action.MANAGE_ORGANISATIONS)
    form = OrganisationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            created = services.create_organisation(
                actor=user,
                kind=OrganisationKind.CUSTOMER,
                code=form.cleaned_data["code"],
                name=form.cleaned_data["name"],
            )
        except ValidationError as error:
            show_errors(form, error)
        else:
            messages.success(request, _("%(organisation)s was added.") % {"organisation": created})
            return redirect("web:organisation", code=created.code)
    status = 400 if form.errors else 200
    return render(request, "web/organisation_new.html", {"form": form}, status=status)


# --- audit log -----------------------------------------------------------------------


@login_required
@require_safe
def audit_log(request: HttpRequest) -> HttpResponse:
    require(request, Action.VIEW_AUDIT_LOG)
    form = AuditFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    entries = queries.audit_entries(
        actor=filters.get("actor"),
        model=filters.get("model", ""),
        action=filters.get("action"),
        since=filters.get("since"),
        until=filters.get("until"),
        text=filters.get("text", "").strip(),
    )
    page = _page(request, entries)
    context = {
        "form": form,
        "page": page,
        "entries": changes.describe(page.object_list),
        "filtered": any(value not in (None, "") for value in filters.values()),
    }
    return render(request, "web/audit_log.html", context)


# --- API tokens ----------------------------------------------------------------------


@login_required
def tokens(request: HttpRequest) -> HttpResponse:
    """The person's own API tokens; a new token's secret is shown in this response only."""
    user = require(request, Action.USE_API)
    form = TokenForm(request.POST or None)
    secret = None
    created = None
    if request.method == "POST" and form.is_valid():
        try:
            created, secret = services.issue_api_token(actor=user, name=form.cleaned_data["name"])
        except ValidationError as error:
            show_errors(form, error)
        else:
            form = TokenForm()
    listing = ApiToken.objects.filter(user=user).order_by("revoked_at", "-created_at")
    context = {"form": form, "tokens": listing, "secret": secret, "created": created}
    response = render(request, "web/tokens.html", context, status=400 if form.errors else 200)
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    user = require(request, Action.USE_API)
    token = get_object_or_404(ApiToken, pk=pk, user=user)
    if token.revoked_at is None:
        services.revoke_api_token(actor=user, token=token)
        messages.success(request, _("The token “%(name)s” was revoked.") % {"name": token.name})
    return redirect("web:tokens")
