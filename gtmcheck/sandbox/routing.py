"""The sandbox CRM's own lead routing workflow, independent of any checklist (so a checklist can disagree).

Scenario section::

    routing:
      delay_ms: 1500                 # the owner appears this long after creation (applied on the next request)
      pools: {na: [carla@acme.example, dev@acme.example]}
      rules:                         # ordered; first match wins
        - id: existing-customer
          assign: {owner_of: account}                     # the owner of the company whose domain is the email's
        - id: enterprise-emea
          when: {country: {in: [DE, FR, GB]}, employees: {gte: 1000}}
          assign: {owner: anna@acme.example}
        - id: na
          when: {country: {in: [US, CA]}}
          assign: {round_robin: na}                       # a pool name, or a list of owner emails
      default: {queue: inbound-queue@acme.example}        # what matches no rule

Conditions on contact properties: a plain value (equals), or ``equals``, ``in``, ``not_in``, ``gt``, ``gte``,
``lt``, ``lte``, ``exists``. The pseudo-property ``email_domain`` is the part of ``email`` after ``@``. All
conditions of a rule must hold. Comparisons are numeric when both sides are numbers, else case-insensitive text.
Round robin goes through its pool in order, one counter per rule, and does not skip deactivated owners (a
classic real-world bug a checklist should catch). A contact created with an owner is never routed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any


def _num(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _compare(actual: str, expected: Any) -> int:
    a, b = _num(actual), _num(expected)
    if a is not None and b is not None:
        return (a > b) - (a < b)
    sa, sb = str(actual).lower(), str(expected).lower()
    return (sa > sb) - (sa < sb)


def condition_holds(value: str | None, condition: Any) -> bool:
    """One ``when:`` entry against a property value (``None`` when the property is empty)."""
    if not isinstance(condition, dict):
        return value is not None and _compare(value, condition) == 0
    for op, expected in condition.items():
        if op == "exists":
            if (value is not None) != bool(expected):
                return False
            continue
        if op == "not_in":
            if value is not None and any(_compare(value, e) == 0 for e in expected):
                return False
            continue
        if value is None:
            return False
        if op == "equals" and _compare(value, expected) != 0:
            return False
        if op == "in" and not any(_compare(value, e) == 0 for e in expected):
            return False
        c = _compare(value, expected) if op in ("gt", "gte", "lt", "lte") else 0
        if (op == "gt" and c <= 0) or (op == "gte" and c < 0) or (op == "lt" and c >= 0) or (op == "lte" and c > 0):
            return False
    return True


class Router:
    """Decides the owner of a new contact: ``route(properties)`` -> ``(rule id, owner id)`` or ``None``."""

    def __init__(self, config: Mapping[str, Any], owners_by_email: Mapping[str, Mapping[str, Any]],
                 company_owner: Callable[[str], str | None]) -> None:
        self.config = config
        self.owners = owners_by_email
        self.company_owner = company_owner
        self._turns: dict[str, int] = {}

    def _id(self, email: str) -> str:
        return str(self.owners[email.lower()]["id"])

    def _assign(self, key: str, assign: Mapping[str, Any], props: Mapping[str, str]) -> str | None:
        if "owner" in assign:
            return self._id(assign["owner"])
        if "queue" in assign:
            return self._id(assign["queue"])
        if "owner_of" in assign:
            domain = _domain(props.get("email"))
            return self.company_owner(domain) if domain else None
        pool = assign.get("round_robin")
        members = (self.config.get("pools") or {}).get(pool, []) if isinstance(pool, str) else list(pool or [])
        if not members:
            return None
        turn = self._turns.get(key, 0)
        self._turns[key] = turn + 1
        return self._id(members[turn % len(members)])

    def route(self, props: Mapping[str, str]) -> tuple[str, str] | None:
        """The first rule that matches and yields an owner, else the default; ``None`` when neither."""
        if not self.config:
            return None
        values = {k: v for k, v in props.items() if v not in (None, "")}
        domain = _domain(values.get("email"))
        if domain:
            values["email_domain"] = domain
        for rule in self.config.get("rules") or []:
            when = rule.get("when") or {}
            if all(condition_holds(values.get(name), cond) for name, cond in when.items()):
                owner = self._assign(str(rule["id"]), rule["assign"], values)
                if owner:
                    return str(rule["id"]), owner
        default = self.config.get("default")
        if default:
            owner = self._assign("default", default, values)
            if owner:
                return "default", owner
        return None


def _domain(email: str | None) -> str | None:
    if not email or "@" not in email:
        return None
    return email.rsplit("@", 1)[1].strip().lower()
