"""Issue 10: `gtmcheck lint` says what a routing checklist's leads will cost before a run spends them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gtmcheck.cli import main

REPO = Path(__file__).resolve().parents[1]
CHECKLIST = REPO / "checks" / "routing.gtm.yml"


def test_lint_prints_the_lead_budget_per_rule_and_in_all(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lint", str(CHECKLIST)]) == 0
    out = capsys.readouterr().out
    budget = out[out.index("lead budget of "):].splitlines()
    assert budget[0].endswith("(leads: max 24, boundaries, bands, 2 outside values per list):")
    assert budget[1:] == [
        "  existing-customer 4 leads (4 listed values)",
        "  enterprise-emea 13 leads (6 listed values, 2 boundary, 2 outside lists, 3 bands)",
        "  emea 6 leads (4 listed values, 2 outside lists)",
        "  north-america 6 leads (2 listed values, 2 outside lists, 2 round-robin repeats)",
        "  apac 5 leads (3 listed values, 2 outside lists)",
        "  fallback 1, edge cases 4, volume test 50",
        "  total 89 leads, ~267 requests, ~14 s at 190/10 s (HubSpot Professional)",
    ]


def test_the_leads_key_changes_the_budget(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "routing.gtm.yml"
    path.write_text(CHECKLIST.read_text() + "leads: {max: 8, boundaries: false, bands: false, outside_lists: 1}\n")
    assert main(["lint", str(path)]) == 0
    out = capsys.readouterr().out
    assert "(leads: max 8, no boundaries, no bands, 1 outside values per list):" in out
    assert "  enterprise-emea 7 leads (6 listed values, 1 outside lists)\n" in out


def test_json_and_sarif_stay_findings_only(capsys: pytest.CaptureFixture[str]) -> None:
    for fmt in ("json", "sarif"):
        assert main(["lint", "--format", fmt, str(CHECKLIST)]) == 0
        out = capsys.readouterr().out
        json.loads(out)
        assert "lead budget" not in out


def test_a_bad_leads_key_is_an_error_at_its_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "routing.gtm.yml"
    path.write_text(CHECKLIST.read_text() + "leads: {max: 0, outside: 3}\n")
    assert main(["lint", str(path)]) == 2
    out = capsys.readouterr()
    assert f"{path}:" in out.out + out.err and "leads" in out.out + out.err
