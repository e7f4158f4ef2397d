"""The service desk on the web: the agents' queue, the case page and the customer portal.

Views stay thin: each checks the permission with `can()`, reads through `queries` (whose
case lists start from `Case.objects.visible_to`), calls a service for every change and
renders. A case outside a customer's organisation answers 404, so its existence is not
revealed. The case page's forms post with htmx and get the page's body back; without
JavaScript they post normally and the view redirects (or shows the errors in place).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode
from uuid import uuid4

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import IntegrityError
from django.forms import Form
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST, require_safe

from assura.commitments.models import Channel, Service
from assura.core.audit import acting_as
from assura.core.forms import show_errors
from assura.core.http import safe_next
from assura.core.models import User
from assura.core.permissions import Action, can
from assura.desk import queries
from assura.desk import services as desk
from assura.desk.forms import (
    AssignForm,
    BulkAction,
    ClassifyForm,
    CustomerReplyForm,
    MergeForm,
    QueueFilterForm,
    ReopenForm,
    ReplyForm,
    ReplyKind,
    RootCauseForm,
    SavedViewForm,
    StatusForm,
    SubmitForm,
)
from assura.desk.models import Attachment, Case, MessageKind, SavedView, Status
from assura.sla import services as sla
from assura.sla.models import Breach, CauseCategory

PAGE_SIZE = 50


def _person(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _require(user: User, action: Action, obj: Any = None) -> None:
    if not can(user, action, obj):
        raise PermissionDenied(_("You are not allowed to do this."))


def _is_htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


# ---------------------------------------------------------------------------- the queue


@login_required
@require_safe
def case_list(request: HttpRequest) -> HttpResponse:
    """The agents' workspace: their cases and their team's, soonest due first."""
    user = _person(request)
    if user.is_customer:
        return redirect("desk:portal")
    _require(user, Action.VIEW_CASES)
    views = queries.saved_views(user)
    current_view = _chosen_view(request, views)
    data = QueryDict(urlencode(current_view.filters)) if current_view else request.GET
    form = QueueFilterForm(data)
    filters = form.filters()
    now = timezone.now()
    page = Paginator(queries.queue(user, filters, now), PAGE_SIZE).get_page(request.GET.get("page"))
    params = form.as_params()
    context = {
        "form": form,
        "page": page,
        "rows": queries.queue_rows(list(page.object_list), now),
        "now": now,
        "scope_tabs": _scope_tabs(params),
        "filtered": any(value for name, value in params.items() if name != "scope"),
        "params": urlencode(params),
        "saved_views": views,
        "current_view": current_view,
        "view_form": SavedViewForm(),
        "may_work": can(user, Action.WORK_CASES),
        "bulk_form": BulkAction(cases=Case.objects.none(), auto_id="bulk-%s"),
        "here": request.get_full_path(),
    }
    return render(request, "desk/queue.html", context)


def _chosen_view(request: HttpRequest, views: list[SavedView]) -> SavedView | None:
    chosen = request.GET.get("view", "")
    return next((view for view in views if str(view.pk) == chosen), None)


def _scope_tabs(params: dict[str, str]) -> list[dict[str, Any]]:
    current = params.get("scope", "")
    tabs = []
    for value, label in queries.Scope.choices:
        query = {**params, "scope": value} if value else _without(params, "scope")
        tabs.append({"label": label, "query": urlencode(query), "current": value == current})
    return tabs


def _without(params: dict[str, str], name: str) -> dict[str, str]:
    return {key: value for key, value in params.items() if key != name}


@login_required
@require_POST
def view_save(request: HttpRequest) -> HttpResponse:
    """Save the queue's current filters under a name, for oneself or the whole team."""
    user = _person(request)
    if user.is_customer:
        raise PermissionDenied
    _require(user, Action.VIEW_CASES)
    form = SavedViewForm(request.POST)
    filters = QueueFilterForm(QueryDict(request.POST.get("params", ""))).as_params()
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect(reverse("desk:cases") + "?" + urlencode(filters))
    share = form.cleaned_data["share"] and user.team_id is not None
    with acting_as(user):
        view, _created = SavedView.objects.update_or_create(
            owner=user,
            name=form.cleaned_data["name"].strip(),
            defaults={"filters": filters, "team_id": user.team_id if share else None},
        )
    messages.success(request, _("View “%(name)s” saved.") % {"name": view.name})
    return redirect(reverse("desk:cases") + f"?view={view.pk}")


