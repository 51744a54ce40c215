"""The reconcile kind as a user meets it: a closed schema, REC1xx lint at the right lines, `gtmcheck run` against
a DuckDB warehouse (warehouse against warehouse), the registry entry and the lazy handoff hook."""

from __future__ import annotations

import json
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import duckdb
import pytest

from gtmcheck.cli import main
from gtmcheck.errors import Location, NotConfigured, SpecError
from gtmcheck.kinds import PendingKind, get_kind
from gtmcheck.kinds.base import CRM, WAREHOUSE, Check
from gtmcheck.kinds.reconcile import ReconcileKind
from gtmcheck.spec import load_checklist

HEADER = """\
kind: reconcile
name: CRM and warehouse agree
owner: revops@acme.example
built_by: jane@acme.example
signoff: {by: sam@acme.example, role: revops, on: 2026-11-20}
"""
TOTALS = HEADER + """\
totals:
  - id: closed-won
    label: closed-won
    expected:
      warehouse: {table: finance_deals, measure: {sum: amount}, where: "stage = 'closedwon'",
                  group_by: {month: closedate}}
    actual:
      warehouse: {table: crm_deals, measure: {sum: amount}, where: "stage = 'closedwon'",
                  group_by: {month: closedate}}
    precision: 2
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def lint_json(capsys: pytest.CaptureFixture[str], *paths: Path) -> tuple[int, list[dict[str, Any]]]:
    code = main(["lint", *map(str, paths), "--format", "json"])
    return code, json.loads(capsys.readouterr().out)


def test_reconcile_is_a_built_kind_with_a_closed_published_schema(capsys: pytest.CaptureFixture[str]) -> None:
    kind = get_kind("reconcile")
    assert isinstance(kind, ReconcileKind) and not isinstance(kind, PendingKind)
    assert main(["schema", "--kind", "reconcile"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["additionalProperties"] is False
    total = schema["properties"]["totals"]["items"]
    assert total["additionalProperties"] is False and total["required"] == ["id", "expected", "actual"]
    assert set(total["properties"]["expected"]["properties"]) == {"warehouse", "crm"}
    assert "handoffs" in schema["properties"]


def test_a_typo_is_unusable_input_at_its_line_with_a_did_you_mean(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path / "r.gtm.yml", TOTALS.replace("{table: crm_deals, measure:", "{table: crm_deals, mesure:"))
    code, found = lint_json(capsys, path)
    assert code == 2
    assert [(f["rule"], f["line"], f["column"]) for f in found] == [("GTM001", 13, 37)]
    assert found[0]["message"] == "unknown key 'mesure' in totals[0].actual.warehouse"
    assert found[0]["fix"] == "did you mean `measure`?"
    write(tmp_path / "r.gtm.yml", TOTALS.replace("precision: 2", "tolerance: {percnt: 1}"))
    code, found = lint_json(capsys, tmp_path / "r.gtm.yml")
    assert (code, found[0]["line"], found[0]["fix"]) == (2, 15, "did you mean `percent`?")


def test_a_side_must_be_exactly_one_system(tmp_path: Path) -> None:
    crm = "      crm: {object: deals, measure: {count: true}}\n"
    both = TOTALS.replace("    actual:\n      warehouse:", "    actual:\n" + crm + "      warehouse:")
    with pytest.raises(SpecError) as info:
        load_checklist(write(tmp_path / "r.gtm.yml", both))
    assert str(info.value).endswith("r.gtm.yml:13:7: totals[0].actual has 2 keys (crm, warehouse) where at most 1 is "
                                    "allowed. Fix: write {warehouse: {...}} or {crm: {...}}")


def test_a_duplicate_id_is_unusable_input(tmp_path: Path) -> None:
    entry = TOTALS[len(HEADER) + len("totals:\n"):]
    with pytest.raises(SpecError, match=r"r.gtm.yml:16:9: totals id 'closed-won' is used twice \(first at line 7\)"):
        load_checklist(write(tmp_path / "r.gtm.yml", TOTALS + entry))


LINTED = HEADER + """\
totals:
  - id: no-source
    expected:
      warehouse: {where: "stage = 'won'"}
    actual:
      crm: {object: deals, measure: {sum: amount}}
  - id: one-sided
    expected:
      warehouse: {table: deals, measure: {sum: amount}, group_by: {month: closedate}, key: id}
    actual:
      crm: {object: deals, measure: {count: true}}
    tolerance: {percent: 100}
  - id: unsafe
    expected:
      warehouse: {sql: "select 1 as value; drop table deals"}
    actual:
      warehouse: {table: deals, measure: {sum: amount}, where: "1 = 1 -- all"}
    tolerance: {percent: 0.5}
    min_age: 1h
