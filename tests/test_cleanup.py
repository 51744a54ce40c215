"""Cleanup removes exactly gtmcheck's synthetic records: by run, never a real record (whatever its tag or a
hostile address says), only where writes are allowed; and ``gtmcheck cleanup`` does it over HTTP against
``gtmcheck sandbox serve``, listing each record it archives and each tagged one it leaves alone."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from test_sandbox_serve import DEMO, server  # noqa: F401  (the fixture)

from gtmcheck.connectors.crm import ObjectType, Record
from gtmcheck.connectors.hubspot import HubSpotConnector
from gtmcheck.context import new_run_id
from gtmcheck.errors import ConfigError
from gtmcheck.sandbox import HubSpotSandbox, Scenario
from gtmcheck.synthetic import (
    TAG_PROPERTY,
    cleanup,
    doubt,
    find_synthetic,
    is_run_id,
    is_synthetic,
    synthetic_email,
    synthetic_name,
    tagged,
)

RUN_A, RUN_B = "gtm-20261123T101500-aaaaaa", "gtm-20261123T101500-bbbbbb"
OURS = f"x.{RUN_A.lower()}@gtmcheck.example.com"

# Records a stray tag, an import or an attacker could put in a CRM: tagged, yet none was created by gtmcheck.
HOSTILE_EMAILS = [
    "victim@gmail.com,x@gtmcheck.example.com",  # two addresses
    "VICTIM@GMAIL.COM@GTMCHECK.EXAMPLE.COM",  # two @
    "x@gtmcheck.example.com.evil.com",  # our domain as a prefix of a real one
    '"a@b"@gtmcheck.example.com',  # a quoted local part
    "Victim <victim@gmail.com>",  # display-name forms
    '"x@gtmcheck.example.com" <victim@gmail.com>',
    "Victim <x@gtmcheck.example.com>",
    " x@gtmcheck.example.com",  # whitespace and newlines
    "x@gtmcheck.example.com ",
    "victim@gmail.com\nx@gtmcheck.example.com",
    "x@gtmcheck.example.com\n",
    "x@gtmcheck.example.com.",
    "victim@gmail.com",  # a real address, tagged
    "ceo@globex.example",  # a customer's test domain without the run id in the address
    f"x.{RUN_A.lower()}@acme.com",  # the run id, but a real domain
    "x@gtmcheck-example.com",  # look-alike domains
    "x@gtmcheck.examp1e.com",
    "",
]
BAD_TAGS = ["yes", "gtm-1", "gtm-earlier", RUN_A + " ", " " + RUN_A, RUN_A + "\n", RUN_A.lower(), RUN_A + "0",
            "gtm-20261123T101500-ABCDEF", f"{RUN_A},{RUN_B}"]
HOSTILE_DOMAINS = ["acme.com", "gtmcheck.example.com.evil.com", "example.com.evil.com", "examp1e.com",
                   "example.co", "https://example.com", "example.com/", "example.com ", "example.com.", "x@example.com",
                   "", "evil.com\nexample.com"]


def record(**props: str) -> Record:
    return Record("1", dict(props))


def test_the_run_id_format_is_what_new_run_id_makes() -> None:
    assert all(is_run_id(new_run_id()) for _ in range(20))
    assert is_run_id(RUN_A)
    assert not any(is_run_id(tag) for tag in BAD_TAGS)
    assert not is_run_id(None) and not is_run_id("")


@pytest.mark.parametrize("email", HOSTILE_EMAILS)
def test_a_tagged_person_is_synthetic_only_with_one_plain_address_on_a_reserved_domain(email: str) -> None:
    for object_type in ("contacts", "leads"):
        reason = doubt(object_type, record(**{TAG_PROPERTY: RUN_A, "email": email}))
        assert reason is not None and "the email" in reason


@pytest.mark.parametrize("tag", BAD_TAGS)
def test_a_tag_that_is_not_a_run_id_makes_any_record_doubtful(tag: str) -> None:
    for object_type, props in (("contacts", {"email": OURS}), ("companies", {"domain": "gtmcheck.example.com"}),
                               ("deals", {"dealname": synthetic_name(RUN_A, "won")})):
        reason = doubt(object_type, record(**{TAG_PROPERTY: tag, **props}))
        assert reason is not None and "the tag is not a gtmcheck run id" in reason


@pytest.mark.parametrize("domain", HOSTILE_DOMAINS)
def test_a_tagged_company_is_synthetic_only_on_exactly_a_reserved_domain(domain: str) -> None:
    reason = doubt("companies", record(**{TAG_PROPERTY: RUN_A, "domain": domain, "name": "Acme"}))
    assert reason is not None and "the domain" in reason


@pytest.mark.parametrize("name", ["Acme renewal", "synthetic", f"gtmcheck {RUN_A}", f"[gtmcheck {RUN_B}] won",
                                  f" [gtmcheck {RUN_A}] won", f"Acme [gtmcheck {RUN_A}] won", ""])
def test_a_tagged_deal_is_synthetic_only_when_its_name_carries_the_runs_marker(name: str) -> None:
    reason = doubt("deals", record(**{TAG_PROPERTY: RUN_A, "dealname": name}))
    assert reason is not None and "the dealname" in reason


def test_what_a_run_creates_passes_every_test() -> None:
    for email in (synthetic_email(RUN_A, "emea-1"), synthetic_email(RUN_A, "c-1", "acme-test.example"),
                  synthetic_email(RUN_A, "Übergröße 1", "Globex.Example"), OURS.upper()):
        assert is_synthetic("contacts", record(**{TAG_PROPERTY: RUN_A, "email": email})), email
        assert is_synthetic("leads", record(**{TAG_PROPERTY: RUN_A, "email": email})), email
    assert is_synthetic("companies", record(**{TAG_PROPERTY: RUN_A, "domain": "acme-test.example"}))
    assert is_synthetic("deals", record(**{TAG_PROPERTY: RUN_A, "dealname": synthetic_name(RUN_A, "closed\nwon")}))
    assert synthetic_name(RUN_A, "closed\nwon") == f"[gtmcheck {RUN_A}] closed won"
    # Salesforce field names: Account.Website, Opportunity.Name
    assert is_synthetic("companies", record(**{TAG_PROPERTY: RUN_A, "Website": "gtmcheck.example.com"}))
    assert is_synthetic("deals", record(**{TAG_PROPERTY: RUN_A, "Name": synthetic_name(RUN_A, "won")}))


# --- cleanup against the in-process sandbox ---------------------------------------------------------------


@pytest.fixture
def crm() -> Iterator[HubSpotConnector]:
    app = HubSpotSandbox(Scenario.load(DEMO / "healthy.yml"), search_lag_ms=0, rate_limit=False)
    connector = HubSpotConnector("pat-test", transport=httpx.WSGITransport(app=app))
    yield connector
    connector.close()


def seed(crm: HubSpotConnector) -> dict[str, str]:
    ids = {}
    for label in ("emea", "na"):
        email = synthetic_email(RUN_A, label)
        ids[label] = crm.create("contacts", tagged({"email": email, "country": "DE"}, RUN_A)).id
    ids["other-run"] = crm.create("contacts", tagged({"email": synthetic_email(RUN_B, "x")}, RUN_B)).id
    # A real contact that somehow carries a tag must never be touched.
    ids["real"] = crm.create("contacts", tagged({"email": "ceo@globex.example"}, RUN_A)).id
    ids["deal"] = crm.create("deals", tagged({"dealname": synthetic_name(RUN_A, "won"), "amount": "1"}, RUN_A)).id
    return ids


def test_cleanup_archives_one_runs_synthetic_records_only(crm: HubSpotConnector) -> None:
    ids = seed(crm)
    result = cleanup(crm, writes=True, run_id=RUN_A)
    assert sorted(result.archived["contacts"]) == sorted([ids["emea"], ids["na"]])
    assert result.archived["deals"] == [ids["deal"]]
    assert [(s.object_type, s.record.id) for s in result.skipped] == [("contacts", ids["real"])]
    assert list(find_synthetic(crm, RUN_A)) == []
    remaining = {r.id for _, r in find_synthetic(crm)}
    assert remaining == {ids["other-run"]}
    assert crm.get("contacts", ids["real"], ["email"]).properties["email"] == "ceo@globex.example"


def test_dry_run_and_read_only_environments_change_nothing(crm: HubSpotConnector) -> None:
    seed(crm)
    assert cleanup(crm, writes=False, run_id=RUN_A, dry_run=True).total == 3
    with pytest.raises(ConfigError, match="does not allow writes"):
        cleanup(crm, writes=False, run_id=RUN_A)
    with pytest.raises(ConfigError, match="is not a gtmcheck run id"):
        cleanup(crm, writes=True, run_id="gtm-1")
    assert len(list(find_synthetic(crm, RUN_A))) == 3


# --- gtmcheck cleanup against the served sandbox ---------------------------------------------------------


def planted() -> list[tuple[ObjectType, dict[str, str]]]:
    """Every kind of tagged record that is not gtmcheck's own: each must survive ``gtmcheck cleanup``."""
    out: list[tuple[ObjectType, dict[str, str]]] = [
        ("contacts", tagged({"email": email}, RUN_A)) for email in HOSTILE_EMAILS if email.strip()]
    out += [("contacts", tagged({"email": f"t{i}.{RUN_A.lower()}@gtmcheck.example.com"}, tag))
            for i, tag in enumerate(BAD_TAGS)]
    out += [("companies", tagged({"domain": domain, "name": f"Acme {i}"}, RUN_A))
            for i, domain in enumerate(HOSTILE_DOMAINS) if domain.strip()]
    out += [("companies", tagged({"domain": "acme-test.example", "name": "Acme"}, "yes"))]
    out += [("deals", tagged({"dealname": "Acme renewal", "dealstage": "closedwon", "amount": "120000"}, RUN_A)),
            ("deals", tagged({"dealname": f"[gtmcheck {RUN_B}] won", "dealstage": "closedwon"}, RUN_A)),
            ("deals", tagged({"dealname": synthetic_name(RUN_A, "won"), "dealstage": "closedwon"}, "gtm-1"))]
    return out


