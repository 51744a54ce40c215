"""UTM-CRM-POPULATES and UTM-CHANNEL-TRACE as checks: one synthetic submission per channel, read back.

In-process tests run the utm kind's checks over a small project in ``tmp_path`` (the sandbox CRM, its form
and its warehouse sync); the last two run ``gtmcheck run`` on the repository's demo as a user does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from gtmcheck.context import RunContext
from gtmcheck.errors import CheckError, CheckFailed, SpecError
from gtmcheck.kinds import get_kind
from gtmcheck.kinds.base import Check
from gtmcheck.project import load_project
from gtmcheck.spec import load_checklist
from gtmcheck.synthetic import TAG_PROPERTY

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "gtmcheck" / "demo"
GUID = "6f1f2a4c-0b7e-4c55-9d1e-2d2c8c0b1a01"
CHECKLIST = f"""kind: utm
name: Trace
owner: mops@acme.example
built_by: jane@acme.example
signoff: {{by: lee@acme.example, role: head_of_marketing_ops, on: 2026-11-20}}
taxonomy:
  required: [utm_source, utm_medium, utm_campaign]
  parameters:
    utm_source: {{allowed: [google, linkedin, newsletter]}}
    utm_medium: {{allowed: [cpc, paid_social, email]}}
    utm_campaign: {{pattern: "^fy"}}
  combinations: {{google: [cpc], linkedin: [paid_social], newsletter: [email]}}
channels:
  expected: [Paid Search, Paid Social, Email]
urls:
  - {{id: spring, url: "https://www.acme.example/spring?utm_source=google&utm_medium=cpc&utm_campaign=fy26_spring"}}
  - {{id: social, url: "https://www.acme.example/s?utm_source=linkedin&utm_medium=paid_social&utm_campaign=fy26_s"}}
