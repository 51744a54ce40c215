"""The routing graph a check leaves in its evidence: the declared rules and where its leads really went.

JSON-safe, so it travels through pytest's report (and xdist) into ``report.json``; the report merges the graphs
of a checklist's checks into one and draws it (``gtmcheck/report/graph.py``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .logic import Atom

if TYPE_CHECKING:
    from .kind import RoutingSpec
    from .live import Outcome

GRAPH_KEY = "routing_graph"
SHOWN_VALUES = 8  # of an `in` list or a named list: a list of 5,000 domains is not a label
_OPS = {"equals": "=", "gt": ">", "gte": ">=", "lt": "<", "lte": "<=", "in": "in", "not_in": "not in",
        "matches": "matches", "in_list": "in list"}


def _value(value: Any) -> str:
    if isinstance(value, list | tuple | set | frozenset):
        shown = [str(v) for v in list(value)[:SHOWN_VALUES]]
        more = len(value) - len(shown)
        return "[" + ", ".join(shown) + (f", +{more} more" if more > 0 else "") + "]"
    return str(value)


def atom_text(atom: Atom) -> str:
    """``country in [DE, FR]``, ``employees >= 1000``, ``email_domain in list customer_domains``."""
    if atom.op == "exists":
        return f"{atom.prop} {'is set' if atom.value in (True, None) else 'is not set'}"
    value = atom.value if atom.value is not None else "(unknown list)"
    return f"{atom.prop} {_OPS.get(atom.op, atom.op)} {_value(value)}"


def assign_text(assign: Mapping[str, Any] | None) -> str:
    """``anna@acme.example`` / ``round robin: ben@…, anna@…`` / ``owner of the account``."""
    if not assign:
        return "(none)"
    key, value = next(iter(assign.items()))
    if key == "round_robin":
        return "round robin: " + ", ".join(str(v).lower() for v in value)
    if key == "owner_of":
        return f"owner of the {value}"
    return str(value).lower()


def assign_emails(assign: Mapping[str, Any] | None) -> list[str]:
    """The owner emails an assignment names (none for ``owner_of``)."""
    if not assign:
        return []
    for key in ("owner", "queue"):
        if key in assign:
            return [str(assign[key]).lower()]
    return [str(e).lower() for e in assign.get("round_robin") or ()]


def routing_graph(spec: RoutingSpec, outcomes: Sequence[Outcome]) -> dict[str, Any]:
    """The rules as declared (first match wins), the fallback, and one entry per lead sent."""
    rules = []
    for i, (rule, assign) in enumerate(zip(spec.rules, spec.assignments, strict=True)):
        location = spec.rule_locations[i] if i < len(spec.rule_locations) else None
        rules.append({"id": rule.id,
                      "conditions": " and ".join(atom_text(a) for a in rule.atoms) or "always",
                      "assign": assign_text(assign), "owners": assign_emails(assign),
                      "line": location.line if location is not None else 0})
    leads = []
    for o in outcomes:
        source = o.plan.expect.source
        if source == "existing_owner":
            continue  # not a branch of the graph
        leads.append({"lead": o.plan.label, "rule": source, "values": o.plan.describe(),
                      "expected": list(o.expected), "received": o.owner_email or o.owner_id, "ok": o.ok})
    fallback = spec.fallback_assign
    return {"rules": rules,
            "fallback": {"assign": assign_text(fallback), "owners": assign_emails(fallback)} if fallback else None,
            "leads": leads}
