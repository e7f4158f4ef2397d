"""Who may do what: the permission matrix and the object rules, in one place.

Web views and the API both ask `can()` and filter with the models' `visible_to()`, so a
customer's scope is applied once and never re-implemented per view. The matrix is
mirrored in docs/permissions.md, and a test checks the two agree cell by cell.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol

from assura.core.models import Role, User

R = Role


class Action(StrEnum):
    VIEW_HOME = "view_home"
    VIEW_DASHBOARD = "view_dashboard"
    VIEW_ORGANISATIONS = "view_organisations"
    MANAGE_ORGANISATIONS = "manage_organisations"
    VIEW_PEOPLE = "view_people"
    MANAGE_PEOPLE = "manage_people"
    VIEW_TEAMS = "view_teams"
    MANAGE_TEAMS = "manage_teams"
    VIEW_AUDIT_LOG = "view_audit_log"
    VIEW_CONFIGURATION = "view_configuration"
    MANAGE_CONFIGURATION = "manage_configuration"
    REAPPLY_POLICY = "reapply_policy"
    VIEW_CASES = "view_cases"
    CREATE_CASES = "create_cases"
    WORK_CASES = "work_cases"
    WORK_ANY_CASE = "work_any_case"
    VIEW_CLOCKS = "view_clocks"
    VIEW_BREACHES = "view_breaches"
    VIEW_EXPEDITE = "view_expedite"
    VIEW_COMPENSATION = "view_compensation"
    APPROVE_COMPENSATION = "approve_compensation"
    USE_API = "use_api"
    VIEW_OUTBOX = "view_outbox"
    RETRY_NOTIFICATIONS = "retry_notifications"
    VIEW_CHANNELS = "view_channels"
    MANAGE_CHANNELS = "manage_channels"
    VIEW_INTAKE = "view_intake"
    MANAGE_INTAKE = "manage_intake"
    VIEW_SURVEYS = "view_surveys"
    MANAGE_SURVEYS = "manage_surveys"
    ANSWER_SURVEYS = "answer_surveys"
    VIEW_FOLLOW_UPS = "view_follow_ups"
    WORK_FOLLOW_UPS = "work_follow_ups"
    MANAGE_FOLLOW_UPS = "manage_follow_ups"
    VIEW_INTEGRATIONS = "view_integrations"
    MANAGE_INTEGRATIONS = "manage_integrations"
    IMPORT_CASES = "import_cases"


STAFF = frozenset(Role.staff_roles())
EVERYONE = frozenset(Role)
CONFIGURERS = frozenset({R.ADMIN, R.QUALITY_MANAGER})
WORKERS = frozenset({R.ADMIN, R.MANAGER, R.TEAM_LEAD, R.AGENT, R.QUALITY_MANAGER})

MATRIX: dict[Action, frozenset[Role]] = {
    Action.VIEW_HOME: EVERYONE,
    Action.VIEW_DASHBOARD: frozenset(
        {R.ADMIN, R.QUALITY_MANAGER, R.MANAGER, R.TEAM_LEAD, R.AUDITOR}
    ),
    Action.VIEW_ORGANISATIONS: EVERYONE,
    Action.MANAGE_ORGANISATIONS: CONFIGURERS,
    Action.VIEW_PEOPLE: EVERYONE,
    Action.MANAGE_PEOPLE: frozenset({R.ADMIN}),
    Action.VIEW_TEAMS: STAFF,
    Action.MANAGE_TEAMS: frozenset({R.ADMIN}),
    Action.VIEW_AUDIT_LOG: frozenset({R.ADMIN, R.AUDITOR}),
    Action.VIEW_CONFIGURATION: STAFF,
    Action.MANAGE_CONFIGURATION: CONFIGURERS,
    Action.REAPPLY_POLICY: frozenset({R.ADMIN, R.QUALITY_MANAGER, R.MANAGER}),
    Action.VIEW_CASES: EVERYONE,
    Action.CREATE_CASES: WORKERS | {R.CUSTOMER},
    Action.WORK_CASES: WORKERS,
    Action.WORK_ANY_CASE: frozenset({R.ADMIN, R.MANAGER, R.QUALITY_MANAGER}),
    Action.VIEW_CLOCKS: EVERYONE,
    Action.VIEW_BREACHES: STAFF,
    Action.VIEW_EXPEDITE: frozenset(
        {R.ADMIN, R.QUALITY_MANAGER, R.MANAGER, R.TEAM_LEAD, R.AUDITOR}
    ),
    Action.VIEW_COMPENSATION: frozenset({R.ADMIN, R.QUALITY_MANAGER, R.MANAGER, R.AUDITOR}),
    Action.APPROVE_COMPENSATION: frozenset({R.ADMIN, R.QUALITY_MANAGER, R.MANAGER}),
    Action.USE_API: EVERYONE,
    Action.VIEW_OUTBOX: frozenset({R.ADMIN, R.AUDITOR}),
    Action.RETRY_NOTIFICATIONS: frozenset({R.ADMIN}),
    Action.VIEW_CHANNELS: CONFIGURERS | {R.AUDITOR},
    Action.MANAGE_CHANNELS: CONFIGURERS,
    Action.VIEW_INTAKE: CONFIGURERS | {R.AUDITOR},
    Action.MANAGE_INTAKE: CONFIGURERS,
    Action.VIEW_SURVEYS: STAFF,
    Action.MANAGE_SURVEYS: CONFIGURERS,
    Action.ANSWER_SURVEYS: frozenset({R.CUSTOMER}),
    Action.VIEW_FOLLOW_UPS: STAFF,
    Action.WORK_FOLLOW_UPS: WORKERS,
    Action.MANAGE_FOLLOW_UPS: frozenset({R.ADMIN, R.QUALITY_MANAGER, R.MANAGER}),
    Action.VIEW_INTEGRATIONS: CONFIGURERS | {R.AUDITOR},
    Action.MANAGE_INTEGRATIONS: CONFIGURERS,
    Action.IMPORT_CASES: CONFIGURERS,
}

# Actions that change something; an auditor holds none of them (read-only everywhere).
CHANGING_ACTIONS = frozenset(
    {
        Action.MANAGE_ORGANISATIONS,
        Action.MANAGE_PEOPLE,
        Action.MANAGE_TEAMS,
        Action.MANAGE_CONFIGURATION,
        Action.REAPPLY_POLICY,
        Action.CREATE_CASES,
        Action.WORK_CASES,
        Action.WORK_ANY_CASE,
        Action.APPROVE_COMPENSATION,
        Action.MANAGE_INTAKE,
        Action.MANAGE_SURVEYS,
        Action.ANSWER_SURVEYS,
        Action.WORK_FOLLOW_UPS,
        Action.MANAGE_FOLLOW_UPS,
        Action.MANAGE_INTEGRATIONS,
        Action.IMPORT_CASES,
    }
)


class Scoped(Protocol):
    """What an object tells the rules: whose it is and which team owns it."""

    @property
    def scope_organisation_id(self) -> int | None: ...

    @property
    def scope_team_id(self) -> int | None: ...


def role_may(role: str, action: Action) -> bool:
    """The matrix cell for one role and one action."""
    return role in MATRIX[action]


def can(user: User, action: Action, obj: Scoped | None = None) -> bool:
    """May `user` do `action` (on `obj`, when given)?

    The matrix answers for the role; the object rules narrow it: a customer contact
    only touches its own organisation's records, and an agent or team lead changes
    only what its team owns unless the role may work any case.
    """
    if not user.is_authenticated or not user.is_active or not user.role:
        return False
    if not role_may(user.role, action):
        return False
    if obj is None:
        return True
    if user.is_customer and obj.scope_organisation_id != user.organisation_id:
        return False
    return not (
        action in CHANGING_ACTIONS
        and user.role in (R.AGENT, R.TEAM_LEAD)
        and obj.scope_team_id is not None
        and obj.scope_team_id != user.team_id
    )