@login_required
@require_POST
def view_delete(request: HttpRequest, pk: int) -> HttpResponse:
    user = _person(request)
    _require(user, Action.VIEW_CASES)
    view = get_object_or_404(SavedView.objects.visible_to(user), pk=pk)
    if view.owner_id != user.pk:
        raise PermissionDenied(_("Only its owner can delete a view."))
    with acting_as(user):
        view.delete()
    messages.success(request, _("View “%(name)s” deleted.") % {"name": view.name})
    return redirect("desk:cases")


@login_required
@require_POST
def bulk(request: HttpRequest) -> HttpResponse:
    """Assign or set the status of the selected cases, each one checked and done on its own.

    A case the person may not change, or that a service refuses, is reported by its
    reference with the reason; the others are done.
    """
    user = _person(request)
    if user.is_customer:
        raise PermissionDenied
    _require(user, Action.WORK_CASES)
    back = safe_next(request, reverse("desk:cases"))
    form = BulkAction(request.POST, cases=Case.objects.visible_to(user))
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect(back)
    data = form.cleaned_data
    done, failures = 0, []
    for case in data["cases"].order_by("reference"):
        try:
            if not can(user, Action.WORK_CASES, case):
                raise PermissionDenied(_("This case belongs to another team."))
            if data["action"] == "assign":
                desk.assign(actor=user, case=case, team=None, assignee=data["assignee"])
            else:
                desk.change_status(actor=user, case=case, status=data["status"])
        except (ValidationError, PermissionDenied) as error:
            failures.append((case.reference, _reason(error)))
        else:
            done += 1
    if done:
        messages.success(
            request,
            ngettext("%(count)s case updated.", "%(count)s cases updated.", done) % {"count": done},
        )
    for reference, reason in failures:
        messages.error(
            request,
            _("%(reference)s not changed: %(reason)s") % {"reference": reference, "reason": reason},
        )
    return redirect(back)


def _reason(error: Exception) -> str:
    if isinstance(error, ValidationError):
        return " ".join(error.messages)
    return str(error) or _("You are not allowed to do this.")


# ---------------------------------------------------------------------------- the case page


def _case_or_404(user: User, reference: str) -> Case:
    return get_object_or_404(queries.case_for_page(user, reference))


@login_required
@require_safe
def case_detail(request: HttpRequest, reference: str) -> HttpResponse:
    user = _person(request)
    if user.is_customer:
        return redirect("desk:portal_case", reference=reference)
    _require(user, Action.VIEW_CASES)
    case = _case_or_404(user, reference)
    return _render_case(request, user, case)


@login_required
@require_safe
def case_clocks(request: HttpRequest, reference: str) -> HttpResponse:
    """The clocks panel alone, refreshed by htmx while the page is open."""
    user = _person(request)
    if user.is_customer:
        raise Http404
    _require(user, Action.VIEW_CASES)
    case = _case_or_404(user, reference)
    now = timezone.now()
    clocks = queries.clock_views(queries.case_clocks(case), now)
    return render(request, "desk/_clocks.html", {"case": case, "clocks": clocks, "now": now})


