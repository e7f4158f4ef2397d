"""Breach pages: the breach list and detail (root cause, customer notice, escalations), the
compensation ledger and monthly statements, the expedite channel, and customers' notices.

Views stay thin: `can()` decides, the models' `visible_to` scopes, services write. Every
page but the notices is internal: a customer contact is refused (403), and a record
outside a person's scope answers 404.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Case, IntegerField, Value, When
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from assura.commitments.models import Contract, Metric, Priority
from assura.core.forms import show_errors
from assura.core.http import safe_next
from assura.core.models import User
from assura.core.permissions import Action, can
from assura.sla import compensation, notices, subjects
from assura.sla.escalation import duration_text, expedite_queue, reference_of
from assura.sla.forms import (
    BreachFilterForm,
    DecisionForm,
    LedgerFilterForm,
    NoticeReasonForm,
    RootCauseForm,
    parse_month,
)
from assura.sla.models import (
    OPEN_STATUSES,
    Breach,
    BreachNotice,
    Clock,
    CompensationEntry,
    CompensationStatus,
    RootCauseAnalysis,
)
from assura.sla.services import write_root_cause

PAGE_SIZE = 50


def _require(request: HttpRequest, action: Action) -> User:
    user: User = request.user  # type: ignore[assignment]
    if not can(user, action):
        raise PermissionDenied(_("You are not allowed to see this page."))
    return user


def _page(request: HttpRequest, items: Any) -> Any:
    return Paginator(items, PAGE_SIZE).get_page(request.GET.get("page"))


def _metric_names() -> dict[str, str]:
    return {metric.code: str(metric) for metric in Metric.objects.all()}


def _link(subject: object) -> str:
    url = getattr(subject, "get_absolute_url", None)
    return url() if callable(url) else ""


# ---------------------------------------------------------------------------- breaches


@login_required
def breach_list(request: HttpRequest) -> HttpResponse:
    user = _require(request, Action.VIEW_BREACHES)
    form = BreachFilterForm(request.GET or None)
    breaches = (
        Breach.objects.visible_to(user)
        .select_related("clock__organisation", "rca", "notice", "compensation")
        .prefetch_related("clock__subject")
        .order_by("-breached_at", "-pk")
    )
    filtered = False
    if form.is_bound and form.is_valid():
        breaches, filtered = _filter_breaches(breaches, form.cleaned_data)
    if not (form.is_bound and form.is_valid() and form.cleaned_data.get("withdrawn")):
        breaches = breaches.standing()
    page = _page(request, breaches)
    names = _metric_names()
    rows = [
        {
            "breach": breach,
            "reference": reference_of(breach.clock.subject),
            "link": _link(breach.clock.subject),
            "metric": names.get(breach.metric, breach.metric),
            "over_by": _over_by(breach.clock),
            "target": duration_text(breach.target),
        }
        for breach in page
    ]
    return render(
        request,
        "sla/breach_list.html",
        {"form": form, "page": page, "rows": rows, "filtered": filtered},
    )


def _filter_breaches(breaches: Any, data: dict[str, Any]) -> tuple[Any, bool]:
    filtered = False
    if data.get("metric"):
        breaches, filtered = breaches.filter(metric=data["metric"]), True
    if data.get("customer"):
        breaches, filtered = breaches.filter(clock__organisation=data["customer"]), True
    zone = timezone.get_current_timezone()
    if data.get("since"):
        start = datetime.combine(data["since"], datetime.min.time(), tzinfo=zone)
        breaches, filtered = breaches.filter(breached_at__gte=start), True
    if data.get("until"):
        end = datetime.combine(data["until"], datetime.max.time(), tzinfo=zone)
        breaches, filtered = breaches.filter(breached_at__lte=end), True
    if data.get("rca") == "with":
        breaches, filtered = breaches.filter(rca__isnull=False), True
    elif data.get("rca") == "without":
        breaches, filtered = breaches.filter(rca__isnull=True), True
    if data.get("withdrawn"):
        filtered = True
    return breaches, filtered


def _over_by(clock: Clock) -> str | None:
    """How far past the target a stopped clock ended, in its calendar's time; None while
    it still runs."""
    if clock.status in OPEN_STATUSES:
        return None
    return duration_text(max(clock.elapsed - clock.target, timedelta(0)))


def _breach(request: HttpRequest, reference: str, metric: str) -> Breach:
    """The breach of `metric` of the subject known as `reference` (one per clock, and one
    clock per metric of a subject); 404 if there is none, or none `request.user` may see."""
    user = _require(request, Action.VIEW_BREACHES)
    subject = subjects.resolve(reference)
    if subject is None:
        raise Http404
    subject_type, subject_id = subject
    breach = get_object_or_404(
        Breach.objects.visible_to(user).select_related(
            "clock__organisation", "clock__team", "clock__policy_version"
        ),
        clock__subject_type=subject_type,
        clock__subject_id=subject_id,
        clock__metric=metric,
    )
    if not can(user, Action.VIEW_BREACHES, breach.clock):
        raise Http404
    return breach


@login_required
def breach_detail(request: HttpRequest, reference: str, metric: str) -> HttpResponse:
    breach = _breach(request, reference, metric)
    return render(request, "sla/breach_detail.html", _detail_context(request, breach))


def _detail_context(request: HttpRequest, breach: Breach, **bound: Any) -> dict[str, Any]:
    user: User = request.user  # type: ignore[assignment]
    clock = breach.clock
    subject = clock.subject
    notice = BreachNotice.objects.filter(breach=breach).select_related("recipient").first()
    rca = RootCauseAnalysis.objects.filter(breach=breach).select_related("author").first()
    entry = CompensationEntry.objects.filter(breach=breach).select_related("decided_by").first()
    escalations = list(clock.escalations.order_by("level"))
    people = {
        person.pk: person
        for person in User.objects.filter(pk__in={pk for e in escalations for pk in e.notified})
    }
    priorities = dict(Priority.choices)
    for escalation in escalations:
        escalation.notified_people = [people[pk] for pk in escalation.notified if pk in people]
        escalation.priority_label = priorities.get(escalation.raise_priority_to, "")
        escalation.offset_label = f"{escalation.offset * 100:+.0f} %"
    may_work = can(user, Action.WORK_CASES, clock)
    rca_initial = (
        {
            "category": rca.category_id,
            "description": rca.description,
            "corrective_action": rca.corrective_action,
            "improvement_reference": rca.improvement_reference,
        }
        if rca
        else None
    )
    return {
        "breach": breach,
        "clock": clock,
        "subject": subject,
        "reference": reference_of(subject),
        "title": getattr(subject, "subject", "") or "",
        "link": _link(subject),
        "service": getattr(subject, "service", None),
        "metric": _metric_names().get(breach.metric, breach.metric),
        "over_by": _over_by(clock),
        "target": duration_text(breach.target),
        "notice": notice,
        "revisions": list(notice.revisions.select_related("edited_by")) if notice else [],
        "rca": rca,
        "entry": entry,
        "escalations": escalations,
        "may_work": may_work,
        "may_see_money": can(user, Action.VIEW_COMPENSATION),
        "rca_form": bound.get("rca_form") or RootCauseForm(initial=rca_initial),
        "notice_form": bound.get("notice_form")
        or NoticeReasonForm(initial={"reason": notice.reason if notice else ""}),
    }


@login_required
@require_POST
def breach_rca(request: HttpRequest, reference: str, metric: str) -> HttpResponse:
    breach = _breach(request, reference, metric)
    user: User = request.user  # type: ignore[assignment]
    if not can(user, Action.WORK_CASES, breach.clock):
        raise PermissionDenied(_("You are not allowed to analyse this breach."))
    form = RootCauseForm(request.POST)
    if form.is_valid():
        try:
            write_root_cause(actor=user, breach=breach, **form.cleaned_data)
        except ValidationError as error:
            show_errors(form, error)
        else:
            messages.success(request, _("Root-cause analysis saved."))
            return redirect(subjects.breach_url(breach))
    context = _detail_context(request, breach, rca_form=form)
    return render(request, "sla/breach_detail.html", context, status=422)


@login_required
@require_POST
def breach_notice(request: HttpRequest, reference: str, metric: str) -> HttpResponse:
    breach = _breach(request, reference, metric)
    user: User = request.user  # type: ignore[assignment]
    if not can(user, Action.WORK_CASES, breach.clock):
        raise PermissionDenied(_("You are not allowed to edit this notice."))
    notice = get_object_or_404(BreachNotice, breach=breach)
    form = NoticeReasonForm(request.POST)
    if form.is_valid():
        try:
            notice = notices.edit_reason(
                actor=user, notice=notice, reason=form.cleaned_data["reason"]
            )
        except ValidationError as error:
            show_errors(form, error)
        else:
            if notice.sent_at is not None and notice.corrections:
                messages.success(request, _("Reason changed; the customer was sent a correction."))
            else:
                messages.success(request, _("Reason changed."))
            return redirect(subjects.breach_url(breach))
    context = _detail_context(request, breach, notice_form=form)
    return render(request, "sla/breach_detail.html", context, status=422)


# ---------------------------------------------------------------------------- expedite channel


@login_required
def expedite_channel(request: HttpRequest) -> HttpResponse:
    """Expedited open cases, oldest first, with their open clocks (加急处理通道)."""
    user = _require(request, Action.VIEW_EXPEDITE)
    items = expedite_queue(user)
    clocks: dict[tuple[int, int], list[Clock]] = {}
    by_type: dict[int, list[int]] = {}
    for item in items:
        type_id = ContentType.objects.get_for_model(item).pk
        by_type.setdefault(type_id, []).append(item.pk)
    for type_id, ids in by_type.items():
        for clock in Clock.objects.filter(
            subject_type_id=type_id, subject_id__in=ids, status__in=OPEN_STATUSES
        ).order_by("due_at"):
            clocks.setdefault((type_id, clock.subject_id), []).append(clock)
    names = _metric_names()
    rows = []
    for item in items:
        open_clocks = clocks.get((ContentType.objects.get_for_model(item).pk, item.pk), [])
        rows.append(
            {
                "item": item,
                "reference": reference_of(item),
                "link": _link(item),
                "clocks": [
                    {"clock": c, "metric": names.get(c.metric, c.metric)} for c in open_clocks
                ],
            }
        )
    return render(request, "sla/expedite.html", {"rows": rows, "now": timezone.now()})


# ---------------------------------------------------------------------------- compensation


@login_required
def ledger(request: HttpRequest) -> HttpResponse:
    user = _require(request, Action.VIEW_COMPENSATION)
    form = LedgerFilterForm(request.GET or None)
    entries = (
        CompensationEntry.objects.visible_to(user)
        .select_related("contract__customer", "breach__clock", "decided_by")
        .prefetch_related("breach__clock__subject")
        .annotate(
            waiting=Case(
                When(status=CompensationStatus.PENDING, then=Value(0)),
                default=Value(1),
                output_field=IntegerField(),
            )
        )
        .order_by("waiting", "-month", "breach__breached_at", "pk")
    )
    filtered = False
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        if data.get("status"):
            entries, filtered = entries.filter(status=data["status"]), True
        if data.get("contract"):
            entries, filtered = entries.filter(contract=data["contract"]), True
        if data.get("month"):
            entries, filtered = entries.filter(month=data["month"]), True
    page = _page(request, entries)
    names = _metric_names()
    rows = [
        {
            "entry": entry,
            "reference": reference_of(entry.breach.clock.subject),
            "metric": names.get(entry.metric, entry.metric),
            "form": DecisionForm(prefix=f"e{entry.pk}"),
        }
        for entry in page
    ]
    return render(
        request,
        "sla/ledger.html",
        {
            "form": form,
            "page": page,
            "rows": rows,
            "filtered": filtered,
            "may_decide": can(user, Action.APPROVE_COMPENSATION),
        },
    )


@login_required
@require_POST
def decide(request: HttpRequest, pk: int) -> HttpResponse:
    user = _require(request, Action.APPROVE_COMPENSATION)
    entry = get_object_or_404(CompensationEntry.objects.visible_to(user), pk=pk)
    form = DecisionForm(request.POST, prefix=f"e{entry.pk}")
    if form.is_valid():
        data = form.cleaned_data
        try:
            if data["decision"] == "waive":
                compensation.waive(actor=user, entry=entry, reason=data["reason"])
            else:
                compensation.approve(actor=user, entry=entry, reason=data["reason"])
        except ValidationError as error:
            show_errors(form, error)
        else:
            messages.success(request, _("Decision recorded."))
            return redirect(safe_next(request, reverse("sla:ledger")))
    return render(
        request,
        "sla/decide.html",
        {
            "form": form,
            "entry": entry,
            "reference": reference_of(entry.breach.clock.subject),
            "metric": _metric_names().get(entry.metric, entry.metric),
        },
        status=422,
    )


def _statement(request: HttpRequest, code: str, month: str) -> compensation.Statement:
    user = _require(request, Action.VIEW_COMPENSATION)
    contract = get_object_or_404(Contract.objects.visible_to(user), code=code)
    first = parse_month(month)
    if first is None:
        raise Http404
    return compensation.statement(contract, first)


@login_required
def statement(request: HttpRequest, code: str, month: str) -> HttpResponse:
    report = _statement(request, code, month)
    names = _metric_names()
    rows = [
        {
            "entry": entry,
            "reference": reference_of(entry.breach.clock.subject),
            "metric": names.get(entry.metric, entry.metric),
        }
        for entry in report.entries
    ]
    return render(
        request,
        "sla/statement.html",
        {
            "report": report,
            "rows": rows,
            "previous": _shift(report.month, -1),
            "next": _shift(report.month, 1),
        },
    )


@login_required
def statement_csv(request: HttpRequest, code: str, month: str) -> HttpResponse:
    report = _statement(request, code, month)
    response = HttpResponse(compensation.statement_csv(report), content_type="text/csv")
    name = f"compensation-{report.contract.code}-{report.month:%Y-%m}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _shift(month: date, by: int) -> str:
    index = month.year * 12 + month.month - 1 + by
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


# ---------------------------------------------------------------------------- notices


@login_required
def notice_list(request: HttpRequest) -> HttpResponse:
    """The breach notices sent to the customer (a contact sees its organisation's only)."""
    user = _require(request, Action.VIEW_CASES)
    sent = BreachNotice.objects.filter(
        sent_at__isnull=False, breach__in=Breach.objects.visible_to(user)
    )
    page = _page(
        request,
        sent.select_related("breach__clock", "recipient")
        .prefetch_related("breach__clock__subject")
        .order_by("-sent_at", "-pk"),
    )
    rows = [
        {
            "notice": notice,
            "reference": reference_of(notice.breach.clock.subject),
            "link": _link(notice.breach.clock.subject),
        }
        for notice in page
    ]
    return render(
        request,
        "sla/notices.html",
        {"page": page, "rows": rows, "staff": can(user, Action.VIEW_BREACHES)},
    )
