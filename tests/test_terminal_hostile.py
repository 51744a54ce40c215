"""The terminal cannot be hijacked: `gtmcheck run` (pytest's item names, failure text, the Go-live lines),
`gtmcheck lint` in every format and junit.xml show control, bidi and zero-width characters, never obey them.

A CSV campaign id becomes a pytest node id and a URL ends up in a failure message, so both carry the
hostile strings here, as do the checklist's name and owner.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest
from hostile import EVERYTHING, HOSTILE, raw_hidden
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gtmcheck.cli import main
from gtmcheck.errors import Location
from gtmcheck.findings import Rule, Severity
from gtmcheck.lintformat import format_findings

PROJECT = """\
version: 1
environments:
  local:
    crm: {type: sandbox, scenario: scenario.yml}
    web: {type: sandbox, timeout: 5}
default_environment: local
checks: [checks]
"""
SCENARIO = """\
owners:
  - {email: anna@acme.example, first_name: Anna, last_name: Alvarez}
site:
  pages: [/spring]
"""
QUERY = "utm_source=google&utm_medium=cpc&utm_campaign="


def yaml_string(text: str) -> str:
    """``text`` as a YAML double-quoted scalar; what YAML may not hold raw goes in as an escape."""
    out = []
    for char in text:
        if char in '"\\':
            out.append("\\" + char)
        elif char.isprintable():
            out.append(char)
        else:
            code = ord(char)
            out.append(f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}")
    return '"' + "".join(out) + '"'


def write_project(root: Path, name: str, owner: str, campaign_id: str, campaign: str) -> Path:
    """A sandbox project whose UTM checklist carries the values; returns the checks folder."""
    checks = root / "checks"
    checks.mkdir(parents=True)
    (root / "gtmcheck.yml").write_text(PROJECT, encoding="utf-8")
    (root / "scenario.yml").write_text(SCENARIO, encoding="utf-8")
    (checks / "utm.gtm.yml").write_text(
        f"kind: utm\nname: {yaml_string(name)}\nowner: {yaml_string(owner)}\nbuilt_by: jane@acme.example\n"
        "taxonomy:\n  required: [utm_source, utm_medium, utm_campaign]\n"
        "url_files:\n  - {path: urls.csv, id_column: campaign_id, url_column: url}\n",
        encoding="utf-8",
    )
    rows = io.StringIO(newline="")
    writer = csv.writer(rows, quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerow(["campaign_id", "url"])
    writer.writerow([campaign_id, f"https://www.acme.example/spring?{QUERY}{campaign}"])
    writer.writerow(["gone", f"https://www.acme.example/gone{campaign}?{QUERY}x"])
    (checks / "urls.csv").write_text(rows.getvalue(), encoding="utf-8", errors="surrogatepass")
    return checks


def assert_all_visible(text: str, where: str) -> None:
    assert raw_hidden(text) == [], f"{where}: {raw_hidden(text)}\n{text[-3000:]}"


def assert_report_files_visible(out: Path) -> None:
    for name in ("junit.xml", "report.json", "report.md", "report.html"):
        assert_all_visible((out / name).read_bytes().decode("utf-8"), name)
    ET.parse(out / "junit.xml")
    json.loads((out / "report.json").read_text(encoding="utf-8"))


def test_run_and_lint_show_hidden_characters_in_the_terminal(tmp_path: Path) -> None:
    """As a user runs it, in subprocesses: raw bytes of the terminal output, junit.xml and the reports."""
    checks = write_project(
        tmp_path, f"Evil {EVERYTHING}", "mops\u200b@acme.example", "ok\x1b[2Jwipe\u202e", "x\x1b[31m\u202e\u2066"
    )
    out = tmp_path / "out"
    run = subprocess.run(
        [sys.executable, "-m", "gtmcheck.cli", "run", "--report-dir", str(out), "--require-go-live"],
        cwd=tmp_path, capture_output=True, timeout=300,
    )
    terminal = (run.stdout + run.stderr).decode("utf-8")
    assert "Traceback" not in terminal
    assert_all_visible(terminal, "gtmcheck run")
    assert "UTM-URLS-RESOLVE[ok\\x1b[2Jwipe<U+202E>]" in terminal  # the node id pytest prints
    assert "\\x1b[31m<U+202E><U+2066>" in terminal  # the URL in a failure message
    assert "Go-live: BLOCKED" in terminal
    assert_report_files_visible(out)
    for fmt in ("text", "github", "json", "sarif"):
        lint = subprocess.run(
            [sys.executable, "-m", "gtmcheck.cli", "lint", "--format", fmt, str(checks)],
            cwd=tmp_path, capture_output=True, timeout=120,
        )
        text = (lint.stdout + lint.stderr).decode("utf-8")
        assert_all_visible(text, f"lint --format {fmt}")
        assert lint.returncode == 1 and "Traceback" not in text
    assert "ok\\x1b[2Jwipe<U+202E>" in text_of_lint(checks, tmp_path)


def text_of_lint(checks: Path, cwd: Path) -> str:
    lint = subprocess.run(
        [sys.executable, "-m", "gtmcheck.cli", "lint", str(checks)], cwd=cwd, capture_output=True, timeout=120
    )
    return lint.stdout.decode("utf-8")


_cases = itertools.count()


@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
@given(values=st.lists(HOSTILE, min_size=4, max_size=4))
def test_hostile_values_through_run_and_lint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], values: list[str]
) -> None:
    root = tmp_path / f"case{next(_cases)}"
    checks = write_project(root, *values)
    out = root / "out"
    main(["run", "--project", str(root / "gtmcheck.yml"), "--report-dir", str(out), "--require-go-live",
          str(checks)])
    captured = capsys.readouterr()
    assert_all_visible(captured.out + captured.err, "gtmcheck run")
    assert "Traceback" not in captured.out + captured.err
    if (out / "report.json").exists():
        assert_report_files_visible(out)
    for fmt in ("text", "github"):
        main(["lint", "--format", fmt, str(checks)])
        captured = capsys.readouterr()
        assert_all_visible(captured.out + captured.err, f"lint --format {fmt}")
        lines = captured.out.splitlines()
        if fmt == "github":
            assert all(line.startswith(("::error ", "::warning ", "::notice ")) for line in lines), lines
        else:
            assert all(re.match(r"\S.*:\d+:\d+: [A-Z]+\d+ \[\w+\] ", line) for line in lines[:-1]), lines


# --- the lint formatters, with anything ---------------------------------------------------------------

RULE = Rule(code="TST901", name="test.hostile", severity=Severity.ERROR, summary="s", hint="h")
_SARIF_SCHEMA = json.loads((Path(__file__).parent / "data" / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
SARIF = jsonschema.validators.validator_for(_SARIF_SCHEMA)(_SARIF_SCHEMA)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(rows=st.lists(st.tuples(HOSTILE, HOSTILE, HOSTILE), min_size=1, max_size=4))
def test_hostile_findings_through_every_lint_format(rows: list[tuple[str, str, str]]) -> None:
    findings = [RULE.finding(Location(file or "f", 3, 5), message, hint=hint) for file, message, hint in rows]
    text = format_findings(findings, "text", tool_version="0")
    assert_all_visible(text, "text")
    assert len(text.splitlines()) == len(findings) + 1  # one line per finding, then the summary
    github = format_findings(findings, "github", tool_version="0")
    assert_all_visible(github, "github")
    lines = github.splitlines()
    assert len(lines) == len(findings) and all(line.startswith("::error file=") for line in lines)
    for fmt in ("json", "sarif"):
        out = format_findings(findings, fmt, tool_version="0")
        assert_all_visible(out, fmt)
        json.loads(out)
    SARIF.validate(json.loads(format_findings(findings, "sarif", tool_version="0")))
    decoded = json.loads(format_findings(findings, "json", tool_version="0"))
    assert sorted(d["message"] for d in decoded) == sorted(f.message for f in findings)  # \u escapes round-trip


def test_report_json_keeps_the_exact_campaign_id_that_the_terminal_shows_escaped(tmp_path: Path) -> None:
    checks = write_project(tmp_path, "n", "mops@acme.example", "ok\x1b[2J\u202e", "x")
    out = tmp_path / "out"
    main(["run", "--project", str(tmp_path / "gtmcheck.yml"), "--report-dir", str(out), str(checks)])
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    ids = {item["id"] for checklist in report["checklists"] for item in checklist["items"]}
    assert "UTM-URLS-RESOLVE[ok\x1b[2J\u202e]" in ids
    names = {case.get("name") for case in ET.parse(out / "junit.xml").getroot().iter("testcase")}
    assert "UTM-URLS-RESOLVE[ok\\x1b[2J<U+202E>]" in names