def _case_context(
    request: HttpRequest, user: User, case: Case, bound: dict[str, Form]
) -> dict[str, Any]:
    now = timezone.now()
    names = queries.metric_names()
    clocks = list(queries.case_clocks(case))
    may_work = can(user, Action.WORK_CASES, case)
    timeline = queries.timeline(case, clocks=clocks, names=names)
    context: dict[str, Any] = {
        "case": case,
        "now": now,
        "clocks": queries.clock_views(clocks, now, names),
        "timeline": timeline,
        "show_description": bool(case.description)
        and not queries.description_repeated(case, timeline),
        "may_work": may_work,
        "merged_cases": list(case.merged_cases.only("reference")),
    }
    if not may_work:
        return context
    missing = queries.breaches_needing_rca(clocks)
    categories = list(CauseCategory.objects.filter(is_active=True)) if missing else []
    forms: dict[str, Any] = {
        "reply_form": ReplyForm(case=case, prefix="reply"),
        "status_form": StatusForm(initial={"status": case.status}, prefix="status"),
        "classify_form": ClassifyForm(
            initial={"case_type": case.case_type, "priority": case.priority},
            prefix="classify",
        ),
        "assign_form": AssignForm(
            initial={"team": case.team_id, "assignee": case.assignee_id}, prefix="assign"
        ),
        "merge_form": MergeForm(prefix="merge"),
        "reopen_form": ReopenForm(prefix="reopen"),
    }
    forms.update({name: form for name, form in bound.items() if not name.startswith("rca-")})
    forms["rca_forms"] = [
        (
            breach,
            names.get(breach.metric, breach.metric),
            bound.get(f"rca-{breach.pk}")
            or RootCauseForm(prefix=f"rca-{breach.pk}", categories=categories),
        )
        for breach in missing
    ]
    context.update(forms)
    return context


def _render_case(
    request: HttpRequest,
    user: User,
    case: Case,
    *,
    status: int = 200,
    flash: str = "",
    bound: dict[str, Form] | None = None,
) -> HttpResponse:
    context = _case_context(request, user, case, bound or {})
    context["flash"] = flash
    if _is_htmx(request):
        # htmx swaps only successful answers: the errors come back with 200.
        return render(request, "desk/_case_body.html", context)
    return render(request, "desk/case.html", context, status=status)


def _working_case(request: HttpRequest, reference: str) -> tuple[User, Case]:
    """The person and the case for an action on it: staff who may change this case."""
    user = _person(request)
    if user.is_customer:
        raise Http404
    case = _case_or_404(user, reference)
    _require(user, Action.WORK_CASES, case)
    return user, case


def _done(request: HttpRequest, user: User, case: Case, message: str) -> HttpResponse:
    """After a change: the fresh body for htmx, else a redirect to the case page."""
    if _is_htmx(request):
        return _render_case(request, user, _case_or_404(user, case.reference), flash=message)
    messages.success(request, message)
    return redirect("desk:case", reference=case.reference)


def _failed(request: HttpRequest, user: User, case: Case, **bound: Form) -> HttpResponse:
    """The page again with the failed form's errors beside its fields (400 without htmx)."""
    fresh = _case_or_404(user, case.reference)
    return _render_case(request, user, fresh, status=400, bound=bound)


CaseAction = Callable[[HttpRequest, User, Case], HttpResponse]


def case_action(view: CaseAction) -> Callable[[HttpRequest, str], HttpResponse]:
    """A POST on a case by a person who may change it."""

    @login_required
    @require_POST
    def wrapped(request: HttpRequest, reference: str) -> HttpResponse:
        user, case = _working_case(request, reference)
        return view(request, user, case)

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return wrapped


@case_action
def case_reply(request: HttpRequest, user: User, case: Case) -> HttpResponse:
    """A public reply, an internal note or the interim plan, with attachments."""
    form = ReplyForm(request.POST, request.FILES, case=case, prefix="reply")
    if form.is_valid():
        data = form.cleaned_data
        values = {
            "actor": user,
            "case": case,
            "body": data["body"],
            "attachments": data["attachments"],
        }
        try:
            if data["kind"] == ReplyKind.NOTE:
                desk.add_note(**values)
                done = _("Internal note added.")
            elif data["kind"] == ReplyKind.INTERIM_PLAN:
                desk.send_interim_plan(**values)
                done = _("Interim plan sent to the customer.")
            else:
                desk.reply(**values)
                done = _("Reply sent to the customer.")
        except ValidationError as error:
            show_errors(form, error)
        else:
            return _done(request, user, case, done)
    return _failed(request, user, case, reply_form=form)


@case_action
def case_status(request: HttpRequest, user: User, case: Case) -> HttpResponse:
    form = StatusForm(request.POST, prefix="status")
    if form.is_valid():
        status = form.cleaned_data["status"]
        if status == case.status:
            return _done(request, user, case, _("The status stays the same."))
        try:
            desk.change_status(actor=user, case=case, status=status)
        except ValidationError as error:
            show_errors(form, error)
        else:
            label = Status(status).label
            return _done(request, user, case, _("Status set to %(status)s.") % {"status": label})
    return _failed(request, user, case, status_form=form)


