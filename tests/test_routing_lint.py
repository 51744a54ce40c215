"""Every routing lint rule against its case file (tests/cases/routing/<CODE>.yaml), load-time errors, the solver."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from casefiles import case_kinds, expected_positions, rule_cases

from gtmcheck.errors import CheckFailed, Location, SpecError
from gtmcheck.findings import RULES, Finding
from gtmcheck.kinds import get_kind
from gtmcheck.kinds.routing.logic import Atom, Rule, Solver, pattern_candidates
from gtmcheck.saferegex import compile_pattern
from gtmcheck.spec import load_checklist

CASES = Path(__file__).parent / "cases" / "routing"
HEADER = """\
kind: routing
name: Case
owner: mops@acme.example
built_by: jane@acme.example
"""
HEADER_LINES = HEADER.count("\n")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "rule_case" in metafunc.fixturenames:
        metafunc.parametrize(("code", "rule_case"), rule_cases(CASES))


def write_checklist(folder: Path, body: str) -> Path:
    path = folder / "case.gtm.yml"
    path.write_text(HEADER + body, encoding="utf-8")
    return path


def lint(path: Path) -> list[Finding]:
    checklist = load_checklist(path)
    return sorted(get_kind("routing").lint(checklist), key=Finding.sort_key)


def test_rule(code: str, rule_case: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    path = write_checklist(tmp_path, rule_case["body"])
    findings = [f for f in lint(path) if f.code == code]
    want = expected_positions(rule_case.get("expect", []), path, HEADER_LINES)
    pinned = {line for line, col in want if col is not None}
    got = sorted(
        ((f.location.line, f.location.column if f.location.line in pinned else None) for f in findings),
        key=lambda t: (t[0], t[1] or 0),
    )
    assert got == want, [f"{f.location} {f.message}" for f in findings]
    for finding in findings:
        assert rule_case.get("message", "") in finding.message
        assert finding.location.file == "case.gtm.yml"


def test_every_route_rule_has_passing_and_failing_cases() -> None:
    seen = case_kinds(CASES)
    codes = {c for c in RULES if c.startswith("ROUTE1")}  # ROUTE2xx need the CRM: test_routing_owners
    assert codes == set(seen), codes ^ set(seen)
    assert all(v == {True, False} for v in seen.values()), seen


def test_every_route_rule_is_documented() -> None:
    for code, rule in RULES.items():
        if code.startswith("ROUTE"):
            assert "." in rule.name, code
            assert "Anti-pattern" in rule.doc and "Best practice" in rule.doc, code
            assert rule.hint, code


DESIGN_EXAMPLE = """\
signoff: {by: lee@acme.example, role: head_of_marketing_ops, on: 2026-11-20}
object: contacts
lists:
  customer_domains: {file: customers.csv}
rules:
  - id: enterprise-emea
    when: {country: {in: [DE, FR, GB]}, employees: {gte: 1000}}
    assign: {owner: anna@acme.example}
  - id: existing-customer
    when: {email_domain: {in_list: customer_domains}}
    assign: {owner_of: account}
fallback: {owner: inbound-queue@acme.example}
edge_cases:
  unmatched_territory: fallback
  duplicate_contact: existing_owner
  existing_customer_domain: existing-customer
