"""``--gtm-recheck``: a failed or errored check runs once more before its result stands; the report says how."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from typing import Any

import pytest

from gtmcheck import plugin
from gtmcheck.context import RunContext
from gtmcheck.errors import CheckError, Evidence
from gtmcheck.kinds import get_kind

PROJECT = """\
version: 1
environments:
  local: {crm: {type: sandbox}, web: {type: live}}
  prod: {crm: {type: hubspot, token: "${GTM_TEST_TOKEN}"}}
default_environment: local
"""

SIGNED = """\
kind: crm
name: CRM build-out
owner: mops@acme.example
built_by: jane@acme.example
signoff:
  - {by: lee@acme.example, role: head_of_marketing_ops, on: 2026-11-20}
  - {by: sam@acme.example, role: revops, on: 2026-11-20}
"""

UNSIGNED = """\
kind: crm
name: CRM build-out
owner: mops@acme.example
built_by: jane@acme.example
signoff: {by: lee@acme.example, role: revops, on: 2026-11-20}
"""


def project(pytester: pytest.Pytester, checklist: str) -> pytest.Pytester:
    pytester.makefile(".yml", gtmcheck=PROJECT)
    (pytester.mkdir("checks") / "crm.gtm.yml").write_text(checklist)
    return pytester


class Flaky:
    """The crm kind with its CRM-SIGNOFF check answering a 503 on the first call, or ``action`` on every call."""

    def __init__(self, action: Callable[[], None] | None = None) -> None:
        self.calls = 0
        self.action = action

    def kind(self, name: str) -> Any:
        real = get_kind(name)
        flaky = self

        class Wrapped:
            def __getattr__(self, attr: str) -> Any:
                return getattr(real, attr)

            def checks(self, checklist: Any) -> Any:
                for check in real.checks(checklist):
                    yield replace(check, run=flaky.wrap(check.run)) if check.dod_id == "CRM-SIGNOFF" else check

        return Wrapped()

    def wrap(self, run: Callable[[RunContext], Evidence]) -> Callable[[RunContext], Evidence]:
        def first_fails(ctx: RunContext) -> Evidence:
            self.calls += 1
            if self.action is not None:
                self.action()
            if self.calls == 1:
                raise CheckError("HubSpot answered 503 Service Unavailable")
            return run(ctx)

        return first_fails


def signoff_item(pytester: pytest.Pytester) -> dict[str, Any]:
    report = json.loads((pytester.path / "out" / "report.json").read_text())
    (item,) = [i for c in report["checklists"] for i in c["items"] if i["id"] == "CRM-SIGNOFF"]
    return dict(item)


def test_an_error_that_passes_on_recheck_is_passed_and_called_flaky(pytester: pytest.Pytester,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    flaky = Flaky()
    monkeypatch.setattr(plugin, "get_kind", flaky.kind)
    result = project(pytester, SIGNED).runpytest("checks", "--gtm-recheck", "--gtm-report-dir=out", "-k", "SIGNOFF")
    result.assert_outcomes(passed=1)
    assert flaky.calls == 2
    item = signoff_item(pytester)
    assert item["status"] == "passed" and item["recheck"] == "passed on recheck (flaky)"
    assert item["evidence"].startswith("passed on recheck (flaky); first attempt could not be verified: HubSpot "
                                       "answered 503")
    assert "rechecking in 0s" in result.stdout.str()  # the sandbox needs no pause


def test_without_recheck_the_first_result_stands(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    flaky = Flaky()
    monkeypatch.setattr(plugin, "get_kind", flaky.kind)
    result = project(pytester, SIGNED).runpytest("checks", "--gtm-report-dir=out", "-k", "SIGNOFF")
    result.assert_outcomes(failed=1)
    assert flaky.calls == 1
    item = signoff_item(pytester)
    assert item["status"] == "error" and "recheck" not in item


def test_a_real_failure_fails_twice(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []
    monkeypatch.setattr(plugin, "RunContext", partial(RunContext, sleep=slept.append))
    result = project(pytester, UNSIGNED).runpytest("checks", "--gtm-recheck", "--gtm-recheck-delay", "1.5",
                                                   "--gtm-report-dir=out", "-k", "SIGNOFF")
    result.assert_outcomes(failed=1)
    item = signoff_item(pytester)
    assert item["status"] == "failed" and item["recheck"] == "failed twice"
    assert item["message"].startswith("no valid sign-off from marketing ops")
    assert slept == [1.5]
    assert "failed twice" in (pytester.path / "out" / "report.md").read_text()


INTERRUPTING = """
from dataclasses import replace
from pathlib import Path

from gtmcheck import plugin
from gtmcheck.kinds import get_kind


class Interrupting:
    def __getattr__(self, attr):
        return getattr(get_kind("crm"), attr)

    def checks(self, checklist):
        def interrupt(ctx):
            with Path("calls").open("a") as f:
                f.write("call\\n")
            raise KeyboardInterrupt

        for check in get_kind("crm").checks(checklist):
            yield replace(check, run=interrupt) if check.dod_id == "CRM-SIGNOFF" else check


plugin.get_kind = lambda name: Interrupting()
"""


def test_an_interrupt_is_never_rechecked(pytester: pytest.Pytester) -> None:
    """Ctrl-C during a check ends the run (in a subprocess: an in-process interrupt would end this one too)."""
    project(pytester, SIGNED).makeconftest(INTERRUPTING)
    result = pytester.runpytest_subprocess("checks", "--gtm-recheck", "-k", "SIGNOFF")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    assert (pytester.path / "calls").read_text() == "call\n"


FLAKY_CONFTEST = """
from dataclasses import replace

from gtmcheck import plugin
from gtmcheck.errors import CheckError
from gtmcheck.kinds import get_kind

calls = []


class FirstCallFails:
    def __getattr__(self, attr):
        return getattr(get_kind("crm"), attr)

    def checks(self, checklist):
        def flaky(run):
            def first_fails(ctx):
                calls.append(1)
                if len(calls) == 1:
                    raise CheckError("HubSpot answered 503 Service Unavailable")
                return run(ctx)
            return first_fails

        for check in get_kind("crm").checks(checklist):
            yield replace(check, run=flaky(check.run)) if check.dod_id == "CRM-SIGNOFF" else check


plugin.get_kind = lambda name: FirstCallFails()
"""


def test_recheck_under_xdist(pytester: pytest.Pytester) -> None:
    """A worker rechecks its own item, and the controller's report says so."""
    project(pytester, SIGNED).makeconftest(FLAKY_CONFTEST)
    result = pytester.runpytest_subprocess("checks", "-n", "2", "--gtm-recheck", "--gtm-report-dir=out")
    assert result.ret == pytest.ExitCode.TESTS_FAILED  # the other crm items are not configured
    item = signoff_item(pytester)
    assert item["status"] == "passed" and item["recheck"] == "passed on recheck (flaky)"
