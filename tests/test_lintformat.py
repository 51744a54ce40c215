from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from gtmcheck import findings as findings_mod
from gtmcheck.errors import Location
from gtmcheck.findings import Finding, Rule, Severity
from gtmcheck.lintformat import FORMATS, escape_data, escape_property, format_findings, sarif_log

DATA = Path(__file__).parent / "data"

ENCODED = Rule(
    code="TST105",
    name="url.encoded-junk",
    severity=Severity.WARNING,
    summary="URL carries double-encoded characters",
    hint="decode the URL once before listing it",
    doc="Double-encoded URLs break UTM parsing in the CRM. List the URL as the browser shows it.",
)
OWNER = Rule(
    code="TST201",
    name="header.unknown-owner",
    severity=Severity.ERROR,
    summary="owner is not a known person",
    hint="use an address from the directory",
)
STYLE = Rule(code="TST001", name="style.lowercase", severity=Severity.INFO, summary="", hint="")


@pytest.fixture(autouse=True)
def registered_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    for rule in (ENCODED, OWNER, STYLE):
        monkeypatch.setitem(findings_mod.RULES, rule.code, rule)


def sample() -> list[Finding]:
    """Deliberately out of order, to check sorting."""
    return [
        ENCODED.finding(Location("checks/utm.gtm.yml", 12, 7), "URL has %2520 in utm_campaign"),
        OWNER.finding(Location("checks/routing.gtm.yml", 3, 8), "owner bob@acme.example is not known"),
        ENCODED.finding(Location("checks/utm.gtm.yml", 4, 3), "URL has %253D", hint="replace %253D with ="),
    ]


# --- text -----------------------------------------------------------------------------------------------


def test_text_lines_sorted_with_summary() -> None:
    out = format_findings(sample(), "text", tool_version="0.1.0")
    assert out.splitlines() == [
        "checks/routing.gtm.yml:3:8: TST201 [error] owner bob@acme.example is not known "
        "(fix: use an address from the directory)",
        "checks/utm.gtm.yml:4:3: TST105 [warning] URL has %253D (fix: replace %253D with =)",
        "checks/utm.gtm.yml:12:7: TST105 [warning] URL has %2520 in utm_campaign "
        "(fix: decode the URL once before listing it)",
        "3 findings (1 error, 2 warnings) in 2 files",
    ]


def test_text_no_findings() -> None:
    assert format_findings([], "text", tool_version="0.1.0") == "No findings.\n"


def test_text_singular_summary_and_info_and_no_hint() -> None:
    f = STYLE.finding(Location("a.gtm.yml", 1, 1), "name should be\nlowercase")
    lines = format_findings([f], "text", tool_version="0").splitlines()
    assert lines == ["a.gtm.yml:1:1: TST001 [info] name should be lowercase", "1 finding (1 info) in 1 file"]


# --- json -----------------------------------------------------------------------------------------------


def test_json_is_sorted_list_of_contract_dicts() -> None:
    data = json.loads(format_findings(sample(), "json", tool_version="0.1.0"))
    assert [(d["file"], d["line"]) for d in data] == [
        ("checks/routing.gtm.yml", 3),
        ("checks/utm.gtm.yml", 4),
        ("checks/utm.gtm.yml", 12),
    ]
    assert data[0] == {
        "rule": "TST201",
        "severity": "error",
        "file": "checks/routing.gtm.yml",
        "line": 3,
        "column": 8,
        "message": "owner bob@acme.example is not known",
        "name": "header.unknown-owner",
        "fix": "use an address from the directory",
    }


def test_json_empty() -> None:
    assert json.loads(format_findings([], "json", tool_version="0.1.0")) == []


# --- sarif ----------------------------------------------------------------------------------------------


def _validators() -> list[jsonschema.protocols.Validator]:
    result = []
    for name in ("sarif-schema-2.1.0.json", "sarif-schema-2.1.0-rtm.5.json"):
        schema = json.loads((DATA / name).read_text(encoding="utf-8"))
        cls = jsonschema.validators.validator_for(schema)
        cls.check_schema(schema)
        result.append(cls(schema, format_checker=cls.FORMAT_CHECKER))
    return result


VALIDATORS = _validators()


def _validate(log: Any) -> None:
    for validator in VALIDATORS:
        errors = sorted(validator.iter_errors(log), key=lambda e: list(e.absolute_path))
        assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)


def test_vendored_schemas_are_the_expected_drafts() -> None:
    assert [type(v).__name__ for v in VALIDATORS] == ["Draft202012Validator", "Draft4Validator"]


def test_sarif_validates_against_schema() -> None:
    out = format_findings(sample(), "sarif", tool_version="0.1.0")
    _validate(json.loads(out))


def test_sarif_empty_validates() -> None:
    log = json.loads(format_findings([], "sarif", tool_version="0.1.0"))
    _validate(log)
    assert log["runs"][0]["results"] == []
    assert log["runs"][0]["tool"]["driver"]["rules"] == []


def test_sarif_schema_rejects_a_broken_log() -> None:
    """Make sure the validation above can fail at all."""
    log = sarif_log(sample(), "0.1.0")
    log["runs"][0]["results"][0]["level"] = "fatal"
    with pytest.raises(AssertionError):
        _validate(log)


