"""The sandbox CRM's property history and its lifecycle workflow, independent of any checklist.

Every write of a property keeps ``{value, timestamp, sourceType, sourceId}``, as HubSpot's
``propertiesWithHistory`` shows it (newest first); a property never changed since the record was made has one
entry, its first value. Scenario section::

    lifecycle:
      property: lifecyclestage
      stages: [subscriber, lead, marketingqualifiedlead, salesqualifiedlead, opportunity, customer]
      entry: lead                    # CSV contacts start here; their history walks the stages to their own
      step_days: 3                   # days between two generated steps (after the contact's createdate)
      delay_ms: 500                  # a rule's change appears this long after the write that met it
      rules:                         # the workflow: a contact write that meets `when` moves it to `set`
        - {id: mql, from: [lead], when: {hs_lead_score: {gte: 50}}, set: marketingqualifiedlead}
      history:                       # declared histories of CSV contacts (by the CSV id), oldest first
        p009: [{value: lead, ago: 20d}, {value: customer, ago: 5d}]

``ago`` is counted back from the moment the sandbox starts, so a declared history stays inside an audit
window whenever the demo runs. A declared history sets the contact's stage (its last value) and its
``lastmodifieddate``. Conditions are the routing workflow's (``routing.condition_holds``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

from ..durations import duration_seconds
from .routing import condition_holds

__all__ = ["LifecycleWorkflow", "PropertyHistory", "lifecycle_scenario_schema"]

HUBSPOT_STAGES = ("subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead", "opportunity", "customer")
DAY_MS = 86_400_000
_STAGE = {"type": "string", "minLength": 1, "description": "A lifecycle stage (the property's value).",
          "examples": ["lead"]}
_AGO = {"type": "string", "pattern": r"^[1-9][0-9]*(ms|s|m|h|d)$", "x-hint": "write a duration such as 5d or 12h"}


def lifecycle_scenario_schema(condition: Mapping[str, Any]) -> dict[str, Any]:
    """The scenario's ``lifecycle:`` section; ``condition`` is the routing workflow's condition schema."""
    return {
        "type": "object",
        "additionalProperties": False,
        "x-default": "none: no lifecycle workflow, and a CSV contact's stage history is its first value",
        "description": "The sandbox CRM's lifecycle workflow (rules that move a contact's stage when a write meets "
        "their condition) and the property history of the CSV contacts' stage.",
        "properties": {
            "property": {"type": "string", "minLength": 1, "default": "lifecyclestage",
                         "description": "The contact property holding the stage.", "examples": ["lifecyclestage"]},
            "stages": {"type": "array", "items": _STAGE, "minItems": 1, "default": list(HUBSPOT_STAGES),
                       "description": "The stages in order: generated histories walk them.",
                       "examples": [list(HUBSPOT_STAGES)]},
            "entry": {**_STAGE, "x-default": "the first of `stages`",
                      "description": "The stage a CSV contact's generated history starts in, at its createdate."},
            "step_days": {"type": "integer", "minimum": 1, "maximum": 365, "default": 3,
                          "description": "Days between two steps of a generated history.", "examples": [3]},
            "delay_ms": {"type": "number", "minimum": 0, "maximum": 3_600_000, "default": 0,
                         "description": "A rule's change appears this long after the write that met it "
                         "(milliseconds, at most an hour).", "examples": [500]},
            "rules": {
                "type": "array",
                "x-default": "no rules: no stage changes by itself",
                "description": "The workflow: after a contact is created or changed, the first rule it meets "
                "moves it to the rule's stage (as `AUTOMATION_PLATFORM`, source id `workflow:<id>`).",
                "items": {
                    "type": "object",
                    "required": ["id", "when", "set"],
                    "additionalProperties": False,
                    "properties": {
                        "id": {"type": "string", "minLength": 1, "description": "The rule's name.",
                               "examples": ["mql"]},
                        "from": {"type": "array", "items": _STAGE, "minItems": 1, "x-default": "any stage",
                                 "description": "Only contacts in these stages are moved.", "examples": [["lead"]]},
                        "when": {"type": "object", "minProperties": 1, "x-key-name": "property",
                                 "x-key-example": "hs_lead_score",
                                 "description": "Contact property -> condition (as routing's); all must hold.",
                                 "examples": [{"hs_lead_score": {"gte": 50}}],
                                 "additionalProperties": condition},
                        "set": {**_STAGE, "description": "The stage the rule moves the contact to.",
                                "examples": ["marketingqualifiedlead"]},
                    },
                },
            },
            "history": {
                "type": "object",
                "x-key-name": "id",
                "x-key-example": "p009",
                "x-default": "generated from `entry` and `step_days`",
                "description": "Declared stage histories of CSV contacts, by the CSV's `id`, oldest first.",
                "examples": [{"p009": [{"value": "lead", "ago": "20d"}, {"value": "customer", "ago": "5d"}]}],
                "additionalProperties": {
                    "type": "array",
                    "minItems": 1,
                    "description": "The values the stage held, oldest first.",
                    "examples": [[{"value": "lead", "ago": "20d"}, {"value": "customer", "ago": "5d"}]],
                    "items": {
                        "type": "object",
                        "required": ["value", "ago"],
                        "additionalProperties": False,
                        "properties": {
                            "value": {"type": "string", "description": "The stage (empty: cleared).",
                                      "examples": ["customer"]},
                            "ago": {**_AGO, "description": "How long before the sandbox started it was set.",
                                    "examples": ["5d"]},
                            "source": {"type": "string", "default": "CRM_UI",
                                       "description": "The `sourceType` HubSpot shows for the change.",
                                       "examples": ["IMPORT"]},
                        },
                    },
                },
            },
        },
    }


class StoredRecord(Protocol):
    """What the history needs of a stored sandbox record (``hubspot._Stored``)."""

    id: str
    properties: dict[str, str]
    created_ms: int
    updated_ms: int


Stored = TypeVar("Stored", bound=StoredRecord)


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


@dataclass
class PropertyHistory:
    """Every value each property of each record held, newest first, kept from its first change on.

    Until a property changes its history is its current value at the record's creation, so loading 20,000
    generated deals costs nothing here.
    """

    _entries: dict[tuple[str, str, str], list[dict[str, Any]]] = field(default_factory=dict)
    _origin: dict[tuple[str, str], str] = field(default_factory=dict)  # how a record came in: IMPORT, API...

    def created(self, object_type: str, record_id: str, source: str) -> None:
        self._origin[(object_type, record_id)] = source

    def changed(self, object_type: str, stored: StoredRecord, before: Mapping[str, str], changed: Iterable[str],
                source: str, source_id: str | None = None) -> None:
        """Keep the new value of each changed property (the record's ``updated_ms`` is the change's time)."""
        for name in changed:
            key = (object_type, stored.id, name)
            if key not in self._entries:
                self._entries[key] = self._first(object_type, stored, before.get(name))
            entry = {"value": stored.properties.get(name, ""), "timestamp": iso(stored.updated_ms),
                     "sourceType": source}
            if source_id:
                entry["sourceId"] = source_id
            self._entries[key].insert(0, entry)

    def _first(self, object_type: str, stored: StoredRecord, value: str | None) -> list[dict[str, Any]]:
        if value in (None, ""):
            return []
        return [{"value": value, "timestamp": iso(stored.created_ms),
                 "sourceType": self._origin.get((object_type, stored.id), "API")}]

    def of(self, object_type: str, stored: StoredRecord, name: str) -> list[dict[str, Any]]:
        """The property's history, newest first, in HubSpot's ``propertiesWithHistory`` shape."""
        found = self._entries.get((object_type, stored.id, name))
        if found is not None:
            return [dict(e) for e in found]
        return self._first(object_type, stored, stored.properties.get(name))

    def json(self, object_type: str, stored: StoredRecord, names: Iterable[str]) -> dict[str, Any]:
        return {name: self.of(object_type, stored, name) for name in dict.fromkeys(names)}

    def declare(self, object_type: str, stored: StoredRecord, name: str, values: list[tuple[str, int, str]]) -> None:
        """Replace a property's history with ``values`` (value, epoch ms, source; oldest first)."""
        self._entries[(object_type, stored.id, name)] = [
            {"value": v, "timestamp": iso(ms), "sourceType": source} for v, ms, source in reversed(values)]


