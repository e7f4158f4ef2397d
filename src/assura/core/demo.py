"""Demo people and organisations; later apps add their own `demo.py` with `load()`.

Idempotent: records are found by their stable code or login before being created, so
running `assura demo` twice duplicates nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from assura.core import services
from assura.core.models import Organisation, OrganisationKind, Role, Team, User

DEMO_PASSWORD = "assura-demo"  # noqa: S105 - printed to the person running the demo


@dataclass(frozen=True)
class DemoPerson:
    username: str
    role: Role
    display_name: str
    team: str = ""
    organisation: str = "provider"
    language: str = ""


TEAMS = (
    ("frontline", "一线支持 Frontline"),
    ("technical", "技术支持 Technical"),
    ("care", "客户关怀 Customer care"),
)

CUSTOMERS = (
    ("ECM", "华东制造有限公司"),
    ("MYL", "明远物流集团"),
)

PEOPLE = (
    DemoPerson("admin", Role.ADMIN, "系统管理员 Admin"),
    DemoPerson("quality", Role.QUALITY_MANAGER, "质量经理 周敏"),
    DemoPerson("manager", Role.MANAGER, "服务经理 陈刚"),
    DemoPerson("auditor", Role.AUDITOR, "监督员 林静", language="en"),
    DemoPerson("lead-frontline", Role.TEAM_LEAD, "组长 王芳", "frontline"),
    DemoPerson("lead-technical", Role.TEAM_LEAD, "组长 赵磊", "technical"),
    DemoPerson("lead-care", Role.TEAM_LEAD, "组长 孙丽", "care"),
    DemoPerson("agent1", Role.AGENT, "客服 李娜", "frontline"),
    DemoPerson("agent2", Role.AGENT, "客服 张伟", "frontline"),
    DemoPerson("agent3", Role.AGENT, "客服 刘洋", "frontline"),
    DemoPerson("agent4", Role.AGENT, "工程师 杨帆", "technical"),
    DemoPerson("agent5", Role.AGENT, "工程师 黄涛", "technical"),
    DemoPerson("agent6", Role.AGENT, "Engineer Emma Clark", "technical", language="en"),
    DemoPerson("agent7", Role.AGENT, "回访专员 吴静", "care"),
    DemoPerson("agent8", Role.AGENT, "回访专员 郑浩", "care"),
    DemoPerson("ecm-zhang", Role.CUSTOMER, "张经理 (华东制造)", organisation="ECM"),
    DemoPerson("ecm-li", Role.CUSTOMER, "李工 (华东制造)", organisation="ECM"),
    DemoPerson("myl-chen", Role.CUSTOMER, "陈主管 (明远物流)", organisation="MYL"),
    DemoPerson(
        "myl-olivia", Role.CUSTOMER, "Olivia Grant (Mingyuan)", organisation="MYL", language="en"
    ),
)


def load() -> list[str]:
    """Create what is missing; return the lines to print (the logins)."""
    provider = services.provider_organisation()
    if provider.name == "Provider":
        provider.name = "安信服务有限公司 Assura Services"
        provider.save(update_fields=["name"])
    organisations = {"provider": provider}
    for code, name in CUSTOMERS:
        organisations[code] = Organisation.objects.filter(code=code).first() or (
            services.create_organisation(
                actor=None, kind=OrganisationKind.CUSTOMER, code=code, name=name
            )
        )
    teams = {
        code: Team.objects.filter(code=code).first()
        or services.create_team(actor=None, code=code, name=name)
        for code, name in TEAMS
    }
    for person in PEOPLE:
        _person(person, organisations, teams)
    for code, team in teams.items():
        if team.lead is None:
            services.set_team_lead(
                actor=None, team=team, lead=User.objects.get(username=f"lead-{code}")
            )
    return [f"  {p.username:<16} {p.role.label!s:<18} password: {DEMO_PASSWORD}" for p in PEOPLE]


def _person(
    person: DemoPerson, organisations: dict[str, Organisation], teams: dict[str, Team]
) -> User:
    existing = User.objects.filter(username=person.username).first()
    if existing is not None:
        return existing
    return services.create_person(
        actor=None,
        username=person.username,
        role=person.role,
        organisation=organisations[person.organisation],
        password=DEMO_PASSWORD,
        display_name=person.display_name,
        email=f"{person.username}@demo.assura.invalid",
        team=teams[person.team] if person.team else None,
        language=person.language,
    )
