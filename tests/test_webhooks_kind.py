"""The webhooks kind: its closed schema, offline lint, and the run's checks over files, a table and the log."""

from __future__ import annotations

import json
import sys
import types
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from gtmcheck import schemadoc
from gtmcheck.cli import main
from gtmcheck.context import RunContext
from gtmcheck.errors import CheckError, CheckFailed, SpecError
from gtmcheck.kinds import get_kind
from gtmcheck.kinds.base import Check
from gtmcheck.kinds.webhooks.schema import SCHEMA
from gtmcheck.project import load_project
from gtmcheck.spec import load_checklist

HEADER = """\
kind: webhooks
name: CRM to revenue-ops webhooks
owner: revops@acme.example
built_by: jane@acme.example
signoff: {by: sam@acme.example, role: revops, on: 2026-11-20}
"""
PAYLOAD = {"event": "account.updated", "version": "2.0", "event_id": "e1", "occurred_at": "2026-11-26T10:00:00Z",
           "account_id": "c001", "properties": {"name": "Globex", "domain": "globex.example", "arr": 48000,
                                                "owner_email": "ben@acme.example", "country": "DE"}}


def _account(version: str, arr: str) -> dict[str, Any]:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "required": ["event", "version", "event_id", "account_id", "properties"],
        "properties": {
            "event": {"const": "account.updated"},
            "version": {"const": version},
            "event_id": {"type": "string"},
            "occurred_at": {"type": "string", "format": "date-time"},
            "account_id": {"type": "string"},
            "properties": {"$ref": f"defs.json#/$defs/account_{arr}"},
        },
    }


DEFS = {"$defs": {
    f"account_{arr}": {"type": "object", "required": ["name", arr],
                       "properties": {"name": {"type": "string"}, "domain": {"type": "string"}, arr: {"type": "number"},
                                      "owner_email": {"type": "string"}, "country": {"type": "string"}}}
    for arr in ("arr", "annual_recurring_revenue")}}


def _project(tmp_path: Path, body: str, *, warehouse: str | None = None) -> Path:
    """A project with account.updated 1.0 (retired), 2.0, 2.1 and contact.creation 1; returns the checklist."""
    schemas = tmp_path / "checks" / "schemas"
    for version, arr in (("1.0", "arr"), ("2.0", "arr"), ("2.1", "annual_recurring_revenue")):
        (schemas / "account.updated").mkdir(parents=True, exist_ok=True)
        (schemas / "account.updated" / f"{version}.json").write_text(json.dumps(_account(version, arr), indent=1))
    (schemas / "account.updated" / "defs.json").write_text(json.dumps(DEFS))
    (schemas / "contact.creation").mkdir()
    (schemas / "contact.creation" / "1.json").write_text(json.dumps(
        {"type": "object", "required": ["subscriptionType", "objectId"],
         "properties": {"subscriptionType": {"const": "contact.creation"}, "objectId": {"type": "integer"}}}))
    wh = f"\n    warehouse: {{url: \"{warehouse}\"}}" if warehouse else ""
    (tmp_path / "gtmcheck.yml").write_text(f"version: 1\nenvironments:\n  local:\n    crm: {{type: sandbox}}{wh}\n"
                                           "default_environment: local\nchecks: [checks]\n")
    path = tmp_path / "checks" / "webhooks.gtm.yml"
    path.write_text(HEADER + body)
    return path


EVENTS = """\
schemas: schemas
events:
  - event: account.updated
    sender: "{sender}"
    receiver: "2.0"
    retired: ["1.0"]
  - event: contact.creation
    sender: "1"
    receiver: "1"
    envelope: {{event: /subscriptionType}}
"""


def _lint(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[dict[str, Any]]]:
    code = main(["lint", str(path), "--format", "json"])
    out = capsys.readouterr().out
    return code, json.loads(out) if code in (0, 1) else []