def test_sarif_content() -> None:
    log = json.loads(format_findings(sample(), "sarif", tool_version="1.2.3"))
    assert log["$schema"] == "https://json.schemastore.org/sarif-2.1.0.json"
    assert log["version"] == "2.1.0"
    (run,) = log["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "gtmcheck"
    assert driver["version"] == "1.2.3"
    assert driver["informationUri"].startswith("https://")
    assert [r["id"] for r in driver["rules"]] == ["TST105", "TST201"]
    encoded = driver["rules"][0]
    assert encoded == {
        "id": "TST105",
        "name": "url.encoded-junk",
        "shortDescription": {"text": "URL carries double-encoded characters"},
        "fullDescription": {"text": ENCODED.doc},
        "help": {"text": "decode the URL once before listing it"},
        "defaultConfiguration": {"level": "warning"},
    }
    assert driver["rules"][1]["defaultConfiguration"] == {"level": "error"}

    results = run["results"]
    assert [r["ruleId"] for r in results] == ["TST201", "TST105", "TST105"]
    for r in results:
        assert driver["rules"][r["ruleIndex"]]["id"] == r["ruleId"]
    assert [r["level"] for r in results] == ["error", "warning", "warning"]
    first = results[0]
    assert first["message"] == {"text": "owner bob@acme.example is not known"}
    assert first["locations"] == [
        {
            "physicalLocation": {
                "artifactLocation": {"uri": "checks/routing.gtm.yml", "uriBaseId": "%SRCROOT%"},
                "region": {"startLine": 3, "startColumn": 8},
            }
        }
    ]
    # a finding-specific fix is not in the rule's help, so it goes into the message
    assert results[1]["message"]["text"] == "URL has %253D (fix: replace %253D with =)"
    assert results[2]["message"]["text"] == "URL has %2520 in utm_campaign"
    fingerprints = [r["partialFingerprints"]["gtmcheckFinding/v1"] for r in results]
    assert len(set(fingerprints)) == 3


def test_sarif_info_is_note_and_rule_without_texts() -> None:
    log = sarif_log([STYLE.finding(Location("a.gtm.yml", 0, 0), "x")], "0.1.0")
    _validate(log)
    run = log["runs"][0]
    assert run["results"][0]["level"] == "note"
    region = run["results"][0]["locations"][0]["physicalLocation"]["region"]
    assert region == {"startLine": 1, "startColumn": 1}
    rule = run["tool"]["driver"]["rules"][0]
    assert rule["shortDescription"] == {"text": "style.lowercase"}
    assert "help" not in rule


def test_sarif_uses_registry_rule_and_keeps_unregistered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(findings_mod.RULES, "TST001")
    log = sarif_log([STYLE.finding(Location("a.gtm.yml", 2, 2), "x")], "0.1.0")
    assert log["runs"][0]["tool"]["driver"]["rules"][0]["id"] == "TST001"


@pytest.mark.parametrize(
    ("file", "uri"),
    [
        ("checks\\sub\\utm.gtm.yml", "checks/sub/utm.gtm.yml"),
        ("./checks/my utm.gtm.yml", "checks/my%20utm.gtm.yml"),
        ("checks/ü#1.gtm.yml", "checks/%C3%BC%231.gtm.yml"),
    ],
)
def test_sarif_relative_uris(file: str, uri: str) -> None:
    log = sarif_log([OWNER.finding(Location(file, 1, 1), "m")], "0.1.0")
    _validate(log)
    artifact = log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert artifact == {"uri": uri, "uriBaseId": "%SRCROOT%"}


def test_sarif_absolute_path_is_file_uri() -> None:
    log = sarif_log([OWNER.finding(Location("/elsewhere/x.gtm.yml", 1, 1), "m")], "0.1.0")
    _validate(log)
    artifact = log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert artifact == {"uri": "file:///elsewhere/x.gtm.yml"}


# --- github ---------------------------------------------------------------------------------------------


def test_github_workflow_commands() -> None:
    out = format_findings(sample(), "github", tool_version="0.1.0")
    assert out.splitlines() == [
        "::error file=checks/routing.gtm.yml,line=3,col=8,title=TST201 header.unknown-owner"
        "::owner bob@acme.example is not known (fix: use an address from the directory)",
        "::warning file=checks/utm.gtm.yml,line=4,col=3,title=TST105 url.encoded-junk"
        "::URL has %25253D (fix: replace %25253D with =)",
        "::warning file=checks/utm.gtm.yml,line=12,col=7,title=TST105 url.encoded-junk"
        "::URL has %252520 in utm_campaign (fix: decode the URL once before listing it)",
    ]


def test_github_notice_and_escaping() -> None:
    f = STYLE.finding(Location("dir,with:odd/a.gtm.yml", 5, 1), "line one\r\nline: two, 100%")
    assert format_findings([f], "github", tool_version="0") == (
        "::notice file=dir%2Cwith%3Aodd/a.gtm.yml,line=5,col=1,title=TST001 style.lowercase"
        "::line one%0D%0Aline: two, 100%25\n"
    )


def test_github_empty() -> None:
    assert format_findings([], "github", tool_version="0") == ""


def test_escape_helpers() -> None:
    assert escape_data("a%b\nc\rd:e,f") == "a%25b%0Ac%0Dd:e,f"
    assert escape_property("a%b\nc\rd:e,f") == "a%25b%0Ac%0Dd%3Ae%2Cf"


# --- dispatch -------------------------------------------------------------------------------------------


def test_formats_listed() -> None:
    assert FORMATS == ("text", "json", "sarif", "github")


def test_unknown_format() -> None:
    with pytest.raises(ValueError, match="unknown format 'xml'; use one of text, json, sarif, github"):
        format_findings([], "xml", tool_version="0")
