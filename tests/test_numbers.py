"""Numbers, dates and durations that mean something: ``.inf``, a 999-digit threshold, 2026-02-30 or 99999d
are errors at their line in `gtmcheck lint` (exit 2) and at collection in pytest / `gtmcheck run`; never a
traceback and never a lead sent with ``employees=inf``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gtmcheck.cli import main
from gtmcheck.durations import parse_duration
from gtmcheck.errors import Location, SpecError
from gtmcheck.limits import MAX_NUMBER, bad_numbers, number_problem
from gtmcheck.project import load_project
from gtmcheck.sandbox.scenario import Scenario

HEADER = """\
kind: routing
name: Numbers
owner: mops@acme.example
built_by: jane@acme.example
fallback: {queue: inbound-queue@acme.example}
"""


def rule(condition: str) -> str:
    return f"rules:\n  - id: big\n    when: {{employees: {condition}}}\n    assign: {{owner: anna@acme.example}}\n"


BIG = "9" * 999
# (body after the header, line, column, what the message says)
CASES = {
    "inf": (rule("{gte: .inf}"), 8, 29, "rules[0].when.employees.gte is infinite"),
    "minus_inf": (rule("{lt: -.inf}"), 8, 28, "rules[0].when.employees.lt is minus infinity"),
    "overflowing_float": (rule("{gt: 1e400}"), 8, 28, "rules[0].when.employees.gt is infinite"),
    "nan": (rule("{gte: .nan}"), 8, 29, "rules[0].when.employees.gte is .nan (not a number)"),
    "999_digit_threshold": (rule(f"{{gte: {BIG}}}"), 8, 29, "is a 999-digit number, beyond ±10^15"),
    "huge_float": (rule("{lte: 1e300}"), 8, 29, "rules[0].when.employees.lte is 1e+300, beyond ±10^15"),
    "just_over": (rule("{gte: 1000000000000001}"), 8, 29, "is a 16-digit number, beyond ±10^15"),
    "hex_too_big": (rule("{gte: 0x7fffffffffffffff}"), 8, 29, "is a 19-digit number, beyond ±10^15"),
    "inf_in_equals": (rule("{equals: .inf}"), 8, 32, "rules[0].when.employees.equals is infinite"),
    "inf_in_a_list": ("lists:\n  sizes: [10, -.inf]\n", 7, 15, "lists.sizes[1] is minus infinity"),
    "huge_count": ("alerts: {default_queue: {max_count: 1e20}}\n", 6, 37, "max_count is 1e+20, beyond ±10^15"),
    "huge_seed": (f"fuzz: {{leads: 10, seed: {BIG}}}\n", 6, 25, "fuzz.seed is a 999-digit number"),
    "feb_30": ("signoff: {by: lee@acme.example, role: revops, on: 2026-02-30}\n", 6, 51,
               "signoff.on '2026-02-30' is not a real calendar date (day is out of range for month)"),
    "month_13": ("signoff: {by: lee@acme.example, role: revops, on: 2026-13-01}\n", 6, 51,
                 "signoff.on '2026-13-01' is not a real calendar date (month must be in 1..12)"),
    "not_a_leap_year": ("manual:\n  - {id: ROUTING-ALERTS, on: 2025-02-29}\n", 7, 30,
                        "manual[0].on '2025-02-29' is not a real calendar date"),
    "sla_beyond_bound": ("sla: {assigned_within: 31d}\n", 6, 24,
                         "sla.assigned_within '31d' is longer than 30d, the longest allowed here"),
    "sla_999_digits": (f"sla: {{assigned_within: {'9' * 999}s}}\n", 6, 24, "sla.assigned_within is longer than 30d"),
    "age_beyond_bound": ("alerts: {default_queue: {max_age: 50000m}}\n", 6, 35,
                         "alerts.default_queue.max_age '50000m' is longer than 30d"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_lint_refuses_at_the_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    body, line, column, says = CASES[case]
    monkeypatch.chdir(tmp_path)
    (tmp_path / "n.gtm.yml").write_text(HEADER + body)
    assert main(["lint", "n.gtm.yml"]) == 2
    out = capsys.readouterr().out
    first = out.splitlines()[0]
    assert first.startswith(f"n.gtm.yml:{line}:{column}: GTM001 [error] "), out
    assert says in first and "(fix: " in first, first
    assert "Traceback" not in out


def test_values_at_the_bounds_are_fine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    body = rule("{gte: 1000000000000000, lt: -1e15}") + "sla: {assigned_within: 30d}\n"
    body += "signoff: {by: lee@acme.example, role: revops, on: 2024-02-29}\n"
    (tmp_path / "n.gtm.yml").write_text(HEADER + body)
    main(["lint", "n.gtm.yml"])
    assert "GTM001" not in capsys.readouterr().out


def test_collection_error_at_the_line_in_pytest(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yml", gtmcheck="version: 1\nenvironments:\n  local: {crm: {type: sandbox}}\n")
    checks = pytester.mkdir("checks")
    (checks / "inf.gtm.yml").write_text(HEADER + rule("{gte: .inf}"))
    (checks / "big.gtm.yml").write_text(HEADER + rule(f"{{gte: {BIG}}}"))
    (checks / "date.gtm.yml").write_text(HEADER + CASES["feb_30"][0])
    result = pytester.runpytest("checks")
    result.stdout.fnmatch_lines_random([
        "checks/inf.gtm.yml:8:29: rules?0?.when.employees.gte is infinite. Fix: write a finite number *",
        "checks/big.gtm.yml:8:29: rules?0?.when.employees.gte is a 999-digit number, beyond ±10^15. Fix: *",
        "checks/date.gtm.yml:6:51: signoff.on '2026-02-30' is not a real calendar date *",
    ])
    assert "Traceback" not in result.stdout.str() and "INTERNALERROR" not in result.stdout.str()
    assert result.ret == pytest.ExitCode.INTERRUPTED


PROJECT = "version: 1\nenvironments:\n  live:\n    crm: {type: hubspot, token: x, search_lag: 10s}\n"


@pytest.mark.parametrize(("change", "line", "says"), [
    (("search_lag: 10s", "search_lag: 2h"), 4, "search_lag '2h' is longer than 1h"),
    (("search_lag: 10s", f"search_lag: {'9' * 30}d"), 4, "is longer than 1h"),
    (("token: x, ", "token: x, base_url: y, "), 0, ""),  # a control: the file itself is fine
    (("}\n", "}\n    web: {type: live, timeout: .inf}\n"), 5, "web.timeout is infinite"),
    (("}\n", "}\n    web: {type: live, timeout: 86400}\n"), 5, "web.timeout must be at most 600"),
])
def test_project_file_numbers_and_durations(tmp_path: Path, change: tuple[str, str], line: int, says: str) -> None:
    path = tmp_path / "gtmcheck.yml"
    path.write_text(PROJECT.replace(*change))
    if not says:
        load_project(project_file=path)
        return
    with pytest.raises(SpecError) as info:
        load_project(project_file=path)
    assert info.value.location is not None and info.value.location.line == line, str(info.value)
    assert says in info.value.message


@pytest.mark.parametrize(("knobs", "says"), [
    ("latency_ms: .inf", "knobs.latency_ms is infinite"),
    ("latency_ms: 86400000", "knobs.latency_ms must be at most 3600000"),
    ("retry_after_s: 100000", "knobs.retry_after_s must be at most 3600"),
    (f"seed: {BIG}", "knobs.seed is a 999-digit number"),
])
def test_scenario_knobs_are_bounded(tmp_path: Path, knobs: str, says: str) -> None:
    path = tmp_path / "s.yml"
    path.write_text(f"knobs:\n  {knobs}\n")
    with pytest.raises(SpecError, match=says.replace("(", r"\(")) as info:
        Scenario.load(path)
    assert info.value.location is not None and info.value.location.line == 2


def test_parse_duration_is_bounded_for_every_caller() -> None:
    where = Location("gtmcheck.yml", 3, 5)
    assert parse_duration("30d", where) == 30 * 86400
    assert parse_duration("500ms", where) == 0.5
    with pytest.raises(SpecError, match="longer than 30d"):
        parse_duration("31d", where)
    with pytest.raises(SpecError, match="longer than 1h"):
        parse_duration("61m", where, maximum="1h")
    with pytest.raises(SpecError, match="longer than 30d"):
        parse_duration("9" * 5000 + "s", where)  # never an int too long to convert


def test_number_problem_and_walk() -> None:
    assert number_problem(MAX_NUMBER) is None and number_problem(-MAX_NUMBER) is None
    assert number_problem(True) is None and number_problem("inf") is None
    assert number_problem(float("nan")) == "is not a number (NaN)"
    found = dict(bad_numbers({"a": [1, float("inf")], "b": {"c": 10**20}}))
    assert found == {("a", 1): "is infinite", ("b", "c"): "is a 21-digit number, beyond ±10^15"}
