"""Cleanup removes exactly gtmcheck's synthetic records: by run, never a real contact, only where writes
are allowed; and ``gtmcheck cleanup`` does it over HTTP against ``gtmcheck sandbox serve``."""

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

from gtmcheck.connectors.hubspot import HubSpotConnector
from gtmcheck.errors import ConfigError
from gtmcheck.sandbox import HubSpotSandbox, Scenario
from gtmcheck.synthetic import TAG_PROPERTY, cleanup, find_synthetic, synthetic_email, tagged

RUN_A, RUN_B = "gtm-20261123T101500-aaaaaa", "gtm-20261123T101500-bbbbbb"


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
    ids["deal"] = crm.create("deals", tagged({"dealname": "synthetic", "amount": "1"}, RUN_A)).id
    return ids


def test_cleanup_archives_one_runs_synthetic_records_only(crm: HubSpotConnector) -> None:
    ids = seed(crm)
    result = cleanup(crm, writes=True, run_id=RUN_A)
    assert sorted(result.archived["contacts"]) == sorted([ids["emea"], ids["na"]])
    assert result.archived["deals"] == [ids["deal"]]
    assert list(find_synthetic(crm, RUN_A)) == []
    remaining = {r.id for _, r in find_synthetic(crm)}
    assert remaining == {ids["other-run"]}
    assert crm.get("contacts", ids["real"], ["email"]).properties["email"] == "ceo@globex.example"


def test_dry_run_and_read_only_environments_change_nothing(crm: HubSpotConnector) -> None:
    seed(crm)
    assert cleanup(crm, writes=False, run_id=RUN_A, dry_run=True).total == 3
    with pytest.raises(ConfigError, match="does not allow writes"):
        cleanup(crm, writes=False, run_id=RUN_A)
    assert len(list(find_synthetic(crm, RUN_A))) == 3


def test_cleanup_command_against_the_served_sandbox(server: tuple[str, object], tmp_path: Path) -> None:  # noqa: F811
    base, _ = server
    token = "pat-na1-cleanup-secret-0000"
    (tmp_path / "gtmcheck.yml").write_text(
        "version: 1\nenvironments:\n  served:\n"
        f"    crm: {{type: hubspot, base_url: \"{base}\", token: \"${{GTM_CLEANUP_TOKEN}}\"}}\n"
        "    writes: true\n  readonly:\n"
        f"    crm: {{type: hubspot, base_url: \"{base}\", token: \"${{GTM_CLEANUP_TOKEN}}\"}}\n"
    )
    headers = {"Authorization": f"Bearer {token}"}
    for label in ("a", "b"):
        props = tagged({"email": synthetic_email(RUN_A, label)}, RUN_A)
        r = httpx.post(f"{base}/crm/v3/objects/contacts", json={"properties": props}, headers=headers)
        assert r.status_code == 201
    search = {"filterGroups": [{"filters": [{"propertyName": TAG_PROPERTY, "operator": "EQ", "value": RUN_A}]}]}
    deadline = time.monotonic() + 15  # new records reach search after the sandbox's lag, as in HubSpot
    while httpx.post(f"{base}/crm/v3/objects/contacts/search", json=search, headers=headers).json()["total"] < 2:
        assert time.monotonic() < deadline, "records never reached search"
        time.sleep(0.2)

    def gtmcheck(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "gtmcheck.cli", *args], cwd=tmp_path, capture_output=True,
                              text=True, timeout=60, env={**os.environ, "GTM_CLEANUP_TOKEN": token})

    refused = gtmcheck("cleanup", "--env", "readonly", "--run-id", RUN_A)
    assert refused.returncode == 2 and "does not allow writes" in refused.stderr
    dry = gtmcheck("cleanup", "--env", "served", "--run-id", RUN_A, "--dry-run")
    assert dry.returncode == 0 and "Would archive 2 synthetic record(s)" in dry.stdout
    done = gtmcheck("cleanup", "--env", "served", "--run-id", RUN_A)
    assert done.returncode == 0, done.stderr
    assert "Archived 2 synthetic record(s) of run" in done.stdout
    for result in (refused, dry, done):
        assert token not in result.stdout + result.stderr
    deadline = time.monotonic() + 15
    while httpx.post(f"{base}/crm/v3/objects/contacts/search", json=search, headers=headers).json()["total"]:
        assert time.monotonic() < deadline, "archived records still found by search"
        time.sleep(0.2)