"""


def test_every_rec_rule_points_at_its_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, found = lint_json(capsys, write(tmp_path / "r.gtm.yml", LINTED))
    assert code == 1
    assert [(f["rule"], f["line"], f["column"]) for f in found] == [
        ("REC101", 9, 7),    # neither table nor sql
        ("REC102", 14, 67),  # group_by on the expected side only
        ("REC107", 14, 92),  # key on one side only
        ("REC108", 16, 28),  # a count against a sum
        ("REC103", 17, 26),  # percent 100 lets a total of 0 pass
        ("REC105", 20, 24),  # sql with a second statement
        ("REC106", 20, 24),  # min_age cannot apply to a sql side
        ("REC106", 22, 7),   # min_age without updated_at
        ("REC105", 22, 64),  # where with a comment
        ("REC104", 23, 26),  # percent without absolute
    ]
    by_rule = {f["rule"]: f for f in found}
    assert by_rule["REC103"]["message"] == ("percent 100 lets a received total of 0 pass: the check cannot catch a "
                                            "sync that stopped")
    assert by_rule["REC101"]["fix"].startswith("give the side `table:` and `measure:`")


def test_a_blocked_entry_is_not_verified_and_says_the_rule(tmp_path: Path) -> None:
    checklist = load_checklist(write(tmp_path / "r.gtm.yml", LINTED))
    checks = list(get_kind("reconcile").checks(checklist))
    assert [c.name for c in checks] == ["RECONCILE-TOTALS[no-source]", "RECONCILE-TOTALS[one-sided]",
                                        "RECONCILE-TOTALS[unsafe]"]
    assert checks[0].needs == frozenset({WAREHOUSE, CRM})
    with pytest.raises(Exception, match=r"neither `table` nor `sql`: nothing to total \(REC101 at .*r.gtm.yml:9:7\)"):
        checks[0].run(None)  # type: ignore[arg-type]


def _warehouse(root: Path, finance: list[tuple[str, int, str]], crm: list[tuple[str, int, str]]) -> None:
    con = duckdb.connect(str(root / "wh.duckdb"))
    try:
        for name, rows in (("finance_deals", finance), ("crm_deals", crm)):
            con.execute(f"create or replace table {name} (id varchar, amount decimal(18,2), stage varchar, "
                        "closedate date)")
            for row in rows:
                con.execute(f"insert into {name} values (?, ?, 'closedwon', ?)", list(row))
    finally:
        con.close()


def _run(root: Path) -> tuple[int, dict[str, Any], str]:
    proc = subprocess.run([sys.executable, "-m", "gtmcheck.cli", "run", "--report-dir", "out"], cwd=root,
                          capture_output=True, text=True, timeout=120)
    report = json.loads((root / "out" / "report.json").read_text())
    item = next(i for c in report["checklists"] for i in c["items"] if i["id"] == "RECONCILE-TOTALS[closed-won]")
    return proc.returncode, item, proc.stdout


def test_run_passes_agreeing_tables_and_fails_with_the_cfo_message(tmp_path: Path) -> None:
    write(tmp_path / "gtmcheck.yml", "version: 1\nenvironments:\n  local:\n    warehouse: {url: \"duckdb:///wh.duckdb\"}\n")
    write(tmp_path / "checks" / "r.gtm.yml", TOTALS + "manual:\n  - {id: RECONCILE-HANDOFFS, evidence: q, "
                                                      "attested_by: sam@acme.example}\n")
    rows = [("d1", 383000, "2026-03-01"), ("d6", 18000, "2026-07-10"), ("d9", 27000, "2026-10-02")]
    _warehouse(tmp_path, rows, rows)
    code, item, _ = _run(tmp_path)
    assert (code, item["status"]) == (0, "passed")
    assert item["evidence"] == ("428000 closed-won agree between warehouse finance_deals and warehouse "
                                           "crm_deals, 3 months compared")
    _warehouse(tmp_path, rows, [rows[0], ("d9", 8000, "2026-10-02")])
    code, item, out = _run(tmp_path)
    assert (code, item["status"]) == (1, "failed")
    message = ("expected 428000 closed-won (warehouse finance_deals), received 391000 (warehouse crm_deals), diff "
               "-37000 (-8.6%); 2 of 3 months differ, largest first: 2026-10: expected 27000, received 8000, diff "
               "-19000; 2026-07: expected 18000, received 0 (none in warehouse crm_deals), diff -18000")
    assert item["message"].startswith(message)
    assert message in out


def test_handoffs_call_the_handoff_module_when_it_exists(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = HEADER + """\
handoffs:
  - id: lead-to-sales
    source: {warehouse: {table: events, key: lead_id, at: occurred_at, where: "event = 'lead.created'"}}
    destination: {crm: {object: contacts, key: email, has_owner: true}}
    within: 5m
"""
    path = write(tmp_path / "h.gtm.yml", text)
    seen: list[tuple[dict[str, Any], Location]] = []

    def handoff_checks(entry: dict[str, Any], location: Location) -> list[Check]:
        seen.append((entry, location))
        return [Check("RECONCILE-HANDOFFS", lambda ctx: None, location, param=entry["id"])]  # type: ignore[arg-type,return-value]

    fake = types.ModuleType("gtmcheck.kinds.reconcile.handoffs")
    fake.handoff_checks = handoff_checks  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "gtmcheck.kinds.reconcile.handoffs", fake)
    checks = list(get_kind("reconcile").checks(load_checklist(path)))
    assert [c.name for c in checks] == ["RECONCILE-HANDOFFS[lead-to-sales]"]
    assert seen[0][0]["within"] == "5m" and seen[0][1].line == 7
    monkeypatch.delitem(sys.modules, "gtmcheck.kinds.reconcile.handoffs")
    monkeypatch.setattr("importlib.import_module", _missing)
    (check,) = get_kind("reconcile").checks(load_checklist(path))
    with pytest.raises(NotConfigured, match="handoff checks are not built"):
        check.run(None)  # type: ignore[arg-type]


def _missing(name: str, package: str | None = None) -> Any:
    raise ModuleNotFoundError(f"No module named {name!r}", name=name)


def test_the_reference_page_is_the_schema(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema", "--kind", "reconcile", "--format", "markdown"]) == 0
    assert (repo / "docs" / "reconcile-reference.md").read_text() == capsys.readouterr().out, (
        "docs/reconcile-reference.md is stale: run `gtmcheck schema --kind reconcile --format markdown "
        "> docs/reconcile-reference.md`")
