"""The standard guarantee (标准服务保证) of the requirement documents, as data.

`assura demo` loads it, and so can anyone with `assura load_standard_guarantee`; after
that every number is an ordinary row a quality manager edits in the policy editor.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.utils.translation import gettext_noop

from assura.calendars import services as calendar_services
from assura.calendars.models import Calendar
from assura.commitments import services
from assura.commitments.models import CaseType, Policy, Priority
from assura.commitments.services import EscalationInput, PolicyInput, TargetInput
from assura.core.models import User

MINUTE, HOUR = timedelta(minutes=1), timedelta(hours=1)

# Names of shipped rows, so the catalogues translate them where they are shown.
SHIPPED_NAMES = (
    gettext_noop("First response"),
    gettext_noop("Classification"),
    gettext_noop("Interim plan"),
    gettext_noop("Resolution"),
    gettext_noop("Complaint reply"),
    gettext_noop("Staffing"),
    gettext_noop("Process"),
    gettext_noop("Technical"),
    gettext_noop("Third party"),
    gettext_noop("Customer-caused"),
    gettext_noop("Other"),
)

#: −25 %: warn the assignee; due: team lead + expedite; +50 %: managers; +100 %: director.
ESCALATION_MATRIX = (
    EscalationInput(1, Decimal("-0.25"), ("assignee", "first_contact_owner")),
    EscalationInput(
        2, Decimal("0"), ("assignee", "first_contact_owner", "team_lead"), expedite=True
    ),
    EscalationInput(3, Decimal("0.5"), ("team_lead", "manager")),
    EscalationInput(4, Decimal("1"), ("manager", "director"), raise_priority_to=Priority.URGENT),
)

#: 5 % of the monthly fee per breached response promise (服务响应超时补偿).
RESPONSE_COMPENSATION_PERCENT = Decimal(5)


def calendars() -> tuple[Calendar, Calendar]:
    """China's office hours and a 24×7 calendar, created when missing."""
    office = Calendar.objects.filter(code="cn-standard").first() or (
        calendar_services.create_calendar(
            actor=None,
            code="cn-standard",
            name="中国标准工作日 9-18",
            week=calendar_services.OFFICE_HOURS,
            follows_official_china=True,
        )
    )
    always = Calendar.objects.filter(code="24x7").first() or calendar_services.create_calendar(
        actor=None, code="24x7", name="全天候 24×7", week=calendar_services.ROUND_THE_CLOCK
    )
    return office, always


def policies(office: Calendar, always: Calendar) -> list[PolicyInput]:
    """15 min / 2 h / 24 h / 72 h; feedback 15 min / 2 h / 24 h; complaint reply 24 h."""
    urgent = PolicyInput(
        code="urgent-fault",
        name="紧急故障 Urgent faults",
        position=10,
        conditions={"case_types": [CaseType.FAULT], "priorities": [Priority.URGENT]},
        targets=[
            TargetInput("first_response", 15 * MINUTE, always),
            TargetInput("resolution", 2 * HOUR, always),
            TargetInput("interim_plan", 72 * HOUR, always),
        ],
        escalations=ESCALATION_MATRIX,
    )
    feedback = PolicyInput(
        code="feedback",
        name="意见反馈 Feedback and suggestions",
        position=20,
        conditions={"case_types": [CaseType.SUGGESTION]},
        targets=[
            TargetInput("first_response", 15 * MINUTE, office),
            TargetInput("classification", 2 * HOUR, office),
            TargetInput("resolution", 24 * HOUR, office),
        ],
        escalations=ESCALATION_MATRIX,
    )
    complaints = PolicyInput(
        code="complaint",
        name="客户投诉 Complaints",
        position=30,
        conditions={"case_types": [CaseType.COMPLAINT]},
        targets=[
            TargetInput("complaint_reply", 24 * HOUR, office),
            TargetInput("resolution", 72 * HOUR, office),
        ],
        escalations=ESCALATION_MATRIX,
    )
    standard = PolicyInput(
        code="standard",
        name="标准服务保证 Standard guarantee",
        is_default=True,
        targets=[
            TargetInput("first_response", 15 * MINUTE, office),
            TargetInput("classification", 2 * HOUR, office),
            TargetInput("resolution", 2 * HOUR, office, priority=Priority.URGENT),
            TargetInput("resolution", 24 * HOUR, office),
            TargetInput("interim_plan", 72 * HOUR, office),
        ],
        escalations=ESCALATION_MATRIX,
    )
    return [urgent, feedback, complaints, standard]


def load(actor: User | None = None) -> list[Policy]:
    """Create the standard policies that do not exist yet (by code); never overwrite."""
    office, always = calendars()
    created = []
    for spec in policies(office, always):
        if not Policy.objects.filter(code=spec.code).exists():
            created.append(
                services.save_policy(
                    actor=actor, spec=spec, reason=gettext_noop("standard guarantee")
                )
            )
    return created