@case_action
def case_reopen(request: HttpRequest, user: User, case: Case) -> HttpResponse:
    form = ReopenForm(request.POST, prefix="reopen")
    if form.is_valid():
        try:
            desk.reopen(actor=user, case=case, reason=form.cleaned_data["reason"])
        except ValidationError as error:
            show_errors(form, error)
        else:
            return _done(request, user, case, _("Case reopened."))
    return _failed(request, user, case, reopen_form=form)


@case_action
def case_classify(request: HttpRequest, user: User, case: Case) -> HttpResponse:
    """Change type and priority; confirming them is the classification (分类)."""
    form = ClassifyForm(request.POST, prefix="classify")
    if form.is_valid():
        data = form.cleaned_data
        try:
            if data["confirm"]:
                desk.classify(
                    actor=user, case=case, case_type=data["case_type"], priority=data["priority"]
                )
                done = _("Classification confirmed.")
            else:
                done = _change_type_and_priority(user, case, data["case_type"], data["priority"])
        except ValidationError as error:
            show_errors(form, error)
        else:
            return _done(request, user, case, done)
    return _failed(request, user, case, classify_form=form)


def _change_type_and_priority(user: User, case: Case, case_type: str, priority: str) -> str:
    changed = []
    if case_type != case.case_type:
        desk.change_type(actor=user, case=case, case_type=case_type)
        changed.append(_("type"))
    if priority != case.priority:
        desk.change_priority(actor=user, case=case, priority=priority)
        changed.append(_("priority"))
    if not changed:
        return _("Nothing changed.")
    return _("Changed: %(what)s. The clocks were retargeted.") % {"what": ", ".join(changed)}


@case_action
def case_assign(request: HttpRequest, user: User, case: Case) -> HttpResponse:
    form = AssignForm(request.POST, prefix="assign")
    if form.is_valid():
        data = form.cleaned_data
        try:
            desk.assign(
                actor=user,
                case=case,
                team=data["team"],
                assignee=data["assignee"],
                note=data["note"],
            )
        except ValidationError as error:
            show_errors(form, error)
        else:
            who = data["assignee"] or data["team"]
            return _done(request, user, case, _("Assigned to %(who)s.") % {"who": who})
    return _failed(request, user, case, assign_form=form)


@case_action
def case_complex(request: HttpRequest, user: User, case: Case) -> HttpResponse:
    """Mark a complex problem: an interim plan is now owed."""
    desk.mark_complex(actor=user, case=case)
    return _done(request, user, case, _("Marked complex: an interim plan is now due."))


@case_action
def case_merge(request: HttpRequest, user: User, case: Case) -> HttpResponse:
    """Fold this case into another one of the same customer."""
    form = MergeForm(request.POST, prefix="merge")
    if form.is_valid():
        into = Case.objects.visible_to(user).filter(reference=form.cleaned_data["into"]).first()
        if into is None:
            form.add_error("into", _("No case has this reference."))
        elif not can(user, Action.WORK_CASES, into):
            form.add_error("into", _("You are not allowed to change that case."))
        else:
            try:
                desk.merge(actor=user, duplicate=case, into=into)
            except ValidationError as error:
                show_errors(form, error)
            else:
                message = _("%(duplicate)s merged into %(into)s.") % {
                    "duplicate": case.reference,
                    "into": into.reference,
                }
                if _is_htmx(request):
                    response = HttpResponse(status=204)
                    response["HX-Redirect"] = reverse("desk:case", args=[into.reference])
                    messages.success(request, message)
                    return response
                messages.success(request, message)
                return redirect("desk:case", reference=into.reference)
    return _failed(request, user, case, merge_form=form)


