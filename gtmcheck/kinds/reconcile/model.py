"""The compiled form of a reconcile checklist: each ``totals:`` entry as two typed sides and its comparison rules.

Built once by ``ReconcileKind.prepare`` and kept in ``checklist.cache``; numbers become ``Decimal`` here (a
YAML ``0.5`` is read through its text, never as a float), durations become seconds, CRM filters become the
connector's ``Filter``s, so the check itself only fetches and compares.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from ...connectors.crm import Filter, GroupBy, Measure
from ...durations import parse_duration
from ...errors import Location, SpecError
from ...yamlfile import JsonPath
from .schema import BUCKETS

if TYPE_CHECKING:
    from ...spec import Checklist

CACHE_KEY = "reconcile"
_OPERATORS = {"eq": "EQ", "neq": "NEQ", "gte": "GTE", "lte": "LTE", "gt": "GT", "lt": "LT", "in": "IN",
              "has_property": "HAS_PROPERTY", "not_has_property": "NOT_HAS_PROPERTY"}


@dataclass(frozen=True)
class WarehouseSide:
    """A total the warehouse computes: ``table`` + ``measure`` (+ ``where``, ``group_by``), or ``sql``."""

    table: str | None
    sql: str | None
    measure: Measure | None  # ``property`` holds the column or expression
    where: str | None
    group_by: GroupBy | None  # ``property`` holds the column
    key: str | None
    updated_at: str | None
    path: JsonPath

    system = "warehouse"

    @property
    def name(self) -> str:
        return self.table or "sql"


@dataclass(frozen=True)
class CrmSide:
    """A total the CRM computes through ``CrmConnector.aggregate``."""

    object: str
    filters: tuple[Filter, ...]
    measure: Measure
    group_by: GroupBy | None
    key: str | None
    updated_at: str | None
    path: JsonPath

    system = "crm"

    @property
    def name(self) -> str:
        return self.object


Side = WarehouseSide | CrmSide


@dataclass(frozen=True)
class Tolerance:
    """|diff| <= ``absolute`` OR |diff| <= ``percent``% of |expected|; neither given means exact."""

    absolute: Decimal = Decimal(0)
    percent: Decimal | None = None
    absolute_written: bool = False  # `absolute: 0` said on purpose (lint REC104 asks for it next to percent)

    def allows(self, diff: Decimal, expected: Decimal) -> bool:
        if abs(diff) <= self.absolute:
            return True
        if self.percent is None or expected == 0:  # no reference to take a share of
            return False
        return abs(diff) * 100 <= self.percent * abs(expected)


@dataclass(frozen=True)
class TotalsEntry:
    """One ``totals:`` entry: one ``RECONCILE-TOTALS[<id>]`` check."""

    id: str
    label: str
    expected: Side
    actual: Side
    tolerance: Tolerance
    precision: int | None
    min_age_s: float | None
    index: int
    location: Location


@dataclass(frozen=True)
class HandoffEntry:
    """One ``handoffs:`` entry, as written (``handoffs.handoff_checks`` reads it)."""

    id: str
    raw: dict[str, Any]
    location: Location


@dataclass(frozen=True)
class ReconcileSpec:
    totals: tuple[TotalsEntry, ...]
    handoffs: tuple[HandoffEntry, ...]


def _decimal(value: Any) -> Decimal:
    return Decimal(str(value))  # 0.5 from YAML is the float 0.5: its shortest text is what the user wrote


def _measure(raw: dict[str, Any] | None) -> Measure | None:
    if not raw:
        return None
    kind, value = next(iter(raw.items()))
    if kind == "count":
        return Measure("count", None)
    return Measure("sum" if kind == "sum" else "avg", str(value))


def _group_by(raw: Any) -> GroupBy | None:
    if raw is None:
        return None
    if isinstance(raw, str):
        return GroupBy(raw, None)
    bucket, column = next(iter(raw.items()))
    assert bucket in BUCKETS
    return GroupBy(str(column), bucket)


def _filter(raw: dict[str, Any]) -> Filter:
    op = next(k for k in raw if k != "property")
    operator: Any = _OPERATORS[op]
    value = raw[op]
    if op == "in":
        return Filter(raw["property"], operator, values=tuple(_text(v) for v in value))
    if op in ("has_property", "not_has_property"):
        return Filter(raw["property"], operator)
    return Filter(raw["property"], operator, _text(value))


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _side(raw: dict[str, Any], path: JsonPath) -> Side:
    system: Literal["warehouse", "crm"] = "warehouse" if "warehouse" in raw else "crm"
    body = raw[system]
    if system == "warehouse":
        return WarehouseSide(
            table=body.get("table"), sql=body.get("sql"), measure=_measure(body.get("measure")),
            where=body.get("where"), group_by=_group_by(body.get("group_by")), key=body.get("key"),
            updated_at=body.get("updated_at"), path=(*path, system),
        )
    measure = _measure(body["measure"])
    assert measure is not None
    return CrmSide(
        object=body["object"], filters=tuple(_filter(f) for f in body.get("filters", ())), measure=measure,
        group_by=_group_by(body.get("group_by")), key=body.get("key"), updated_at=body.get("updated_at"),
        path=(*path, system),
    )


def compile_spec(checklist: Checklist) -> ReconcileSpec:
    """Compile a validated reconcile checklist; raises SpecError at the line of a duplicate id."""
    totals: list[TotalsEntry] = []
    seen: dict[str, int] = {}
    for i, raw in enumerate(checklist.data.get("totals", [])):
        where = checklist.location(("totals", i))
        _unique(checklist, seen, raw["id"], ("totals", i, "id"), "totals")
        tol = raw.get("tolerance") or {}
        min_age = raw.get("min_age")
        totals.append(TotalsEntry(
            id=raw["id"],
            label=raw.get("label", raw["id"]),
            expected=_side(raw["expected"], ("totals", i, "expected")),
            actual=_side(raw["actual"], ("totals", i, "actual")),
            tolerance=Tolerance(
                absolute=_decimal(tol.get("absolute", 0)),
                percent=_decimal(tol["percent"]) if "percent" in tol else None,
                absolute_written="absolute" in tol,
            ),
            precision=raw.get("precision"),
            min_age_s=parse_duration(min_age, checklist.location(("totals", i, "min_age"))) if min_age else None,
            index=i,
            location=where,
        ))
    handoffs: list[HandoffEntry] = []
    seen = {}
    for i, raw in enumerate(checklist.data.get("handoffs", [])):
        _unique(checklist, seen, raw["id"], ("handoffs", i, "id"), "handoffs")
        handoffs.append(HandoffEntry(raw["id"], raw, checklist.location(("handoffs", i))))
    return ReconcileSpec(tuple(totals), tuple(handoffs))


def _unique(checklist: Checklist, seen: dict[str, int], ident: str, path: JsonPath, section: str) -> None:
    if ident in seen:
        first = checklist.location((section, seen[ident], "id"))
        raise SpecError(f"{section} id {ident!r} is used twice (first at line {first.line})",
                        checklist.location(path), "give every entry its own id: it names the check")
    seen[ident] = int(path[1])
