"""The calendar editor: a quality manager edits, other staff read, customers see nothing."""

from __future__ import annotations

from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from assura.calendars import services
from assura.calendars.models import Calendar, SpecialDayKind
from assura.core.models import Role, User

pytestmark = pytest.mark.django_db


@pytest.fixture
def quality(make_staff) -> User:  # type: ignore[no-untyped-def]
    return make_staff(Role.QUALITY_MANAGER)


@pytest.fixture
def office(quality: User) -> Calendar:
    return services.create_calendar(actor=quality, code="office", name="Office")


def client_for(person: User, language: str = "en") -> Client:
    client = Client(headers={"accept-language": language})
    client.force_login(person)
    return client


def test_a_quality_manager_creates_a_calendar_with_a_lunch_break(quality: User) -> None:
    form = {
        "code": "lunch",
        "name": "Lunch break",
        "time_zone": "Asia/Shanghai",
        "day0": "09:00-12:00, 13:30-18:00",
        "day1": "09:00-12:00，13:30-18:00",
    }
    response = client_for(quality).post("/calendars/new/", form)
    assert response.status_code == 302
    calendar = Calendar.objects.get(code="lunch")
    assert calendar.intervals.filter(weekday=0).count() == 2
    assert calendar.intervals.filter(weekday=1).count() == 2  # full-width comma accepted


def test_a_bad_interval_is_shown_beside_its_day_and_nothing_is_created(quality: User) -> None:
    form = {"code": "bad", "name": "Bad", "time_zone": "Asia/Shanghai", "day0": "18:00-09:00"}
    response = client_for(quality).post("/calendars/new/", form)
    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [
        "An interval must end after it starts (18:00-09:00)."
    ]
    assert not Calendar.objects.filter(code="bad").exists()


def test_a_day_without_a_dash_is_a_field_error(quality: User) -> None:
    form = {"code": "bad", "name": "Bad", "time_zone": "Asia/Shanghai", "day2": "nine to five"}
    response = client_for(quality).post("/calendars/new/", form)
    assert "day2" in response.context["form"].errors


def test_adding_a_make_up_day_by_hand(quality: User, office: Calendar) -> None:
    response = client_for(quality).post(
        "/calendars/office/days/", {"date": "2027-02-20", "kind": "workday", "name": "调休"}
    )
    assert response.status_code == 302
    assert office.special_days.get(date=date(2027, 2, 20)).kind == SpecialDayKind.WORKDAY


def test_a_holiday_with_hours_is_refused_beside_the_field(quality: User, office: Calendar) -> None:
    response = client_for(quality).post(
        "/calendars/office/days/", {"date": "2027-02-20", "kind": "holiday", "hours": "09:00-12:00"}
    )
    assert response.status_code == 400
    assert response.context["day_form"].non_field_errors() == ["A holiday has no working hours."]
    assert not office.special_days.exists()


def test_errors_come_in_the_users_language(quality: User, office: Calendar) -> None:
    response = client_for(quality, "zh-hans").post(
        "/calendars/office/days/", {"date": "2027-02-20", "kind": "holiday", "hours": "09:00-12:00"}
    )
    assert response.context["day_form"].non_field_errors() == ["节假日没有工作时间。"]


def test_loading_official_days_from_the_page(quality: User, office: Calendar) -> None:
    response = client_for(quality).post("/calendars/office/official/", {"year": "2025"})
    assert response.status_code == 302
    assert office.special_days.filter(date__year=2025, kind=SpecialDayKind.WORKDAY).exists()


def test_ics_import_rejects_a_non_calendar_file_with_a_field_error(
    quality: User, office: Calendar
) -> None:
    upload = SimpleUploadedFile("x.ics", b"not a calendar", content_type="text/calendar")
    response = client_for(quality).post("/calendars/office/import/", {"file": upload})
    assert response.status_code == 400
    assert "file" in response.context["ics_form"].errors


def test_export_gives_an_ics_file(quality: User, office: Calendar) -> None:
    services.set_special_day(
        actor=quality, calendar=office, day=date(2027, 1, 1), kind="holiday", name="元旦"
    )
    response = client_for(quality).get("/calendars/office/export.ics")
    assert response["Content-Type"] == "text/calendar"
    assert b"DTSTART;VALUE=DATE:20270101" in response.content


def test_an_agent_reads_the_calendar_but_cannot_change_it(agent: User, office: Calendar) -> None:
    client = client_for(agent)
    page = client.get("/calendars/office/")
    assert page.status_code == 200
    assert b'action="/calendars/office/settings/' not in page.content
    refused = client.post("/calendars/office/days/", {"date": "2027-01-01", "kind": "holiday"})
    assert refused.status_code == 403
    assert not office.special_days.exists()


def test_a_customer_sees_no_calendars(contact: User, office: Calendar) -> None:
    client = client_for(contact)
    assert client.get("/calendars/").status_code == 403
    assert client.get("/calendars/office/").status_code == 403


def test_the_list_page_needs_few_queries(
    quality: User,
    office: Calendar,
    django_assert_max_num_queries,  # type: ignore[no-untyped-def]
) -> None:
    for number in range(5):
        services.create_calendar(actor=quality, code=f"c{number}", name=f"C{number}")
    client = client_for(quality)
    with django_assert_max_num_queries(8):
        assert client.get("/calendars/").status_code == 200
