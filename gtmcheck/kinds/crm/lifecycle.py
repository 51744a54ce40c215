"""CRM-LIFECYCLE-QA: the lifecycle stages as a declared state machine, checked live and against history.

A ``kind: crm`` checklist's ``lifecycle:`` section::

    lifecycle:
      property: lifecyclestage            # the stage property (Salesforce: Status of a Lead, say)
      stages: [subscriber, lead, marketingqualifiedlead, salesqualifiedlead, opportunity, customer]
      transitions:                        # the moves out of a stage, and the trigger of each
        - {from: lead, to: marketingqualifiedlead, trigger: {property: hs_lead_score, gte: 50}, within: 5m}
      recycle: {to: lead, from: [marketingqualifiedlead, salesqualifiedlead]}
      audit: {window: 30d}

The machine: a stage may move to the next stage in ``stages``, unless ``transitions`` lists moves out of it,
which are then its only forward moves (a listed skip, ``lead -> salesqualifiedlead``, replaces the step to
``marketingqualifiedlead`` unless that is listed too). A move backwards is allowed only as the recycle rule
says; staying in a stage, or clearing the property on the way (HubSpot's way of moving a stage back), is not
a move. Loading checks that every named stage is declared, that no transition goes backwards, and that every
stage can be reached from the first one.

Checks (``lifecycle_live``): one synthetic check per transition with a trigger (writes: true), and one audit
of the property history of real records over ``audit.window`` (read-only).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol

from ... import durations
from ...durations import format_duration, parse_duration
from ...errors import Location, SpecError, SpecErrors
from ...schema import validate
from ..base import CRM, WRITES, Check

if TYPE_CHECKING:
    from ...spec import Checklist

__all__ = ["DOD_ID", "LIFECYCLE_SCHEMA", "Lifecycle", "LintProblem", "Transition", "Trigger", "lifecycle_checks",
           "lifecycle_lint", "parse_lifecycle"]

DOD_ID = "CRM-LIFECYCLE-QA"
MAX_AUDIT_RECORDS = 10_000  # records whose history one audit reads (200 batch reads of 50 in HubSpot)
DEFAULT_AUDIT_RECORDS = 2_000
DEFAULT_WINDOW = "30d"
OPERATORS = ("equals", "in", "gt", "gte", "lt", "lte")
_STAGE = {"type": "string", "minLength": 1, "description": "A stage: one of `stages`.", "examples": ["lead"]}


def _test(word: str) -> dict[str, Any]:
    return {"type": "number", "description": f"The property is {word} this number.", "x-default": "not tested",
            "examples": [50]}


LIFECYCLE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["stages"],
    "x-default": "no lifecycle: CRM-LIFECYCLE-QA is attested or not configured",
    "description": "CRM-LIFECYCLE-QA: the lifecycle stages as a state machine (order, allowed moves and their "
    "triggers, the recycle rule), checked with a synthetic contact per trigger and against the stage history "
    "of real records.",
    "properties": {
        "property": {"type": "string", "minLength": 1, "default": "lifecyclestage",
                     "description": "The property holding the stage.", "examples": ["lifecyclestage"]},
        "object": {"enum": ["contacts", "leads"], "default": "contacts",
                   "description": "The records that move through the stages (`leads`: Salesforce Leads).",
                   "examples": ["contacts"]},
        "stages": {"type": "array", "items": _STAGE, "minItems": 2, "uniqueItems": True,
                   "description": "The stages in order; a stage may move to the next one unless `transitions` "
                   "lists its moves.",
                   "examples": [["subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead",
                                 "opportunity", "customer"]]},
        "transitions": {
            "type": "array",
            "default": [],
            "description": "Moves out of a stage (its only forward moves once listed), and what triggers each.",
            "items": {
                "type": "object",
                "required": ["from", "to"],
                "additionalProperties": False,
                "properties": {
                    "from": {**_STAGE, "description": "The stage the move starts from."},
                    "to": {**_STAGE, "description": "A later stage."},
                    "trigger": {
                        "type": "object",
                        "required": ["property"],
                        "minProperties": 2,
                        "maxProperties": 2,
                        "additionalProperties": False,
                        "x-hint": "write {property: NAME, gte: 50} (one of equals, in, gt, gte, lt, lte)",
                        "description": "The condition that moves a record: a property and one test.",
                        "x-default": "none: the move is allowed, not tested",
                        "examples": [{"property": "hs_lead_score", "gte": 50}],
                        "properties": {
                            "property": {"type": "string", "minLength": 1, "examples": ["hs_lead_score"],
                                         "description": "The property the trigger reads."},
                            "equals": {"type": ["string", "number", "boolean"], "examples": ["demo_request"],
                                       "x-default": "not tested", "description": "The property equals this."},
                            "in": {"type": "array", "items": {"type": ["string", "number"]}, "minItems": 1,
                                   "description": "The property is one of these.", "x-default": "not tested",
                                   "examples": [["demo_request", "contact_sales"]]},
                            "gt": _test("more than"), "gte": _test("at least"), "lt": _test("less than"),
                            "lte": _test("at most"),
                        },
                    },
                    "within": {**durations.SCHEMA, "description": "The stage must change this soon after the "
                               "trigger is met (a triggered transition needs it).",
                               "x-default": "required with a trigger", "examples": ["5m"]},
                },
            },
        },
        "recycle": {
            "type": "object",
            "required": ["to", "from"],
            "additionalProperties": False,
            "description": "The only moves backwards allowed: from these stages back to `to`.",
            "x-default": "no moves backwards",
            "examples": [{"to": "lead", "from": ["marketingqualifiedlead", "salesqualifiedlead"]}],
            "properties": {
                "to": {**_STAGE, "description": "The stage recycled records return to.", "x-default": "required"},
                "from": {"type": "array", "items": _STAGE, "minItems": 1, "uniqueItems": True,
                         "description": "The stages a record may be recycled from (later than `to`).",
                         "x-default": "required", "examples": [["marketingqualifiedlead", "salesqualifiedlead"]]},
            },
        },
        "audit": {
            "type": "object",
            "additionalProperties": False,
            "description": "Read the stage history of real records changed in the window (read-only).",
            "x-default": "no audit",
            "examples": [{"window": "30d"}],
            "properties": {
                "window": {**durations.SCHEMA, "x-max-duration": "365d", "default": DEFAULT_WINDOW,
                           "description": "How far back moves are judged.", "examples": ["30d"]},
                "max_records": {"type": "integer", "minimum": 1, "maximum": MAX_AUDIT_RECORDS,
                                "default": DEFAULT_AUDIT_RECORDS,
                                "description": "The most records whose history is read (the most recently "
                                "changed are not preferred: the CRM's search order).", "examples": [2000]},
            },
        },
    },
}


class CrmSpecView(Protocol):
    """What this module needs of the crm kind's compiled spec."""

    @property
    def checklist(self) -> Checklist: ...

    @property
    def data(self) -> Mapping[str, Any]: ...

    def location(self, *path: str | int) -> Location: ...


