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
    VIEW_ORGANISATIONS = "view_organisations"
    MANAGE_ORGANISATIONS = "manage_organisations"
    VIEW_PEOPLE = "view_people"
    MANAGE_PEOPLE = "manage_people"
    VIEW_TEAMS = "view_teams"
    MANAGE_TEAMS = "manage_teams"
    VIEW_AUDIT_LOG = "view_audit_log"
    VIEW_CONFIGURATION = "view_configuration"
    MANAGE_CONFIGURATION = "manage_configuration"
    VIEW_CASES = "view_cases"
    CREATE_CASES = "create_cases"
    WORK_CASES = "work_cases"
    WORK_ANY_CASE = "work_any_case"
    VIEW_CLOCKS = "view_clocks"
    USE_API = "use_api"


STAFF = frozenset(Role.staff_roles())
EVERYONE = frozenset(Role)
CONFIGURERS = frozenset({R.ADMIN, R.QUALITY_MANAGER})
WORKERS = frozenset({R.ADMIN, R.MANAGER, R.TEAM_LEAD, R.AGENT, R.QUALITY_MANAGER})

MATRIX: dict[Action, frozenset[Role]] = {
    Action.VIEW_HOME: EVERYONE,
    Action.VIEW_ORGANISATIONS: EVERYONE,
    Action.MANAGE_ORGANISATIONS: CONFIGURERS,
    Action.VIEW_PEOPLE: EVERYONE,
    Action.MANAGE_PEOPLE: frozenset({R.ADMIN}),
    Action.VIEW_TEAMS: STAFF,
    Action.MANAGE_TEAMS: frozenset({R.ADMIN}),
    Action.VIEW_AUDIT_LOG: frozenset({R.ADMIN, R.AUDITOR}),
    Action.VIEW_CONFIGURATION: STAFF,
    Action.MANAGE_CONFIGURATION: CONFIGURERS,
    Action.VIEW_CASES: EVERYONE,
    Action.CREATE_CASES: WORKERS | {R.CUSTOMER},
    Action.WORK_CASES: WORKERS,
    Action.WORK_ANY_CASE: frozenset({R.ADMIN, R.MANAGER, R.QUALITY_MANAGER}),
    Action.VIEW_CLOCKS: EVERYONE,
    Action.USE_API: EVERYONE,
}

# Actions that change something; an auditor holds none of them (read-only everywhere).
CHANGING_ACTIONS = frozenset(
    {
        Action.MANAGE_ORGANISATIONS,
        Action.MANAGE_PEOPLE,
        Action.MANAGE_TEAMS,
        Action.MANAGE_CONFIGURATION,
        Action.CREATE_CASES,
        Action.WORK_CASES,
        Action.WORK_ANY_CASE,
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