class LifecycleWorkflow:
    """The scenario's ``lifecycle:``: rules that move a contact's stage, and the histories CSV contacts get."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.config = dict(config)
        self.property = str(self.config.get("property") or "lifecyclestage")
        self.stages = [str(s) for s in self.config.get("stages") or HUBSPOT_STAGES]
        self.delay_s = float(self.config.get("delay_ms", 0)) / 1000
        self.pending: list[tuple[float, str, str, str]] = []  # (due, contact id, stage, rule id)

    def written(self, stored: StoredRecord, now: float) -> None:
        """A contact was created or changed: the first rule it meets schedules its move (once)."""
        props = {k: v for k, v in stored.properties.items() if v not in (None, "")}
        current = props.get(self.property)
        for rule in self.config.get("rules") or []:
            allowed = rule.get("from")
            if allowed and current not in allowed:
                continue
            if not all(condition_holds(props.get(name), cond) for name, cond in (rule.get("when") or {}).items()):
                continue
            target = str(rule["set"])
            if target != current and not any(p[1] == stored.id and p[2] == target for p in self.pending):
                self.pending.append((now + self.delay_s, stored.id, target, str(rule["id"])))
            return

    def due(self, now: float) -> list[tuple[float, str, str, str]]:
        """The moves whose delay has passed, oldest first, taken off the queue."""
        ready = sorted(p for p in self.pending if p[0] <= now)
        self.pending = [p for p in self.pending if p[0] > now]
        return ready

    def seed(self, history: PropertyHistory, contacts: Iterable[Stored], start_ms: int) -> list[Stored]:
        """Give each CSV contact a stage history; the contacts whose ``lastmodifieddate`` moved are returned.

        Declared histories (``history:``) are used as written, their times counted back from ``start_ms``;
        the other contacts walk from ``entry`` to their stage, ``step_days`` apart from their createdate
        (never later than ``start_ms``).
        """
        declared = self.config.get("history") or {}
        entry = str(self.config.get("entry") or self.stages[0])
        step = int(self.config.get("step_days", 3)) * DAY_MS
        touched: list[Stored] = []
        for stored in contacts:
            steps = declared.get(stored.properties.get("source_id", ""))
            if steps:
                values = [(str(s["value"]), start_ms - int(1000 * (duration_seconds(str(s["ago"])) or 0)),
                           str(s.get("source") or "CRM_UI")) for s in steps]
                values.sort(key=lambda v: v[1])
                values[0] = (values[0][0], values[0][1], "IMPORT")
                history.declare("contacts", stored, self.property, values)
                stored.properties[self.property] = values[-1][0]
                stored.updated_ms = max(stored.updated_ms, values[-1][1])
                stored.properties["lastmodifieddate"] = iso(stored.updated_ms)
                touched.append(stored)
                continue
            stage = stored.properties.get(self.property)
            if stage not in self.stages or entry not in self.stages:
                continue
            first, last = self.stages.index(entry), self.stages.index(stage)
            if last <= first:
                continue
            walk = [(s, min(stored.created_ms + i * step, start_ms), "IMPORT" if i == 0 else "CRM_UI")
                    for i, s in enumerate(self.stages[first:last + 1])]
            history.declare("contacts", stored, self.property, walk)
            if walk[-1][1] > stored.updated_ms:
                stored.updated_ms = walk[-1][1]
                stored.properties["lastmodifieddate"] = iso(stored.updated_ms)
                touched.append(stored)
        return touched
