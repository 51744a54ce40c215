"""CRM-FIELDS-MAPPED's ``mappings:``: form field -> CRM property -> warehouse column, traced with a marker value.

The crm kind (built in parallel) calls ``mapping_checks(spec)``; here ``spec`` is the smallest object with what
it promises: ``.checklist``, ``.data`` and ``.location(*path)``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from gtmcheck.context import RunContext
from gtmcheck.errors import CheckFailed, Location, SpecError
from gtmcheck.kinds.base import Check
from gtmcheck.kinds.crm.mappings import MAPPINGS_SCHEMA, mapping_checks
from gtmcheck.project import load_project
from gtmcheck.synthetic import TAG_PROPERTY

DEMO = Path(__file__).resolve().parent.parent / "gtmcheck" / "demo"
GUID = "6f1f2a4c-0b7e-4c55-9d1e-2d2c8c0b1a01"
MAPPINGS: dict[str, Any] = {
    "form": {"portal_id": 4242, "guid": GUID},
    "mappings": [
        {"form_field": "utm_source", "property": "contacts.utm_source", "warehouse": "contacts.utm_source"},
        {"form_field": "utm_campaign", "property": "contacts.utm_campaign", "warehouse": "contacts.utm_campaign"},
        {"form_field": "lead_source_detail", "property": "contacts.lead_source_detail", "value": "webinar"},
    ],
    "sync_lag": "3s",
    "crm_lag": "2s",
}


@dataclass
class FakeChecklist:
    path: Path


@dataclass
class Spec:
    """What the crm kind's model exposes to ``mapping_checks``."""

    checklist: Any
    data: dict[str, Any]

    def location(self, *path: str | int) -> Location:
        return Location(str(self.checklist.path), 10 + len(path), 3)


@pytest.fixture(autouse=True)
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("GTMCHECK_CACHE_DIR", str(tmp_path / "cache"))
    yield
    from gtmcheck import sandbox

    for app in list(sandbox._APPS.values()):
        app.sync.close()
    sandbox._APPS.clear()


def setup(tmp_path: Path, *, broken: str | None = None, sync: bool = True) -> RunContext:
    data = yaml.safe_load((DEMO / "healthy.yml").read_text())
    form = data["forms"][0]
    form["delay_ms"] = 100
    form["fields"] = [{**f, "property": None} if f["name"] == broken else f for f in form["fields"]]
    scenario = {"owners": data["owners"], "records": {"contacts": str(DEMO / "data" / "contacts.csv")},
                "warehouse": {"data": str(DEMO / "data")}, "forms": [form], **({"sync": {"lag_ms": 300}} if sync
                                                                             else {})}
    (tmp_path / "scenario.yml").write_text(yaml.safe_dump(scenario))
    (tmp_path / "gtmcheck.yml").write_text(
        "version: 1\nenvironments:\n  sandbox:\n    crm: {type: sandbox, scenario: scenario.yml}\n"
        "    writes: true\ndefault_environment: sandbox\n")
    proj = load_project(tmp_path)
    return RunContext(project=proj, environment=proj.environment())


def planned(tmp_path: Path, data: dict[str, Any] = MAPPINGS) -> dict[str, Check]:
    return {c.name: c for c in mapping_checks(Spec(FakeChecklist(tmp_path / "crm.gtm.yml"), data))}


def test_the_schema_fragment_accepts_the_documented_shape_and_refuses_a_bad_property() -> None:
    schema = {"type": "object", "properties": MAPPINGS_SCHEMA, "additionalProperties": False}
    jsonschema.validate(MAPPINGS, schema)
    bad = {**MAPPINGS, "mappings": [{"form_field": "x", "property": "utm_source"}]}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)


def test_every_mapping_reaches_its_property_and_warehouse_column(tmp_path: Path) -> None:
    ctx = setup(tmp_path)
    checks = planned(tmp_path)
    assert sorted(checks) == ["CRM-FIELDS-MAPPED[lead_source_detail]", "CRM-FIELDS-MAPPED[utm_campaign]",
                              "CRM-FIELDS-MAPPED[utm_source]"]
    evidence = checks["CRM-FIELDS-MAPPED[utm_campaign]"].run(ctx)
    marker = evidence.details["value"]
    assert marker.startswith("gtmcheck_") and marker.endswith("_utm_campaign") and ctx.run_id[-6:] in marker
    assert evidence.details["crm"] == {"utm_campaign": marker}
    assert evidence.details["warehouse"] == {"utm_campaign": marker}
    assert "reached the CRM and contacts.utm_campaign" in evidence.summary
    detail = checks["CRM-FIELDS-MAPPED[lead_source_detail]"].run(ctx)
    assert detail.details["crm"] == {"lead_source_detail": "webinar"} and "warehouse" not in detail.details
    checks["CRM-FIELDS-MAPPED[utm_source]"].run(ctx)
    from gtmcheck import sandbox

    app = sandbox.sandbox_app(ctx.environment.sandbox_scenario())  # type: ignore[arg-type]
    ours = [s for s in app._objects["contacts"].values() if s.properties.get(TAG_PROPERTY) == ctx.run_id]
    assert len(ours) == 1  # one submission carries every marker
    ctx.close()
    assert ours[0].archived


def test_a_field_that_stopped_mapping_fails_naming_the_field_the_contact_and_the_property(tmp_path: Path) -> None:
    ctx = setup(tmp_path, broken="utm_campaign")
    checks = planned(tmp_path)
    checks["CRM-FIELDS-MAPPED[utm_source]"].run(ctx)
    with pytest.raises(CheckFailed) as failed:
        checks["CRM-FIELDS-MAPPED[utm_campaign]"].run(ctx)
    assert failed.value.message.startswith("form field utm_campaign: contact ")
    assert ": CRM: utm_campaign is empty in the CRM (expected 'gtmcheck_" in failed.value.message
    ctx.close()


def test_a_column_the_sync_never_fills_fails_in_the_warehouse(tmp_path: Path) -> None:
    ctx = setup(tmp_path, sync=False)
    with pytest.raises(CheckFailed, match=r"warehouse: the sandbox scenario has no `sync:`"):
        planned(tmp_path)["CRM-FIELDS-MAPPED[utm_source]"].run(ctx)
    ctx.close()


def test_mappings_without_a_form_or_mapped_twice_are_located_spec_errors(tmp_path: Path) -> None:
    no_form = {k: v for k, v in MAPPINGS.items() if k != "form"}
    with pytest.raises(SpecError, match="names none"):
        planned(tmp_path, no_form)
    twice = {**MAPPINGS, "mappings": [MAPPINGS["mappings"][0], MAPPINGS["mappings"][0]]}
    with pytest.raises(SpecError, match="mapped twice") as bad:
        planned(tmp_path, twice)
    assert bad.value.location is not None and bad.value.location.line == 13
    assert planned(tmp_path, {"form": MAPPINGS["form"]}) == {}
