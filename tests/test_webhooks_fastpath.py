"""The compiled fast path: it never calls valid what jsonschema rejects, and it is actually taken."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gtmcheck.kinds.webhooks import fastpath, validate
from gtmcheck.kinds.webhooks.fastpath import compile_fast, distrust, untrusted_pattern
from gtmcheck.kinds.webhooks.load import load_schema
from gtmcheck.kinds.webhooks.strategies import PayloadStrategies
from gtmcheck.kinds.webhooks.validate import LoadedSchema, SchemaRegistry, validate_payload

# The demo's account.updated shape: 2020-12, closed objects, shared pieces in a sibling file by $ref, patterns.
COMMON = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://gtmcheck.example/demo/webhooks/account.updated/common.json",
    "$defs": {
        "event": {"const": "account.updated"},
        "event_id": {"type": "string", "minLength": 1, "maxLength": 64},
        "timestamp": {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$",
                      "format": "date-time"},
        "name": {"type": "string", "minLength": 1, "maxLength": 3},
        "domain": {"type": "string", "pattern": r"^[a-z0-9.-]+\.[a-z]{2,}$"},
        "email": {"type": ["string", "null"], "format": "email"},
        "country": {"enum": ["DE", "FR", "GB", None]},
    },
}
ACCOUNT = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://gtmcheck.example/demo/webhooks/account.updated/2.0.json",
    "type": "object", "additionalProperties": False,
    "required": ["event", "version", "event_id", "occurred_at", "account_id", "properties"],
    "properties": {
        "event": {"$ref": "common.json#/$defs/event"},
        "version": {"type": "string", "pattern": r"^2\.\d+$"},
        "event_id": {"$ref": "common.json#/$defs/event_id"},
        "occurred_at": {"$ref": "common.json#/$defs/timestamp"},
        "account_id": {"type": "string", "minLength": 1},
        "seats": {"type": "integer", "minimum": 1, "maximum": 18446744073709551616, "multipleOf": 2},
        "tags": {"type": "array", "items": {"type": "string"}, "uniqueItems": True, "maxItems": 3},
        "properties": {
            "type": "object", "additionalProperties": False, "required": ["name", "domain", "arr"],
            "properties": {
                "name": {"$ref": "common.json#/$defs/name"},
                "domain": {"$ref": "common.json#/$defs/domain"},
                "arr": {"type": "number", "minimum": 0},
                "owner_email": {"$ref": "common.json#/$defs/email"},
                "country": {"$ref": "common.json#/$defs/country"},
                "tier": {"const": 1},
            },
        },
    },
}
GOOD = {"event": "account.updated", "version": "2.0", "event_id": "e-1", "occurred_at": "2026-11-26T10:00:00Z",
        "account_id": "c001", "properties": {"name": "Glo", "domain": "globex.example", "arr": 48000,
                                             "owner_email": "ben@acme.example", "country": "DE"}}


def _with(path: str, value: Any) -> dict[str, Any]:
    """GOOD with one value replaced (``path`` like ``properties/arr``); ``...`` removes it."""
    payload = json.loads(json.dumps(GOOD))
    *parents, last = path.split("/")
    node = payload
    for part in parents:
        node = node[part]
    if value is ...:
        del node[last]
    else:
        node[last] = value
    return payload


@pytest.fixture
def account(tmp_path: Path) -> LoadedSchema:
    folder = tmp_path / "schemas" / "account.updated"
    folder.mkdir(parents=True)
    (folder / "common.json").write_text(json.dumps(COMMON), encoding="utf-8")
    (folder / "2.0.json").write_text(json.dumps(ACCOUNT), encoding="utf-8")
    loaded = SchemaRegistry.from_folder(tmp_path / "schemas").get("account.updated", "2.0")
    assert loaded is not None
    return loaded


TRICKY = {
    "valid": GOOD,
    "arr 1.0 is a number": _with("properties/arr", 1.0),
    "arr as string": _with("properties/arr", "48000"),
    "arr missing (the drift)": _with("properties/arr", ...),
    "arr negative big int": _with("properties/arr", -(2**70)),
    "arr huge int": _with("properties/arr", 2**70),
    "seats 2.0 is an integer multiple of 2": _with("seats", 2.0),
    "seats 3": _with("seats", 3),
    "seats just over a 2**64 maximum": _with("seats", 2**64 + 2),
    "seats at the 2**64 maximum": _with("seats", 2**64),
    "seats true is not an integer": _with("seats", True),
    "tier 1.0 equals const 1": _with("properties/tier", 1.0),
    "tier true is not const 1": _with("properties/tier", True),
    "tags 1 and 1.0 are not unique": _with("tags", ["a", "a"]),
    "tags unique": _with("tags", ["a", "b", "c"]),
    "tags too many": _with("tags", ["a", "b", "c", "d"]),
    "name three astral characters": _with("properties/name", "😀😀😀"),
    "name four astral characters": _with("properties/name", "😀😀😀😀"),
    "name e + combining accent x2 is four code points": _with("properties/name", "e\u0301e\u0301"),
    "email not an email (format is an annotation)": _with("properties/owner_email", "not an email"),
    "email null": _with("properties/owner_email", None),
    "occurred_at pattern ok, impossible date (format not asserted)": _with("occurred_at", "2026-13-45T99:99:99Z"),
    "occurred_at without Z": _with("occurred_at", "2026-11-26T10:00:00"),
    "occurred_at Arabic-Indic digits (Python's \\d takes them)": _with("occurred_at", "٢٠٢٦-11-26T10:00:00Z"),
    "version with a trailing newline (Python's $ takes it)": _with("version", "2.0\n"),
    "version 3.0": _with("version", "3.0"),
    "country enum null": _with("properties/country", None),
    "country not listed": _with("properties/country", "US"),
    "extra property": _with("properties/extra", 1),
    "domain uppercase": _with("properties/domain", "Globex.example"),
    "event_id empty": _with("event_id", ""),
    "nan arr": _with("properties/arr", float("nan")),
    "infinite arr": _with("properties/arr", float("inf")),
    "not an object": ["account.updated"],
    "null": None,
}


@pytest.mark.parametrize("name", sorted(TRICKY))
def test_verdict_equals_jsonschema_and_fast_never_accepts_more(name: str, account: LoadedSchema) -> None:
    payload = TRICKY[name]
    fast = compile_fast(account)
    assert fast is not None
    reference = account.validator.is_valid(payload)
    if fast(payload):
        assert reference, f"the fast path accepted {payload!r}, which jsonschema rejects"
    assert (validate_payload(account, payload) == []) == reference


def test_the_fast_path_accepts_the_valid_payloads_it_is_there_for(account: LoadedSchema) -> None:
    fast = compile_fast(account)
    assert fast is not None
    for name in ("valid", "arr 1.0 is a number", "arr huge int", "seats 2.0 is an integer multiple of 2",
                 "name three astral characters", "email not an email (format is an annotation)", "country enum null"):
        assert fast(TRICKY[name]), name


def test_a_deep_payload_goes_to_jsonschema_not_to_the_c_stack(account: LoadedSchema) -> None:
    deep: list[Any] = []
    node = deep
    for _ in range(fastpath.MAX_DEPTH + 5):
        node.append([])
        node = node[0]
    fast = compile_fast(account)
    assert fast is not None and fast(_with("tags", deep)) is False
    assert fast({1: "a non-string key"}) is False  # jsonschema-rs raises; jsonschema decides


@settings(max_examples=300, database=None, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])
@given(data=st.data())
def test_generated_payloads_agree(data: st.DataObject, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Payloads drawn from a looser schema (types and bounds kept, required and closed objects dropped)."""
    folder = tmp_path_factory.mktemp("gen")
    (folder / "common.json").write_text(json.dumps(COMMON), encoding="utf-8")
    (folder / "2.0.json").write_text(json.dumps(ACCOUNT), encoding="utf-8")
    loose = json.loads(json.dumps(ACCOUNT).replace('"additionalProperties": false', '"additionalProperties": true')
                       .replace('"minLength": 1', '"minLength": 0'))
    loose["required"] = ["properties"]
    (folder / "loose.json").write_text(json.dumps(loose), encoding="utf-8")
    strict = LoadedSchema("account.updated", "2.0", load_schema(folder / "2.0.json"))
    validate._check_refs(strict.doc)
    payload = data.draw(PayloadStrategies(["arr", "extra"]).for_document(load_schema(folder / "loose.json")))
    fast = compile_fast(strict)
    assert fast is not None
    if fast(payload):
        assert strict.validator.is_valid(payload), payload


