"""The calendar editor for quality managers (read-only for the rest of the staff)."""

from __future__ import annotations

from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from assura.calendars import services
from assura.calendars.forms import (
    WEEKDAYS,
    CalendarForm,
    CalendarSettingsForm,
    IcsImportForm,
    OfficialYearForm,
    SpecialDayForm,
    spell_spans,
)
from assura.calendars.models import Calendar, RecomputeJob, SpecialDayKind
from assura.core.forms import show_errors
from assura.core.models import User
from assura.core.permissions import Action, can


def _require(request: HttpRequest, action: Action) -> User:
    user: User = request.user  # type: ignore[assignment]
    if not can(user, action):
        raise PermissionDenied(_("You are not allowed to see this page."))
    return user


def _calendar(request: HttpRequest, code: str) -> Calendar:
    return get_object_or_404(Calendar.objects.visible_to(request.user), code=code)  # type: ignore[arg-type]


@login_required
def calendar_list(request: HttpRequest) -> HttpResponse:
    user = _require(request, Action.VIEW_CONFIGURATION)
    calendars = (
        Calendar.objects.visible_to(user)
        .select_related("current_version")
        .annotate(
            holidays=Count("special_days", filter=Q(special_days__kind=SpecialDayKind.HOLIDAY)),
            workdays=Count("special_days", filter=Q(special_days__kind=SpecialDayKind.WORKDAY)),
        )
    )
    return render(
        request,
        "calendars/list.html",
        {"calendars": calendars, "can_manage": can(user, Action.MANAGE_CONFIGURATION)},
    )


@login_required
def calendar_create(request: HttpRequest) -> HttpResponse:
    user = _require(request, Action.MANAGE_CONFIGURATION)
    initial = {f"day{d}": "09:00-18:00" for d in range(5)}
    form = CalendarForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            calendar = services.create_calendar(
                actor=user,
                code=data["code"],
                name=data["name"],
                time_zone=data["time_zone"],
                week=data["week"],
                follows_official_china=data["follows_official_china"],
                description=data["description"],
            )
        except ValidationError as error:
            show_errors(form, error)
        else:
            messages.success(request, _("Calendar created."))
            return redirect("calendars:detail", code=calendar.code)
    return render(request, "calendars/create.html", {"form": form})


@login_required
def calendar_detail(request: HttpRequest, code: str) -> HttpResponse:
    _require(request, Action.VIEW_CONFIGURATION)
    return render(request, "calendars/detail.html", _detail_context(request, code))


def _detail_context(request: HttpRequest, code: str, **bound: Form) -> dict[str, object]:
    """Everything the editor page shows; `bound` replaces a blank form with a failed one."""
    calendar = _calendar(request, code)
    year = _year(request)
    return {
        **_editor_forms(calendar, **bound),
        "calendar": calendar,
        "year": year,
        "years": _years(calendar, year),
        "special_days": calendar.special_days.filter(date__year=year),
        "week": _week_rows(calendar),
        "summary": services.definition_summary(calendar),
        "versions": calendar.versions.select_related("created_by")[:10],
        "jobs": RecomputeJob.objects.filter(calendar_version__calendar=calendar)[:3],
        "can_manage": can(request.user, Action.MANAGE_CONFIGURATION),  # type: ignore[arg-type]
    }


def _editor_forms(calendar: Calendar, **bound: Form) -> dict[str, Form]:
    week_initial = {f"day{day}": spell_spans(spans) for day, spans in _week(calendar).items()}
    forms: dict[str, Form] = {
        "settings_form": CalendarSettingsForm(
            initial={
                "name": calendar.name,
                "time_zone": calendar.time_zone,
                "description": calendar.description,
                **week_initial,
            }
        ),
        "day_form": SpecialDayForm(),
        "official_form": OfficialYearForm(initial={"year": date.today().year}),
        "ics_form": IcsImportForm(),
    }
    forms.update(bound)
    return forms


def _week(calendar: Calendar) -> dict[int, list[list[str]]]:
    week: dict[int, list[list[str]]] = {day: [] for day in range(7)}
    for interval in calendar.intervals.all():
        week[interval.weekday].append(interval.spelled())
    return week


def _week_rows(calendar: Calendar) -> list[tuple[str, str]]:
    return [
        (str(WEEKDAYS[day]), spell_spans(spans) or "—") for day, spans in _week(calendar).items()
    ]


def _year(request: HttpRequest) -> int:
    try:
        return int(request.GET.get("year", date.today().year))
    except ValueError:
        return date.today().year


def _years(calendar: Calendar, year: int) -> list[int]:
    stored = set(calendar.special_days.dates("date", "year").values_list("date__year", flat=True))
    return sorted(stored | {year, date.today().year, date.today().year + 1})


