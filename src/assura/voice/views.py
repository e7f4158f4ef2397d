"""Web screens of the voice app.

Public (no login): the survey a customer answers from its one-time link, the opt-out,
the thank-you page. Customers: their own invitations in the portal. Staff: the survey
builder, results with charts, follow-up lists, the follow-up page where the outcome is
recorded, the managers' on-time view, programmes.

Views check the permission with `can()`, read through `visible_to` and `queries`, and
call a service for every change.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from assura.core.forms import show_errors
from assura.core.models import User
from assura.core.permissions import Action, can
from assura.voice import queries, services, statistics
from assura.voice.forms import (
    CancelForm,
    CompleteForm,
    FollowUpReportForm,
    ProgrammeForm,
    QuestionForm,
    ResultsFilterForm,
    SendForm,
    SurveyForm,
    TriggerForm,
    answers_from_post,
)
from assura.voice.models import (
    FollowUp,
    FollowUpStatus,
    Invitation,
    InvitationStatus,
    Language,
    Programme,
    Question,
    QuestionKind,
    Survey,
    Trigger,
)
from assura.voice.servqual import DIMENSION_NAMES

PAGE_SIZE = 50


def _require(request: HttpRequest, action: Action) -> User:
    user: User = request.user  # type: ignore[assignment]
    if not can(user, action):
        raise PermissionDenied(_("You are not allowed to see this page."))
    return user


def _page(request: HttpRequest, rows: Any) -> Any:
    return Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))


# ============================================================================ public pages


def _public_language(request: HttpRequest, default: str) -> str:
    asked = request.GET.get("lang") or request.POST.get("lang") or ""
    return asked if asked in Language.values else default


def _questions(survey: Survey) -> list[Question]:
    return list(survey.questions.order_by("position", "pk"))


def _problem(request: HttpRequest, error: services.LinkError, language: str) -> HttpResponse:
    status = 404 if error.code == services.LinkError.UNKNOWN else 410
    with translation.override(language):
        return render(
            request,
            "voice/public_problem.html",
            {"message": error.message, "code": error.code, "language": language},
            status=status,
        )


@never_cache
def answer(request: HttpRequest, token: str) -> HttpResponse:
    """The survey behind a one-time link: no login, both languages, one response."""
    default = translation.get_language() or "zh-hans"
    try:
        invitation = services.open_link(token)
    except services.LinkError as error:
        return _problem(request, error, _public_language(request, default))
    language = _public_language(request, invitation.language)
    survey = invitation.survey
    questions = _questions(survey)
    errors: dict[str, list[str]] = {}
    submitted: dict[str, Any] = {}
    if request.method == "POST":
        submitted = answers_from_post(questions, request.POST)
        try:
            services.submit(token, submitted, language=language)
        except services.LinkError as error:
            return _problem(request, error, language)
        except ValidationError as error:
            errors = error.message_dict
        else:
            return redirect(reverse("voice:thanks") + f"?lang={language}")
    with translation.override(language):
        return render(
            request,
            "voice/public_survey.html",
            {
                "survey": survey,
                "invitation": invitation,
                "items": _form_items(questions, language, submitted, errors),
                "errors": errors,
                "general_errors": errors.get("__all__", []),
                "language": language,
                "token": token,
                "preview": False,
            },
            status=400 if errors else 200,
        )


def _form_items(
    questions: list[Question], language: str, submitted: dict[str, Any], errors: dict[str, Any]
) -> list[dict[str, Any]]:
    """What the template needs per question: texts in the language, scale, prior input."""
    items = []
    for number, question in enumerate(questions, start=1):
        given = submitted.get(question.code)
        scale = question.scale
        items.append(
            {
                "number": number,
                "question": question,
                "text": question.text(language),
                "dimension": (
                    DIMENSION_NAMES.get(question.dimension, ("", ""))[
                        1 if language == Language.EN else 0
                    ]
                    if question.dimension
                    else ""
                ),
                "points": list(range(scale[0], scale[1] + 1)) if scale else [],
                "choices": [
                    {"code": c["code"], "label": question.choice_label(c["code"], language)}
                    for c in question.choices or []
                ],
                "given": given,
                "given_list": given if isinstance(given, list) else [],
                "errors": errors.get(question.code, []),
            }
        )
    return items


def thanks(request: HttpRequest) -> HttpResponse:
    language = _public_language(request, translation.get_language() or "zh-hans")
    with translation.override(language):
        return render(request, "voice/public_thanks.html", {"language": language})


@never_cache
def opt_out(request: HttpRequest, token: str) -> HttpResponse:
    """Stop surveys for the contact behind the link (asks first; a GET changes nothing)."""
    default = translation.get_language() or "zh-hans"
    try:
        invitation = services.invitation_for(token)
    except services.LinkError as error:
        return _problem(request, error, _public_language(request, default))
    language = _public_language(request, invitation.language)
    done = False
    if request.method == "POST":
        services.opt_out(token)
        done = True
    with translation.override(language):
        return render(
            request,
            "voice/public_opt_out.html",
            {"done": done, "language": language, "token": token, "invitation": invitation},
        )


# ============================================================================ customers


@login_required
def my_surveys(request: HttpRequest) -> HttpResponse:
    """A contact's own invitations (never its colleagues')."""
    user = _require(request, Action.ANSWER_SURVEYS)
    rows = (
        Invitation.objects.visible_to(user)
        .filter(status__in=[InvitationStatus.SENT, InvitationStatus.RESPONDED])
        .select_related("survey", "case")
        .order_by("-sent_at", "-pk")
    )
    return render(
        request, "voice/my_surveys.html", {"page": _page(request, rows), "now": timezone.now()}
    )


@login_required
@require_POST
def my_survey_answer(request: HttpRequest, pk: int) -> HttpResponse:
    user = _require(request, Action.ANSWER_SURVEYS)
    invitation = get_object_or_404(Invitation.objects.visible_to(user), pk=pk)
    try:
        raw = services.portal_link(actor=user, invitation=invitation)
    except services.LinkError as error:
        messages.error(request, error.message)
        return redirect("voice:my_surveys")
    return redirect("voice:answer", token=raw)


# ============================================================================ survey builder


@login_required
def surveys(request: HttpRequest) -> HttpResponse:
    user = _require(request, Action.VIEW_SURVEYS)
    rows = queries.surveys_with_counts().order_by("-is_active", "code")
    return render(
        request,
        "voice/surveys.html",
        {"surveys": rows, "can_manage": can(user, Action.MANAGE_SURVEYS)},
    )


@login_required
def survey_new(request: HttpRequest) -> HttpResponse:
    user = _require(request, Action.MANAGE_SURVEYS)
    form = SurveyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            survey = services.create_survey(actor=user, **form.cleaned_data)
        except ValidationError as error:
            show_errors(form, error)
        else:
            messages.success(request, _("Survey created; now add its questions."))
            return redirect(survey)
    return render(request, "voice/survey_form.html", {"form": form, "survey": None})


@login_required
def survey_edit(request: HttpRequest, code: str) -> HttpResponse:
    user = _require(request, Action.MANAGE_SURVEYS)
    survey = get_object_or_404(Survey, code=code)
    initial = {name: getattr(survey, name) for name in services.SURVEY_FIELDS}
    form = SurveyForm(request.POST or None, initial=initial, editing=True)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_survey(actor=user, survey=survey, **form.cleaned_data)
        except ValidationError as error:
            show_errors(form, error)
        else:
            messages.success(request, _("Survey saved."))
            return redirect(survey)
    return render(request, "voice/survey_form.html", {"form": form, "survey": survey})


@login_required
def survey(request: HttpRequest, code: str) -> HttpResponse:
    """The builder: questions in order, both languages side by side, and the triggers."""
    user = _require(request, Action.VIEW_SURVEYS)
    item = get_object_or_404(Survey, code=code)
    return render(
        request,
        "voice/survey.html",
        {
            "survey": item,
            "questions": _questions(item),
            "triggers": item.triggers.select_related("service", "contract").order_by("pk"),
            "can_manage": can(user, Action.MANAGE_SURVEYS),
            "trigger_form": TriggerForm(),
        },
    )


@login_required
def survey_preview(request: HttpRequest, code: str) -> HttpResponse:
    _require(request, Action.VIEW_SURVEYS)
    item = get_object_or_404(Survey, code=code)
    language = _public_language(request, translation.get_language() or "zh-hans")
    with translation.override(language):
        return render(
            request,
            "voice/public_survey.html",
            {
                "survey": item,
                "items": _form_items(_questions(item), language, {}, {}),
                "errors": {},
                "language": language,
                "preview": True,
            },
        )


@login_required
def question_new(request: HttpRequest, code: str) -> HttpResponse:
    user = _require(request, Action.MANAGE_SURVEYS)
    item = get_object_or_404(Survey, code=code)
    form = QuestionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.add_question(actor=user, survey=item, question=form.as_input())
        except ValidationError as error:
            show_errors(form, error)
        else:
            messages.success(request, _("Question added."))
            return redirect(item)
    return render(
        request, "voice/question_form.html", {"form": form, "survey": item, "question": None}
    )


@login_required
def question_edit(request: HttpRequest, code: str, pk: int) -> HttpResponse:
    user = _require(request, Action.MANAGE_SURVEYS)
    item = get_object_or_404(Survey, code=code)
    question = get_object_or_404(Question, survey=item, pk=pk)
    form = QuestionForm(request.POST or None, initial=QuestionForm.initial_for(question))
    if request.method == "POST" and form.is_valid():
        try:
            services.update_question(actor=user, question=question, data=form.as_input())
        except ValidationError as error:
            show_errors(form, error)
        else:
            messages.success(request, _("Question saved."))
            return redirect(item)
    return render(
        request, "voice/question_form.html", {"form": form, "survey": item, "question": question}
    )


@login_required
@require_POST
def question_move(request: HttpRequest, code: str, pk: int) -> HttpResponse:
    user = _require(request, Action.MANAGE_SURVEYS)
    question = get_object_or_404(Question, survey__code=code, pk=pk)
    services.move_question(actor=user, question=question, up=request.POST.get("direction") == "up")
    return redirect("voice:survey", code=code)


@login_required
@require_POST
def question_remove(request: HttpRequest, code: str, pk: int) -> HttpResponse:
    user = _require(request, Action.MANAGE_SURVEYS)
    question = get_object_or_404(Question, survey__code=code, pk=pk)
    try:
        services.remove_question(actor=user, question=question)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Question removed."))
    return redirect("voice:survey", code=code)


@login_required
def trigger_new(request: HttpRequest, code: str) -> HttpResponse:
    user = _require(request, Action.MANAGE_SURVEYS)
    item = get_object_or_404(Survey, code=code)
    form = TriggerForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.create_trigger(actor=user, survey=item, **form.values())
        except ValidationError as error:
            show_errors(form, error)
        else:
            messages.success(request, _("Trigger saved."))
            return redirect(item)
    return render(request, "voice/trigger_form.html", {"form": form, "survey": item})


@login_required
@require_POST
def trigger_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    user = _require(request, Action.MANAGE_SURVEYS)
    trigger = get_object_or_404(Trigger, pk=pk)
    services.set_trigger_active(actor=user, trigger=trigger, active=not trigger.is_active)
    return redirect(trigger.survey)


@login_required
def survey_send(request: HttpRequest, code: str) -> HttpResponse:
    user = _require(request, Action.MANAGE_SURVEYS)
    item = get_object_or_404(Survey, code=code)
    form = SendForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            sent = services.send_now(actor=user, survey=item, contacts=form.chosen())
        except ValidationError as error:
            show_errors(form, error)
        else:
            scheduled = sum(1 for i in sent if i.status == InvitationStatus.SCHEDULED)
            messages.success(
                request,
                _("%(n)s invitations go out now; %(skipped)s contacts opted out or were skipped.")
                % {"n": scheduled, "skipped": len(sent) - scheduled},
            )
            return redirect(item)
    return render(request, "voice/survey_send.html", {"form": form, "survey": item})


@login_required
def invitations(request: HttpRequest) -> HttpResponse:
    user = _require(request, Action.VIEW_SURVEYS)
    rows = (
        Invitation.objects.visible_to(user)
        .select_related("survey", "contact", "organisation", "case")
        .order_by("-send_at", "-pk")
    )
    status = request.GET.get("status", "")
    if status in InvitationStatus.values:
        rows = rows.filter(status=status)
    return render(
        request,
        "voice/invitations.html",
        {"page": _page(request, rows), "statuses": InvitationStatus.choices, "status": status},
    )


# ============================================================================ results


def _period(form: Any) -> tuple[datetime | None, datetime | None]:
    data = form.cleaned_data if form.is_valid() else {}
    zone = timezone.get_current_timezone()
    start = data.get("start")
    end = data.get("end")
    return (
        datetime.combine(start, time.min, tzinfo=zone) if start else None,
        datetime.combine(end + timedelta(days=1), time.min, tzinfo=zone) if end else None,
    )


@login_required
def results(request: HttpRequest) -> HttpResponse:
    """CSAT, NPS, response rate and SERVQUAL gaps, by period and by slice, with charts."""
    user = _require(request, Action.VIEW_SURVEYS)
    form = ResultsFilterForm(request.GET or None)
    start, end = _period(form)
    data = form.cleaned_data if form.is_valid() else {}
    scope = queries.Scope(
        start=start,
        end=end,
        survey=data.get("survey"),
        service_id=data["service"].pk if data.get("service") else None,
        team_id=data["team"].pk if data.get("team") else None,
        agent_id=data["agent"].pk if data.get("agent") else None,
        organisation_id=data["customer"].pk if data.get("customer") else None,
    )
    slice_name = request.GET.get("by", "team")
    if slice_name not in queries.SLICES:
        slice_name = "team"
    csat = queries.csat(scope, user)
    nps = queries.nps(scope, user)
    rate = queries.response_rate(scope, user)
    survey_filter = data.get("survey")
    show_servqual = (
        survey_filter is None or survey_filter.questions.filter(kind=QuestionKind.SERVQUAL).exists()
    )
    gaps = queries.servqual_result(scope, user) if show_servqual else None
    months = queries.by_month(scope, user)
    language = translation.get_language() or "zh-hans"
    dimension_label = {
        d: names[1 if language.startswith("en") else 0] for d, names in DIMENSION_NAMES.items()
    }
    item_text = {
        q.code: q.text()
        for q in Question.objects.filter(kind=QuestionKind.SERVQUAL, survey__code="servqual")
    }
    chart = {
        "csat": {
            "labels": [str(p) for p in statistics.CSAT_SCALE],
            "counts": list(csat.distribution.values()),
        },
        "nps": {
            "labels": [_("Detractors (0-6)"), _("Passives (7-8)"), _("Promoters (9-10)")],
            "counts": [nps.detractors, nps.passives, nps.promoters],
        },
        "trend": {
            "months": [m.month for m in months],
            "csat": [round(m.csat, 3) if m.csat is not None else None for m in months],
            "nps": [round(m.nps, 1) if m.nps is not None else None for m in months],
            "csat_label": _("CSAT (1-5)"),
            "nps_label": _("NPS"),
        },
        "servqual": {
            "dimensions": [dimension_label.get(d.dimension, d.dimension) for d in gaps.dimensions]
            if gaps
            else [],
            "gaps": [
                round(d.gap.mean, 3) if d.gap.mean is not None else None for d in gaps.dimensions
            ]
            if gaps
            else [],
            "low": [round(d.gap.low, 3) if d.gap.low is not None else None for d in gaps.dimensions]
            if gaps
            else [],
            "high": [
                round(d.gap.high, 3) if d.gap.high is not None else None for d in gaps.dimensions
            ]
            if gaps
            else [],
            "label": _("Gap (perception − expectation)"),
        },
    }
    query = request.GET.copy()
    query.pop("by", None)
    return render(
        request,
        "voice/results.html",
        {
            "form": form,
            "csat": csat,
            "nps": nps,
            "rate": rate,
            "gaps": gaps,
            "dimension_label": dimension_label,
            "item_text": item_text,
            "slices": queries.by_slice(scope, slice_name, user),
            "slice_name": slice_name,
            "slice_choices": [
                ("team", _("Team")),
                ("agent", _("Agent")),
                ("service", _("Service")),
                ("customer", _("Customer")),
            ],
            "query": query.urlencode(),
            "months": months,
            "chart": chart,
            "comments": queries.recent_comments(scope, user),
        },
    )


# ============================================================================ follow-ups


@login_required
def follow_ups(request: HttpRequest) -> HttpResponse:
    """An agent's list (its own and its team's unassigned); managers may see all open."""
    user = _require(request, Action.VIEW_FOLLOW_UPS)
    show = request.GET.get("show", "mine")
    if show == "all":
        rows = queries.with_lateness(
            FollowUp.objects.visible_to(user)
            .open()
            .select_related("contact", "organisation", "case", "assignee", "programme", "team")
        ).order_by("due_at", "pk")
    elif show == "done":
        rows = queries.with_lateness(
            FollowUp.objects.visible_to(user)
            .exclude(status=FollowUpStatus.OPEN)
            .select_related("contact", "organisation", "case", "assignee", "programme", "team")
        ).order_by("-completed_at", "-pk")
    else:
        show = "mine"
        rows = queries.follow_ups_for(user)
    return render(
        request,
        "voice/follow_ups.html",
        {
            "page": _page(request, rows),
            "show": show,
            "now": timezone.now(),
            "can_report": can(user, Action.MANAGE_FOLLOW_UPS) or can(user, Action.VIEW_FOLLOW_UPS),
        },
    )


def _follow_up(request: HttpRequest, reference: str) -> FollowUp:
    rows = FollowUp.objects.visible_to(request.user).select_related(  # type: ignore[arg-type]
        "contact", "organisation", "case", "assignee", "programme", "team", "response__survey"
    )
    return get_object_or_404(rows, reference=reference)


@login_required
def follow_up(request: HttpRequest, reference: str) -> HttpResponse:
    """The call sheet: who, why, the script, and the form for the outcome."""
    user = _require(request, Action.VIEW_FOLLOW_UPS)
    item = _follow_up(request, reference)
    may_work = item.is_open and can(user, Action.WORK_FOLLOW_UPS, item)
    form = CompleteForm(request.POST or None)
    if request.method == "POST":
        if not may_work:
            raise PermissionDenied(_("You are not allowed to work on this follow-up."))
        if form.is_valid():
            try:
                services.complete(
                    actor=user,
                    follow_up=item,
                    outcome=form.cleaned_data["outcome"],
                    notes=form.cleaned_data["notes"],
                    next_steps=form.cleaned_data["next_steps"],
                    suggestion=form.cleaned_data["suggestion"],
                )
            except ValidationError as error:
                show_errors(form, error)
            else:
                messages.success(
                    request, _("Follow-up %(reference)s recorded.") % {"reference": reference}
                )
                return redirect("voice:follow_ups")
    clock = services.clock_of(item)
    answers = (
        item.response.answers.select_related("question").order_by("question__position")
        if item.response_id
        else []
    )
    return render(
        request,
        "voice/follow_up.html",
        {
            "item": item,
            "form": form,
            "may_work": may_work,
            "may_take": may_work and item.assignee_id is None,
            "may_cancel": item.is_open and can(user, Action.MANAGE_FOLLOW_UPS, item),
            "cancel_form": CancelForm(),
            "clock": clock,
            "answers": answers,
            "script": item.script(),
        },
    )


@login_required
@require_POST
def follow_up_take(request: HttpRequest, reference: str) -> HttpResponse:
    user = _require(request, Action.WORK_FOLLOW_UPS)
    item = _follow_up(request, reference)
    try:
        services.take(actor=user, follow_up=item)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return redirect(item)


@login_required
@require_POST
def follow_up_cancel(request: HttpRequest, reference: str) -> HttpResponse:
    user = _require(request, Action.MANAGE_FOLLOW_UPS)
    item = _follow_up(request, reference)
    form = CancelForm(request.POST)
    if form.is_valid():
        try:
            services.cancel(actor=user, follow_up=item, reason=form.cleaned_data["reason"])
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, _("Follow-up cancelled."))
    else:
        messages.error(request, _("Say why the follow-up is cancelled."))
    return redirect(item)


@login_required
def follow_up_report(request: HttpRequest) -> HttpResponse:
    """Completion on time, per team and per person, for the due dates chosen."""
    _require(request, Action.VIEW_FOLLOW_UPS)
    form = FollowUpReportForm(request.GET or None)
    if not request.GET:
        today = timezone.localdate()
        form = FollowUpReportForm({"start": today - timedelta(days=30), "end": today})
    start, end = _period(form)
    rows = queries.follow_ups_due(start, end)
    total = queries.on_time(rows)
    return render(
        request,
        "voice/follow_up_report.html",
        {
            "form": form,
            "total": total,
            "teams": queries.on_time_by(rows, "team_id", "team__name"),
            "people": queries.on_time_by(rows, "assignee_id", "assignee__display_name"),
            "outcomes": _outcome_rows(queries.outcome_counts(rows)),
            "overdue": queries.with_lateness(rows.open())
            .filter(late=True)
            .select_related("assignee", "contact", "organisation")
            .order_by("due_at")[:50],
        },
    )


def _outcome_rows(counts: dict[str, int]) -> list[tuple[str, int]]:
    from assura.voice.models import Outcome

    return [(label, counts.get(value, 0)) for value, label in Outcome.choices]


@login_required
def programmes(request: HttpRequest) -> HttpResponse:
    user = _require(request, Action.VIEW_FOLLOW_UPS)
    rows = Programme.objects.select_related("calendar", "team").order_by("kind", "code")
    return render(
        request,
        "voice/programmes.html",
        {"programmes": rows, "can_manage": can(user, Action.MANAGE_FOLLOW_UPS)},
    )


@login_required
def programme_new(request: HttpRequest) -> HttpResponse:
    user = _require(request, Action.MANAGE_FOLLOW_UPS)
    form = ProgrammeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.create_programme(actor=user, **form.values())
        except ValidationError as error:
            show_errors(form, error)
        else:
            messages.success(request, _("Programme saved."))
            return redirect("voice:programmes")
    return render(request, "voice/programme_form.html", {"form": form, "programme": None})


@login_required
def programme_edit(request: HttpRequest, code: str) -> HttpResponse:
    user = _require(request, Action.MANAGE_FOLLOW_UPS)
    programme = get_object_or_404(Programme, code=code)
    initial = {
        "name": programme.name,
        "target_hours": round(programme.target.total_seconds() / 3600, 2),
        "calendar": programme.calendar_id,
        "team": programme.team_id,
        "assign_to": programme.assign_to,
        "sample_percent": programme.sample * 100,
        "case_types": programme.case_types,
        "script_zh": programme.script_zh,
        "script_en": programme.script_en,
        "is_active": programme.is_active,
    }
    form = ProgrammeForm(request.POST or None, initial=initial, editing=True)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_programme(actor=user, programme=programme, **form.values())
        except ValidationError as error:
            show_errors(form, error)
        else:
            messages.success(request, _("Programme saved."))
            return redirect("voice:programmes")
    return render(request, "voice/programme_form.html", {"form": form, "programme": programme})
