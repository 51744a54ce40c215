"""Every UTM lint rule against its case file (tests/cases/utm/<CODE>.yaml), plus load-time errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from casefiles import case_kinds, expected_positions, rule_cases
from hypothesis import given, settings
from hypothesis import strategies as st

from gtmcheck.errors import SpecError
from gtmcheck.findings import RULES, Finding
from gtmcheck.kinds import get_kind
from gtmcheck.spec import load_checklist

CASES = Path(__file__).parent / "cases" / "utm"
HEADER = """\
kind: utm
name: Case
owner: mops@acme.example
built_by: jane@acme.example
"""
HEADER_LINES = HEADER.count("\n")
TAXONOMY = """\
taxonomy:
  required: [utm_source, utm_medium, utm_campaign]
  case: lower
  separator: "_"
  max_length: 40
  banned: [test, draft, tbd]
  parameters:
    utm_source: {allowed: [google, linkedin, newsletter]}
    utm_medium: {allowed: [cpc, paid_social, email]}
    utm_campaign: {pattern: "^fy[0-9]{2}q[1-4]_[a-z]+_[a-z0-9_]+$"}
    utm_content: {}
  combinations:
    google: [cpc]
    linkedin: [paid_social]
    newsletter: [email]
"""


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "rule_case" in metafunc.fixturenames:
        metafunc.parametrize(("code", "rule_case"), rule_cases(CASES))


def write_checklist(folder: Path, body: str, csv: str | None = None) -> Path:
    text = HEADER + body
    if not any(line.startswith("taxonomy:") for line in body.splitlines()):
        text += TAXONOMY
    path = folder / "case.gtm.yml"
    path.write_text(text, encoding="utf-8")
    if csv is not None:
        (folder / "urls.csv").write_text(csv, encoding="utf-8")
    return path


def lint(path: Path) -> list[Finding]:
    checklist = load_checklist(path)
    return sorted(get_kind("utm").lint(checklist), key=Finding.sort_key)


def _got(findings: list[Finding], file: Path, want: list[tuple[int, int | None]]) -> list[tuple[int, int | None]]:
    mine = [f for f in findings if Path(f.location.file).resolve() == file.resolve()]
    pinned = {line for line, col in want if col is not None}
    got = [(f.location.line, f.location.column if f.location.line in pinned else None) for f in mine]
    return sorted(got, key=lambda t: (t[0], t[1] or 0))


def test_rule(code: str, rule_case: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    path = write_checklist(tmp_path, rule_case["body"], rule_case.get("csv"))
    findings = [f for f in lint(path) if f.code == code]
    want = expected_positions(rule_case.get("expect", []), path, HEADER_LINES)
    assert _got(findings, path, want) == want, [f"{f.location} {f.message}" for f in findings]
    if "csv" in rule_case:
        csv_path = tmp_path / "urls.csv"
        want_csv = expected_positions(rule_case.get("expect_csv", []), csv_path, 0)
        assert _got(findings, csv_path, want_csv) == want_csv, [f"{f.location} {f.message}" for f in findings]
    for finding in findings:
        assert rule_case.get("message", "") in finding.message
        assert finding.location.file in ("case.gtm.yml", "urls.csv")  # relative, like the checklist's path


def test_every_utm_rule_has_passing_and_failing_cases() -> None:
    seen = case_kinds(CASES)
    codes = {c for c in RULES if c.startswith("UTM")}
    assert codes == set(seen), codes ^ set(seen)
    assert all(v == {True, False} for v in seen.values()), seen


def test_every_utm_rule_is_documented() -> None:
    for code, rule in RULES.items():
        if code.startswith("UTM"):
            assert rule.name.startswith(("url.", "taxonomy.")), code
            assert "Anti-pattern" in rule.doc and "Best practice" in rule.doc, code
            assert rule.hint, code


def test_demo_checklist_is_clean(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(repo)
    assert lint(repo / "checks" / "utm.gtm.yml") == []


def test_broken_demo_points_at_its_lines(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(repo)
    findings = lint(repo / "gtmcheck" / "demo" / "broken" / "utm.gtm.yml")
    codes = {f.code for f in findings}
    assert {c for c in RULES if c.startswith("UTM")} <= codes
    csv_lines = {f.location.line for f in findings if f.location.file.endswith("campaign_urls.csv")}
    assert csv_lines == set(range(3, 19))  # every broken row, and not the good one on line 2
    for f in findings:
        assert f.location.file.startswith("gtmcheck/demo/broken/")


# Load-time errors: a SpecError at the right line, never a traceback.


def spec_error(tmp_path: Path, body: str, csv: str | None = None) -> SpecError:
    path = write_checklist(tmp_path, body, csv)
    with pytest.raises(SpecError) as info:
        load_checklist(path)
    return info.value


def test_missing_url_file_points_at_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    err = spec_error(tmp_path, "url_files:\n  - {path: nope.csv}\n")
    assert err.location is not None and err.location.line == HEADER_LINES + 2
    assert "not found" in err.message and err.hint


def test_missing_url_column_points_at_url_column(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    body = "url_files:\n  - path: urls.csv\n    url_column: link\n"
    err = spec_error(tmp_path, body, "id,url\na,https://x.example/\n")
    assert err.location is not None and err.location.line == HEADER_LINES + 3
    assert "no column 'link'" in err.message and "id, url" in err.message


def test_default_url_column_missing_points_at_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    err = spec_error(tmp_path, "url_files:\n  - path: urls.csv\n", "id,link\na,https://x.example/\n")
    assert err.location is not None and err.location.line == HEADER_LINES + 2


def test_unknown_taxonomy_key_suggests_the_right_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    body = "taxonomy:\n  required: [utm_source]\n  parameters:\n    utm_souce: {allowed: [google]}\n"
    err = spec_error(tmp_path, body)
    assert err.location is not None and err.location.line == HEADER_LINES + 4
    assert "utm_source" in err.hint


def test_bad_regex_points_at_pattern(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    body = 'taxonomy:\n  required: [utm_campaign]\n  parameters:\n    utm_campaign: {pattern: "fy[0-9"}\n'
    err = spec_error(tmp_path, body)
    assert err.location is not None and err.location.line == HEADER_LINES + 4
    assert "not a valid regular expression" in err.message


# Robustness: no URL text makes the linter raise, and every offset lies inside the URL.

_URL_CHARS = st.sampled_from(list("abcAB:/?#&=%+_-. \t20utm_sourcemdiwhps[]@") + ["utm_", "%2", "://", "\x00", "é"])


@settings(max_examples=300, deadline=None)
@given(st.lists(_URL_CHARS, max_size=60).map("".join))
def test_lint_never_raises(url: str) -> None:
    from gtmcheck.channels import ChannelMap
    from gtmcheck.kinds.utm.model import Taxonomy, UtmSpec
    from gtmcheck.kinds.utm.url_rules import UrlLinter

    taxonomy = Taxonomy(
        required=("utm_source", "utm_medium"),
        separator="_",
        banned=frozenset({"test"}),
        combinations={"google": frozenset({"cpc"})},
    )
    linter = UrlLinter(UtmSpec(taxonomy, ChannelMap(), (), []))
    for _rule, message, offset in linter.lint(url):
        assert message
        assert 0 <= offset <= len(url)


def test_csv_rows_after_a_multiline_field_keep_their_lines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    good = "https://www.acme.example/s?utm_source=google&utm_medium=cpc&utm_campaign=fy26q1_emea_launch"
    csv = f'id,note,url,active\na,"two\nlines",{good},yes\n\nb,,{good.replace("cpc", "CPC")},no\n'
    path = write_checklist(tmp_path, "url_files:\n  - {path: urls.csv, id_column: id, active_column: active}\n", csv)
    findings = lint(path)
    assert [(f.code, f.location.file, f.location.line) for f in findings] == [("UTM107", "urls.csv", 5)]
    line = csv.splitlines()[4]
    assert findings[0].location.column == line.index("utm_medium=CPC") + 1
    checks = [c.name for c in get_kind("utm").checks(load_checklist(path))]
    assert checks == ["UTM-TAXONOMY-DOCUMENTED", "UTM-URLS-RESOLVE[a]"]  # b is inactive