def _rerender(request: HttpRequest, calendar: Calendar, **bound: Form) -> HttpResponse:
    """Show the editor again with the failed form's errors in place (400)."""
    context = _detail_context(request, calendar.code, **bound)
    return render(request, "calendars/detail.html", context, status=400)


@login_required
@require_POST
def calendar_settings(request: HttpRequest, code: str) -> HttpResponse:
    user = _require(request, Action.MANAGE_CONFIGURATION)
    calendar = _calendar(request, code)
    form = CalendarSettingsForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.update_calendar(
                actor=user,
                calendar=calendar,
                name=data["name"],
                time_zone=data["time_zone"],
                week=data["week"],
                description=data["description"],
            )
        except ValidationError as error:
            show_errors(form, error)
        else:
            messages.success(request, _("Weekly hours saved."))
            return redirect("calendars:detail", code=calendar.code)
    return _rerender(request, calendar, settings_form=form)


@login_required
@require_POST
def special_day_set(request: HttpRequest, code: str) -> HttpResponse:
    user = _require(request, Action.MANAGE_CONFIGURATION)
    calendar = _calendar(request, code)
    form = SpecialDayForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.set_special_day(
                actor=user,
                calendar=calendar,
                day=data["date"],
                kind=data["kind"],
                name=data["name"],
                intervals=data["hours"],
            )
        except ValidationError as error:
            show_errors(form, error)
        else:
            messages.success(request, _("%(date)s saved.") % {"date": data["date"]})
            return redirect(f"{calendar_url(calendar)}?year={data['date'].year}")
    return _rerender(request, calendar, day_form=form)


@login_required
@require_POST
def special_day_remove(request: HttpRequest, code: str, day: str) -> HttpResponse:
    user = _require(request, Action.MANAGE_CONFIGURATION)
    calendar = _calendar(request, code)
    try:
        parsed = date.fromisoformat(day)
    except ValueError:
        messages.error(request, _("That is not a date."))
        return redirect("calendars:detail", code=calendar.code)
    services.remove_special_day(actor=user, calendar=calendar, day=parsed)
    messages.success(request, _("%(date)s follows the normal hours again.") % {"date": parsed})
    return redirect(f"{calendar_url(calendar)}?year={parsed.year}")


@login_required
@require_POST
def load_official(request: HttpRequest, code: str) -> HttpResponse:
    user = _require(request, Action.MANAGE_CONFIGURATION)
    calendar = _calendar(request, code)
    form = OfficialYearForm(request.POST)
    if form.is_valid():
        year = form.cleaned_data["year"]
        try:
            changed = services.load_official_days(actor=user, calendar=calendar, year=year)
        except ValidationError as error:
            show_errors(form, error)
        else:
            messages.success(
                request,
                _("Official days of %(year)s loaded: %(count)s changed.")
                % {"year": year, "count": changed},
            )
            return redirect(f"{calendar_url(calendar)}?year={year}")
    return _rerender(request, calendar, official_form=form)


@login_required
@require_POST
def import_ics(request: HttpRequest, code: str) -> HttpResponse:
    user = _require(request, Action.MANAGE_CONFIGURATION)
    calendar = _calendar(request, code)
    form = IcsImportForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            reading = services.import_ics(
                actor=user, calendar=calendar, content=form.cleaned_data["file"]
            )
        except ValidationError as error:
            show_errors(form, error)
        else:
            messages.success(request, _("%(count)s days imported.") % {"count": len(reading.days)})
            for skipped in reading.skipped[:10]:
                messages.warning(request, _("Skipped: %(event)s") % {"event": skipped})
            return redirect("calendars:detail", code=calendar.code)
    return _rerender(request, calendar, ics_form=form)


@login_required
def export_ics(request: HttpRequest, code: str) -> HttpResponse:
    _require(request, Action.VIEW_CONFIGURATION)
    calendar = _calendar(request, code)
    response = HttpResponse(services.export_ics(calendar), content_type="text/calendar")
    response["Content-Disposition"] = f'attachment; filename="{calendar.code}.ics"'
    return response


@login_required
def recompute_progress(request: HttpRequest, code: str) -> HttpResponse:
    """The progress panel, polled by htmx while a recompute runs."""
    _require(request, Action.VIEW_CONFIGURATION)
    calendar = _calendar(request, code)
    jobs = RecomputeJob.objects.filter(calendar_version__calendar=calendar)[:3]
    return render(request, "calendars/_jobs.html", {"calendar": calendar, "jobs": jobs})


def calendar_url(calendar: Calendar) -> str:
    return reverse("calendars:detail", kwargs={"code": calendar.code})
