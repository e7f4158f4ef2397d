"""The web shell: login, the home page per role, preferences, people and the audit log.

Views stay thin: they check the permission, call a service or a query, and render.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from assura.core import queries, services
from assura.core.models import Organisation, User
from assura.core.permissions import Action, can
from assura.web.forms import AuditFilterForm, PreferencesForm


def require(request: HttpRequest, action: Action) -> None:
    if not can(request.user, action):  # type: ignore[arg-type]
        raise PermissionDenied(_("You are not allowed to see this page."))


class LoginView(auth_views.LoginView):
    template_name = "web/login.html"
    redirect_authenticated_user = True


@login_required
def home(request: HttpRequest) -> HttpResponse:
    require(request, Action.VIEW_HOME)
    user: User = request.user  # type: ignore[assignment]
    return render(request, "web/home.html", {"role": user.role})


@login_required
def preferences(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    initial = {"language": user.language or request.LANGUAGE_CODE, "time_zone": user.time_zone}
    form = PreferencesForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        services.update_preferences(
            actor=user,
            person=user,
            language=form.cleaned_data["language"],
            time_zone=form.cleaned_data["time_zone"],
        )
        response = redirect("web:preferences")
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME, form.cleaned_data["language"], samesite="Lax"
        )
        return response
    return render(request, "web/preferences.html", {"form": form})


@login_required
def people(request: HttpRequest) -> HttpResponse:
    require(request, Action.VIEW_PEOPLE)
    listing = User.objects.visible_to(request.user).select_related("organisation", "team")  # type: ignore[arg-type]
    page = Paginator(listing.order_by("organisation__name", "username"), 50).get_page(
        request.GET.get("page")
    )
    return render(request, "web/people.html", {"page": page})


@login_required
def organisations(request: HttpRequest) -> HttpResponse:
    require(request, Action.VIEW_ORGANISATIONS)
    listing = Organisation.objects.visible_to(request.user)  # type: ignore[arg-type]
    return render(request, "web/organisations.html", {"organisations": listing})


@login_required
def audit_log(request: HttpRequest) -> HttpResponse:
    require(request, Action.VIEW_AUDIT_LOG)
    form = AuditFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    action = filters.get("action")
    entries = queries.audit_entries(
        actor=filters.get("actor"),
        model=filters.get("model", ""),
        action=int(action) if action not in (None, "") else None,
        since=filters.get("since"),
        until=filters.get("until"),
        text=filters.get("text", ""),
    )
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    return render(request, "web/audit_log.html", {"form": form, "page": page})