@login_required
@require_POST
def case_root_cause(request: HttpRequest, reference: str, metric: str) -> HttpResponse:
    """The root-cause analysis of the breach of one metric of this case (needed before the
    case can close); addressed like the breach page, by reference and metric."""
    user = _person(request)
    if user.is_customer:
        raise Http404
    case = _case_or_404(user, reference)
    found = get_object_or_404(
        Breach.objects.standing().select_related("clock"),
        clock__metric=metric,
        clock__subject_type__app_label="desk",
        clock__subject_type__model="case",
        clock__subject_id=case.pk,
    )
    _require(user, Action.WORK_CASES, found.clock)
    prefix = f"rca-{found.pk}"
    categories = list(CauseCategory.objects.filter(is_active=True))
    form = RootCauseForm(request.POST, prefix=prefix, categories=categories)
    if form.is_valid():
        data = form.cleaned_data
        try:
            sla.write_root_cause(
                actor=user,
                breach=found,
                category=data["category"],
                description=data["description"],
                corrective_action=data["corrective_action"],
                improvement_reference=data["improvement_reference"],
            )
        except ValidationError as error:
            show_errors(form, error)
        else:
            return _done(request, user, case, _("Root-cause analysis saved."))
    return _failed(request, user, case, **{prefix: form})


# ---------------------------------------------------------------------------- attachments


@login_required
@require_safe
def attachment(request: HttpRequest, pk: int) -> FileResponse:
    """A file of a message, to whoever may read the message (never a note to a customer)."""
    user = _person(request)
    found = get_object_or_404(Attachment.objects.select_related("message__case"), pk=pk)
    case = found.message.case
    if not can(user, Action.VIEW_CASES, case):
        raise Http404
    if user.is_customer and found.message.kind == MessageKind.NOTE:
        raise Http404
    return FileResponse(
        found.file.open("rb"),
        as_attachment=True,
        filename=found.name,
        content_type=found.content_type,
    )


# ---------------------------------------------------------------------------- the portal


def _contact(request: HttpRequest) -> User:
    user = _person(request)
    if not user.is_customer:
        raise PermissionDenied(_("The portal is for customer contacts."))
    _require(user, Action.VIEW_CASES)
    return user


@login_required
@require_safe
def portal(request: HttpRequest) -> HttpResponse:
    """The organisation's cases with their status and the answer promised."""
    user = _person(request)
    if not user.is_customer:
        return redirect("desk:cases")
    _require(user, Action.VIEW_CASES)
    page = Paginator(queries.portal_cases(user), PAGE_SIZE).get_page(request.GET.get("page"))
    cases = list(page.object_list)
    promises = queries.promises(queries.promise_clocks(case.pk for case in cases))
    context = {
        "page": page,
        "rows": [(case, promises.get(case.pk)) for case in cases],
        "may_submit": can(user, Action.CREATE_CASES),
        "now": timezone.now(),
    }
    return render(request, "desk/portal/list.html", context)


def _portal_services(user: User) -> Any:
    return (
        Service.objects.filter(
            is_active=True, contract__customer_id=user.organisation_id, contract__is_active=True
        )
        .distinct()
        .order_by("name")
    )


@login_required
def portal_submit(request: HttpRequest) -> HttpResponse:
    """A contact submits an inquiry, fault, complaint, suggestion or request."""
    user = _contact(request)
    _require(user, Action.CREATE_CASES)
    services = _portal_services(user)
    token = request.POST.get("token", "") if request.method == "POST" else uuid4().hex
    form = SubmitForm(request.POST or None, request.FILES or None, services=services)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            case = desk.open_case(
                actor=user,
                organisation=user.organisation,
                case_type=data["case_type"],
                subject=data["subject"],
                description=data["description"],
                priority=data["priority"],
                channel=Channel.PORTAL,
                service=data.get("service"),
                attachments=data["attachments"],
                idempotency_key=_submission_key(user, token),
            )
        except ValidationError as error:
            show_errors(form, error)
        except IntegrityError:
            form.add_error(None, _("Something went wrong; please send the form again."))
        else:
            messages.success(request, _received(case))
            return redirect("desk:portal_case", reference=case.reference)
    context = {"form": form, "token": token}
    return render(request, "desk/portal/submit.html", context, status=400 if form.errors else 200)


