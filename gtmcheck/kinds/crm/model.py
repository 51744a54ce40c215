"""A ``kind: crm`` checklist compiled once at load: properties, duplicate rules, test-record patterns, the SLA.

What makes the checklist unusable is a ``SpecError`` at its line here (exit 2 on ``gtmcheck lint``, a
collection error in a run): a name pattern RE2 refuses. ``lifecycle:`` and ``mappings:`` stay raw in
``data``: their own modules (lifecycle.py, mappings.py) read them through ``location``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ...durations import parse_duration
from ...errors import Location, SpecError, SpecErrors
from ...saferegex import SafeRegex, compile_pattern
from .schema import DEFAULT_SCAN_LIMIT, OBJECTS

if TYPE_CHECKING:
    from ...connectors.crm import ObjectType
    from ...spec import Checklist

CACHE_KEY = "crm.spec"


@dataclass(frozen=True)
class PropertySpec:
    """A declared property: on ``object``, called ``name``, of ``type``, offering at least ``options``."""

    object: ObjectType
    name: str
    type: str
    options: tuple[str, ...]
    index: int


@dataclass(frozen=True)
class DuplicateRule:
    """A declared duplicate rule: two ``object`` records equal on every ``match`` property are one too many."""

    object: ObjectType
    match: tuple[str, ...]
    index: int

    @property
    def label(self) -> str:
        return f"{self.object} by {'+'.join(self.match)}"


@dataclass(frozen=True)
class TestRecords:
    """What a test record looks like (``test_records:``)."""

    domains: tuple[str, ...]
    names: tuple[SafeRegex, ...]
    objects: tuple[ObjectType, ...]
    scan_limit: int


@dataclass(frozen=True)
class HandoffSla:
    """``handoff_sla:``: the team, the SLA, and the reconcile handoff measuring it (id, and file if given)."""

    team: str
    within_s: float
    within: str
    handoff: str | None
    checklist: str | None


@dataclass
class CrmSpec:
    """What the checks and lint rules of one crm checklist work from; ``data`` is the raw checklist mapping."""

    checklist: Checklist
    properties: list[PropertySpec]
    duplicates: list[DuplicateRule]
    test_records: TestRecords | None
    handoff_sla: HandoffSla | None
    cache: dict[str, Any] = field(default_factory=dict)

    @property
    def data(self) -> dict[str, Any]:
        return self.checklist.data

    def location(self, *path: str | int, key: bool = False) -> Location:
        return self.checklist.location(path, key=key)


def compile_spec(checklist: Checklist) -> CrmSpec:
    """The checklist's spec (already valid against the schema); every problem raised together, each at its line."""
    data = checklist.data
    problems: list[SpecError] = []
    properties = [
        PropertySpec(object_type, str(p["name"]), str(p["type"]), tuple(str(o) for o in p.get("options") or ()), i)
        for object_type in OBJECTS for i, p in enumerate((data.get("properties") or {}).get(object_type) or [])
    ]
    duplicates = [DuplicateRule(rule["object"], (rule["match"],) if isinstance(rule["match"], str)
                                else tuple(rule["match"]), i) for i, rule in enumerate(data.get("duplicates") or [])]
    test_records = None
    if "test_records" in data:
        raw = data["test_records"]
        names = []
        for i, pattern in enumerate(raw.get("names") or []):
            try:
                names.append(compile_pattern(str(pattern), checklist.location(("test_records", "names", i)),
                                             what="test record name pattern", ignore_case=True))
            except SpecError as exc:
                problems.append(exc)
        test_records = TestRecords(tuple(str(d).lower() for d in raw.get("domains") or ()), tuple(names),
                                   tuple(raw.get("objects") or OBJECTS), int(raw.get("scan_limit", DEFAULT_SCAN_LIMIT)))
    handoff_sla = None
    if "handoff_sla" in data:
        raw = data["handoff_sla"]
        measured = raw.get("measured_by")
        try:
            within_s = parse_duration(str(raw["within"]), checklist.location(("handoff_sla", "within")))
        except SpecError as exc:
            problems.append(exc)
            within_s = 0.0
        handoff_sla = HandoffSla(
            team=str(raw["team"]), within_s=within_s, within=str(raw["within"]),
            handoff=None if measured is None else str(measured if isinstance(measured, str) else measured["handoff"]),
            checklist=str(measured["checklist"]) if isinstance(measured, dict) else None,
        )
    if problems:
        raise problems[0] if len(problems) == 1 else SpecErrors(problems)
    return CrmSpec(checklist, properties, duplicates, test_records, handoff_sla)
