"""What a crm checklist rests on in the CRM, read-only, for the baseline (``gtmcheck baseline save``).

Sections (stable names; ``gtmcheck.baseline.diff`` compares them):

- ``properties``: each declared property as the CRM describes it, ``{"contacts.lead_source_detail": {"type",
  "field_type", "options"}}`` (options sorted, every option the CRM offers: a renamed one shows as removed and
  added); ``null`` when the CRM has no such property;
- ``lifecycle``: the declared stages the CRM's stage property offers, ``{"contacts.lifecyclestage": {"stages":
  [...]}}`` (a stage dropped from the property shows as removed);
- ``duplicates``: whether each property a duplicate rule matches on exists, ``{"companies by domain":
  {"domain": true}}``.

Each object's definitions are read once (``CrmConnector.properties``); nothing is written.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .fields import crm_type
from .lifecycle import parse_lifecycle
from .model import CrmSpec

if TYPE_CHECKING:
    from ...connectors.crm import ObjectType, Property
    from ...context import RunContext


def observe_crm(spec: CrmSpec, ctx: RunContext) -> Mapping[str, Any]:
    """The CRM's side of the checklist's properties, lifecycle stages and duplicate rules."""
    lifecycle = parse_lifecycle(spec)
    objects: set[str] = {p.object for p in spec.properties} | {r.object for r in spec.duplicates}
    if lifecycle is not None:
        objects.add(lifecycle.object)
    if not objects:
        return {}
    crm = ctx.crm()
    described: dict[str, dict[str, Property]] = {}
    for object_type in sorted(objects):
        described[object_type] = {p.name: p for p in crm.properties(_object(object_type))}
    out: dict[str, Any] = {}
    if spec.properties:
        out["properties"] = {
            f"{p.object}.{p.name}": _property(crm.vendor, described[p.object].get(p.name)) for p in spec.properties}
    if lifecycle is not None:
        stage_property = described[lifecycle.object].get(lifecycle.property)
        offered = set(stage_property.options) if stage_property is not None else set()
        out["lifecycle"] = {f"{lifecycle.object}.{lifecycle.property}": None if stage_property is None else
                            {"stages": sorted(s for s in lifecycle.stages if s in offered)}}
    if spec.duplicates:
        out["duplicates"] = {rule.label: {name: name in described[rule.object] for name in rule.match}
                             for rule in spec.duplicates}
    return out


def _object(name: str) -> ObjectType:
    return name  # type: ignore[return-value]  # the schema allows only the CRM's object types


def _property(vendor: str, prop: Property | None) -> dict[str, Any] | None:
    if prop is None:
        return None
    return {"type": crm_type(vendor, prop), "field_type": prop.field_type, "options": sorted(prop.options)}
