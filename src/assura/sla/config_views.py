"""The cause-category editor, one of the configuration pages, and its URLs.

Cause categories are sla rows, so their pages live here rather than with the other
configuration pages in `commitments` (which sits below sla and may not import it);
the project's urls mount them under /commitments/causes/ beside the rest, and the
templates are the configuration pages' own.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from assura.commitments.forms import CauseCategoryForm
from assura.core.forms import show_errors
from assura.core.models import User
from assura.core.permissions import Action, can
from assura.sla import services
from assura.sla.models import CauseCategory


def _require(request: HttpRequest, action: Action) -> User:
    user: User = request.user  # type: ignore[assignment]
    if not can(user, action):
        raise PermissionDenied(_("You are not allowed to see this page."))
    return user


def _taken(code: str) -> bool:
    return CauseCategory.objects.filter(code=code).exists()


@login_required
def cause_list(request: HttpRequest) -> HttpResponse:
    """The categories in the order analysts see them, and a form to add one."""
    user = _require(request, Action.VIEW_CONFIGURATION)
    form = CauseCategoryForm(request.POST or None, taken=_taken)
    if request.method == "POST":
        user = _require(request, Action.MANAGE_CONFIGURATION)
        if form.is_valid():
            data = form.cleaned_data
            try:
                category = services.save_cause_category(
                    actor=user,
                    code=data["code"],
                    name=data["name"],
                    position=data["position"],
                    is_active=data["is_active"],
                )
            except ValidationError as error:
                show_errors(form, error)
            else:
                messages.success(request, _("Category %(name)s added.") % {"name": category})
                return redirect("sla_config:causes")
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "commitments/causes.html",
        {
            "categories": CauseCategory.objects.order_by("position", "name", "pk"),
            "form": form,
            "can_manage": can(user, Action.MANAGE_CONFIGURATION),
        },
        status=status,
    )


@login_required
def cause_edit(request: HttpRequest, code: str) -> HttpResponse:
    """Rename, reorder or (de)activate a category; its code stays."""
    user = _require(request, Action.MANAGE_CONFIGURATION)
    category = get_object_or_404(CauseCategory, code=code)
    initial = {
        "code": category.code,
        "name": category.name,
        "position": category.position,
        "is_active": category.is_active,
    }
    form = CauseCategoryForm(request.POST or None, initial=initial, editing=True)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.save_cause_category(
                actor=user,
                code=category.code,
                name=data["name"],
                position=data["position"],
                is_active=data["is_active"],
            )
        except ValidationError as error:
            show_errors(form, error)
        else:
            messages.success(request, _("Category saved."))
            return redirect("sla_config:causes")
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "commitments/cause_form.html",
        {"form": form, "category": category},
        status=status,
    )


@login_required
@require_POST
def cause_move(request: HttpRequest, code: str, direction: str) -> HttpResponse:
    user = _require(request, Action.MANAGE_CONFIGURATION)
    get_object_or_404(CauseCategory, code=code)
    if direction not in ("up", "down"):
        raise Http404
    services.move_cause_category(actor=user, code=code, step=-1 if direction == "up" else 1)
    return redirect("sla_config:causes")


@login_required
@require_POST
def cause_toggle(request: HttpRequest, code: str) -> HttpResponse:
    """Stop offering a category for new analyses (old ones keep it), or offer it again."""
    user = _require(request, Action.MANAGE_CONFIGURATION)
    category = get_object_or_404(CauseCategory, code=code)
    category = services.save_cause_category(
        actor=user,
        code=category.code,
        name=category.name,
        position=category.position,
        is_active=not category.is_active,
    )
    if category.is_active:
        messages.success(request, _("%(name)s is offered again.") % {"name": category})
    else:
        messages.success(request, _("%(name)s is no longer offered.") % {"name": category})
    return redirect("sla_config:causes")


app_name = "sla_config"
urlpatterns = [
    path("", cause_list, name="causes"),
    path("<str:code>/", cause_edit, name="cause_edit"),
    path("<str:code>/move/<str:direction>/", cause_move, name="cause_move"),
    path("<str:code>/toggle/", cause_toggle, name="cause_toggle"),
]
