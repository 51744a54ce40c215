"""Routing assignees against the CRM's owners (ROUTE2xx): case files, and `gtmcheck lint --env` end to end."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from casefiles import case_kinds, expected_positions, rule_cases
from test_cli import SIGNED as RECONCILE  # a signed, fully attested checklist of another kind

from gtmcheck.cli import main
from gtmcheck.connectors.crm import Owner
from gtmcheck.findings import RULES, Finding
from gtmcheck.kinds import get_kind
from gtmcheck.kinds.routing.owners import lint_owners
from gtmcheck.spec import load_checklist

CASES = Path(__file__).parent / "cases" / "routing_owners"
HEADER = """\
kind: routing
name: Case
owner: mops@acme.example
built_by: jane@acme.example
"""
HEADER_LINES = HEADER.count("\n")
OWNERS = [
    Owner("1", "anna@acme.example"),
    Owner("2", "Ben@Acme.Example"),  # the CRM's case is not the checklist's
    Owner("3", "erin@acme.example", active=False),
    Owner("4", "inbound-queue@acme.example", type="QUEUE"),
    Owner("5", "old-queue@acme.example", type="QUEUE", active=False),
    Owner("6", None),  # an integration user without an email
    Owner("7", "dev@acme.example", active=False),  # deactivated, then re-created:
    Owner("8", "dev@acme.example"),
    Owner("9", "fred@acme.example", active=False),
]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "rule_case" in metafunc.fixturenames:
        metafunc.parametrize(("code", "rule_case"), rule_cases(CASES))


def lint(path: Path) -> list[Finding]:
    return lint_owners(load_checklist(path), OWNERS)


def test_rule(code: str, rule_case: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "case.gtm.yml"
    path.write_text(HEADER + rule_case["body"], encoding="utf-8")
    findings = lint(path)
    got = sorted((f.location.line, f.location.column) for f in findings if f.code == code)
    want = expected_positions(rule_case.get("expect", []), path, HEADER_LINES)
    assert got == want, [f"{f.location} {f.message}" for f in findings]
    if not rule_case.get("expect"):
        assert findings == [], [f"{f.location} {f.code} {f.message}" for f in findings]
    for finding in (f for f in findings if f.code == code):
        assert rule_case.get("message", "") in finding.message
        assert rule_case.get("fix", "") in finding.hint
        assert finding.location.file == "case.gtm.yml"


def test_every_owner_rule_has_passing_and_failing_cases() -> None:
    seen = case_kinds(CASES)
    codes = {c for c in RULES if c.startswith("ROUTE2")}
    assert codes == {"ROUTE201", "ROUTE202", "ROUTE203", "ROUTE204"}
    assert {c: {False, True} for c in codes} == seen


def test_a_suggestion_is_a_similar_name_not_just_the_same_domain(tmp_path: Path) -> None:
    path = tmp_path / "case.gtm.yml"
    path.write_text(HEADER + "rules:\n  - id: a\n    assign: {round_robin: [ben@acme.io, bem@acme.example]}\n")
    hints = [f.hint for f in lint(path)]
    assert hints == ["did you mean ben@acme.example?", "did you mean ben@acme.example?"], hints
    path.write_text(HEADER + "rules:\n  - id: a\n    assign: {owner: erim@acme.example}\n")
    assert [f.hint for f in lint(path)] == ["did you mean erin@acme.example (inactive)?"]
    path.write_text(HEADER + "rules:\n  - id: a\n    assign: {owner: zoe@acme.example}\n")
    assert "did you mean" not in lint(path)[0].hint  # not dev@ or ben@ for sharing @acme.example


def test_the_offline_lint_never_asks_for_owners(tmp_path: Path) -> None:
    path = tmp_path / "case.gtm.yml"
    path.write_text(HEADER + "rules:\n  - id: a\n    assign: {owner: nobody@acme.example}\n"
                    "fallback: {queue: nobody@acme.example}\n")
    assert not [f for f in get_kind("routing").lint(load_checklist(path)) if f.code.startswith("ROUTE2")]


# -- gtmcheck lint --env ---------------------------------------------------------------------------------

ROUTING = """\
kind: routing
name: Inbound demo requests
owner: mops@acme.example
built_by: jane@acme.example
signoff: {by: lee@acme.example, role: head_of_marketing_ops, on: 2026-11-20}
rules:
  - id: enterprise
    when: {employees: {gte: 1000}}
    assign: {owner: erin@acme.example}
  - id: smb
    when: {employees: {lt: 1000}}
    assign: {owner: zoe@acme.example}
fallback: {queue: inbound-queue@acme.example}
edge_cases:
  unmatched_territory: fallback
  duplicate_contact: existing_owner
  existing_customer_domain: fallback  # gtmcheck: ignore[ROUTE110] (no customer rule: not what these tests are about)
