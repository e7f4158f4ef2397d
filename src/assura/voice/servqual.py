"""The 22-item SERVQUAL instrument over its five dimensions, in Chinese and English.

Each item is one statement rated twice on a 1-7 scale (1 = strongly disagree,
7 = strongly agree): what the respondent expects of an excellent service provider
(expectation) and how it finds ours (perception). The gap, perception − expectation,
is the item's quality score; negative means the service falls short of what is
expected. The statements are worded for an IT and business service provider; the
structure (4 + 5 + 4 + 4 + 5 items) is the standard one.
"""

from __future__ import annotations

from dataclasses import dataclass

TANGIBLES = "tangibles"
RELIABILITY = "reliability"
RESPONSIVENESS = "responsiveness"
ASSURANCE = "assurance"
EMPATHY = "empathy"

DIMENSIONS = (TANGIBLES, RELIABILITY, RESPONSIVENESS, ASSURANCE, EMPATHY)

#: Dimension names in both languages (stored with each question, not in the catalogues).
DIMENSION_NAMES = {
    TANGIBLES: ("有形性", "Tangibles"),
    RELIABILITY: ("可靠性", "Reliability"),
    RESPONSIVENESS: ("响应性", "Responsiveness"),
    ASSURANCE: ("保证性", "Assurance"),
    EMPATHY: ("移情性", "Empathy"),
}


@dataclass(frozen=True)
class Item:
    code: str
    dimension: str
    zh: str
    en: str


ITEMS = (
    Item(
        "T1",
        TANGIBLES,
        "使用现代、可靠的设备与工具。",
        "Works with modern, dependable equipment and tools.",
    ),
    Item(
        "T2",
        TANGIBLES,
        "服务门户、服务台和办公场所整洁、易于使用。",
        "Its portal, service desk and premises are tidy and easy to use.",
    ),
    Item(
        "T3",
        TANGIBLES,
        "工作人员着装得体、形象专业。",
        "Its staff look neat and professional.",
    ),
    Item(
        "T4",
        TANGIBLES,
        "服务报告、说明文档等材料清晰易懂。",
        "Its reports, guides and other materials are clear and easy to follow.",
    ),
    Item(
        "RL1",
        RELIABILITY,
        "承诺在某个时间完成的事，就按时完成。",
        "When it promises to do something by a certain time, it does so.",
    ),
    Item(
        "RL2",
        RELIABILITY,
        "客户遇到问题时，真诚地帮助解决。",
        "When a customer has a problem, it shows a sincere interest in solving it.",
    ),
    Item(
        "RL3",
        RELIABILITY,
        "第一次就把服务做对。",
        "It gets the service right the first time.",
    ),
    Item(
        "RL4",
        RELIABILITY,
        "在承诺的时间内提供服务。",
        "It delivers its services at the time it has promised.",
    ),
    Item(
        "RL5",
        RELIABILITY,
        "工单、账单等记录准确无误。",
        "It keeps its records, such as cases and invoices, free of errors.",
    ),
    Item(
        "RS1",
        RESPONSIVENESS,
        "明确告知客户服务将在何时完成。",
        "It tells customers exactly when a service will be performed.",
    ),
    Item(
        "RS2",
        RESPONSIVENESS,
        "工作人员提供迅速的服务。",
        "Its staff serve customers promptly.",
    ),
    Item(
        "RS3",
        RESPONSIVENESS,
        "工作人员总是乐于帮助客户。",
        "Its staff are always willing to help customers.",
    ),
    Item(
        "RS4",
        RESPONSIVENESS,
        "工作人员从不因太忙而无法回应客户的请求。",
        "Its staff are never too busy to respond to a customer's request.",
    ),
    Item(
        "A1",
        ASSURANCE,
        "工作人员的表现让客户感到信任。",
        "The way its staff behave gives customers confidence.",
    ),
    Item(
        "A2",
        ASSURANCE,
        "客户在与其往来中感到安全、放心。",
        "Customers feel safe in their dealings with it.",
    ),
    Item(
        "A3",
        ASSURANCE,
        "工作人员始终礼貌待人。",
        "Its staff are consistently courteous.",
    ),
    Item(
        "A4",
        ASSURANCE,
        "工作人员具备回答客户问题的专业知识。",
        "Its staff have the knowledge to answer customers' questions.",
    ),
    Item(
        "E1",
        EMPATHY,
        "给予每位客户个别的关注。",
        "It gives each customer individual attention.",
    ),
    Item(
        "E2",
        EMPATHY,
        "服务时间方便所有客户。",
        "Its service hours suit all of its customers.",
    ),
    Item(
        "E3",
        EMPATHY,
        "有专人关心、跟进客户的事务。",
        "It has people who give customers personal attention.",
    ),
    Item(
        "E4",
        EMPATHY,
        "把客户的利益放在心上。",
        "It has customers' best interests at heart.",
    ),
    Item(
        "E5",
        EMPATHY,
        "了解客户的具体需求。",
        "Its staff understand the specific needs of their customers.",
    ),
)


def items_by_dimension() -> dict[str, tuple[str, ...]]:
    """Dimension → its item codes, in the instrument's order."""
    return {d: tuple(item.code for item in ITEMS if item.dimension == d) for d in DIMENSIONS}
