"""Which policy and which target apply to a case: first match wins. Pure, no Django.

Works on the frozen definitions of policy versions, so a case is matched against
exactly what was published, and the rule can be tested without a database.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

CONDITION_KEYS = ("customers", "contracts", "services", "channels", "case_types", "priorities")


@dataclass(frozen=True)
class CaseFacts:
    """What a policy's conditions look at."""

    customer_id: int | None
    contract_id: int | None
    service_id: int | None
    channel: str
    case_type: str
    priority: str

    def value_for(self, condition: str) -> object:
        return {
            "customers": self.customer_id,
            "contracts": self.contract_id,
            "services": self.service_id,
            "channels": self.channel,
            "case_types": self.case_type,
            "priorities": self.priority,
        }[condition]


def matches(conditions: Mapping[str, Sequence[Any]], facts: CaseFacts) -> bool:
    """Every non-empty condition must hold; an empty one holds for anything."""
    return all(
        not conditions.get(key) or facts.value_for(key) in conditions[key] for key in CONDITION_KEYS
    )


def choose(definitions: Iterable[Mapping[str, Any]], facts: CaseFacts) -> Mapping[str, Any] | None:
    """The first definition (by position; the default last) whose conditions hold."""
    ordered = sorted(
        definitions, key=lambda d: (bool(d.get("is_default")), d.get("position", 0), d["policy"])
    )
    for definition in ordered:
        if definition.get("is_default") or matches(definition.get("conditions", {}), facts):
            return definition
    return None


def target_for(
    definition: Mapping[str, Any], metric: str, priority: str
) -> Mapping[str, Any] | None:
    """The metric's target for `priority`, else its any-priority target, else none."""
    candidates: list[Mapping[str, Any]] = [
        t for t in definition.get("targets", ()) if t["metric"] == metric
    ]
    exact = [t for t in candidates if t.get("priority") == priority]
    fallback = [t for t in candidates if not t.get("priority")]
    chosen = exact or fallback
    return chosen[0] if chosen else None
