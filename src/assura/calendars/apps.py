from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CalendarsConfig(AppConfig):
    name = "assura.calendars"
    label = "calendars"
    verbose_name = _("Calendars")

    def ready(self) -> None:
        from auditlog.registry import auditlog

        from assura.calendars.models import Calendar, CalendarVersion, SpecialDay, WeeklyInterval

        auditlog.register(Calendar)
        auditlog.register(WeeklyInterval)
        auditlog.register(SpecialDay)
        auditlog.register(CalendarVersion, exclude_fields=["definition"])
