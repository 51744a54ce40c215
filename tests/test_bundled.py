"""The demo stack ships inside the package: a sandbox environment that names no files runs it."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from gtmcheck.bundled import DEMO_DIR, demo_scenario
from gtmcheck.connectors import crm_for, search_lag_for
from gtmcheck.connectors.warehouse import Warehouse
from gtmcheck.project import Environment
from gtmcheck.sandbox import serve
from gtmcheck.sandbox.site import load_site


def bare_sandbox(root: Path) -> Environment:
    return Environment(name="sandbox", root=root, crm={"type": "sandbox"}, writes=True)


def test_the_demo_lives_in_the_package(repo: Path) -> None:
    assert DEMO_DIR == repo / "gtmcheck" / "demo"
    assert demo_scenario().is_file() and demo_scenario("drifted").is_file()
    assert sorted(p.name for p in (DEMO_DIR / "data").glob("*.csv")) == [
        "attribution.csv", "companies.csv", "contacts.csv", "conversions.csv", "deals.csv", "events.csv",
        "touchpoints.csv"]


def test_a_sandbox_without_scenario_runs_the_bundled_demo(tmp_path: Path) -> None:
    env = bare_sandbox(tmp_path)  # an empty folder: nothing to find relative to the project
    assert env.sandbox_scenario() == demo_scenario()
    connector = crm_for(env)
    owners = {o.email for o in connector.owners()}
    assert {"anna@acme.example", "inbound-queue@acme.example"} <= owners
    assert search_lag_for(env) == 1.0  # the demo scenario's search_lag_ms: 1000


def test_its_campaign_urls_resolve_on_the_bundled_site(tmp_path: Path) -> None:
    scenario = bare_sandbox(tmp_path).site_scenario()
    assert scenario == demo_scenario()
    with httpx.Client(transport=httpx.WSGITransport(app=load_site(scenario))) as client:
        assert client.get("https://www.acme.example/spring?utm_source=google").status_code == 200
        moved = client.get("https://www.acme.example/summer?utm_source=linkedin")
        assert moved.status_code == 301 and "utm_source=linkedin" in moved.headers["location"]


def test_a_named_scenario_still_wins(tmp_path: Path) -> None:
    env = Environment(name="s", root=tmp_path, crm={"type": "sandbox", "scenario": "mine.yml"})
    assert env.sandbox_scenario() == tmp_path / "mine.yml"
    assert Environment(name="p", root=tmp_path, crm={"type": "hubspot"}).sandbox_scenario() is None


def test_a_sandbox_without_warehouse_gets_the_demo_one_in_the_cache(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GTMCHECK_CACHE_DIR", str(tmp_path / "cache"))
    project = tmp_path / "project"
    project.mkdir()
    with Warehouse.for_environment(bare_sandbox(project)) as wh:
        assert wh.total("deals", "amount", "dealstage = 'closedwon'") == Decimal(428000)
    (built,) = (tmp_path / "cache").rglob("*.duckdb")
    assert built.name == "warehouse.duckdb"
    assert list(project.iterdir()) == [] and not list(DEMO_DIR.glob("*.duckdb.wal"))


def test_a_real_crm_without_warehouse_is_still_an_error(tmp_path: Path) -> None:
    from gtmcheck.errors import ConfigError

    with pytest.raises(ConfigError, match="no warehouse"):
        Warehouse.for_environment(Environment(name="p", root=tmp_path, crm={"type": "hubspot"}))


def test_sandbox_serve_defaults_to_the_bundled_scenario(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "gtmcheck.yml").write_text(
        "version: 1\nenvironments:\n  sandbox: {crm: {type: sandbox}}\n")
    assert serve.default_scenario() == demo_scenario()
