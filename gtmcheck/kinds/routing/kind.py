"""The lead-routing kind: ordered rules, first match wins, with a fallback, edge cases, an SLA and alerts.

Shape of a ``kind: routing`` checklist (besides the shared header and ``manual:``)::

    object: contacts                      # contacts | leads
    lists:                                # named value lists for in_list
      customer_domains: [globex.example, initech.example]
      partner_domains: {file: partners.csv}   # relative to the checklist; one value per line, or a .csv's
                                              # first column (its first row is a header); '#' lines skipped
    rules:                                # ordered; first match wins
      - id: enterprise-emea
        when: {country: {in: [DE, FR, GB]}, employees: {gte: 1000}}
        assign: {owner: anna@acme.example}   # or {queue: ...} | {round_robin: [...]} | {owner_of: account}
      - id: existing-customer
        when: {email_domain: {in_list: customer_domains}}
        assign: {owner_of: account}
    fallback: {owner: inbound-queue@acme.example}    # or {queue: ...}
    edge_cases: {unmatched_territory: fallback, duplicate_contact: existing_owner,
                 existing_customer_domain: existing-customer}   # fallback | existing_owner | a rule id
    sla: {assigned_within: 5m}
    alerts: {default_queue: {max_count: 10, max_age: 1h}}
    volume: {leads: 50}
    audit: {window: 24h}                  # the read-only audit of real leads (default with alerts: 24h)
    fuzz: {leads: 30, seed: 1}            # opt-in: random leads, the rules predict, the CRM answers

Conditions (all of a rule's must hold; a condition on a property other than ``exists: false`` needs the
property present): ``equals``, ``in``, ``not_in``, ``gt``/``gte``/``lt``/``lte`` (numbers), ``matches``
(RE2, searched, case-sensitive), ``exists`` and ``in_list``. ``email_domain`` is the part of the email after
``@``.

Checks: ``ROUTING-RULES-EXPLICIT`` (offline: the rules lint without errors), then the live run
(``checks``): ``ROUTING-RULES-EXPLICIT[<rule>]`` per rule, ``ROUTING-EDGE-CASES[<case>]``,
``ROUTING-FALLBACK-OWNER``, ``ROUTING-VOLUME-TEST`` (with ``volume:``), ``ROUTING-ALERTS`` (with ``alerts:``) and
the opt-in ``ROUTING-RULES-EXPLICIT[fuzz]`` (with ``fuzz: {leads: 30, seed: 1}``). The live checks create tagged
synthetic leads, so they need ``writes: true``; every lead is archived at the end of the run. With ``alerts:`` or
``audit: {window: 24h}``, ``ROUTING-ALERTS[audit]`` (audit.py) holds the real leads of the window against the
rules, read-only: what a nightly run of production checks in their place.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from ...durations import SCHEMA as DURATION_SCHEMA
from ...durations import parse_duration
from ...errors import CheckFailed, Evidence, Location, SpecError
from ...findings import Finding, Severity, summarize
from ...lintconfig import settle
from ...saferegex import compile_pattern
from ...schema import EMAIL
from ...sidefiles import read_relative_file
from ..base import CRM, WRITES, Check, KindBase
from .audit import AUDIT_PARAM, INSTEAD, check_audit
from .leads import LEADS_SCHEMA, LeadOptions
from .logic import Atom, Rule
from .rules import lint_routing

if TYPE_CHECKING:
    from ...context import RunContext
    from ...spec import Checklist

CACHE_KEY = "routing"
MAX_LIST_BYTES = 16 * 1024 * 1024
EDGE_CASES = ("unmatched_territory", "duplicate_contact", "existing_customer_domain")
_SCALAR: dict[str, Any] = {"type": ["string", "number", "boolean"]}
_VALUES: dict[str, Any] = {"type": "array", "minItems": 1, "items": {"type": ["string", "number"]}}
_NUMBER: dict[str, Any] = {"type": "number"}
_OP = {"x-default": "not tested"}
_CONDITION: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "minProperties": 1,
    "x-hint": "use equals, in, not_in, gt, gte, lt, lte, matches, exists or in_list",
    "description": "The tests one property must pass; with several operators, all must hold. A test other "
    "than `exists: false` needs the property present on the lead.",
    "examples": [{"in": ["DE", "FR", "GB"]}],
    "properties": {
        "equals": {**_SCALAR, **_OP, "description": "The property equals this value.", "examples": ["DE"]},
        "in": {**_VALUES, **_OP, "description": "The property is one of these values.",
               "examples": [["DE", "FR", "GB"]]},
        "not_in": {**_VALUES, **_OP, "description": "The property is none of these values.",
                   "examples": [["US", "CA"]]},
        "gt": {**_NUMBER, **_OP, "description": "The property, as a number, is greater than this.",
               "examples": [999]},
        "gte": {**_NUMBER, **_OP, "description": "The property, as a number, is at least this.",
                "examples": [1000]},
        "lt": {**_NUMBER, **_OP, "description": "The property, as a number, is less than this.",
               "examples": [1000]},
        "lte": {**_NUMBER, **_OP, "description": "The property, as a number, is at most this.",
                "examples": [999]},
        "matches": {"type": "string", "minLength": 1, **_OP,
                    "description": "RE2 pattern, searched (not anchored), case-sensitive.",
                    "examples": ["(?i)^vp|chief"]},
        "exists": {"type": "boolean", **_OP,
                   "description": "`true`: the property has a value; `false`: it is empty or missing.",
                   "examples": [True]},
        "in_list": {"type": "string", "minLength": 1, **_OP,
                    "description": "The property is one of the values of this list under `lists:`.",
                    "examples": ["customer_domains"]},
    },
}
_ASSIGN: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "minProperties": 1,
    "maxProperties": 1,
    "x-hint": "write one of {owner: email}, {queue: email}, {round_robin: [emails]} or {owner_of: account}",
    "description": "Who gets the rule's leads: exactly one of `owner`, `queue`, `round_robin`, `owner_of`.",
    "examples": [{"owner": "anna@acme.example"}],
    "properties": {
        "owner": {**EMAIL, "x-default": "not this form", "description": "One CRM owner, by email.",
                  "examples": ["anna@acme.example"]},
        "queue": {**EMAIL, "x-default": "not this form", "description": "A queue owner, by email.",
                  "examples": ["inbound-queue@acme.example"]},
        "round_robin": {"type": "array", "minItems": 1, "items": EMAIL, "x-default": "not this form",
                        "description": "Owners that take turns, by email; every one must be active.",
                        "examples": [["carla@acme.example", "dev@acme.example"]]},
        "owner_of": {"enum": ["account"], "x-default": "not this form",
                     "description": "The owner of the company whose domain is the lead's email domain.",
                     "examples": ["account"]},
    },
}
SCHEMA: dict[str, Any] = {
    "object": {"enum": ["contacts", "leads"], "default": "contacts",
               "description": "The CRM object leads are created as.", "examples": ["contacts"]},
    "lists": {
        "type": "object",
        "x-key-name": "list",
        "x-key-example": "customer_domains",
        "x-default": "no lists",
        "description": "Named value lists for `in_list`: inline, or {file: path} relative to the checklist.",
        "examples": [{"customer_domains": ["globex.example", "initech.example"],
                      "partner_domains": {"file": "partners.csv"}}],
        "additionalProperties": {
            "oneOf": [
                {"type": "array", "items": {"type": ["string", "number"]}},
                {
                    "type": "object",
                    "required": ["file"],
                    "additionalProperties": False,
                    "properties": {"file": {
                        "type": "string", "minLength": 1,
                        "description": "A file relative to the checklist: one value per line, or a .csv's first "
                        "column (its first row is a header); blank and `#` lines are skipped.",
                        "examples": ["partners.csv"]}},
                },
            ],
            "x-hint": "write the values inline as [a, b] or point at a file with {file: domains.csv}",
            "description": "The list's values inline, or `{file: path}`.",
            "examples": [["globex.example", "initech.example"]],
        },
    },
    "rules": {
        "type": "array",
        "x-default": "no rules: no routing checks run",
        "description": "Ordered routing rules; the first match wins.",
        "items": {
            "type": "object",
            "required": ["id", "assign"],
            "additionalProperties": False,
            "properties": {
                "id": {
                    "type": "string",
                    "pattern": r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
                    "x-hint": "use letters, digits, '-', '_' or '.'",
                    "description": "The rule's name: unique, shown in check ids such as "
                    "`ROUTING-RULES-EXPLICIT[enterprise-emea]`, and usable as an edge case target.",
                    "examples": ["enterprise-emea"],
                },
                "when": {
                    "type": "object",
                    "x-key-name": "property",
                    "x-key-example": "country",
                    "x-default": "`{}`: every lead matches",
                    "description": "Property -> condition; all must hold. `{}` or no `when` matches every lead. "
                    "`email_domain` is the part of the email after `@`.",
                    "examples": [{"country": {"in": ["DE", "FR", "GB"]}, "employees": {"gte": 1000}}],
                    "additionalProperties": _CONDITION,
                },
                "assign": _ASSIGN,
                "description": {"type": "string", "x-default": "none",
                                "description": "A note for people; not used by the checks.",
                                "examples": ["Enterprise accounts in EMEA go to Anna"]},
            },
        },
    },
    "fallback": {
        "type": "object",
        "additionalProperties": False,
        "minProperties": 1,
        "maxProperties": 1,
        "x-default": "none: leads that match no rule stay unassigned (the lint flags it)",
        "description": "Who gets leads that match no rule.",
        "x-hint": "write {owner: email} or {queue: email}",
        "examples": [{"queue": "inbound-queue@acme.example"}],
        "properties": {
            "owner": {**EMAIL, "x-default": "not this form", "description": "An owner, by email.",
                      "examples": ["inbound@acme.example"]},
            "queue": {**EMAIL, "x-default": "not this form", "description": "A queue owner, by email.",
                      "examples": ["inbound-queue@acme.example"]},
        },
    },
    "edge_cases": {
        "type": "object",
        "additionalProperties": False,
        "x-default": "none declared: each edge case check fails until it is",
        "description": "Where each edge case goes: `fallback`, `existing_owner` or a rule id.",
        "properties": {
            "unmatched_territory": {
                "type": "string", "minLength": 1, "x-default": "not declared",
                "description": "A lead from a country no rule names.", "examples": ["fallback"]},
            "duplicate_contact": {
                "type": "string", "minLength": 1, "x-default": "not declared",
                "description": "A lead whose email already exists in the CRM.", "examples": ["existing_owner"]},
            "existing_customer_domain": {
                "type": "string", "minLength": 1, "x-default": "not declared",
                "description": "A lead whose email domain is a customer's (a company in the CRM).",
                "examples": ["existing-customer"]},
        },
    },
    "sla": {
        "type": "object",
        "additionalProperties": False,
        "x-default": "no SLA: any delay passes",
        "description": "How soon a lead must have its owner.",
        "properties": {"assigned_within": {**DURATION_SCHEMA, "x-default": "no SLA",
                                           "description": "Time from creation to an owner.",
                                           "examples": ["5m"]}},
    },
    "alerts": {
        "type": "object",
        "additionalProperties": False,
        "x-default": "none: no ROUTING-ALERTS check",
        "description": "Thresholds the live CRM must stay within (`ROUTING-ALERTS`).",
        "properties": {
            "default_queue": {
                "type": "object",
                "additionalProperties": False,
                "x-default": "not checked",
                "description": "The fallback queue: how many leads it may hold, and for how long.",
                "properties": {
                    "max_count": {"type": "integer", "minimum": 0, "x-default": "no limit",
                                  "description": "At most this many open leads in the queue.", "examples": [10]},
                    "max_age": {**DURATION_SCHEMA, "x-default": "no limit",
                                "description": "No lead waits in the queue longer than this.", "examples": ["1h"]},
                },
            }
        },
    },
    "audit": {
        "type": "object",
        "additionalProperties": False,
        "x-default": "with `alerts:`, the last 24 h",
        "description": "The read-only audit of real leads (ROUTING-AUDIT, reported as `ROUTING-ALERTS[audit]`): "
        "every lead created in the window is held against the rules, and the default queue against `alerts:`. "
        "It runs in any environment, writes nothing, and is what a nightly run of production checks.",
        "properties": {"window": {**DURATION_SCHEMA, "default": "24h",
                                  "description": "How far back the audit looks for leads.", "examples": ["24h"]}},
    },
    "volume": {
        "type": "object",
        "additionalProperties": False,
        "x-default": "none: no ROUTING-VOLUME-TEST check",
        "description": "The volume test: this many synthetic leads across every branch, at the CRM's rate limit.",
        "properties": {"leads": {"type": "integer", "minimum": 1, "maximum": 100000, "x-default": "no volume test",
                                 "description": "How many leads to create.", "examples": [50]}},
    },
    "leads": LEADS_SCHEMA,
    "fuzz": {
        "type": "object",
        "additionalProperties": False,
        "x-default": "none: no fuzz check",
        "description": "Opt-in model-based fuzz: random leads, the declared rules predict the owner, the CRM answers.",
        "properties": {
            "leads": {"type": "integer", "minimum": 1, "maximum": 1000, "x-default": "no fuzz",
                      "description": "The lead budget.", "examples": [30]},
            "seed": {"type": "integer", "minimum": 0, "default": 0,
                     "description": "The random seed: the same seed sends the same leads.", "examples": [1]},
        },
    },
}


@dataclass
class RoutingSpec:
    """A compiled routing checklist: solver rules plus what the lint needs to point at lines."""

    rules: list[Rule] = field(default_factory=list)
    rule_locations: list[Location] = field(default_factory=list)
    unknown_lists: list[tuple[str, Location]] = field(default_factory=list)
    round_robin: list[tuple[int, list[str]]] = field(default_factory=list)
    lists: dict[str, list[str | float | int]] = field(default_factory=dict)
    has_rules: bool = False
    fallback: str | None = None
    edge_cases: dict[str, str] = field(default_factory=dict)
    sla_seconds: float | None = None
    object_type: str = "contacts"
    assignments: list[dict[str, Any]] = field(default_factory=list)  # rules[i].assign, as written
    fallback_assign: dict[str, Any] | None = None
    alert_max_count: int | None = None
    alert_max_age: float | None = None
    volume_leads: int | None = None
    audit_window_s: float | None = None  # `audit: {window: ...}`; None: the audit's default (24 h)
    has_audit: bool = False  # `audit:` or `alerts:` declared: ROUTING-ALERTS[audit] runs
    fuzz_leads: int | None = None
    fuzz_seed: int = 0
    lead_options: LeadOptions = field(default_factory=LeadOptions)


def _assignee(assign: Mapping[str, Any]) -> str:
    key, value = next(iter(assign.items()))
    if key == "round_robin":
        return "round robin " + ", ".join(value)
    if key == "owner_of":
        return f"owner of the {value}"
    return f"{key} {value}"


def _read_list(checklist: Checklist, name: str, file: str) -> list[str | float | int]:
    where = checklist.location(("lists", name, "file"))
    _, text = read_relative_file(
        checklist, file, where, what="list file", expect="a .txt or .csv file", max_bytes=MAX_LIST_BYTES
    )
    if file.lower().endswith(".csv"):
        rows = list(csv.reader(io.StringIO(text)))[1:]
        cells = [row[0] for row in rows if row]
    else:
        cells = text.splitlines()
    # first occurrence kept, in order; a dict, not a list scan: lists reach thousands of values
    kept = dict.fromkeys(c for cell in cells if (c := cell.strip()) and not c.startswith("#"))
    return list(kept)


def compile_spec(checklist: Checklist) -> RoutingSpec:
    data = checklist.data
    spec = RoutingSpec()
    for name, entry in (data.get("lists") or {}).items():
        spec.lists[name] = list(entry) if isinstance(entry, list) else _read_list(checklist, name, entry["file"])
    raw_rules = data.get("rules")
    spec.has_rules = raw_rules is not None
    ids: set[str] = set()
    for i, raw in enumerate(raw_rules or []):
        atoms: list[Atom] = []
        for prop, cond in (raw.get("when") or {}).items():
            for op, value in cond.items():
                at = checklist.location(("rules", i, "when", prop, op))
                if op == "matches":
                    rx = compile_pattern(value, at, what=f"the pattern for {prop}")
                    atoms.append(Atom(prop, op, value, rx))
                elif op == "in_list":
                    if value not in spec.lists:
                        spec.unknown_lists.append((value, at))
                        atoms.append(Atom(prop, op, None))
                    else:
                        atoms.append(Atom(prop, op, tuple(spec.lists[value])))
                elif op in ("in", "not_in"):
                    atoms.append(Atom(prop, op, tuple(value)))
                else:
                    atoms.append(Atom(prop, op, value))
        spec.rules.append(Rule(raw["id"], atoms, _assignee(raw["assign"])))
        spec.assignments.append(dict(raw["assign"]))
        spec.rule_locations.append(checklist.location(("rules", i, "id")))
        if "round_robin" in raw["assign"]:
            spec.round_robin.append((i, list(raw["assign"]["round_robin"])))
        ids.add(raw["id"])
    spec.object_type = data.get("object", "contacts")
    if "fallback" in data:
        spec.fallback = _assignee(data["fallback"])
        spec.fallback_assign = dict(data["fallback"])
    for name, target in (data.get("edge_cases") or {}).items():
        if target not in ("fallback", "existing_owner") and target not in ids:
            known = ", ".join(sorted(ids)) or "none declared"
            raise SpecError(
                f"edge case {name} goes to {target!r}, which is not a rule id (rules: {known})",
                checklist.location(("edge_cases", name)),
                "write fallback, existing_owner or the id of a rule under `rules:`",
            )
        if target == "fallback" and "fallback" not in data:
            raise SpecError(
                f"edge case {name} goes to the fallback, but no fallback is declared",
                checklist.location(("edge_cases", name)),
                "add `fallback: {owner: ...}` or send the edge case to a rule id",
            )
        spec.edge_cases[name] = target
    if target := (data.get("sla") or {}).get("assigned_within"):
        spec.sla_seconds = parse_duration(target, checklist.location(("sla", "assigned_within")))
    queue_alert = (data.get("alerts") or {}).get("default_queue") or {}
    spec.alert_max_count = queue_alert.get("max_count")
    if queue_alert.get("max_age") is not None:
        where = checklist.location(("alerts", "default_queue", "max_age"))
        spec.alert_max_age = parse_duration(queue_alert["max_age"], where)
    spec.volume_leads = (data.get("volume") or {}).get("leads")
    spec.has_audit = "audit" in data or "alerts" in data
    if window := (data.get("audit") or {}).get("window"):
        spec.audit_window_s = parse_duration(window, checklist.location(("audit", "window")))
    spec.fuzz_leads = (data.get("fuzz") or {}).get("leads")
    spec.fuzz_seed = int((data.get("fuzz") or {}).get("seed", 0))
    knobs = data.get("leads") or {}
    spec.lead_options = LeadOptions(**{k: knobs[k] for k in ("max", "boundaries", "bands", "outside_lists")
                                       if k in knobs})
    return spec


def spec_of(checklist: Checklist) -> RoutingSpec:
    spec = checklist.cache.get(CACHE_KEY)
    if spec is None:
        spec = compile_spec(checklist)
        checklist.cache[CACHE_KEY] = spec
    assert isinstance(spec, RoutingSpec)
    return spec


RULES_ID = "ROUTING-RULES-EXPLICIT"
SENDS_LEADS = frozenset({CRM, WRITES})  # creates synthetic leads in the CRM
SHOWN_FINDINGS = 5


class RoutingKind(KindBase):
    """Lead routing: lint the ordered rules offline, then send synthetic leads down every branch of the live CRM."""

    name = "routing"
    schema: Mapping[str, Any] = SCHEMA

    def prepare(self, checklist: Checklist) -> None:
        checklist.cache[CACHE_KEY] = compile_spec(checklist)

    def lint(self, checklist: Checklist) -> Iterable[Finding]:
        return lint_routing(checklist, spec_of(checklist))

    def checks(self, checklist: Checklist) -> Iterator[Check]:
        spec = spec_of(checklist)
        if not spec.has_rules:
            return
        from . import checks as live

        def at(*path: str | int, key: bool = False) -> Location:
            return checklist.location(path, key=key)

        instead = INSTEAD if spec.has_audit else ""  # what a read-only run checks in place of the leads it sends

        # the offline rules check reads the CRM's owners only when the environment has a CRM: it needs nothing
        yield Check(RULES_ID, lambda ctx: self._rules_check(checklist, ctx), at("rules", key=True),
                    description="every routing rule is explicit, reachable and covered by a fallback")
        for i, rule in enumerate(spec.rules):
            yield Check(RULES_ID, partial(live.check_branch, spec=spec, i=i), spec.rule_locations[i],
                        param=rule.id, description=f"leads of rule {rule.id} reach {rule.assign} within the SLA",
                        needs=SENDS_LEADS, instead=instead)
        if spec.fuzz_leads:
            yield Check(RULES_ID, lambda ctx: live.check_fuzz(ctx, spec), at("fuzz", key=True), param="fuzz",
                        description="random leads are routed as the declared rules predict", needs=SENDS_LEADS,
                        instead=instead)
        for name in EDGE_CASES:
            where = at("edge_cases", name) if name in spec.edge_cases else at("edge_cases", key=True) \
                if "edge_cases" in checklist.data else at("kind")
            # an edge case without a declared answer is not configured before it sends anything
            yield Check("ROUTING-EDGE-CASES", partial(live.check_edge_case, spec=spec, name=name), where,
                        param=name, description=f"the {name.replace('_', ' ')} edge case goes where declared",
                        needs=SENDS_LEADS if name in spec.edge_cases else frozenset(), instead=instead)
        if spec.fallback_assign:
            yield Check("ROUTING-FALLBACK-OWNER", lambda ctx: live.check_fallback(ctx, spec),
                        at("fallback", key=True), description="the fallback owner exists, is active, gets leads",
                        needs=SENDS_LEADS, instead=instead)
        if spec.volume_leads:
            yield Check("ROUTING-VOLUME-TEST", lambda ctx: live.check_volume(ctx, spec), at("volume", key=True),
                        description=f"{spec.volume_leads} synthetic leads across every branch", needs=SENDS_LEADS,
                        instead=instead)
        if spec.alert_max_count is not None or spec.alert_max_age is not None:
            yield Check("ROUTING-ALERTS", lambda ctx: live.check_alerts(ctx, spec), at("alerts", key=True),
                        description="the default queue stays within its count and age thresholds",
                        needs=frozenset({CRM}))  # reads the queue; writes nothing
        if spec.has_audit:  # ROUTING-AUDIT: the real leads of the window, read-only (audit.py)
            where = at("audit", key=True) if "audit" in checklist.data else at("alerts", key=True)
            yield Check("ROUTING-ALERTS", lambda ctx: check_audit(ctx, spec), where, param=AUDIT_PARAM,
                        description="the real leads of the audit window went where the rules say; the default "
                        "queue is within its thresholds", needs=frozenset({CRM}))  # reads only

    def observe(self, checklist: Checklist, ctx: RunContext) -> Mapping[str, Any]:
        """The named owners as the CRM reports them, and who real leads of the audit window got, per rule."""
        from .observe import observe_routing

        return observe_routing(ctx, spec_of(checklist))

    def _rules_check(self, checklist: Checklist, ctx: RunContext | None = None) -> Evidence:
        """The offline lint, plus the owners against the CRM when the environment has one (``ROUTE2xx``)."""
        spec = spec_of(checklist)
        findings = list(self.lint(checklist))
        if ctx is not None and ctx.environment.crm:
            from .live import owner_directory
            from .owners import lint_owners

            findings += lint_owners(checklist, list(owner_directory(ctx).by_id.values()))
        # as `gtmcheck lint` counts them: gtmcheck.yml's `lint:` severities and the file's ignore comments
        findings, _ = settle(findings, checklist.doc, ctx.project.lint if ctx is not None else None)
        findings.sort(key=Finding.sort_key)
        errors = [f for f in findings if f.severity >= Severity.ERROR]
        counts = {"rules": len(spec.rules), "findings": len(findings), "errors": len(errors)}
        if errors:
            raise CheckFailed(
                f"the routing rules have {len(errors)} error findings: {summarize(errors, SHOWN_FINDINGS)}",
                expected="no error findings (run `gtmcheck lint`)",
                received=f"{len(errors)} error findings",
                evidence=Evidence(
                    f"{len(errors)} error findings", {**counts, "first": [f.as_dict() for f in errors[:20]]}
                ),
            )
        owners = " and name active owners in the CRM" if ctx is not None and ctx.environment.crm else ""
        return Evidence(f"{len(spec.rules)} routing rules are explicit and reachable{owners}", counts)