@dataclass(frozen=True)
class Trigger:
    """``{property: hs_lead_score, gte: 50}``."""

    property: str
    op: str
    value: Any

    def describe(self) -> str:
        value = ", ".join(str(v) for v in self.value) if isinstance(self.value, list) else self.value
        return f"{self.property} {self.op} {value}"

    def meeting_value(self) -> str:
        """A value that meets the trigger at its boundary: ``gte 50`` -> 50, ``gt 50`` -> 51."""
        if self.op == "in":
            return _text(self.value[0])
        if self.op in ("gt", "lt"):
            step = 1 if float(self.value).is_integer() else 0.01
            return _text(self.value + step if self.op == "gt" else self.value - step)
        return _text(self.value)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


@dataclass(frozen=True)
class Transition:
    """One listed move; ``trigger`` and ``within_s`` are set together."""

    source: str
    target: str
    index: int
    trigger: Trigger | None = None
    within_s: float | None = None

    @property
    def name(self) -> str:
        return f"{self.source}->{self.target}"


@dataclass(frozen=True)
class Lifecycle:
    """The declared state machine and how to audit it."""

    property: str
    object: str
    stages: tuple[str, ...]
    transitions: tuple[Transition, ...]
    recycle_to: str | None
    recycle_from: frozenset[str]
    window_s: float | None  # None: no audit
    max_records: int

    def forward(self, stage: str) -> tuple[str, ...]:
        """The stages ``stage`` may move forward to."""
        listed = tuple(t.target for t in self.transitions if t.source == stage)
        if listed:
            return listed
        i = self.stages.index(stage)
        return (self.stages[i + 1],) if i + 1 < len(self.stages) else ()

    def why_not(self, old: str, new: str) -> str | None:
        """Why the machine does not allow ``old -> new`` (``None``: it does)."""
        if old == new:
            return None
        unknown = [s for s in (old, new) if s not in self.stages]
        if unknown:
            return f"{' and '.join(unknown)} {'is' if len(unknown) == 1 else 'are'} not a declared stage"
        if self.stages.index(new) < self.stages.index(old):
            if self.recycle_to == new and old in self.recycle_from:
                return None
            return "moves backwards outside the recycle rule"
        if new in self.forward(old):
            return None
        i, j = self.stages.index(old), self.stages.index(new)
        skipped = self.stages[i + 1:j]
        if skipped:
            return f"skips {', '.join(skipped)}"
        return f"is not one of {old}'s listed moves ({', '.join(self.forward(old))})"

    def reachable(self) -> set[str]:
        """Every stage reachable from the first one by allowed moves."""
        seen = {self.stages[0]}
        todo = [self.stages[0]]
        while todo:
            stage = todo.pop()
            nxt = list(self.forward(stage))
            if self.recycle_to and stage in self.recycle_from:
                nxt.append(self.recycle_to)
            for s in nxt:
                if s not in seen:
                    seen.add(s)
                    todo.append(s)
        return seen