form: {{portal_id: 4242, guid: {GUID}}}
trace: {{crm_lag: 2s, warehouse_lag: 3s}}
"""


def project(tmp_path: Path, *, form_edit: Any = None, sync: bool = True, writes: bool = True,
            sync_lag_ms: int = 300) -> Path:
    data = yaml.safe_load((DEMO / "healthy.yml").read_text())
    form = data["forms"][0]
    form["delay_ms"] = 100
    if form_edit is not None:
        form_edit(form)
    scenario = {"owners": data["owners"], "records": {"contacts": str(DEMO / "data" / "contacts.csv")},
                "warehouse": {"data": str(DEMO / "data")}, "forms": [form]}
    if sync:
        scenario["sync"] = {"lag_ms": sync_lag_ms}
    (tmp_path / "scenario.yml").write_text(yaml.safe_dump(scenario))
    (tmp_path / "gtmcheck.yml").write_text(
        "version: 1\nenvironments:\n  sandbox:\n    crm: {type: sandbox, scenario: scenario.yml}\n"
        f"    writes: {str(writes).lower()}\ndefault_environment: sandbox\n")
    (tmp_path / "checks").mkdir()
    (tmp_path / "checks" / "utm.gtm.yml").write_text(CHECKLIST)
    return tmp_path


@pytest.fixture(autouse=True)
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("GTMCHECK_CACHE_DIR", str(tmp_path / "cache"))
    yield
    from gtmcheck import sandbox

    for app in list(sandbox._APPS.values()):  # each test's sandbox leaves its sync file behind it
        app.sync.close()
    sandbox._APPS.clear()


def checks(root: Path) -> tuple[dict[str, Check], RunContext]:
    checklist = load_checklist(root / "checks" / "utm.gtm.yml")
    kind = get_kind("utm")
    kind.prepare(checklist)
    found = {c.name: c for c in kind.checks(checklist) if c.dod_id in ("UTM-CRM-POPULATES", "UTM-CHANNEL-TRACE")}
    proj = load_project(root)
    return found, RunContext(project=proj, environment=proj.environment())


def tagged_contacts(ctx: RunContext, *, archived: bool = False) -> list[Any]:
    from gtmcheck import sandbox

    app = sandbox.sandbox_app(ctx.environment.sandbox_scenario())  # type: ignore[arg-type]
    return [s for s in app._objects["contacts"].values() if s.properties.get(TAG_PROPERTY) == ctx.run_id
            and s.archived == archived]


def test_a_healthy_form_passes_every_channel_through_the_crm_and_the_warehouse(tmp_path: Path) -> None:
    found, ctx = checks(project(tmp_path))
    assert sorted(found) == ["UTM-CHANNEL-TRACE[Email]", "UTM-CHANNEL-TRACE[Paid Search]",
                             "UTM-CHANNEL-TRACE[Paid Social]", "UTM-CRM-POPULATES"]
    evidence = found["UTM-CRM-POPULATES"].run(ctx)
    assert evidence.summary == "3 channels: source, medium and campaign populate in the CRM"
    paid = found["UTM-CHANNEL-TRACE[Paid Search]"].run(ctx)
    assert paid.details["crm"]["utm_campaign"] == "fy26_spring"  # the channel's own campaign URL
    assert paid.details["warehouse"] == {"utm_source": "google", "utm_medium": "cpc", "utm_campaign": "fy26_spring"}
    email = found["UTM-CHANNEL-TRACE[Email]"].run(ctx)  # no URL: an allowed pair of the channel
    assert email.details["crm"]["utm_source"] == "newsletter" and email.details["crm"]["utm_campaign"] == (
        "gtmcheck_trace")
    sent = tagged_contacts(ctx)
    assert len(sent) == 3  # one per channel, shared by both items
    assert all(s.properties["email"].endswith("@gtmcheck.example.com") for s in sent)
    ctx.close()  # the run's end: every synthetic contact is archived
    assert tagged_contacts(ctx) == [] and len(tagged_contacts(ctx, archived=True)) == 3


def test_a_field_that_stopped_mapping_fails_naming_the_channel_the_contact_and_the_property(tmp_path: Path) -> None:
    def drop_campaign(form: dict[str, Any]) -> None:
        form["fields"] = [{**f, "property": None} if f["name"] == "utm_campaign" else f for f in form["fields"]]

    found, ctx = checks(project(tmp_path, form_edit=drop_campaign))
    with pytest.raises(CheckFailed) as failed:
        found["UTM-CRM-POPULATES"].run(ctx)
    message = failed.value.message
    assert message.startswith("3 UTM values did not land in the CRM: ")
    (paid,) = [s for s in tagged_contacts(ctx) if "paid-search" in s.properties["email"]]
    assert f"Paid Search: contact {paid.id}: utm_campaign is empty in the CRM (expected 'fy26_spring')" in message
    assert "utm_source" not in message  # what did land is not blamed
    assert ctx.clock() - ctx.ledger.last_write < 1.5  # settled once the submission landed: no full lag waited
    with pytest.raises(CheckFailed, match=r"^Paid Social: contact \d+: CRM: utm_campaign is empty in the CRM"):
        found["UTM-CHANNEL-TRACE[Paid Social]"].run(ctx)
    ctx.close()


def test_a_stack_whose_warehouse_does_not_sync_fails_the_trace_in_the_warehouse(tmp_path: Path) -> None:
    found, ctx = checks(project(tmp_path, sync=False))
    found["UTM-CRM-POPULATES"].run(ctx)  # the CRM has them
    with pytest.raises(CheckFailed) as failed:
        found["UTM-CHANNEL-TRACE[Paid Search]"].run(ctx)
    assert "warehouse: the sandbox scenario has no `sync:`, so no contact ever reaches contacts" in (
        failed.value.message)
    assert ctx.clock() - ctx.ledger.last_write < 2  # told at once, not after the 3 s warehouse lag
    ctx.close()


def test_send_utm_fields_submits_them_as_fields_for_a_form_that_does_not_read_the_page_url(tmp_path: Path) -> None:
    def not_hidden(form: dict[str, Any]) -> None:
        form["fields"] = [{"name": f["name"]} for f in form["fields"]]

    root = project(tmp_path, form_edit=not_hidden)
    found, ctx = checks(root)
    with pytest.raises(CheckFailed, match="utm_source is empty in the CRM"):
        found["UTM-CRM-POPULATES"].run(ctx)
    ctx.close()
    path = root / "checks" / "utm.gtm.yml"
    path.write_text(path.read_text().replace(f"guid: {GUID}}}", f"guid: {GUID}, send_utm_fields: true}}"))
    found, ctx = checks(root)
    assert found["UTM-CRM-POPULATES"].run(ctx).summary.startswith("3 channels")
    ctx.close()


def test_a_checklist_that_reports_on_no_channel_fails_rather_than_passing_empty(tmp_path: Path) -> None:
    root = project(tmp_path)
    path = root / "checks" / "utm.gtm.yml"
    text = path.read_text().replace("  expected: [Paid Search, Paid Social, Email]\n", "  preset: ga4\n")
    path.write_text(text[:text.index("urls:")] + text[text.index("form:"):])
    found, ctx = checks(root)
    assert list(found) == ["UTM-CRM-POPULATES"]
    with pytest.raises(CheckFailed, match="reports on no channel"):
        found["UTM-CRM-POPULATES"].run(ctx)


def test_a_sync_slower_than_the_declared_lag_fails_naming_the_missing_row(tmp_path: Path) -> None:
    found, ctx = checks(project(tmp_path, sync_lag_ms=60_000))
    with pytest.raises(CheckFailed) as failed:
        found["UTM-CHANNEL-TRACE[Email]"].run(ctx)
    assert "warehouse: no row in contacts has email 'trace-email." in failed.value.message
    ctx.close()


def test_without_writes_the_trace_is_an_error_that_says_how_to_allow_it(tmp_path: Path) -> None:
    found, ctx = checks(project(tmp_path, writes=False))
    with pytest.raises(CheckError, match="does not allow writes"):
        found["UTM-CRM-POPULATES"].run(ctx)
    assert tagged_contacts(ctx) == []


def test_without_a_form_the_two_items_have_no_check(tmp_path: Path) -> None:
    root = project(tmp_path)
    text = (root / "checks" / "utm.gtm.yml").read_text()
    (root / "checks" / "utm.gtm.yml").write_text(text.replace(f"form: {{portal_id: 4242, guid: {GUID}}}\n", ""))
    found, _ = checks(root)
    assert found == {}


def test_a_misspelt_trace_key_is_a_located_spec_error(tmp_path: Path) -> None:
    root = project(tmp_path)
    path = root / "checks" / "utm.gtm.yml"
    path.write_text(path.read_text().replace("crm_lag: 2s", "crm_lagg: 2s"))
    with pytest.raises(SpecError) as bad:
        load_checklist(path)
    assert str(bad.value).startswith(f"{path}:19:")


# --- gtmcheck run on the demo, as a user runs it ---------------------------------------------------------------


def run_demo(env: str, out: Path, cache_dir: Path) -> tuple[int, dict[str, dict[str, Any]], str]:
    result = subprocess.run(
        [sys.executable, "-m", "gtmcheck.cli", "run", "--env", env, "-k", "UTM-CRM or UTM-CHANNEL",
         "--report-dir", str(out)], cwd=REPO, capture_output=True, text=True, timeout=300,
        env={**os.environ, "GTMCHECK_CACHE_DIR": str(cache_dir)})
    output = result.stdout + result.stderr
    assert "Traceback" not in output
    report = json.loads((out / "report.json").read_text())
    items = {i["id"]: i for c in report["checklists"] if c["kind"] == "utm" for i in c["items"]}
    return result.returncode, items, output


def test_gtmcheck_run_passes_both_items_on_the_healthy_demo(tmp_path: Path) -> None:
    code, items, output = run_demo("sandbox", tmp_path / "out", tmp_path / "cache")
    assert code == 0, output
    traced = [i for i in items if i.startswith("UTM-CHANNEL-TRACE[")]
    assert len(traced) == 6 and all(items[i]["status"] == "passed" for i in traced)
    assert items["UTM-CRM-POPULATES"]["status"] == "passed"
    assert "archived 6 synthetic records of run" in output and "none remain" in output


def test_gtmcheck_run_fails_both_items_on_the_drifted_demo_naming_utm_campaign(tmp_path: Path) -> None:
    code, items, output = run_demo("sandbox-drifted", tmp_path / "out", tmp_path / "cache")
    assert code == 1, output
    populates = items["UTM-CRM-POPULATES"]
    assert populates["status"] == "failed"
    assert "Paid Search: contact " in populates["message"]
    assert "utm_campaign is empty in the CRM (expected 'fy26q1_emea_launch')" in populates["message"]
    trace = items["UTM-CHANNEL-TRACE[Referral]"]
    assert trace["status"] == "failed" and "utm_campaign is empty in the CRM" in trace["message"]
    assert "none remain" in output
