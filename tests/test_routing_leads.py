"""Which synthetic leads a routing checklist sends, and the end-of-run cleanup that removes them all."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from fakes import FakeClock

from gtmcheck.connectors.hubspot import HubSpotConnector
from gtmcheck.kinds.routing import spec_of
from gtmcheck.kinds.routing.leads import LeadPlanner, crm_properties
from gtmcheck.sandbox import HubSpotSandbox, Scenario
from gtmcheck.spec import load_checklist
from gtmcheck.synthetic import (
    TAG_PROPERTY,
    SyntheticLedger,
    find_synthetic,
    finish_run,
    is_reserved_domain,
    is_synthetic,
    synthetic_email,
    tagged,
)

REPO = Path(__file__).resolve().parents[1]
RUN = "gtm-20261123T101500-abcdef"
OTHER_RUN = "gtm-20261123T091500-0a0b0c"


@pytest.fixture(scope="module")
def planner() -> LeadPlanner:
    return LeadPlanner(spec_of(load_checklist(REPO / "checks" / "routing.gtm.yml")))


def test_every_listed_territory_gets_its_own_lead(planner: LeadPlanner) -> None:
    """A rule rebuilt without Spain is only caught by a Spanish lead: one lead per listed value."""
    plans = [p for p in planner.branch(1) if p.why == "listed"]  # enterprise-emea
    assert [p.values["country"] for p in plans] == ["DE", "FR", "GB", "NL", "ES", "IT"]
    assert all(p.values["employees"] == 1500 and set(p.values) == {"country", "employees"} for p in plans)
    assert {p.expect.label for p in plans} == {"rule enterprise-emea"}
    assert len({p.label for p in plans}) == len(plans)


def test_each_lead_expects_where_the_declared_rules_send_it(planner: LeadPlanner) -> None:
    for i in range(len(planner.spec.rules)):
        for plan in planner.branch(i):
            taker = planner.solver.first_match(plan.values)
            assert plan.expect.source == ("fallback" if taker is None else planner.spec.rules[taker].id)
            assert plan.branch == planner.spec.rules[i].id
            if plan.why in ("listed", "band", "round-robin"):
                assert taker == i, plan.values


def test_both_sides_of_a_threshold_are_sent(planner: LeadPlanner) -> None:
    """`employees gte 1000`: 1000 must reach the rule and 999 must not; on Spain, where 999 goes to the
    fallback (a German 999 goes to the EMEA pool, which has Anna in it too, so a misroute could hide)."""
    plans = [p for p in planner.branch(1) if p.why == "boundary"]
    assert [(p.values, p.expect.source) for p in plans] == [
        ({"country": "ES", "employees": 1000}, "enterprise-emea"), ({"country": "ES", "employees": 999}, "fallback")]


def test_a_value_in_each_size_band_the_rule_covers(planner: LeadPlanner) -> None:
    bands = [p.values["employees"] for p in planner.branch(1) if p.why == "band"]
    assert bands == [3000, 7500, 25000]  # 1001-5000, 5001-10000, 10000+ (1000 is the boundary lead)


def test_unlisted_territories_of_the_rules_region_expect_the_fallback(planner: LeadPlanner) -> None:
    outside = {planner.spec.rules[i].id: [p.values["country"] for p in planner.branch(i) if p.why == "outside"]
               for i in range(1, 5)}
    assert outside == {"enterprise-emea": ["IE", "CH"], "emea": ["SE", "BE"], "north-america": ["MX", "AD"],
                       "apac": ["NZ", "IN"]}
    assert all(p.expect.is_fallback for i in range(1, 5) for p in planner.branch(i) if p.why == "outside")


def test_a_crm_property_s_options_are_the_domain_of_unlisted_values() -> None:
    spec = spec_of(load_checklist(REPO / "checks" / "routing.gtm.yml"))
    options = {"country": ["US", "CA", "Mexico", "DE"]}
    plans = LeadPlanner(spec, options).branch(3)
    assert [p.values["country"] for p in plans if p.why == "outside"] == ["Mexico"]


def test_the_leads_key_sets_the_budget(tmp_path: Path) -> None:
    text = (REPO / "checks" / "routing.gtm.yml").read_text() + \
        "leads: {max: 7, boundaries: false, bands: false, outside_lists: 1}\n"
    path = tmp_path / "routing.gtm.yml"
    path.write_text(text)
    plans = LeadPlanner(spec_of(load_checklist(path))).branch(1)
    assert [p.why for p in plans] == ["listed"] * 6 + ["outside"]


def test_round_robin_gets_at_least_two_leads_per_member(planner: LeadPlanner) -> None:
    plans = [p for p in planner.branch(3) if p.why != "outside"]  # north-america: [US, CA] over a pool of two
    assert len(plans) == 4
    countries = [p.values["country"] for p in plans]
    assert sorted(countries) == ["CA", "CA", "US", "US"] and countries[:2] != countries[2:3] * 2
    assert plans[0].expect.emails == ("carla@acme.example", "dev@acme.example")


def test_customer_domains_are_covered_one_by_one(planner: LeadPlanner) -> None:
    plans = planner.branch(0)  # existing-customer, in_list customer_domains
    assert [p.values["email_domain"] for p in plans] == [
        "globex.example", "initech.example", "umbrella.example", "hooli.example"]


def test_fallback_and_unmatched_territory_leads_come_from_an_unlisted_country(planner: LeadPlanner) -> None:
    fallback = planner.fallback()
    territory = planner.unmatched_territory("fallback")
    assert fallback is not None and territory is not None
    for plan in (fallback, territory):
        assert plan.expect.is_fallback
        assert plan.values["country"] not in {"DE", "FR", "GB", "NL", "ES", "IT", "US", "CA", "JP", "AU", "SG"}
        assert planner.solver.first_match(plan.values) is None


def test_a_customer_domain_lead_would_otherwise_go_elsewhere(planner: LeadPlanner) -> None:
    plan = planner.customer_domain_lead("existing-customer")
    assert plan is not None and plan.expect.source == "existing-customer"
    assert plan.values["email_domain"] == "globex.example" and "country" in plan.values
    without_domain = {k: v for k, v in plan.values.items() if k != "email_domain"}
    assert planner.solver.first_match(without_domain) not in (None, 0)


def test_the_duplicate_submission_would_route_elsewhere(planner: LeadPlanner) -> None:
    pair = planner.duplicate_pair()
    assert pair is not None
    first, second = pair
    assert planner.solver.first_match(first.values) != planner.solver.first_match(second)
    assert "email_domain" not in second


def test_volume_cycles_over_every_branch(planner: LeadPlanner) -> None:
    plans = planner.volume(12)
    assert len(plans) == 12
    assert [p.branch for p in plans[:6]] == [
        "existing-customer", "enterprise-emea", "emea", "north-america", "apac", "fallback"]
    assert plans[6].values == plans[0].values


def test_crm_properties_are_strings() -> None:
    assert crm_properties({"employees": 1500.0, "vip": True, "country": "ES", "email_domain": "x.example"}) == {
        "employees": "1500", "vip": "true", "country": "ES"}


# --- reserved addresses and what cleanup may touch --------------------------------------------------------------


@pytest.mark.parametrize(("domain", "reserved"), [
    ("gtmcheck.example.com", True), ("globex.example", True), ("acme.test", True), ("x.invalid", True),
    ("example.org", True), ("mail.example.net", True), ("example.com.evil.io", False), ("acme.com", False),
    ("notexample.com", False), ("", False),
])
def test_reserved_domains(domain: str, reserved: bool) -> None:
    assert is_reserved_domain(domain) is reserved


def test_synthetic_email_refuses_a_real_domain() -> None:
    assert synthetic_email(RUN, "emea-1", "globex.example") == f"emea-1.{RUN.lower()}@globex.example"
    with pytest.raises(ValueError, match="not a reserved domain"):
        synthetic_email(RUN, "emea-1", "acme.com")


def test_a_tagged_contact_at_a_customer_domain_is_synthetic_only_when_its_address_carries_the_tag() -> None:
    from gtmcheck.connectors.crm import Record

    ours = Record("1", {TAG_PROPERTY: RUN, "email": synthetic_email(RUN, "c-1", "globex.example")})
    colleague = Record("2", {TAG_PROPERTY: RUN, "email": "ceo@globex.example"})
    real = Record("3", {TAG_PROPERTY: RUN, "email": f"x.{RUN.lower()}@acme.com"})
    assert is_synthetic("contacts", ours)
    assert not is_synthetic("contacts", colleague) and not is_synthetic("contacts", real)


# --- end-of-run cleanup --------------------------------------------------------------------------------------


def sandbox(clock: FakeClock) -> tuple[HubSpotSandbox, HubSpotConnector]:
    app = HubSpotSandbox(Scenario.load(REPO / "gtmcheck" / "demo" / "healthy.yml"), clock=clock,
                         search_lag_ms=1000, rate_limit=False)
    return app, HubSpotConnector("pat-test", transport=httpx.WSGITransport(app=app), sleep=clock.sleep)


def test_finish_run_archives_the_ledger_and_what_only_search_knows() -> None:
    clock = FakeClock()
    _, crm = sandbox(clock)
    ledger = SyntheticLedger()
    known = [crm.create("contacts", tagged({"email": synthetic_email(RUN, f"k{i}")}, RUN)).id for i in range(3)]
    for record_id in known:
        ledger.add("contacts", record_id, clock())
    # a create whose answer was lost: the ledger never saw its id, only that contacts were written
    lost = crm.create("contacts", tagged({"email": synthetic_email(RUN, "lost")}, RUN)).id
    other_run = crm.create("contacts", tagged({"email": synthetic_email(OTHER_RUN, "x")}, OTHER_RUN)).id
    result = finish_run(crm, ledger, RUN, search_lag_s=1.0, clock=clock, sleep=clock.sleep)
    assert result.clean, result.summary()
    assert result.archived == 4 and result.found_by_search == 1
    assert "archived 4 synthetic records" in result.summary() and "none remain" in result.summary()
    clock.sleep(2)
    assert list(find_synthetic(crm, RUN, ["contacts"])) == []
    assert [r.id for _, r in find_synthetic(crm, OTHER_RUN, ["contacts"])] == [other_run]
    assert lost not in known


def test_finish_run_without_writes_touches_nothing() -> None:
    clock = FakeClock()
    _, crm = sandbox(clock)
    result = finish_run(crm, SyntheticLedger(), RUN, search_lag_s=1.0, clock=clock, sleep=clock.sleep)
    assert result.clean and result.archived == 0 and clock.sleeps == []


def test_finish_run_reports_an_unreachable_crm_with_the_cleanup_command() -> None:
    clock = FakeClock()
    crm = HubSpotConnector("pat-test", base_url="http://127.0.0.1:9", sleep=clock.sleep)
    ledger = SyntheticLedger()
    ledger.add("contacts", "123", clock())
    result = finish_run(crm, ledger, RUN, search_lag_s=0.0, clock=clock, sleep=clock.sleep)
    assert not result.clean
    assert f"gtmcheck cleanup --run-id {RUN}" in result.summary()


def test_hypothesis_finds_a_lead_when_a_pattern_defeats_the_solver(tmp_path: Path) -> None:
    path = tmp_path / "p.gtm.yml"
    path.write_text(
        "kind: routing\nname: p\nowner: a@acme.example\nbuilt_by: b@acme.example\n"
        "rules:\n  - id: quarterly\n    when: {campaign: {matches: '^q[1-4]-[0-9]{4}$'}}\n"
        "    assign: {owner: anna@acme.example}\nfallback: {queue: inbound-queue@acme.example}\n", encoding="utf-8")
    planner = LeadPlanner(spec_of(load_checklist(path)))
    assert planner.solver.lead_for(0) is None  # the literal text of the pattern does not match it
    lead = planner.representative(0)
    assert lead is not None and planner.solver.first_match(lead) == 0
    assert [p.values for p in planner.branch(0)] == [lead]


def test_only_reserved_customer_domains_get_leads(tmp_path: Path) -> None:
    """Real customer domains cannot take a synthetic lead; the reserved test accounts in the list can."""
    path = tmp_path / "c.gtm.yml"
    path.write_text(
        "kind: routing\nname: c\nowner: a@acme.example\nbuilt_by: b@acme.example\n"
        "lists:\n  customers: [globex.com, acme-test.example, initech.io, umbrella.test]\n"
        "rules:\n  - id: customer\n    when: {email_domain: {in_list: customers}}\n    assign: {owner_of: account}\n"
        "fallback: {queue: inbound-queue@acme.example}\n", encoding="utf-8")
    plans = LeadPlanner(spec_of(load_checklist(path))).branch(0)
    assert [p.values["email_domain"] for p in plans] == ["acme-test.example", "umbrella.test"]