def _submission_key(user: User, token: str) -> str | None:
    """The same form sent twice (a double click, a retry) makes one case, not two."""
    if len(token) == 32 and all(c in "0123456789abcdef" for c in token):
        return f"portal:{user.pk}:{token}"
    return None


def _received(case: Case) -> str:
    promise = queries.promises(queries.promise_clocks([case.pk])).get(case.pk)
    if promise is None or promise.due_at is None:
        return _("We received your request %(reference)s.") % {"reference": case.reference}
    due = timezone.localtime(promise.due_at)
    return _("We received your request %(reference)s and will answer by %(when)s.") % {
        "reference": case.reference,
        "when": f"{due:%Y-%m-%d %H:%M}",
    }


def _portal_case(user: User, reference: str) -> Case:
    cases = Case.objects.visible_to(user).select_related("service", "contact", "merged_into")
    return get_object_or_404(cases, reference=reference.upper())


@login_required
@require_safe
def portal_case(request: HttpRequest, reference: str) -> HttpResponse:
    user = _person(request)
    if not user.is_customer:
        return redirect("desk:case", reference=reference)
    _require(user, Action.VIEW_CASES)
    case = _portal_case(user, reference)
    return _render_portal_case(request, user, case)


def _render_portal_case(
    request: HttpRequest,
    user: User,
    case: Case,
    status: int = 200,
    confirm_errors: list[str] | None = None,
    **bound: Form,
) -> HttpResponse:
    clocks = list(queries.case_clocks(case))
    promise = queries.promises(clocks).get(case.pk)
    timeline = queries.timeline(case, clocks=clocks, public_only=True)
    context = {
        "case": case,
        "promise": promise,
        "timeline": timeline,
        "show_description": bool(case.description)
        and not queries.description_repeated(case, timeline),
        "notices": queries.breach_notices(clocks, sent_only=True),
        "reply_form": bound.get("reply_form") or CustomerReplyForm(prefix="reply"),
        "reopen_form": bound.get("reopen_form") or ReopenForm(prefix="reopen"),
        "confirm_errors": confirm_errors or [],
        "now": timezone.now(),
    }
    return render(request, "desk/portal/case.html", context, status=status)


def _portal_action(request: HttpRequest, reference: str) -> tuple[User, Case]:
    user = _contact(request)
    return user, _portal_case(user, reference)


@login_required
@require_POST
def portal_reply(request: HttpRequest, reference: str) -> HttpResponse:
    user, case = _portal_action(request, reference)
    form = CustomerReplyForm(request.POST, request.FILES, prefix="reply")
    if form.is_valid():
        try:
            desk.reply(
                actor=user,
                case=case,
                body=form.cleaned_data["body"],
                attachments=form.cleaned_data["attachments"],
                channel=Channel.PORTAL,
            )
        except ValidationError as error:
            show_errors(form, error)
        else:
            messages.success(request, _("Your message was sent."))
            return redirect("desk:portal_case", reference=case.reference)
    return _render_portal_case(request, user, case, status=400, reply_form=form)


@login_required
@require_POST
def portal_confirm(request: HttpRequest, reference: str) -> HttpResponse:
    """The customer confirms the resolution: the case closes."""
    user, case = _portal_action(request, reference)
    try:
        desk.close(actor=user, case=case)
    except ValidationError as error:
        fresh = _portal_case(user, reference)
        return _render_portal_case(request, user, fresh, status=400, confirm_errors=error.messages)
    messages.success(request, _("Thank you: the case is closed."))
    return redirect("desk:portal_case", reference=case.reference)


@login_required
@require_POST
def portal_reopen(request: HttpRequest, reference: str) -> HttpResponse:
    """The problem is back, or was not solved: the case opens again."""
    user, case = _portal_action(request, reference)
    form = ReopenForm(request.POST, prefix="reopen")
    if form.is_valid():
        try:
            desk.reopen(actor=user, case=case, reason=form.cleaned_data["reason"])
        except ValidationError as error:
            show_errors(form, error)
        else:
            messages.success(request, _("The case is open again; we will get back to you."))
            return redirect("desk:portal_case", reference=case.reference)
    fresh = _portal_case(user, reference)
    return _render_portal_case(request, user, fresh, status=400, reopen_form=form)
