"""The reviewed baseline: ``gtmcheck baseline save|diff`` on the demo sandbox, and BASELINE-DRIFT in a run.

The story the demo tells: save the baseline on the healthy stack, look at the drifted one ("three months
later"), and every seeded drift is named with its owner, what it was, what it is and since when.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gtmcheck.baseline.diff import drifts
from gtmcheck.cli import main
from gtmcheck.report.schema import schema_problem

OWNER = "revops@acme.example"
FILES = ["attribution.json", "crm.json", "reconcile.json", "routing.json", "utm.json", "webhooks.json"]


def make_project(repo: Path, where: Path) -> Path:
    """The repository's demo project (gtmcheck.yml, checks/, the demo scenarios) in a folder of its own."""
    where.mkdir(parents=True, exist_ok=True)
    shutil.copytree(repo / "gtmcheck" / "demo", where / "demo")  # not under gtmcheck/: `python -m` would import it
    for name in ["gtmcheck.yml", *(f"checks/{p.name}" for p in (repo / "checks").glob("*.gtm.yml"))]:
        target = where / name
        target.parent.mkdir(exist_ok=True)
        target.write_text((repo / name).read_text().replace("gtmcheck/demo/", "demo/"))
    return where


@pytest.fixture
def project(repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = make_project(repo, tmp_path / "project")
    monkeypatch.chdir(root)
    return root


@pytest.fixture(scope="module")
def saved(repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A project whose baseline was saved on the healthy sandbox (shared: the run tests only read it)."""
    root = make_project(repo, tmp_path_factory.mktemp("saved") / "project")
    result = gtmcheck("baseline", "save", "--env", "sandbox", cwd=root)
    assert result.returncode == 0, result.stderr
    yield root


def gtmcheck(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([sys.executable, "-m", "gtmcheck.cli", *args], cwd=cwd, capture_output=True, text=True,
                            timeout=300)
    assert "Traceback" not in result.stdout + result.stderr, result.stdout + result.stderr
    return result


def diff_json(capsys: pytest.CaptureFixture[str], env: str, expect: int) -> dict[str, Any]:
    assert main(["baseline", "diff", "--env", env, "--format", "json"]) == expect
    out: dict[str, Any] = json.loads(capsys.readouterr().out)
    return out


def by_path(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f"{d['checklist']}#{d['path']}": d for d in report["drifts"]}


# --- save and diff -------------------------------------------------------------------------------------


def test_save_on_healthy_then_diff_on_drifted_names_each_seeded_drift(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["baseline", "save", "--env", "sandbox"]) == 0
    out = capsys.readouterr().out
    for name in FILES:
        assert f"wrote gtmcheck-baseline/checks/{name}" in out
    assert "6 file(s) written, 0 unchanged, 0 skipped, 0 failed" in out

    # the same stack has not drifted
    assert diff_json(capsys, "sandbox", 0)["drifts"] == []

    found = by_path(diff_json(capsys, "sandbox-drifted", 1))
    option = found["checks/crm.gtm.yml#/properties/contacts.lead_source_detail/options"]
    assert "webinar" in option["was"] and "webinars" not in option["was"]
    assert "webinars" in option["is"] and "webinar" not in option["is"]
    assert "option `webinar` was removed; `webinars` added" in option["message"]
    july = found["checks/reconcile.gtm.yml#/totals/closed-won/2026-07/CRM"]
    october = found["checks/reconcile.gtm.yml#/totals/closed-won/2026-10/CRM"]
    assert (july["was"] - july["is"], october["was"] - october["is"]) == (18000, 19000)
    assert "(-18000" in july["message"] and "(-19000" in october["message"]
    webhook = found["checks/webhooks.gtm.yml#/events/account.updated/versions_seen"]
    assert webhook["was"] == ["2.0"] and "2.1" in webhook["is"]
    assert "event account.updated version `2.0` was removed; `2.1` added" in webhook["message"]
    paid_video = found["checks/attribution.gtm.yml#/credit_share/Paid Video"]  # untagged since September
    assert (paid_video["was"], paid_video["is"]) == (0.118182, 0.066667)
    # routing: real ES/IT enterprise leads of the last day now reach the inbound queue, not only anna
    routed = found["checks/routing.gtm.yml#/outcomes/enterprise-emea"]
    assert routed["was"] == ["anna@acme.example"]
    assert routed["is"] == ["anna@acme.example", "inbound-queue@acme.example"]
    assert routed["owner"] == "mops@acme.example"
    assert {d["owner"] for p, d in found.items() if not p.startswith("checks/routing")} == {OWNER}
    assert all(d["since"].startswith("since the baseline of 20") for d in found.values())
    # the warehouse did not move: only the CRM's side of the totals drifted
    assert not [p for p in found if "/warehouse" in p]


def test_diff_as_text_says_owner_and_since_one_line_each(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["baseline", "save", "--env", "sandbox", "checks/crm.gtm.yml"]) == 0
    capsys.readouterr()
    assert main(["baseline", "diff", "--env", "sandbox-drifted", "checks/crm.gtm.yml"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("checks/crm.gtm.yml: crm `HubSpot CRM build-out (Q4 relaunch)`: property "
                               "contacts.lead_source_detail option `webinar` was removed; `webinars` added "
                               f"(owner {OWNER}, since the baseline of ")
    assert lines[-1] == "1 drift(s) in 1 checklist(s) compared against environment 'sandbox-drifted'."
    # only the named checklist was saved
    assert sorted(p.name for p in (project / "gtmcheck-baseline" / "checks").iterdir()) == ["crm.json"]
    # -k picks checklists by file, name or kind; options may follow the paths
    assert main(["baseline", "save", "-k", "WEBHOOK", "--env", "sandbox"]) == 0
    assert "1 file(s) written, 0 unchanged, 0 skipped" in capsys.readouterr().out
    assert main(["baseline", "diff", "checks", "--env", "sandbox-drifted", "-k", "webhooks"]) == 1
    assert "version `2.0` was removed; `2.1` added" in capsys.readouterr().out


def test_saving_twice_is_byte_identical_sorted_and_small(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["baseline", "save", "--env", "sandbox"]) == 0
    folder = project / "gtmcheck-baseline" / "checks"
    first = {name: (folder / name).read_bytes() for name in FILES}
    capsys.readouterr()
    assert main(["baseline", "save", "--env", "sandbox"]) == 0
    assert "0 file(s) written, 6 unchanged" in capsys.readouterr().out
    assert {name: (folder / name).read_bytes() for name in FILES} == first
    for name, raw in first.items():
        text = raw.decode()
        data = json.loads(text)
        assert text == json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"  # sorted keys
        assert len(raw) < 8 * 1024, name  # small enough to review in a pull request
    crm = json.loads(first["crm.json"])["observed"]
    options = crm["properties"]["contacts.lead_source_detail"]["options"]
    assert options == sorted(options) == ["demo_request", "ebook", "event", "webinar"]
    assert json.loads(first["crm.json"])["environment"] == "sandbox"


def test_save_only_reads_the_crm(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[tuple[str, str]] = []
    real_send = httpx.Client.send

    def send(self: httpx.Client, request: httpx.Request, **kwargs: Any) -> httpx.Response:
        sent.append((request.method, request.url.path))
        return real_send(self, request, **kwargs)

    monkeypatch.setattr(httpx.Client, "send", send)
    assert main(["baseline", "save", "--env", "sandbox"]) == 0
    assert sent, "the CRM was not asked at all"
    writes = [(m, p) for m, p in sent if m in ("PATCH", "PUT", "DELETE")
              or (m == "POST" and not p.endswith(("/search", "/batch/read")))]
    assert writes == []


def test_a_corrupted_baseline_is_exit_2_with_the_file_and_the_fix(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["baseline", "save", "--env", "sandbox"]) == 0
    (project / "gtmcheck-baseline" / "checks" / "crm.json").write_text('{"version": 1, "observed": {"prop')
    capsys.readouterr()
    assert main(["baseline", "diff", "--env", "sandbox"]) == 2
    err = capsys.readouterr().err
    assert "gtmcheck-baseline/checks/crm.json" in err and "unreadable" in err
    assert "Fix: restore it from version control or run `gtmcheck baseline save` again" in err


def test_no_baseline_is_a_clear_message(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["baseline", "diff", "--env", "sandbox"]) == 2
    err = capsys.readouterr().err
    assert "no baseline to compare with under gtmcheck-baseline/" in err
    assert "Fix: run `gtmcheck baseline save --env NAME`" in err


def test_an_unknown_environment_is_exit_2(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["baseline", "save", "--env", "nowhere"]) == 2
    assert "nowhere" in capsys.readouterr().err


def test_a_checklist_that_cannot_be_observed_keeps_its_old_file(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = project / "gtmcheck.yml"  # one more environment: the same CRM, a warehouse that is not there
    config.write_text(config.read_text().replace("default_environment:", (
        "  broken:\n    crm: {type: sandbox, scenario: demo/healthy.yml}\n"
        "    warehouse: {url: \"duckdb:///no/such/folder/warehouse.duckdb\"}\ndefault_environment:")))
    assert main(["baseline", "save", "--env", "sandbox"]) == 0
    before = (project / "gtmcheck-baseline" / "checks" / "reconcile.json").read_bytes()
    capsys.readouterr()
    assert main(["baseline", "save", "--env", "broken", "checks/reconcile.gtm.yml", "checks/crm.gtm.yml"]) == 1
    captured = capsys.readouterr()
    assert "checks/reconcile.gtm.yml: not observed:" in captured.err
    assert "its baseline file is kept as it was" in captured.err
    assert "wrote gtmcheck-baseline/checks/crm.json" in captured.out  # the others are still saved
    assert (project / "gtmcheck-baseline" / "checks" / "reconcile.json").read_bytes() == before


# --- the structural diff ---------------------------------------------------------------------------------


def _drifts(was: dict[str, Any], now: dict[str, Any]) -> list[str]:
    return [d.message for d in drifts(was, now, checklist="c.gtm.yml", kind="k", name="n", owner="o")]


def test_totals_drift_only_past_their_tolerance() -> None:
    was = {"totals": {"t": {"2026-07": {"CRM": {"value": 100000, "tolerance_pct": 0.5, "tolerance_abs": 0}}}}}

    def now(value: float) -> dict[str, Any]:
        return {"totals": {"t": {"2026-07": {"CRM": {"value": value, "tolerance_pct": 0.5, "tolerance_abs": 0}}}}}

    assert _drifts(was, now(100500)) == []  # 0.5%: within
    assert _drifts(was, now(100501)) == ["total t 2026-07 CRM was 100000, is 100501 (+501, +0.5%; tolerance 0.5%)"]
    exact = {"n": {"value": 3}}
    assert _drifts(exact, {"n": {"value": 3.0}}) == []
    assert _drifts(exact, {"n": {"value": 4}}) == ["n was 3, is 4 (+1, +33.3%)"]


def test_lists_are_sets_and_keys_come_and_go() -> None:
    assert _drifts({"a": {"options": ["x", "y"]}}, {"a": {"options": ["y", "x"]}}) == []  # order never drifts
    assert _drifts({"properties": {"p": {"options": ["x", "y"]}}}, {"properties": {"p": {"options": ["y", "z"]}}}) \
        == ["property p option `x` was removed; `z` added"]
    assert _drifts({"properties": {"p": {"type": "string"}}}, {"properties": {"p": None}}) == [
        "property p was {type: `string`}, is nothing"]
    assert _drifts({"s": {"a": 1}}, {"s": {"b": 1}}) == ["s a was removed (was `1`)", "s b is new: `1`"]
    assert _drifts({"s": {"flag": True}}, {"s": {"flag": 1}}) == ["s flag was `True`, is `1`"]


# --- BASELINE-DRIFT in the run -------------------------------------------------------------------------


def test_a_run_on_the_drifted_stack_fails_on_drift_without_changing_completeness(saved: Path, tmp_path: Path) -> None:
    out = tmp_path / "report"
    # CRM-SIGNOFF is checked offline and passes; BASELINE-DRIFT is the crm checklist's drift from the healthy stack
    result = gtmcheck("run", "checks/crm.gtm.yml", "--env", "sandbox-drifted", "--report-dir", str(out),
                      "-k", "CRM-SIGNOFF or BASELINE-DRIFT", cwd=saved)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "checks/crm.gtm.yml::BASELINE-DRIFT FAILED" in result.stdout
    assert (f"  - crm `HubSpot CRM build-out (Q4 relaunch)`: property contacts.lead_source_detail option `webinar` "
            f"was removed; `webinars` added (owner {OWNER}, new tonight, since the baseline of ") in result.stdout
    report = json.loads((out / "report.json").read_text())
    assert schema_problem(report) is None, schema_problem(report)
    (crm,) = report["checklists"]
    items = {i["id"]: i for i in crm["items"]}
    assert items["CRM-SIGNOFF"]["status"] == "passed" and "outside_dod" not in items["CRM-SIGNOFF"]
    drift = items["BASELINE-DRIFT"]
    assert drift["status"] == "failed" and drift["outside_dod"] is True
    assert drift["location"].startswith("checks/crm.gtm.yml:6:")  # the checklist's `kind:` line
    (entry,) = drift["details"]["drifts"]
    assert set(entry) == {"path", "was", "is", "since", "owner", "message"}
    assert entry["owner"] == OWNER and entry["path"] == "/properties/contacts.lead_source_detail/options"
    assert "webinars" in drift["message"]
    # the DoD: CRM-SIGNOFF done, the only selected item: 100%, drift or not; go-live is blocked by the drift
    assert crm["completeness"] == 100.0 and report["summary"]["completeness"] == 100.0
    assert [d["id"] for d in crm["dod"]] == [d["id"] for d in crm["dod"] if d["id"].startswith("CRM-")]
    assert "checks/crm.gtm.yml: BASELINE-DRIFT failed" in crm["blocking"]
    assert report["summary"]["failed"] == 1 and report["summary"]["passed"] == 1
    assert "BASELINE-DRIFT" in (out / "report.md").read_text()
    html = (out / "report.html").read_text()
    assert "Beside the definition of done" in html and "webinars" in html


def test_a_run_on_the_same_stack_passes_the_drift_check(saved: Path, tmp_path: Path) -> None:
    result = gtmcheck("run", "--env", "sandbox", "--report-dir", str(tmp_path / "r"), "-m", "drift", cwd=saved)
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads((tmp_path / "r" / "report.json").read_text())
    ran = sorted((c["file"], i["status"]) for c in report["checklists"] for i in c["items"])
    assert ran == [(f"checks/{n}.gtm.yml", "passed") for n in ("attribution", "crm", "reconcile", "routing", "utm",
                                                                "webhooks")]


def test_a_corrupted_baseline_errors_the_drift_check_naming_the_file(project: Path, tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["baseline", "save", "--env", "sandbox", "checks/crm.gtm.yml"]) == 0
    (project / "gtmcheck-baseline" / "checks" / "crm.json").write_text("[]\n")
    result = gtmcheck("run", "checks/crm.gtm.yml", "-m", "drift", "--report-dir", str(tmp_path / "r"), cwd=project)
    assert result.returncode == 1
    (item,) = json.loads((tmp_path / "r" / "report.json").read_text())["checklists"][0]["items"]
    assert item["status"] == "error" and item["outside_dod"] is True
    assert "gtmcheck-baseline/checks/crm.json" in item["message"] and "not a gtmcheck baseline file" in item["message"]
    assert "Fix: restore it from version control or run `gtmcheck baseline save` again" in item["message"]


# --- reconcile totals in every warehouse of the matrix ---------------------------------------------------


def test_reconcile_totals_drift_on_the_crm_side_in_each_warehouse(repo: Path, tmp_path: Path, warehouse_url: str,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from warehouses import load_csv_tables

    from gtmcheck.baseline.save import diff_baselines, save_baselines
    from gtmcheck.project import load_project

    load_csv_tables(warehouse_url, repo / "gtmcheck" / "demo" / "data", ["deals"])
    monkeypatch.setenv("BASELINE_TEST_WAREHOUSE", warehouse_url)
    demo = (repo / "gtmcheck" / "demo").as_posix()
    (tmp_path / "gtmcheck.yml").write_text(
        "version: 1\nenvironments:\n"
        f"  healthy:\n    crm: {{type: sandbox, scenario: {demo}/healthy.yml}}\n"
        "    warehouse: {url: \"${BASELINE_TEST_WAREHOUSE}\"}\n"
        f"  drifted:\n    crm: {{type: sandbox, scenario: {demo}/drifted.yml}}\n"
        "    warehouse: {url: \"${BASELINE_TEST_WAREHOUSE}\"}\n")
    (tmp_path / "checks").mkdir()
    shutil.copy(repo / "checks" / "reconcile.gtm.yml", tmp_path / "checks" / "reconcile.gtm.yml")
    project = load_project(project_file=tmp_path / "gtmcheck.yml")

    saved = save_baselines(project, project.environment("healthy"))
    assert saved.exit_code() == 0 and [o.written is not None for o in saved.items] == [True]
    totals = json.loads((tmp_path / "gtmcheck-baseline" / "checks" / "reconcile.json").read_text())
    groups = totals["observed"]["totals"]["closed-won"]
    assert sum(g["warehouse"]["value"] for g in groups.values()) == 428000  # summed by the warehouse
    assert all(g["warehouse"]["value"] == g["CRM"]["value"] for g in groups.values())

    (outcome,) = diff_baselines(project, project.environment("drifted")).items
    assert {(d.path, d.was - d.is_) for d in outcome.drifts} == {
        ("/totals/closed-won/2026-07/CRM", 18000), ("/totals/closed-won/2026-10/CRM", 19000)}