@dataclass(frozen=True)
class LintProblem:
    """A finding for ``gtmcheck lint`` (the kind maps ``rule`` to its rule code): not an unusable checklist."""

    rule: str
    location: Location
    message: str
    hint: str


def _unknown(stage: str, stages: Sequence[str], where: Location, what: str) -> SpecError:
    close = difflib.get_close_matches(stage, stages, n=1)
    hint = f"did you mean `{close[0]}`?" if close else f"use one of {', '.join(stages)}"
    return SpecError(f"{what} names {stage!r}, which is not one of the lifecycle's stages", where, hint)


def parse_lifecycle(spec: CrmSpecView) -> Lifecycle | None:
    """The ``lifecycle:`` section as a machine (``None`` without one); every problem a ``SpecError`` at its line."""
    raw = spec.data.get("lifecycle")
    if raw is None:
        return None
    validate(spec.checklist.doc, {"type": "object", "properties": {"lifecycle": LIFECYCLE_SCHEMA}})
    stages = tuple(str(s) for s in raw["stages"])
    problems: list[SpecError] = []
    transitions: list[Transition] = []
    seen: set[tuple[str, str]] = set()
    for i, entry in enumerate(raw.get("transitions") or []):
        at = ("lifecycle", "transitions", i)
        source, target = str(entry["from"]), str(entry["to"])
        bad = [_unknown(s, stages, spec.location(*at, k), f"transition {i + 1}'s `{k}`")
               for k, s in (("from", source), ("to", target)) if s not in stages]
        if bad:
            problems += bad
            continue
        if stages.index(target) <= stages.index(source):
            problems.append(SpecError(f"transition {source} -> {target} does not move forward", spec.location(*at),
                                      "moves back belong to `recycle: {to: STAGE, from: [STAGES]}`"))
            continue
        if (source, target) in seen:
            problems.append(SpecError(f"transition {source} -> {target} is listed twice", spec.location(*at),
                                      "keep one entry per move"))
            continue
        seen.add((source, target))
        trigger, within = entry.get("trigger"), entry.get("within")
        if (trigger is None) != (within is None):
            problems.append(SpecError(
                f"transition {source} -> {target} has a {'trigger' if trigger else '`within`'} without "
                f"{'`within`' if trigger else 'a trigger'}", spec.location(*at),
                "give both: trigger: {property: hs_lead_score, gte: 50} and within: 5m"))
            continue
        parsed = None
        if trigger is not None:
            op = next(k for k in trigger if k != "property")
            parsed = Trigger(str(trigger["property"]), op, trigger[op])
        within_s = parse_duration(str(within), spec.location(*at, "within")) if within is not None else None
        transitions.append(Transition(source, target, i, parsed, within_s))
    recycle = raw.get("recycle")
    recycle_to: str | None = None
    recycle_from: frozenset[str] = frozenset()
    if recycle is not None:
        recycle_to = str(recycle["to"])
        if recycle_to not in stages:
            problems.append(_unknown(recycle_to, stages, spec.location("lifecycle", "recycle", "to"), "recycle.to"))
        for j, stage in enumerate(recycle["from"]):
            where = spec.location("lifecycle", "recycle", "from", j)
            if stage not in stages:
                problems.append(_unknown(stage, stages, where, "recycle.from"))
            elif recycle_to in stages and stages.index(stage) <= stages.index(recycle_to):
                problems.append(SpecError(f"recycle from {stage} to {recycle_to} is not a move backwards", where,
                                          f"list stages after {recycle_to} under recycle.from"))
        recycle_from = frozenset(str(s) for s in recycle["from"])
    audit = raw.get("audit")
    window_s = None
    if audit is not None:
        window_s = parse_duration(str(audit.get("window", DEFAULT_WINDOW)),
                                  spec.location("lifecycle", "audit"), maximum="365d")
    machine = Lifecycle(str(raw.get("property") or "lifecyclestage"), str(raw.get("object") or "contacts"), stages,
                        tuple(transitions), recycle_to, recycle_from, window_s,
                        int((audit or {}).get("max_records", DEFAULT_AUDIT_RECORDS)))
    if not problems:
        reachable = machine.reachable()
        for i, stage in enumerate(stages):
            if stage not in reachable:
                into = [s for s in stages[:i] if s in reachable][-1:]
                problems.append(SpecError(
                    f"stage {stage} cannot be reached from {stages[0]}: the listed transitions skip it",
                    spec.location("lifecycle", "stages", i),
                    f"list a transition into it, such as {{from: {into[0] if into else stages[0]}, to: {stage}}}, "
                    "or remove the stage"))
    if problems:
        raise problems[0] if len(problems) == 1 else SpecErrors(problems)
    return machine


