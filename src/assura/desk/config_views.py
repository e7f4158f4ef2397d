"""Re-applying a policy's current version to open cases, from the policy editor, and its URL.

The button sits on the policy pages (`commitments`), but moving cases is the desk's
business and `commitments` may not import the desk, so the confirmation page and the
action live here; the project's urls mount them under /commitments/policies/.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from assura.commitments.models import Policy
from assura.core.models import User
from assura.core.permissions import Action, can
from assura.desk import services

PREVIEW_ROWS = 50


@login_required
def reapply(request: HttpRequest, code: str) -> HttpResponse:
    """GET: how many open cases would move, and which; POST: move them (audited)."""
    user: User = request.user  # type: ignore[assignment]
    if not can(user, Action.REAPPLY_POLICY):
        raise PermissionDenied(_("You are not allowed to re-apply SLA policies."))
    policy = get_object_or_404(Policy.objects.select_related("current_version"), code=code)
    if request.method == "POST":
        try:
            moved = services.reapply_policy(actor=user, policy=policy)
        except ValidationError as error:
            for text in error.messages:
                messages.error(request, text)
        else:
            messages.success(
                request,
                ngettext(
                    "%(count)s open case now follows version %(number)s.",
                    "%(count)s open cases now follow version %(number)s.",
                    moved,
                )
                % {"count": moved, "number": policy.current_version.number},  # type: ignore[union-attr]
            )
        return redirect("commitments:policy", code=policy.code)
    moves = services.cases_to_reapply(policy)
    return render(
        request,
        "commitments/policy_reapply.html",
        {
            "policy": policy,
            "count": len(moves),
            "moves": moves[:PREVIEW_ROWS],
            "more": max(0, len(moves) - PREVIEW_ROWS),
            "tab": "versions",
        },
    )


app_name = "desk_config"
urlpatterns = [path("<str:code>/reapply/", reapply, name="reapply")]
