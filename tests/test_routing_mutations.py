"""Issue 10: the routing checks catch the ways real CRM workflows drift from their checklist.

The sandbox's routing workflow (gtmcheck/demo/healthy.yml) is mutated in the ways real workflows drift — a
threshold rebuilt as ``gt`` or moved, a country dropped, an unlisted territory routed to an owner, a carve-out,
rules swapped, owners swapped, the fallback changed, a pool member removed, a condition on the wrong property —
and the live checks of checks/routing.gtm.yml are run against each on one fake clock (seconds, not minutes).
Each mutation must fail at least one check; the unmutated workflow must pass every check.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from fakes import FakeClock

from gtmcheck.connectors.http import hubspot_limits
from gtmcheck.connectors.hubspot import HubSpotConnector
from gtmcheck.context import RunContext
from gtmcheck.errors import CheckFailed, NotConfigured
from gtmcheck.kinds import get_kind
from gtmcheck.project import Project, load_project
from gtmcheck.sandbox import HubSpotSandbox, Scenario
from gtmcheck.spec import Checklist, load_checklist

REPO = Path(__file__).resolve().parents[1]
Workflow = dict[str, Any]


@pytest.fixture(scope="module")
def project() -> Project:
    return load_project(REPO)


@pytest.fixture(scope="module")
def checklist(tmp_path_factory: pytest.TempPathFactory) -> Checklist:
    """checks/routing.gtm.yml with a 2s SLA and 12 volume leads: the same leads per rule, a faster run."""
    text = (REPO / "checks" / "routing.gtm.yml").read_text()
    for old, new in (("assigned_within: 5m", "assigned_within: 2s"), ("volume: {leads: 50}", "volume: {leads: 12}")):
        assert old in text, f"checks/routing.gtm.yml no longer says {old!r}; update this test"
        text = text.replace(old, new)
    path = tmp_path_factory.mktemp("mutations") / "routing.gtm.yml"
    path.write_text(text)
    return load_checklist(path)


def run_checks(project: Project, checklist: Checklist, mutate: Callable[[Workflow], None]) -> dict[str, str]:
    """Every check against a fresh sandbox whose routing workflow ``mutate`` changed: name -> verdict."""
    env = project.environment("sandbox")
    scenario = Scenario.load(env.path(env.crm["scenario"]))
    routing = copy.deepcopy(scenario.routing)
    mutate(routing)
    scenario = dataclasses.replace(scenario, routing=routing)
    clock = FakeClock()
    app = HubSpotSandbox(scenario, clock=clock, sleep=clock.sleep, seed=0)
    crm = HubSpotConnector("pat-test", transport=httpx.WSGITransport(app=app),
                           limiters=hubspot_limits(clock=clock, sleep=clock.sleep), sleep=clock.sleep)
    ctx = RunContext(project, env, clock=clock, sleep=clock.sleep, workers=1, crm_connector=crm)
    verdicts: dict[str, str] = {}
    try:
        for check in get_kind("routing").checks(checklist):
            try:
                check.run(ctx)
                verdicts[check.name] = "passed"
            except CheckFailed as exc:
                verdicts[check.name] = f"failed: {exc.message}"
            except NotConfigured as exc:
                verdicts[check.name] = f"not_configured: {exc}"
            except Exception as exc:  # noqa: BLE001 - the plugin reports any other exception as an error
                verdicts[check.name] = f"error: {type(exc).__name__}: {exc}"
        cleanup = ctx.finish()
        assert cleanup is not None and cleanup.clean
    finally:
        crm.close()
    return verdicts


def rule(routing: Workflow, rule_id: str) -> dict[str, Any]:
    return next(r for r in routing["rules"] if r["id"] == rule_id)


def enterprise_when(routing: Workflow) -> dict[str, Any]:
    when: dict[str, Any] = rule(routing, "enterprise-emea")["when"]
    return when


def gte_to_gt(routing: Workflow) -> None:
    enterprise_when(routing)["employees"] = {"gt": 1000}


def threshold_raised(routing: Workflow) -> None:
    enterprise_when(routing)["employees"] = {"gte": 1100}


def threshold_lowered(routing: Workflow) -> None:
    enterprise_when(routing)["employees"] = {"gte": 900}


def country_removed(routing: Workflow) -> None:
    enterprise_when(routing)["country"] = {"in": ["DE", "FR", "GB", "NL", "IT"]}


def extra_territory(routing: Workflow) -> None:
    """Mexico joins North America in the CRM; the checklist leaves it to the fallback."""
    rule(routing, "north-america")["when"]["country"] = {"in": ["US", "CA", "MX"]}


def carve_out(routing: Workflow) -> None:
    """Enterprise EMEA leads of 2000-3000 employees go to Ben, a rule the checklist does not have."""
    carve = {"id": "mid-enterprise", "when": {"country": {"in": ["DE", "FR", "GB", "NL", "ES", "IT"]},
                                              "employees": {"gte": 2000, "lte": 3000}},
             "assign": {"owner": "ben@acme.example"}}
    routing["rules"].insert(1, carve)


def rules_swapped(routing: Workflow) -> None:
    rules = routing["rules"]
    i, j = rules.index(rule(routing, "enterprise-emea")), rules.index(rule(routing, "emea"))
    rules[i], rules[j] = rules[j], rules[i]


def fallback_changed(routing: Workflow) -> None:
    routing["default"] = {"owner": "ben@acme.example"}


def pool_member_removed(routing: Workflow) -> None:
    routing["pools"]["na"] = ["carla@acme.example"]


def owners_swapped(routing: Workflow) -> None:
    rule(routing, "enterprise-emea")["assign"] = {"owner": "ben@acme.example"}
    rule(routing, "apac")["assign"] = {"owner": "anna@acme.example"}


def wrong_property(routing: Workflow) -> None:
    when = enterprise_when(routing)
    when["annualrevenue"] = when.pop("employees")


def unlisted_band_rule(routing: Workflow) -> None:
    """An extra APAC rule for New Zealand the checklist does not list (it says fallback)."""
    routing["rules"].append({"id": "anz", "when": {"country": {"in": ["NZ"]}}, "assign": {"owner": "ben@acme.example"}})


MUTATIONS: dict[str, Callable[[Workflow], None]] = {
    "gte-to-gt": gte_to_gt,
    "threshold-1000-to-1100": threshold_raised,
    "threshold-1000-to-900": threshold_lowered,
    "country-removed": country_removed,
    "extra-territory-MX": extra_territory,
    "extra-territory-NZ": unlisted_band_rule,
    "carve-out-2000-3000": carve_out,
    "rule-order-swapped": rules_swapped,
    "fallback-owner-changed": fallback_changed,
    "round-robin-member-removed": pool_member_removed,
    "owners-swapped": owners_swapped,
    "condition-on-wrong-property": wrong_property,
}
# The mutations only the test-design leads (boundaries, bands, outside values) catch: one lead per listed
# value passes them. The check that must catch each, and the lead that shows it.
NEEDS_NEW_LEADS = {
    "gte-to-gt": ("ROUTING-RULES-EXPLICIT[enterprise-emea]", "{country: ES, employees: 1000}"),
    "threshold-1000-to-1100": ("ROUTING-RULES-EXPLICIT[enterprise-emea]", "{country: ES, employees: 1000}"),
    "threshold-1000-to-900": ("ROUTING-RULES-EXPLICIT[enterprise-emea]", "{country: ES, employees: 999}"),
    "extra-territory-MX": ("ROUTING-RULES-EXPLICIT[north-america]", "{country: MX}"),
    "extra-territory-NZ": ("ROUTING-RULES-EXPLICIT[apac]", "{country: NZ}"),
    "carve-out-2000-3000": ("ROUTING-RULES-EXPLICIT[enterprise-emea]", "employees: 3000}"),
}


def test_the_unmutated_workflow_passes_every_check(project: Project, checklist: Checklist) -> None:
    verdicts = run_checks(project, checklist, lambda routing: None)
    assert {v for v in verdicts.values()} == {"passed"}, verdicts
    assert len(verdicts) == 13  # with ROUTING-ALERTS[audit]: the real leads of the demo's last day


@pytest.mark.parametrize("name", list(MUTATIONS))
def test_every_mutation_of_the_workflow_is_caught(project: Project, checklist: Checklist, name: str) -> None:
    verdicts = run_checks(project, checklist, MUTATIONS[name])
    failed = {check: v for check, v in verdicts.items() if v.startswith("failed")}
    assert failed, f"mutation {name} passed every check: {verdicts}"
    errors = {check: v for check, v in verdicts.items() if v.startswith("error")}
    assert not errors, errors
    if name in NEEDS_NEW_LEADS:
        check, lead = NEEDS_NEW_LEADS[name]
        assert check in failed, failed
        assert lead in failed[check], failed[check]