"""
TOKEN = "pat-na1-11111111-2222-3333-4444-555555555555"


def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, environments: str, **checklists: str) -> Path:
    (tmp_path / "gtmcheck.yml").write_text(f"version: 1\nenvironments:\n{environments}")
    for name, text in checklists.items():
        (tmp_path / "checks").mkdir(exist_ok=True)
        (tmp_path / "checks" / f"{name}.gtm.yml").write_text(text)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def lint_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[tuple[str, int, int]], str]:
    code = main(["lint", "--format", "json", *args])
    out, err = capsys.readouterr()
    return code, [(f["rule"], f["line"], f["column"]) for f in json.loads(out)], err


def test_lint_env_sandbox_reports_inactive_and_unknown_owners(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], repo: Path
) -> None:
    scenario = repo / "gtmcheck" / "demo" / "healthy.yml"  # erin@acme.example has left the company there
    project(tmp_path, monkeypatch, f"  sandbox:\n    crm: {{type: sandbox, scenario: {scenario}}}\n", routing=ROUTING)
    assert lint_json(capsys) == (0, [], "")  # offline: nothing to say
    code, found, err = lint_json(capsys, "--env", "sandbox")
    assert (code, err) == (1, "")
    assert found == [("ROUTE202", 9, 21), ("ROUTE201", 12, 21)]
    main(["lint", "--env", "sandbox"])
    out = capsys.readouterr().out
    assert "checks/routing.gtm.yml:9:21: ROUTE202 [error] owner erin@acme.example of rule enterprise is " \
           "deactivated in the CRM" in out
    assert "checks/routing.gtm.yml:12:21: ROUTE201 [error] owner zoe@acme.example of rule smb is not an owner " \
           "in the CRM" in out


@pytest.mark.parametrize(("text", "exit_code"), [
    (ROUTING, 0),  # clean offline: the skipped owner checks do not fail the lint
    (ROUTING.replace("id: smb", "id: enterprise"), 1),  # ROUTE108 offline: the offline findings decide
])
def test_lint_env_unreachable_crm_skips_owner_checks(
    text: str, exit_code: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    project(tmp_path, monkeypatch, f'  down:\n    crm: {{type: hubspot, base_url: "http://127.0.0.1:9", '
            f'token: "{TOKEN}"}}\n', routing=text)
    code, found, err = lint_json(capsys, "--env", "down")
    assert code == exit_code
    assert not [rule for rule, _, _ in found if rule.startswith("ROUTE2")]
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("gtmcheck lint: the CRM of environment 'down' is not reachable (")
    assert lines[0].endswith("); owner checks skipped")
    assert TOKEN not in err


def test_lint_env_without_its_token_skips_owner_checks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("GTMCHECK_TEST_NO_SUCH_TOKEN", raising=False)
    project(tmp_path, monkeypatch, '  production:\n    crm: {type: hubspot, token: "${GTMCHECK_TEST_NO_SUCH_TOKEN}"}\n',
            routing=ROUTING)
    code, found, err = lint_json(capsys, "--env", "production")
    assert (code, found) == (0, [])
    assert err == ("gtmcheck lint: the CRM of environment 'production' is not configured (environment variable "
                   "GTMCHECK_TEST_NO_SUCH_TOKEN is not set); owner checks skipped\n")


def test_lint_env_unknown_is_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    project(tmp_path, monkeypatch, "  sandbox:\n    crm: {type: sandbox, scenario: s.yml}\n", routing=ROUTING)
    assert main(["lint", "--env", "staging"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == "gtmcheck: error: unknown environment 'staging'; gtmcheck.yml defines: sandbox\n"


def test_lint_env_asks_hubspot_once_and_only_for_routing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        assert request.headers["authorization"] == f"Bearer {TOKEN}"
        archived = request.url.params["archived"] == "true"
        results = [{"id": "9", "email": "ERIN@acme.example", "type": "PERSON", "archived": True}] if archived else [
            {"id": "1", "email": "zoe@acme.example", "type": "PERSON", "archived": False},
            {"id": "2", "email": "inbound-queue@acme.example", "type": "QUEUE", "archived": False},
        ]
        return httpx.Response(200, json={"results": results})

    monkeypatch.setenv("GTMCHECK_TEST_TOKEN", TOKEN)
    envs = '  production:\n    crm: {type: hubspot, token: "${GTMCHECK_TEST_TOKEN}"}\n'
    project(tmp_path, monkeypatch, envs, reconcile=RECONCILE)
    with respx.mock(base_url="https://api.hubapi.com", assert_all_called=False) as router:
        route = router.get("/crm/v3/owners/").mock(side_effect=answer)
        assert lint_json(capsys, "--env", "production") == (0, [], "")
        assert route.call_count == 0  # no routing checklist, no CRM call
        (tmp_path / "checks" / "a.gtm.yml").write_text(ROUTING)
        (tmp_path / "checks" / "b.gtm.yml").write_text(ROUTING)
        code, found, err = lint_json(capsys, "--env", "production")
    assert route.call_count == 2  # active and archived owners, once for both checklists
    assert (code, err) == (1, "")
    assert found == [("ROUTE202", 9, 21), ("ROUTE202", 9, 21)]


def test_the_rules_check_of_a_run_reports_inactive_owners_from_the_crm(tmp_path: Path) -> None:
    """In `gtmcheck run`, ROUTING-RULES-EXPLICIT includes the owner checks: erin left the company."""
    from gtmcheck.context import RunContext
    from gtmcheck.errors import CheckFailed
    from gtmcheck.project import load_project

    repo = Path(__file__).resolve().parents[1]
    path = tmp_path / "r.gtm.yml"
    path.write_text(HEADER + "rules:\n  - id: apac\n    when: {country: {in: [JP]}}\n"
                    "    assign: {owner: erin@acme.example}\nfallback: {queue: inbound-queue@acme.example}\n",
                    encoding="utf-8")
    checklist = load_checklist(path)
    project = load_project(repo)
    check = next(iter(get_kind("routing").checks(checklist)))
    offline = check.run(None)  # type: ignore[arg-type]  # no environment: the offline lint only
    assert "explicit and reachable" in offline.summary and "CRM" not in offline.summary
    ctx = RunContext(project, project.environment("sandbox"))
    try:
        with pytest.raises(CheckFailed, match=r"ROUTE202 .*erin@acme\.example"):
            check.run(ctx)
    finally:
        ctx.close()