def lifecycle_lint(spec: CrmSpecView) -> list[LintProblem]:
    """Findings that do not make the checklist unusable: a trigger on a property the checklist does not declare.

    A declared property (``properties: {contacts: [...]}``) is verified to exist with its type by
    CRM-FIELDS-MAPPED; a trigger on another one is verified by nothing but the synthetic contact.
    """
    machine = parse_lifecycle(spec)
    if machine is None:
        return []
    declared = {str(p.get("name")) for p in (spec.data.get("properties") or {}).get(machine.object) or []
                if isinstance(p, Mapping)}
    out = []
    for t in machine.transitions:
        if t.trigger is not None and t.trigger.property not in declared:
            out.append(LintProblem(
                "lifecycle.trigger-undeclared",
                spec.location("lifecycle", "transitions", t.index, "trigger", "property"),
                f"the trigger of {t.source} -> {t.target} reads {t.trigger.property}, which is not declared under "
                f"properties.{machine.object}",
                f"declare it: properties: {{{machine.object}: [{{name: {t.trigger.property}, type: number}}]}}, so "
                "CRM-FIELDS-MAPPED checks it exists with its type"))
    return out


def lifecycle_checks(spec: CrmSpecView) -> list[Check]:
    """One synthetic check per triggered transition, and the history audit when ``audit:`` is given."""
    from .lifecycle_live import check_audit, check_transition

    machine = parse_lifecycle(spec)
    if machine is None:
        return []
    checks = []
    for t in machine.transitions:
        if t.trigger is None or t.within_s is None:
            continue
        checks.append(Check(DOD_ID, partial(check_transition, machine, t),
                            spec.location("lifecycle", "transitions", t.index), param=t.name,
                            description=f"a contact meeting {t.trigger.describe()} moves from {t.source} to "
                            f"{t.target} within {format_duration(t.within_s)}", needs=frozenset({CRM, WRITES})))
    if machine.window_s is not None:
        checks.append(Check(DOD_ID, partial(check_audit, machine), spec.location("lifecycle", "audit"),
                            param="audit", description=f"every {machine.property} change of the last "
                            f"{format_duration(machine.window_s)} is a move the lifecycle allows",
                            needs=frozenset({CRM})))
    return checks