def synthetic() -> list[tuple[ObjectType, dict[str, str]]]:
    """Records as runs create them: each must be archived."""
    return [
        ("contacts", tagged({"email": synthetic_email(RUN_A, "a")}, RUN_A)),
        ("contacts", tagged({"email": synthetic_email(RUN_B, "b", "acme-test.example")}, RUN_B)),
        ("companies", tagged({"domain": "gtmcheck.example.com", "name": synthetic_name(RUN_A, "Acme")}, RUN_A)),
        ("deals", tagged({"dealname": synthetic_name(RUN_B, "won"), "dealstage": "closedwon"}, RUN_B)),
    ]


def listed(object_type: str, record_id: str, props: dict[str, str]) -> str:
    """The line ``--dry-run`` prints for a record it would archive."""
    names = {"contacts": ["email"], "companies": ["domain", "name"], "deals": ["dealname"]}[object_type]
    what = " ".join(f'"{props[name]}"' for name in names)
    return f'would archive {object_type} {record_id} {what} tag "{props[TAG_PROPERTY]}"'


def test_cleanup_command_archives_only_what_gtmcheck_created(server: tuple[str, object],  # noqa: F811
                                                             tmp_path: Path) -> None:
    base, _ = server
    token = "pat-na1-cleanup-secret-0000"
    (tmp_path / "gtmcheck.yml").write_text(
        "version: 1\nenvironments:\n  served:\n"
        f"    crm: {{type: hubspot, base_url: \"{base}\", token: \"${{GTM_CLEANUP_TOKEN}}\"}}\n"
        "    writes: true\n  readonly:\n"
        f"    crm: {{type: hubspot, base_url: \"{base}\", token: \"${{GTM_CLEANUP_TOKEN}}\"}}\n"
    )
    headers = {"Authorization": f"Bearer {token}"}

    def create(object_type: str, props: dict[str, str]) -> str:
        r = httpx.post(f"{base}/crm/v3/objects/{object_type}", json={"properties": props}, headers=headers)
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    keep = [(t, create(t, p), p) for t, p in planted()]
    drop = [(t, create(t, p), p) for t, p in synthetic()]
    search = {"filterGroups": [{"filters": [{"propertyName": TAG_PROPERTY, "operator": "HAS_PROPERTY"}]}]}

    def tagged_in_search(object_type: str) -> int:
        answer = httpx.post(f"{base}/crm/v3/objects/{object_type}/search", json=search, headers=headers)
        return int(answer.json()["total"])

    deadline = time.monotonic() + 15  # new records reach search after the sandbox's lag, as in HubSpot
    for object_type in ("contacts", "companies", "deals"):
        while tagged_in_search(object_type) < sum(t == object_type for t, _, _ in keep + drop):
            assert time.monotonic() < deadline, "records never reached search"
            time.sleep(0.2)

    def gtmcheck(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "gtmcheck.cli", *args], cwd=tmp_path, capture_output=True,
                              text=True, timeout=60, env={**os.environ, "GTM_CLEANUP_TOKEN": token})

    dry = gtmcheck("cleanup", "--env", "readonly", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    lines = dry.stdout.splitlines()
    # one line per record it would archive: type, id, what identifies it, tag
    would = sorted(line for line in lines if line.startswith("would archive "))
    assert would == sorted(listed(*found) for found in drop), dry.stdout
    left = [line for line in lines if line.startswith("left alone ")]
    assert sorted(line.split()[3] for line in left) == sorted(i for _, i, _ in keep), dry.stdout
    assert 'left alone contacts' in dry.stdout and '"victim@gmail.com,x@gtmcheck.example.com"' in dry.stdout
    assert '"victim@gmail.com\\nx@gtmcheck.example.com"' in dry.stdout  # a newline cannot forge a line
    assert "Would archive 4 synthetic record(s) of any run" in dry.stdout
    assert f"Left alone {len(keep)} tagged record(s)" in dry.stdout

    one_run = gtmcheck("cleanup", "--env", "readonly", "--dry-run", "--run-id", RUN_B)
    assert "Would archive 2 synthetic record(s) of run " + RUN_B in one_run.stdout, one_run.stdout
    assert "left alone" not in one_run.stdout  # every planted record carries another tag

    refused = gtmcheck("cleanup", "--env", "readonly")
    assert refused.returncode == 2 and "does not allow writes" in refused.stderr
    bad_id = gtmcheck("cleanup", "--env", "served", "--run-id", "gtm-1")
    assert bad_id.returncode == 2 and "is not a gtmcheck run id" in bad_id.stderr and "Traceback" not in bad_id.stderr
    done = gtmcheck("cleanup", "--env", "served")
    assert done.returncode == 0, done.stderr
    assert "Archived 4 synthetic record(s) of any run" in done.stdout
    assert sum(line.startswith("archived ") for line in done.stdout.splitlines()) == 4
    for result in (refused, dry, done, bad_id):
        assert token not in result.stdout + result.stderr

    def stored(object_type: str, record_id: str, archived: bool) -> dict[str, str] | None:
        r = httpx.get(f"{base}/crm/v3/objects/{object_type}/{record_id}", headers=headers,
                      params={"archived": str(archived).lower(), "properties": f"{TAG_PROPERTY},email,domain,dealname"})
        return r.json()["properties"] if r.status_code == 200 else None

    for object_type, record_id, props in keep:  # every planted record is still live, unchanged
        live = stored(object_type, record_id, archived=False)
        assert live is not None, (object_type, props)
        assert all(live.get(k) == v for k, v in props.items() if k in (TAG_PROPERTY, "email", "domain", "dealname"))
    for object_type, record_id, props in drop:
        assert stored(object_type, record_id, archived=False) is None, (object_type, props)
        assert stored(object_type, record_id, archived=True) is not None


def test_a_run_id_cleanup_would_not_recognise_is_refused_up_front(pytester: pytest.Pytester) -> None:
    """The hidden ``--gtm-run-id`` tags a run's records: one of another shape would make them all doubtful."""
    pytester.makefile(".yml", gtmcheck="version: 1\nenvironments:\n  local: {crm: {type: sandbox}}\n")
    result = pytester.runpytest("-p", "no:cacheprovider", "--gtm-run-id", "gtm-1")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--gtm-run-id 'gtm-1' is not a gtmcheck run id*"])
    assert pytester.runpytest("-p", "no:cacheprovider", "--gtm-run-id", RUN_A).ret == pytest.ExitCode.NO_TESTS_COLLECTED
