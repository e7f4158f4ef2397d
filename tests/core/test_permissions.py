"""The permission matrix in docs/permissions.md is the one the code applies."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from assura.core.models import Role
from assura.core.permissions import CHANGING_ACTIONS, MATRIX, Action, can, role_may

DOCS = Path(__file__).resolve().parents[2] / "docs" / "permissions.md"


def documented_matrix() -> dict[tuple[str, str], bool]:
    lines = DOCS.read_text(encoding="utf-8").splitlines()
    header_at = next(i for i, line in enumerate(lines) if line.startswith("| action |"))
    roles = [cell.strip() for cell in lines[header_at].strip("|").split("|")][1:]
    cells: dict[tuple[str, str], bool] = {}
    for line in lines[header_at + 2 :]:
        if not line.startswith("|"):
            break
        action, *marks = [cell.strip() for cell in line.strip("|").split("|")]
        for role, mark in zip(roles, marks, strict=True):
            assert mark in {"✓", "—"}, f"{action}/{role}: unexpected mark {mark!r}"
            cells[(action, role)] = mark == "✓"
    return cells


def test_the_documented_matrix_covers_every_action_and_role() -> None:
    cells = documented_matrix()
    assert {action for action, _ in cells} == {action.value for action in Action}
    assert {role for _, role in cells} == {role.value for role in Role}


@pytest.mark.parametrize("action", list(Action))
@pytest.mark.parametrize("role", list(Role))
def test_each_cell_of_the_matrix_is_what_the_code_applies(action: Action, role: Role) -> None:
    assert role_may(role, action) == documented_matrix()[(action.value, role.value)]


def test_an_auditor_holds_no_changing_action() -> None:
    assert not any(Role.AUDITOR in MATRIX[action] for action in CHANGING_ACTIONS)


def person(role: Role, organisation_id: int = 1, team_id: int | None = 10) -> SimpleNamespace:
    return SimpleNamespace(
        is_authenticated=True,
        is_active=True,
        role=role,
        organisation_id=organisation_id,
        team_id=team_id,
        is_customer=role == Role.CUSTOMER,
    )


def record(organisation_id: int, team_id: int | None) -> SimpleNamespace:
    return SimpleNamespace(scope_organisation_id=organisation_id, scope_team_id=team_id)


def test_a_customer_cannot_act_on_another_organisations_record() -> None:
    contact = person(Role.CUSTOMER, organisation_id=7, team_id=None)
    assert can(contact, Action.VIEW_CASES, record(7, 10))
    assert not can(contact, Action.VIEW_CASES, record(8, 10))


def test_an_agent_changes_only_what_its_team_owns_but_reads_the_rest() -> None:
    agent = person(Role.AGENT, team_id=10)
    assert can(agent, Action.WORK_CASES, record(1, 10))
    assert not can(agent, Action.WORK_CASES, record(1, 11))
    assert can(agent, Action.VIEW_CASES, record(1, 11))


def test_a_manager_works_any_teams_record() -> None:
    assert can(person(Role.MANAGER, team_id=None), Action.WORK_CASES, record(1, 11))


def test_inactive_or_anonymous_people_may_do_nothing() -> None:
    inactive = person(Role.ADMIN)
    inactive.is_active = False
    anonymous = SimpleNamespace(is_authenticated=False, is_active=True, role="")
    assert not can(inactive, Action.VIEW_HOME)
    assert not can(anonymous, Action.VIEW_HOME)
