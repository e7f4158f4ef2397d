"""About 90 days of demo cases, worked through the real services with realistic timings.

Every case goes through `open_case`, replies, classification, resolution and closure
at drawn instants, so its clocks, breaches and root causes are exactly what a real
desk would have recorded. Delays are drawn in the clock's own working time, with a
small share late, so compliance lands between 95 and 99 % per metric. A fixed seed
makes the demo the same on every machine; existing demo cases mean it is loaded.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from assura.calendars.clock import WorkCalendar
from assura.core.models import Organisation, Role, Team, User
from assura.desk import services as desk
from assura.desk.clocks import clocks_of
from assura.desk.models import Case
from assura.sla import services as sla
from assura.sla.models import Breach, CauseCategory

SEED = 20261124
#: Every LATE_EVERY-th step of each metric is late: 1 in 30 keeps compliance near 96.7 %.
LATE_EVERY = 30
MINUTE, HOUR = 60.0, 3600.0

SUBJECTS = {
    "inquiry": [
        "如何导出月度报表？",
        "How do I reset my VPN token?",
        "发票抬头如何修改",
        "ERP 权限申请流程咨询",
        "Where can I see last month's usage?",
    ],
    "fault": [
        "ERP 登录报 500 错误",
        "仓库扫码枪无法连接",
        "Printer queue stuck on floor 3",
        "邮件无法发送外部地址",
        "Network outage in Building B",
    ],
    "request": [
        "新员工开通账号",
        "Add a user to the finance group",
        "申请增加存储空间",
        "更换办公电脑",
        "Install the new label printer driver",
    ],
    "suggestion": [
        "建议报表支持按周汇总",
        "Please add dark mode to the portal",
        "希望服务台提供夜间值班电话",
    ],
    "complaint": [
        "工程师上门迟到两小时",
        "Nobody answered my call for an hour",
        "同一问题第三次复发，仍未解决",
    ],
}
TYPE_WEIGHTS = {"inquiry": 40, "fault": 25, "request": 20, "suggestion": 8, "complaint": 7}
TEAM_FOR = {
    "inquiry": "frontline",
    "request": "frontline",
    "fault": "technical",
    "suggestion": "care",
    "complaint": "care",
}
CAUSES = {
    "staffing": ("当班人手不足，高峰期排队", "高峰时段增加一名值班客服"),
    "process": ("工单分派规则未覆盖该类型", "更新分派规则并培训一线人员"),
    "technical": ("监控告警延迟导致发现晚", "调整告警阈值并增加冗余通知"),
    "third_party": ("等待运营商修复线路", "与运营商签订响应时限补充协议"),
}


@dataclass
class Cast:
    customers: list[Organisation]
    contacts: dict[int, list[User]]
    agents: dict[str, list[User]]
    teams: dict[str, Team]


def load() -> list[str]:
    if Case.objects.filter(idempotency_key__startswith="demo-").exists():
        return []
    days = int(getattr(settings, "ASSURA_DEMO_DAYS", 90))
    generator = Generator(random.Random(SEED), _cast())
    end = timezone.localtime().replace(minute=0, second=0, microsecond=0)
    start = end - timedelta(days=days)
    with transaction.atomic():  # all of it or nothing, so a failed load can be rerun
        count = generator.run(start, end)
    return [f"  {count} demo cases over {days} days"]


def _cast() -> Cast:
    customers = list(Organisation.objects.customers().order_by("code"))
    contacts = {
        org.pk: list(User.objects.filter(organisation=org, role=Role.CUSTOMER, is_active=True))
        for org in customers
    }
    teams = {team.code: team for team in Team.objects.all()}
    agents = {
        code: list(User.objects.filter(team=team, role=Role.AGENT, is_active=True))
        for code, team in teams.items()
    }
    return Cast(customers, contacts, agents, teams)


class Generator:
    def __init__(self, rng: random.Random, cast: Cast) -> None:
        self.rng = rng
        self.cast = cast
        self.number = 0
        self.categories = {c.code: c for c in CauseCategory.objects.all()}
        self.steps: dict[str, int] = {}

    def late(self, metric: str) -> bool:
        """Deterministic lateness per metric, so even a rare metric lands in 95-99 %."""
        self.steps[metric] = self.steps.get(metric, 0) + 1
        return self.steps[metric] % LATE_EVERY == LATE_EVERY // 2

    def run(self, start: datetime, end: datetime) -> int:
        day = start
        while day < end:
            per_day = self.rng.randint(7, 12) if day.weekday() < 5 else self.rng.randint(0, 2)
            for _ in range(per_day):
                opened = day + timedelta(hours=self.rng.uniform(8.5, 18.5))
                if opened < end - timedelta(minutes=30):
                    self.case(opened, end)
            day += timedelta(days=1)
        return self.number

    def case(self, opened: datetime, end: datetime) -> None:
        case_type = self.rng.choices(list(TYPE_WEIGHTS), weights=list(TYPE_WEIGHTS.values()))[0]
        customer = self.rng.choice(self.cast.customers)
        contact = self.rng.choice(self.cast.contacts[customer.pk])
        team_code = TEAM_FOR[case_type]
        agent = self.rng.choice(self.cast.agents[team_code])
        priority = "urgent" if case_type == "fault" and self.rng.random() < 0.2 else "normal"
        by_phone = self.rng.random() < 0.2
        self.number += 1
        case = desk.open_case(
            actor=agent if by_phone else contact,
            organisation=customer,
            case_type=case_type,
            subject=self.rng.choice(SUBJECTS[case_type]),
            channel="phone"
            if by_phone
            else self.rng.choice(["portal", "portal", "email", "api", "chat"]),
            priority=priority,
            contact=contact,
            team=self.cast.teams[team_code],
            at=opened,
            description="演示工单 demo case",
            idempotency_key=f"demo-{self.number}",
        )
        Work(self, case, agent, contact, end).through()


class Work:
    """One case's life after intake, each step at an instant drawn in working time."""

    def __init__(
        self, generator: Generator, case: Case, agent: User, contact: User, end: datetime
    ) -> None:
        self.g, self.case, self.agent, self.contact, self.end = generator, case, agent, contact, end
        self.rng = generator.rng

    def through(self) -> None:
        clocks = clocks_of(self.case)
        replying = "complaint_reply" if "complaint_reply" in clocks else "first_response"
        response = self.after(replying, clocks, typical=0.35)
        if response is None:
            return
        desk.reply(actor=self.agent, case=self.case, body="您好，已收到，正在处理。", at=response)
        classified = self.after("classification", clocks, typical=0.4, floor=response)
        if classified is None:
            return
        desk.classify(
            actor=self.agent,
            case=self.case,
            case_type=self.case.case_type,
            priority=self.case.priority,
            at=classified,
        )
        if self.case.case_type == "fault" and self.rng.random() < 0.3:
            self.interim_plan(classified)
        resolved = self.after("resolution", clocks_of(self.case), typical=0.5, floor=classified)
        if resolved is None:
            return
        desk.resolve(actor=self.agent, case=self.case, at=resolved)
        self.close(resolved)

    def after(
        self, metric: str, clocks: dict, typical: float, floor: datetime | None = None
    ) -> datetime | None:
        """When the step happens: mostly well inside the target, a few percent late.

        Returns None when the instant falls after the end of the demo period, leaving
        the case open at that step, as the newest cases of a real desk are.
        """
        clock = clocks.get(metric)
        start = floor or self.case.created_at
        if clock is None:
            instant = start + timedelta(minutes=self.rng.uniform(5, 90))
        else:
            calendar: WorkCalendar = clock.calendar_version.work_calendar()
            target = clock.target.total_seconds()
            share = (
                self.rng.uniform(1.05, 2.5)
                if self.g.late(metric)
                else self.rng.uniform(0.05, typical * 1.6)
            )
            used = calendar.between(clock.started_at, start) if start > clock.started_at else 0
            instant = calendar.add(clock.started_at, max(target * share, used + MINUTE))
        instant = max(instant, start + timedelta(minutes=1))
        return instant if instant < self.end else None

    def interim_plan(self, after: datetime) -> None:
        desk.mark_complex(actor=self.agent, case=self.case, at=after)
        plan = self.after("interim_plan", clocks_of(self.case), typical=0.4, floor=after)
        if plan is not None:
            desk.send_interim_plan(
                actor=self.agent,
                case=self.case,
                at=plan,
                body="阶段一：临时切换备用线路；阶段二：更换故障设备。",
            )

    def close(self, resolved: datetime) -> None:
        if self.rng.random() < 0.03:
            reopened = resolved + timedelta(hours=self.rng.uniform(2, 30))
            if reopened < self.end:
                resolved_again = self.second_attempt(reopened)
                if resolved_again is None:
                    return
                resolved = resolved_again
        closing = resolved + timedelta(hours=self.rng.uniform(4, 60))
        if closing >= self.end:
            return
        self.analyse_and_close(closing)

    def second_attempt(self, reopened: datetime) -> datetime | None:
        """The customer reopens; the agent resolves again (None: still open at the end)."""
        desk.reopen(actor=self.contact, case=self.case, reason="问题复现", at=reopened)
        again = self.after("resolution", clocks_of(self.case), typical=0.2, floor=reopened)
        if again is not None:
            desk.resolve(actor=self.agent, case=self.case, at=again)
        return again

    def analyse_and_close(self, closing: datetime) -> None:
        for breach in Breach.objects.standing().filter(
            clock__subject_id=self.case.pk, clock__subject_type__model="case", rca__isnull=True
        ):
            code = self.rng.choice(list(CAUSES))
            description, action = CAUSES[code]
            sla.write_root_cause(
                actor=self.agent,
                breach=breach,
                category=self.g.categories[code],
                description=description,
                corrective_action=action,
            )
        desk.close(
            actor=self.contact if self.rng.random() < 0.6 else self.agent,
            case=self.case,
            at=closing,
        )