def test_lint_names_the_break_its_pointer_and_the_version_rule(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    path = _project(tmp_path, EVENTS.format(sender="2.1"))
    code, findings = _lint(path, capsys)
    assert code == 1
    by_rule = {f["rule"]: f for f in findings}
    assert set(by_rule) == {"WEBHOOK101", "WEBHOOK102"}
    assert by_rule["WEBHOOK101"]["line"] == 9  # the sender line
    assert "renamed to annual_recurring_revenue at /properties/arr (WH102 property.renamed)" \
        in by_rule["WEBHOOK101"]["message"]
    assert "account.updated 2.0 -> 2.1: " in by_rule["WEBHOOK102"]["message"]
    assert "a breaking change under a minor bump; a breaking change needs a major version (3.0)" \
        in by_rule["WEBHOOK102"]["message"]
    assert "/version" not in by_rule["WEBHOOK101"]["message"]  # a version's own const is no break


def test_lint_is_clean_when_sender_and_receiver_agree(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _lint(_project(tmp_path, EVENTS.format(sender="2.0")), capsys) == (0, [])


def test_lint_flags_a_declared_retired_version_and_a_schema_pinning_another_version(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _project(tmp_path, EVENTS.format(sender="2.0").replace('["1.0"]', '["1.0", "2.0"]'))
    bad = _account("2.0", "arr")
    bad["properties"]["version"] = {"const": "1.0"}  # copied from 1.0.json and not bumped
    (tmp_path / "checks" / "schemas" / "account.updated" / "2.0.json").write_text(json.dumps(bad))
    code, findings = _lint(path, capsys)
    assert code == 1
    rules = sorted((f["rule"], f["line"]) for f in findings)
    assert ("WEBHOOK103", 11) in rules and ("WEBHOOK103", 11) in rules
    assert any(f["rule"] == "WEBHOOK104" and "2.0.json pins /version to '1.0', not '2.0'" in f["message"]
               for f in findings)


@pytest.mark.parametrize(("body", "where", "says"), [
    (EVENTS.format(sender="2.0") + "samples:\n  - {delivery_log: sandbox, limit: 100001}\n", "17:36", "100000"),
    (EVENTS.format(sender="2.0").replace("events:", "evnts:"), "7:1", "did you mean"),
    (EVENTS.format(sender="2.0").replace("schemas: schemas", "schemas: nowhere"), "6:10", "does not exist"),
    (EVENTS.format(sender="2.0").replace('receiver: "2.0"', 'receiver: "3.0"'), "10:15",
     "receiver version '3.0' has no schema (the registry has 1.0, 2.0, 2.1)"),
    (EVENTS.format(sender="2.0").replace("/subscriptionType", "subscriptionType"), "15:23", "JSON pointer"),
    (EVENTS.format(sender="2.0").replace('sender: "2.0"', "sender: 2.0"), "9:13", 'quote the version'),
    (EVENTS.format(sender="2.0") + 'samples:\n  - {table: raw, payload: body, key: id, where: "1=1; drop table x"}\n',
     "17:49", "contains ';'"),
    (EVENTS.format(sender="2.0") + "samples:\n  - {files: samples/a.json, key: id}\n", "17:29", "belongs to a `table`"),
    (EVENTS.format(sender="2.0") + "receiver:\n  url: https://hooks.acme.example/in\n"
     "  signing: {scheme: hmac-sha256, secret: s3cr3t-value}\n", "18:3", "needs `header:`"),
])
def test_unusable_input_is_an_error_at_its_line(tmp_path: Path, capsys: pytest.CaptureFixture[str], body: str,
                                                where: str, says: str) -> None:
    path = _project(tmp_path, body)
    assert main(["lint", str(path), "--format", "json"]) == 2
    out = capsys.readouterr()
    found = [f for f in json.loads(out.out) if says in f["message"] + f["fix"]]
    assert found and found[0]["rule"] == "GTM001" and found[0]["fix"], out.out
    assert f"{found[0]['line']}:{found[0]['column']}" == where
    assert "Traceback" not in out.err and "s3cr3t-value" not in out.out + out.err


def test_published_schema_documents_every_key() -> None:
    assert schemadoc.gaps({"type": "object", "properties": SCHEMA}) == []


def _checks(path: Path) -> tuple[RunContext, dict[str, Check]]:
    checklist = load_checklist(path)
    project = load_project(path.parent.parent)
    ctx = RunContext(project, project.environment("local"), workers=1)
    return ctx, {c.name: c for c in get_kind("webhooks").checks(checklist)}


def _failure(check: Check, ctx: RunContext) -> str:
    with pytest.raises(CheckFailed) as caught:
        check.run(ctx)
    return caught.value.message


def test_file_samples_are_named_by_file_and_line(tmp_path: Path) -> None:
    path = _project(tmp_path, EVENTS.format(sender="2.0") + "samples:\n  - files: samples/*.json\n"
                    "  - files: [samples/log.ndjson]\n")
    samples = tmp_path / "checks" / "samples"
    samples.mkdir()
    bad = {**PAYLOAD, "properties": {**PAYLOAD["properties"], "arr": "48k"}}
    (samples / "batch.json").write_text(json.dumps([PAYLOAD, bad], indent=2))
    retired = {**PAYLOAD, "version": "1.0"}
    contact = {"subscriptionType": "contact.creation", "objectId": 7}
    (samples / "log.ndjson").write_text("\n".join([json.dumps(contact), "{not json", json.dumps(retired),
                                                   json.dumps({**PAYLOAD, "version": "9.9"})]) + "\n")
    ctx, checks = _checks(path)
    message = _failure(checks["WEBHOOK-SAMPLES-VALID[files:samples/*.json]"], ctx)
    assert message.startswith("1 of 2 samples from files:samples/*.json fail: ")
    line = 1 + json.dumps([PAYLOAD, bad], indent=2).splitlines().index("  {", 2)
    assert f"checks/samples/batch.json:{line} account.updated 2.0 /properties/arr (type): value \"48k\"" in message
    message = _failure(checks["WEBHOOK-SAMPLES-VALID[files:samples/log.ndjson]"], ctx)
    assert message.startswith("3 of 4 samples")
    assert "log.ndjson:2 is not JSON" in message
    assert "log.ndjson:3 claims account.updated 1.0, a retired version" in message
    assert "log.ndjson:4 claims account.updated 9.9, which has no schema (have 1.0, 2.0, 2.1)" in message
    assert "log.ndjson:1" not in message  # the contact event is found by its own envelope and is valid


def test_compatibility_compares_every_version_the_samples_show(tmp_path: Path) -> None:
    path = _project(tmp_path, EVENTS.format(sender="2.0") + "samples:\n  - files: samples/*.json\n")
    (tmp_path / "checks" / "samples").mkdir()
    drifted = {**PAYLOAD, "version": "2.1", "properties": {"name": "Globex", "annual_recurring_revenue": 48000}}
    (tmp_path / "checks" / "samples" / "a.json").write_text(json.dumps([PAYLOAD, drifted]))
    ctx, checks = _checks(path)
    samples = _failure(checks["WEBHOOK-SAMPLES-VALID[files:samples/*.json]"], ctx)
    assert "claims account.updated 2.1, but the sender is declared to emit 2.0" in samples
    message = _failure(checks["WEBHOOK-VERSIONS-COMPATIBLE[account.updated]"], ctx)
    assert "sender 2.1 (not declared; observed in 1 sample(s)) against receiver 2.0" in message
    assert "at /properties/arr (WH102 property.renamed)" in message
    assert "Version rule: account.updated 2.0 -> 2.1: " in message and "under a minor bump" in message
    assert "Example: " in message and "checks/samples/a.json:1 {" in message
    assert "is rejected by 2.0 at /properties (required): 'arr' is a required property" in message
    evidence = checks["WEBHOOK-VERSIONS-COMPATIBLE[contact.creation]"].run(ctx)
    assert "sender 1 and receiver 1 compatible" in evidence.summary


def test_schemas_item_lists_each_event_s_versions(tmp_path: Path) -> None:
    ctx, checks = _checks(_project(tmp_path, EVENTS.format(sender="2.0")))
    evidence = checks["WEBHOOK-SCHEMAS-VERSIONED"].run(ctx)
    assert "account.updated: 1.0 (retired), 2.0 (sender, receiver), 2.1" in evidence.summary
    assert "contact.creation: 1 (sender, receiver)" in evidence.summary
    assert not any(name.startswith("WEBHOOK-SAMPLES-VALID") for name in checks)  # no samples: not configured


def test_table_samples_name_table_and_key(tmp_path: Path) -> None:
    import duckdb

    db = tmp_path / "wh.duckdb"
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE raw_webhooks (id INTEGER, body VARCHAR, received_at TIMESTAMP)")
    bad = {**PAYLOAD, "properties": {**PAYLOAD["properties"], "arr": None}}
    rows = [(1, json.dumps(PAYLOAD), "2026-11-26 10:00:00"), (2, json.dumps(bad), "2026-11-26 10:00:00"),
            (3, "not json", "2026-11-26 10:00:00"), (4, json.dumps(bad), "2020-01-01 00:00:00")]
    con.executemany("INSERT INTO raw_webhooks VALUES (?, ?, ?)", rows)
    con.close()
    body = EVENTS.format(sender="2.0") + ("samples:\n  - {table: raw_webhooks, payload: body, key: id, "
                                          "where: \"received_at > TIMESTAMP '2026-01-01'\", limit: 10}\n")
    ctx, checks = _checks(_project(tmp_path, body, warehouse=f"duckdb:///{db}"))
    check = checks["WEBHOOK-SAMPLES-VALID[table:raw_webhooks]"]
    assert check.needs == frozenset({"warehouse"})
    message = _failure(check, ctx)
    assert message.startswith("2 of 3 samples from table:raw_webhooks fail: ")
    assert "raw_webhooks id=2 account.updated 2.0 /properties/arr (type): value null" in message
    assert "raw_webhooks id=3 holds text that is not JSON" in message
    assert "id=4" not in message  # filtered out by `where`


@dataclass(frozen=True)
class FakeDelivery:
    id: str
    sent_at: str
    url: str
    body: str
    status: int | str | None
    receiver_status: int | None
    receiver_reason: str


@pytest.fixture
def delivery_log(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[FakeDelivery]]:
    """The sandbox engineer's ``connectors.deliveries`` stood in for, to its contract."""
    log: list[FakeDelivery] = []
    calls: list[int] = []
    module = types.ModuleType("gtmcheck.connectors.deliveries")

    def read_deliveries(environment: object, *, limit: int = 1000) -> list[FakeDelivery]:
        calls.append(limit)
        return log[-limit:]

    module.read_deliveries = read_deliveries  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "gtmcheck.connectors.deliveries", module)
    yield log
    assert len(calls) <= 1  # read once per run, shared by the samples and compatibility checks


def test_delivery_log_events_are_named_by_delivery_and_position(tmp_path: Path,
                                                                delivery_log: list[FakeDelivery]) -> None:
    drifted = {**PAYLOAD, "version": "2.1", "properties": {"name": "Globex", "annual_recurring_revenue": 1}}
    contact = {"subscriptionType": "contact.creation", "objectId": 7}
    for n, body in enumerate([[contact, PAYLOAD], [drifted]], start=1):
        answer = (204, "") if n == 1 else (422, "/properties: 'arr' is a required property")
        delivery_log.append(FakeDelivery(str(n), "2026-11-26T10:00:00.000Z", "http://r/in", json.dumps(body), 204,
                                         *answer))
    path = _project(tmp_path, EVENTS.format(sender="2.0") + "samples:\n  - {delivery_log: sandbox, limit: 50}\n")
    ctx, checks = _checks(path)
    check = checks["WEBHOOK-SAMPLES-VALID[delivery_log]"]
    assert check.needs == frozenset({"crm"})
    message = _failure(check, ctx)
    assert message.startswith("1 of 3 samples from delivery_log fail: delivery 2[0] claims account.updated 2.1")
    assert message.endswith("(the receiver answered 422: /properties: 'arr' is a required property)")
    compat = _failure(checks["WEBHOOK-VERSIONS-COMPATIBLE[account.updated]"], ctx)
    assert "Example: delivery 2[0] {" in compat and "/properties/arr" in compat


def test_delivery_log_outside_the_sandbox_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from gtmcheck.errors import ConfigError

    module = types.ModuleType("gtmcheck.connectors.deliveries")

    def read_deliveries(environment: object, *, limit: int = 1000) -> list[FakeDelivery]:
        raise ConfigError("the delivery log exists only in the sandbox; use `files:` or `table:` samples")

    module.read_deliveries = read_deliveries  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "gtmcheck.connectors.deliveries", module)
    ctx, checks = _checks(_project(tmp_path, EVENTS.format(sender="2.0") + "samples:\n  - delivery_log: sandbox\n"))
    with pytest.raises(CheckError, match="exists only in the sandbox"):
        checks["WEBHOOK-SAMPLES-VALID[delivery_log]"].run(ctx)


def test_a_receiver_block_gives_one_signature_check_per_probe(tmp_path: Path) -> None:
    path = _project(tmp_path, EVENTS.format(sender="2.0") + "receiver:\n  url: https://hooks.acme.example/in\n"
                    "  signing: {scheme: hubspot-v3, secret: a-long-demo-secret}\n")
    _, checks = _checks(path)
    assert sorted(n for n in checks if n.startswith("WEBHOOK-SIGNATURES-ENFORCED")) == [
        f"WEBHOOK-SIGNATURES-ENFORCED[{p}]" for p in ("accepted", "forged", "replayed", "stale", "unsigned")]
    v1 = ("receiver:\n  url: https://hooks.acme.example/in\n"
          "  signing: {scheme: hubspot-v1, secret: a-long-demo-secret}\n")
    _, checks = _checks(_project(tmp_path / "v1", EVENTS.format(sender="2.0") + v1))
    assert "WEBHOOK-SIGNATURES-ENFORCED[stale]" not in checks  # v1 signs no timestamp
    assert "WEBHOOK-SIGNATURES-ENFORCED[replayed]" in checks


def test_a_checklist_with_only_manual_items_still_loads(tmp_path: Path) -> None:
    path = _project(tmp_path, "manual:\n  - {id: WEBHOOK-SAMPLES-VALID, evidence: ci run, attested_by: "
                    "sam@acme.example, on: 2026-11-14}\n")
    assert list(get_kind("webhooks").checks(load_checklist(path))) == []
    with pytest.raises(SpecError):
        load_checklist(_project(tmp_path / "x", "schemas: nowhere\n"))


def test_reference_page_is_generated_from_the_schema(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema", "--kind", "webhooks", "--format", "markdown"]) == 0
    assert (repo / "docs" / "webhooks-reference.md").read_text() == capsys.readouterr().out, (
        "docs/webhooks-reference.md is stale: run `gtmcheck schema --kind webhooks --format markdown "
        "> docs/webhooks-reference.md`")


def test_docs_list_every_webhooks_lint_rule(repo: Path) -> None:
    from gtmcheck.findings import RULES

    text = (repo / "docs" / "webhooks.md").read_text()
    codes = [code for code in RULES if code.startswith("WEBHOOK")]
    assert len(codes) == 4
    for code in codes:
        assert f"| {code} | `{RULES[code].name}` |" in text


def test_without_a_failing_sample_a_generated_counterexample_is_the_example(tmp_path: Path) -> None:
    ctx, checks = _checks(_project(tmp_path, EVENTS.format(sender="2.1")))
    message = _failure(checks["WEBHOOK-VERSIONS-COMPATIBLE[account.updated]"], ctx)
    assert "sender 2.1 (declared; not observed) against receiver 2.0" in message
    example = message.split("Example: ", 1)[1]
    assert example.startswith("generated payload {")  # hypothesis drew it from 2.1 and shrank it
    assert "annual_recurring_revenue" in example and "is rejected by 2.0 at /properties/arr (required)" in example


def test_a_sender_schema_the_generator_cannot_cover_is_said_not_hidden(tmp_path: Path) -> None:
    path = _project(tmp_path, EVENTS.format(sender="2.2"))
    schema = json.loads((path.parent / "schemas" / "account.updated" / "2.0.json").read_text())
    schema["if"] = {"required": ["account_id"]}  # if/then/else: outside the subset the strategies generate
    schema["then"] = {"required": ["account_id"]}
    if "$id" in schema:
        schema["$id"] = schema["$id"].replace("2.0", "2.2")
    (path.parent / "schemas" / "account.updated" / "2.2.json").write_text(json.dumps(schema))
    ctx, checks = _checks(path)
    message = _failure(checks["WEBHOOK-VERSIONS-COMPATIBLE[account.updated]"], ctx)  # if/then: WH124, not compared
    assert "(2.2: property-based check skipped: " in message


def test_table_samples_read_a_native_json_column_in_postgresql(tmp_path: Path) -> None:
    import os
    import uuid

    from sqlalchemy import create_engine, text

    url = os.environ.get("GTMCHECK_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("GTMCHECK_TEST_POSTGRES_URL is not set")
    table = f"raw_webhooks_{uuid.uuid4().hex[:8]}"
    engine = create_engine(url)
    bad = {**PAYLOAD, "properties": {**PAYLOAD["properties"], "arr": "48k"}}
    with engine.begin() as conn:
        conn.execute(text(f"CREATE TABLE {table} (id integer, body jsonb)"))
        conn.execute(text(f"INSERT INTO {table} VALUES (1, CAST(:a AS jsonb)), (2, CAST(:b AS jsonb))"),
                     {"a": json.dumps(PAYLOAD), "b": json.dumps(bad)})
    try:
        body = EVENTS.format(sender="2.0") + f"samples:\n  - {{table: {table}, payload: body, key: id}}\n"
        ctx, checks = _checks(_project(tmp_path, body, warehouse=url))
        message = _failure(checks[f"WEBHOOK-SAMPLES-VALID[table:{table}]"], ctx)
        assert message.startswith(f"1 of 2 samples from table:{table} fail: {table} id=2 account.updated 2.0 "
                                  "/properties/arr (type): value \"48k\"")
    finally:
        with engine.begin() as conn:
            conn.execute(text(f"DROP TABLE {table}"))
        engine.dispose()


def test_hostile_samples_are_findings_not_tracebacks(tmp_path: Path) -> None:
    path = _project(tmp_path, EVENTS.format(sender="2.0") + "samples:\n  - files: samples/*.json\n")
    samples = tmp_path / "checks" / "samples"
    samples.mkdir()
    (samples / "deep.json").write_text("[" * 200_000 + "]" * 200_000)
    (samples / "empty.json").write_text("  \n")
    (samples / "scalar.json").write_text("42")
    ctx, checks = _checks(path)
    message = _failure(checks["WEBHOOK-SAMPLES-VALID[files:samples/*.json]"], ctx)
    assert message.startswith("3 of 3 samples")
    assert "deep.json nests deeper than JSON is read here" in message
    assert "empty.json is empty" in message
    assert "scalar.json:1 names no event at /event or /subscriptionType" in message


OTHER_VALUES = ["[]", "{}", "1", "-3.5", "true", "~", "''", "'x'", "[a, b]", "{a: 1}", "2026-11-20", "/x~2",
                "${GTMCHECK_NOPE}", "1e999", "'../../../../etc'", "[/dev/zero]", "{table: t, key: 'a b'}"]


def test_every_value_replaced_by_another_type_loads_or_is_an_error_at_a_line(tmp_path: Path) -> None:
    """Each line's value swapped for other YAML types: the checklist loads (and lints) or is a SpecError."""
    body = EVENTS.format(sender="2.0") + ("samples:\n  - files: samples/*.json\n  - delivery_log: sandbox\n"
                                          "  - {table: raw, payload: body, key: id, where: \"a > 1\", limit: 5}\n"
                                          "receiver:\n  url: https://hooks.acme.example/in\n"
                                          "  signing: {scheme: hmac-sha256, secret: abcdefgh, header: X-S, "
                                          "timestamp_header: X-T}\nenum_additions: breaking\n")
    path = _project(tmp_path, body)
    lines = path.read_text().splitlines(keepends=True)
    loaded = 0
    for i, line in enumerate(lines):
        if ":" not in line or i < 5:
            continue
        head = line.split(":", 1)[0]
        for value in OTHER_VALUES:
            path.write_text("".join(lines[:i] + [f"{head}: {value}\n"] + lines[i + 1:]))
            try:
                checklist = load_checklist(path)
            except SpecError as exc:
                assert all(e.location is not None and e.location.line >= 1 for e in exc.errors), exc
                continue
            list(get_kind("webhooks").lint(checklist))
            list(get_kind("webhooks").checks(checklist))
            loaded += 1
    assert loaded > 0  # e.g. `retired: []`, `envelope: {}`


def test_schema_files_listed_by_id_and_a_bad_one_is_an_error_at_its_entry(tmp_path: Path) -> None:
    path = _project(tmp_path, "schemas:\n  - ids/*.json\n  - ids/extra/no-id.json\nevents:\n"
                    "  - {event: account.updated, sender: \"2.0\", receiver: \"2.0\"}\n")
    ids = tmp_path / "checks" / "ids"
    (ids / "extra").mkdir(parents=True)
    (ids / "a.json").write_text(json.dumps({"$id": "https://acme.example/s/account.updated/2.0.json",
                                            "type": "object"}))
    (ids / "extra" / "no-id.json").write_text(json.dumps({"type": "object"}))
    with pytest.raises(SpecError) as caught:
        load_checklist(path)
    [error] = caught.value.errors
    assert error.location is not None and (error.location.line, error.location.column) == (8, 5)
    assert "schema ids/extra/no-id.json: has no $id naming its event and version" in error.message
    (ids / "extra" / "no-id.json").unlink()
    path.write_text(path.read_text().replace("  - ids/extra/no-id.json\n", ""))
    ctx, checks = _checks(path)
    assert "account.updated: 2.0 (sender, receiver)" in checks["WEBHOOK-SCHEMAS-VERSIONED"].run(ctx).summary
