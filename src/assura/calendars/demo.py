"""Demo calendars: China's office hours with the official days, and a 24×7 one."""

from __future__ import annotations

from assura.calendars import services
from assura.calendars.models import Calendar

DEMO = (
    {
        "code": "cn-office",
        "name": "中国工作日 China office hours",
        "week": {day: [("09:00", "12:00"), ("13:30", "18:00")] for day in range(5)},
        "follows_official_china": True,
        "description": "周一至周五 09:00-12:00、13:30-18:00, 含法定节假日与调休上班日",
    },
    {
        "code": "cn-standard",
        "name": "中国标准工作日 9-18",
        "week": services.OFFICE_HOURS,
        "follows_official_china": True,
        "description": "周一至周五 09:00-18:00, 含法定节假日与调休上班日",
    },
    {
        "code": "24x7",
        "name": "全天候 24×7",
        "week": services.ROUND_THE_CLOCK,
        "follows_official_china": False,
        "description": "每天 24 小时, 用于紧急故障与系统可用性",
    },
)


def load() -> list[str]:
    for spec in DEMO:
        if not Calendar.objects.filter(code=spec["code"]).exists():
            services.create_calendar(actor=None, time_zone="Asia/Shanghai", **spec)  # type: ignore[arg-type]
    return []
