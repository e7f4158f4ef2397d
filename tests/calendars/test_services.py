"""Calendars as data: edited by people, frozen into versions, exchanged as .ics."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from auditlog.models import LogEntry
from django.core.exceptions import PermissionDenied, ValidationError

from assura.calendars import services
from assura.calendars.models import Calendar, SpecialDay, SpecialDayKind, SpecialDaySource
from assura.core.models import Role, User

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def quality(make_staff) -> User:  # type: ignore[no-untyped-def]
    return make_staff(Role.QUALITY_MANAGER)


@pytest.fixture
def china(quality: User) -> Calendar:
    return services.create_calendar(
        actor=quality, code="cn", name="China office hours", follows_official_china=True
    )


def test_a_china_calendar_knows_the_make_up_working_days(china: Calendar) -> None:
    work = china.current_version.work_calendar()
    friday = datetime(2025, 9, 26, 17, tzinfo=SHANGHAI)
    assert work.add(friday, 4 * 3600) == datetime(2025, 9, 28, 12, tzinfo=SHANGHAI)
    tuesday = datetime(2025, 9, 30, 17, tzinfo=SHANGHAI)
    assert work.add(tuesday, 8 * 3600) == datetime(2025, 10, 9, 16, tzinfo=SHANGHAI)


def test_official_days_carry_their_source_and_holiday_name(china: Calendar) -> None:
    national_day = china.special_days.get(date=date(2025, 10, 1))
    assert national_day.kind == SpecialDayKind.HOLIDAY
    assert national_day.source == SpecialDaySource.OFFICIAL
    assert national_day.name == "National Day"
    assert china.special_days.get(date=date(2025, 9, 28)).kind == SpecialDayKind.WORKDAY


def test_every_change_makes_a_new_version_and_an_unchanged_save_does_not(
    quality: User, china: Calendar
) -> None:
    first = china.current_version
    services.set_special_day(
        actor=quality, calendar=china, day=date(2027, 2, 8), kind="holiday", name="春节"
    )
    china.refresh_from_db()
    assert china.current_version.number == first.number + 1
    services.update_calendar(actor=quality, calendar=china, name=china.name)
    china.refresh_from_db()
    assert china.current_version.number == first.number + 1
    assert first.definition != china.current_version.definition


def test_loading_a_year_again_changes_nothing_and_keeps_manual_corrections(
    quality: User, china: Calendar
) -> None:
    services.set_special_day(
        actor=quality, calendar=china, day=date(2025, 10, 8), kind="workday", name="值班"
    )
    china.refresh_from_db()
    version = china.current_version.number
    assert services.load_official_days(actor=quality, calendar=china, year=2025) == 0
    china.refresh_from_db()
    assert china.current_version.number == version
    assert china.special_days.get(date=date(2025, 10, 8)).kind == SpecialDayKind.WORKDAY


def test_a_year_without_official_data_is_refused_with_a_way_forward(
    quality: User, china: Calendar
) -> None:
    with pytest.raises(ValidationError) as error:
        services.load_official_days(actor=quality, calendar=china, year=2199)
    assert "by hand" in str(error.value.message_dict["year"])


def test_overlapping_intervals_are_refused_and_nothing_is_saved(quality: User) -> None:
    with pytest.raises(ValidationError):
        services.create_calendar(
            actor=quality,
            code="bad",
            name="Bad",
            week={0: [("09:00", "12:00"), ("11:00", "18:00")]},
        )
    assert not Calendar.objects.filter(code="bad").exists()


@pytest.mark.parametrize("span", [("9", "12:00"), ("18:00", "09:00"), ("09:00", "24:30")])
def test_bad_times_are_refused(quality: User, span: tuple[str, str]) -> None:
    with pytest.raises(ValidationError):
        services.create_calendar(actor=quality, code="bad", name="Bad", week={0: [span]})


def test_a_lunch_break_calendar_has_two_intervals(quality: User) -> None:
    calendar = services.create_calendar(
        actor=quality,
        code="lunch",
        name="Lunch",
        week={d: [("09:00", "12:00"), ("13:30", "18:00")] for d in range(5)},
    )
    work = calendar.current_version.work_calendar()
    monday = datetime(2026, 3, 2, 11, tzinfo=SHANGHAI)
    assert work.add(monday, 2 * 3600) == datetime(2026, 3, 2, 14, 30, tzinfo=SHANGHAI)


def test_an_agent_cannot_change_a_calendar(agent: User, china: Calendar) -> None:
    with pytest.raises(PermissionDenied):
        services.set_special_day(actor=agent, calendar=china, day=date(2027, 1, 1), kind="holiday")


def test_changes_are_audited_with_the_actor(quality: User, china: Calendar) -> None:
    day = services.set_special_day(
        actor=quality, calendar=china, day=date(2027, 1, 1), kind="holiday", name="元旦"
    )
    entry = LogEntry.objects.get_for_object(day).get()
    assert entry.actor == quality
    assert entry.changes["name"] == [None, "元旦"]


def test_ics_export_and_import_round_trip(quality: User, china: Calendar) -> None:
    content = services.export_ics(china)
    copy = services.create_calendar(actor=quality, code="copy", name="Copy")
    services.import_ics(actor=quality, calendar=copy, content=content)
    original = set(china.special_days.values_list("date", "kind"))
    assert set(copy.special_days.values_list("date", "kind")) == original
    assert copy.special_days.filter(source=SpecialDaySource.ICS).count() == len(original)


def test_an_ics_file_from_elsewhere_marks_workdays_by_its_summary(
    quality: User, china: Calendar
) -> None:
    content = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//y//EN\r\n"
        "BEGIN:VEVENT\r\nUID:a\r\nDTSTAMP:20261101T000000Z\r\nDTSTART;VALUE=DATE:20270206\r\n"
        "DTEND;VALUE=DATE:20270213\r\nSUMMARY:春节\r\nEND:VEVENT\r\n"
        "BEGIN:VEVENT\r\nUID:b\r\nDTSTAMP:20261101T000000Z\r\nDTSTART;VALUE=DATE:20270214\r\n"
        "SUMMARY:春节调休上班\r\nEND:VEVENT\r\n"
        "BEGIN:VEVENT\r\nUID:c\r\nDTSTAMP:20261101T000000Z\r\nDTSTART:20270301T090000Z\r\n"
        "SUMMARY:meeting\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    ).encode()
    reading = services.import_ics(actor=quality, calendar=china, content=content)
    assert len(reading.days) == 8
    assert reading.skipped == ["meeting: not an all-day event"]
    assert china.special_days.get(date=date(2027, 2, 14)).kind == SpecialDayKind.WORKDAY
    assert (
        china.special_days.filter(
            date__range=(date(2027, 2, 6), date(2027, 2, 12)), kind=SpecialDayKind.HOLIDAY
        ).count()
        == 7
    )


def test_a_file_that_is_not_icalendar_changes_nothing(quality: User, china: Calendar) -> None:
    before = SpecialDay.objects.count()
    with pytest.raises(ValidationError) as error:
        services.import_ics(actor=quality, calendar=china, content=b"name,date\nx,2027-01-01\n")
    assert "file" in error.value.message_dict
    assert SpecialDay.objects.count() == before