sla: {assigned_within: 5m}
alerts: {default_queue: {max_count: 10, max_age: 1h}}
volume: {leads: 50}
"""


def test_design_example_is_clean_and_its_check_passes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "customers.csv").write_text("domain\nglobex.example\ninitech.example\n", encoding="utf-8")
    path = write_checklist(tmp_path, DESIGN_EXAMPLE)
    checklist = load_checklist(path)
    kind = get_kind("routing")
    findings = [f for f in kind.lint(checklist) if f.code != "ROUTE103"]
    assert findings == []
    checks = list(kind.checks(checklist))
    assert [c.name for c in checks] == [
        "ROUTING-RULES-EXPLICIT", "ROUTING-RULES-EXPLICIT[enterprise-emea]",
        "ROUTING-RULES-EXPLICIT[existing-customer]",
        "ROUTING-EDGE-CASES[unmatched_territory]", "ROUTING-EDGE-CASES[duplicate_contact]",
        "ROUTING-EDGE-CASES[existing_customer_domain]", "ROUTING-FALLBACK-OWNER", "ROUTING-VOLUME-TEST",
        "ROUTING-ALERTS", "ROUTING-ALERTS[audit]",  # with `alerts:`, the read-only audit of real leads too
    ]
    assert "2 routing rules" in checks[0].run(None).summary  # type: ignore[arg-type]  # offline: no context


def test_rules_check_fails_listing_the_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    body = (
        "rules:\n  - id: emea\n    when: {country: {in: [DE, FR]}}\n    assign: {owner: a@acme.example}\n"
        "  - id: de\n    when: {country: {equals: DE}}\n    assign: {owner: b@acme.example}\n"
        "fallback: {owner: q@acme.example}\n"
    )
    checklist = load_checklist(write_checklist(tmp_path, body))
    check = next(iter(get_kind("routing").checks(checklist)))
    assert check.name == "ROUTING-RULES-EXPLICIT"
    with pytest.raises(CheckFailed) as info:
        check.run(None)  # type: ignore[arg-type]
    assert "ROUTE101 rule de is shadowed by emea" in str(info.value)
    assert "example {country: DE}" in str(info.value)


def test_no_rules_no_check(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    checklist = load_checklist(write_checklist(tmp_path, "object: leads\n"))
    assert list(get_kind("routing").checks(checklist)) == []
    assert list(get_kind("routing").lint(checklist)) == []


# Load-time errors: a SpecError at the right line.


def spec_error(tmp_path: Path, body: str) -> SpecError:
    path = write_checklist(tmp_path, body)
    with pytest.raises(SpecError) as info:
        load_checklist(path)
    return info.value


RULE = "rules:\n  - id: de\n    when: {country: {equals: DE}}\n    assign: {owner: a@acme.example}\n"


@pytest.mark.parametrize(
    ("body", "line", "text"),
    [
        (RULE + "edge_cases: {existing_customer_domain: customers}\n", 5, "not a rule id"),
        (RULE + "sla: {assigned_within: 5 minutes}\n", 5, "duration"),
        (RULE + "edge_cases: {unmatched_territory: fallback}\n", 5, "no fallback is declared"),
        (RULE + "alerts:\n  default_queue: {max_age: 1w}\n", 6, "duration"),
        (RULE + "lists:\n  customers: {file: nope.csv}\n", 6, "not found"),
        ("rules:\n  - id: x\n    when: {source: {matches: '(?=a)'}}\n    assign: {owner: a@acme.example}\n", 3, "RE2"),
        ("rules:\n  - id: x\n    when: {source: {equal: a}}\n    assign: {owner: a@acme.example}\n", 3, ""),
        ("rules:\n  - id: x\n    assign: {owner: a@acme.example, queue: b@acme.example}\n", 3, ""),
        ("object: accounts\n", 1, ""),
    ],
)
def test_spec_errors_point_at_the_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str, line: int, text: str
) -> None:
    monkeypatch.chdir(tmp_path)
    err = spec_error(tmp_path, body)
    assert err.location is not None and err.location.line == HEADER_LINES + line, err
    assert text in str(err)


def test_list_file_one_value_per_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "domains.txt").write_text("# customers\nglobex.example\n\ninitech.example\n", encoding="utf-8")
    body = (
        "lists:\n  customers: {file: domains.txt}\n"
        "rules:\n  - id: named\n    when: {email_domain: {in: [globex.example, initech.example]}}\n"
        "    assign: {owner: a@acme.example}\n"
        "  - id: customers\n    when: {email_domain: {in_list: customers}}\n    assign: {owner_of: account}\n"
        "fallback: {owner: q@acme.example}\n"
    )
    codes = [f.code for f in lint(write_checklist(tmp_path, body))]
    assert "ROUTE101" in codes  # the file's two values are exactly the earlier rule's


# The solver.


def _rule(rid: str, owner: str = "", **when: dict[str, Any]) -> Rule:
    atoms = []
    for prop, cond in when.items():
        for op, value in cond.items():
            rx = compile_pattern(value, Location("x")) if op == "matches" else None
            atoms.append(Atom(prop, op, tuple(value) if isinstance(value, list) else value, rx))
    return Rule(rid, atoms, owner or rid)


def test_solver_builds_a_lead_per_rule_avoiding_earlier_rules() -> None:
    rules = [
        _rule("enterprise-emea", country={"in": ["DE", "FR", "GB"]}, employees={"gte": 1000}),
        _rule("emea", country={"in": ["DE", "FR", "GB"]}),
        _rule("mid", employees={"gt": 200, "lt": 1000}),
        _rule("webinar", source={"matches": "^(zoom|on24)$"}),
    ]
    s = Solver(rules)
    leads = [s.lead_for(i) for i in range(len(rules))]
    for i, lead in enumerate(leads):
        assert lead is not None
        assert s.first_match(lead) == i, (i, lead)
    assert leads[0] == {"country": "DE", "employees": 1500}
    assert leads[1] is not None and leads[1]["country"] == "DE" and leads[1].get("employees", 0) != 1000
    assert leads[2] is not None and 200 < float(leads[2]["employees"]) < 1000
    assert leads[3] is not None and leads[3]["source"] in ("zoom", "on24")


def test_solver_in_picks_a_member_not_taken_earlier() -> None:
    s = Solver([_rule("de", country={"equals": "DE"}), _rule("dach", country={"in": ["DE", "AT", "CH"]})])
    assert s.lead_for(1) == {"country": "AT"}
    assert s.reachable(1) is True


def test_solver_proves_shadowing_and_names_the_takers() -> None:
    s = Solver([
        _rule("big", employees={"gte": 1000}),
        _rule("small", employees={"lt": 1000}),
        _rule("de", country={"equals": "DE"}, employees={"gte": 500}),
    ])
    assert s.reachable(2) is False
    takers = s.shadowers(2)
    assert [j for j, _ in takers] == [0, 1]
    for j, lead in takers:
        assert lead is not None and s.first_match(lead) == j and s.matches(lead, s.rules[2])


def test_solver_treats_matches_as_opaque() -> None:
    s = Solver([_rule("any", source={"matches": "."}), _rule("zoom", source={"equals": "zoom"})])
    assert s.reachable(1) is None  # not provable either way: no shadowing claim
    s2 = Solver([_rule("x", source={"matches": "^[0-9]{3}$"})])
    assert s2.lead_for(0) is None  # no candidate from the literal text: unknown, not a crash


def test_solver_unmatched_lead_and_contradiction() -> None:
    s = Solver([_rule("de", country={"equals": "DE"}), _rule("bad", n={"gt": 5, "lte": 5})])
    lead = s.unmatched_example()
    assert lead is not None and s.first_match(lead) is None
    assert s.contradictory(1) and not s.contradictory(0)
    assert Solver([_rule("all")]).unmatched_example() is None


def test_pattern_candidates() -> None:
    assert pattern_candidates("^(zoom|on24)$")[:2] == ["zoom", "on24"]
    assert pattern_candidates("^[0-9]+$") == []