@pytest.mark.parametrize("pattern", [r"^\d$", r"^\w$", r"^.$", r"^[a-z0-9_-]$", r"^[^a-z]$"])
def test_trusted_pattern_pieces_never_match_more_in_jsonschema_rs(pattern: str) -> None:
    """Every code point of the BMP and the next plane: jsonschema-rs's match implies Python's."""
    assert untrusted_pattern(pattern) is None
    compiled = jsonschema_rs.validator_for({"pattern": pattern}, validate_formats=False)
    python = re.compile(pattern)
    wider = [hex(cp) for cp in range(0x20000) if not 0xD800 <= cp <= 0xDFFF
             and compiled.is_valid(chr(cp)) and not python.search(chr(cp))]
    assert wider == []


@pytest.mark.parametrize(("schema", "why"), [
    ({"pattern": r"^\s$"}, "\\s"),
    ({"pattern": r"^\D+$"}, "\\D"),
    ({"pattern": r"^[^\d]+$"}, "negates \\d"),
    ({"pattern": r"^(?i)abc$"}, "syntax"),
    ({"pattern": r"^[[:alpha:]]$"}, "nests"),
    ({"pattern": r"^a{,3}$"}, "syntax"),
    ({"properties": {"a": {"multipleOf": 0.01}}}, "multipleOf 0.01"),
    ({"patternProperties": {r"^\S+$": {}}}, "\\S"),
    ({"$defs": {"x": {"$dynamicRef": "#meta"}}}, "$dynamicRef"),
])
def test_where_the_libraries_disagree_the_schema_is_not_fast_pathed(schema: dict[str, Any], why: str) -> None:
    reason = distrust(schema)
    assert reason is not None and why in reason


def test_an_untrusted_keyword_in_a_sibling_file_disables_the_fast_path(tmp_path: Path) -> None:
    (tmp_path / "common.json").write_text(json.dumps({"$defs": {"code": {"pattern": r"^\S+$"}}}), encoding="utf-8")
    (tmp_path / "1.json").write_text(json.dumps({"properties": {"c": {"$ref": "common.json#/$defs/code"}}}),
                                     encoding="utf-8")
    loaded = LoadedSchema("e", "1", load_schema(tmp_path / "1.json"))
    assert compile_fast(loaded) is None
    assert jsonschema_rs.is_valid({"pattern": r"^\S+$"}, "\x1c")  # what the fast path would have said
    assert [e.keyword for e in validate_payload(loaded, {"c": "\x1c"})] == ["pattern"]  # Python: \x1c is space


def test_multipleof_fraction_keeps_jsonschemas_verdict(tmp_path: Path) -> None:
    (tmp_path / "1.json").write_text(json.dumps({"type": "number", "multipleOf": 0.01}), encoding="utf-8")
    loaded = LoadedSchema("e", "1", load_schema(tmp_path / "1.json"))
    assert compile_fast(loaded) is None
    assert jsonschema_rs.is_valid({"type": "number", "multipleOf": 0.01}, 0.07)  # what the fast path would say
    assert [e.keyword for e in validate_payload(loaded, 0.07)] == ["multipleOf"]  # jsonschema's verdict stands


def test_validate_payload_takes_the_fast_path_for_valid_payloads(account: LoadedSchema,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """A valid payload never reaches jsonschema; an invalid one does, for its messages."""
    calls: list[Any] = []
    real = account.validator

    class Counting:
        def iter_errors(self, payload: Any) -> Any:
            calls.append(payload)
            return real.iter_errors(payload)

    monkeypatch.setattr(account, "_validator", Counting())
    assert validate_payload(account, GOOD) == []
    assert calls == []
    errors = validate_payload(account, _with("properties/arr", ...))
    assert [(e.pointer, e.keyword) for e in errors] == [("/properties", "required")]
    assert len(calls) == 1


def test_sibling_files_are_read_once_not_per_payload(account: LoadedSchema, monkeypatch: pytest.MonkeyPatch) -> None:
    """jsonschema itself (the path for invalid payloads) must not re-load common.json for every $ref."""
    loads: list[Path] = []
    real = validate.load_schema
    monkeypatch.setattr(validate, "load_schema", lambda path, cache=None: loads.append(path) or real(path, cache))
    for i in range(20):
        assert validate_payload(account, _with("properties/arr", f"not a number {i}"))
    assert loads == []


DEMO_SCHEMAS = Path(__file__).parent.parent / "gtmcheck" / "demo" / "schemas"


@pytest.mark.skipif(not DEMO_SCHEMAS.is_dir(), reason="the demo schemas come with the sandbox's branch")
def test_the_demo_schemas_are_fast_pathed_and_never_accept_more() -> None:
    registry = SchemaRegistry.from_folder(DEMO_SCHEMAS)
    assert len(registry) >= 5
    for loaded in registry:
        _demo_schema_agrees(loaded)


def _demo_schema_agrees(loaded: LoadedSchema) -> None:
    fast = compile_fast(loaded)
    assert fast is not None, f"{loaded.event} {loaded.version}: {distrust(loaded.root)}"
    drawn: list[Any] = []

    @settings(max_examples=60, database=None, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(PayloadStrategies().for_document(loaded.doc), st.sampled_from(["", "x", None, -1, "2.0\n", "٣"]))
    def check(payload: Any, odd: Any) -> None:
        changed = {**payload, next(iter(payload)): odd} if isinstance(payload, dict) and payload else odd
        for candidate in (payload, changed):
            drawn.append(candidate)
            if fast(candidate):
                assert loaded.validator.is_valid(candidate), (loaded.event, loaded.version, candidate)

    check()
    assert any(fast(p) for p in drawn), f"{loaded.event} {loaded.version}: the fast path never vouched"
