"""Payload validation for the webhooks kind: the registry, local $refs, drafts, and printable errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gtmcheck import secrets
from gtmcheck.kinds.webhooks.load import SchemaInputError
from gtmcheck.kinds.webhooks.validate import SchemaRegistry, validate_payload

ACCOUNT_20 = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://acme.example/schemas/account.updated/2.0.json",
    "type": "object",
    "required": ["event", "version", "properties"],
    "properties": {
        "event": {"const": "account.updated"},
        "version": {"type": "string"},
        "properties": {"$ref": "common.json#/$defs/account"},
    },
}
COMMON = {
    "$defs": {
        "account": {
            "type": "object",
            "required": ["arr"],
            "properties": {"arr": {"type": "number"}, "api_token": {"type": "integer"}},
        }
    }
}


def _write(path: Path, schema: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(schema), encoding="utf-8")
    return path


def _folder(tmp_path: Path) -> Path:
    root = tmp_path / "schemas"
    _write(root / "account.updated" / "2.0.json", ACCOUNT_20)
    _write(root / "account.updated" / "common.json", COMMON)
    _write(root / "contact.creation" / "1.json", {"type": "object", "required": ["subscriptionType"]})
    return root


def test_folder_registry_knows_event_versions_and_skips_shared_definitions(tmp_path: Path) -> None:
    registry = SchemaRegistry.from_folder(_folder(tmp_path))
    assert registry.events() == ["account.updated", "contact.creation"]
    assert registry.versions("account.updated") == ["2.0"]
    assert registry.get("account.updated", "2.1") is None


def test_sibling_ref_is_followed_and_error_names_pointer_keyword_value(tmp_path: Path) -> None:
    schema = SchemaRegistry.from_folder(_folder(tmp_path)).get("account.updated", "2.0")
    assert schema is not None
    good = {"event": "account.updated", "version": "2.0", "properties": {"arr": 48000}}
    assert validate_payload(schema, good) == []
    bad = {"event": "account.updated", "version": "2.0", "properties": {"arr": "48k"}}
    [error] = validate_payload(schema, bad)
    assert (error.pointer, error.keyword, error.value) == ("/properties/arr", "type", '"48k"')
    assert "'48k' is not of type 'number'" in error.message
    [missing] = validate_payload(schema, {"event": "account.updated", "version": "2.0", "properties": {}})
    assert (missing.pointer, missing.keyword) == ("/properties", "required")
    assert "'arr' is a required property" in missing.message


def test_values_under_secret_keys_and_registered_secrets_are_masked(tmp_path: Path) -> None:
    schema = SchemaRegistry.from_folder(_folder(tmp_path)).get("account.updated", "2.0")
    assert schema is not None
    payload = {"event": "account.updated", "version": "2.0",
               "properties": {"arr": 1, "api_token": "pat-na1-0000secret"}}
    [error] = validate_payload(schema, payload)
    assert error.pointer == "/properties/api_token"
    assert "pat-na1-0000secret" not in error.value + error.message
    secrets.register("hunter2-long-secret")
    try:
        [err] = validate_payload(schema, {"event": "account.updated", "version": "2.0",
                                          "properties": {"arr": "hunter2-long-secret"}})
        assert "hunter2-long-secret" not in err.value + err.message
    finally:
        secrets.clear()


def test_long_values_are_shortened(tmp_path: Path) -> None:
    schema = SchemaRegistry.from_folder(_folder(tmp_path)).get("account.updated", "2.0")
    assert schema is not None
    [error] = validate_payload(schema, {"event": "account.updated", "version": "2.0",
                                        "properties": {"arr": "x" * 5000}})
    assert len(error.value) < 200 and "more characters" in error.value
    assert len(error.message) < 400


def test_files_registry_reads_event_and_version_from_id(tmp_path: Path) -> None:
    one = _write(tmp_path / "a.json", ACCOUNT_20)
    _write(tmp_path / "common.json", COMMON)
    registry = SchemaRegistry.from_files([one])
    assert registry.versions("account.updated") == ["2.0"]
    no_id = _write(tmp_path / "b.json", {"type": "object"})
    with pytest.raises(SchemaInputError, match=r"no \$id naming its event and version.*Fix: give it"):
        SchemaRegistry.from_files([no_id])


def test_draft7_is_honoured_by_its_schema_keyword(tmp_path: Path) -> None:
    # draft 7 ignores keywords beside $ref; 2020-12 applies them: the same payload differs by draft
    body = {"definitions": {"n": {"type": "number"}}, "properties": {"x": {"$ref": "#/definitions/n", "minimum": 10}}}
    _write(tmp_path / "s" / "e" / "7.json", {"$schema": "http://json-schema.org/draft-07/schema#", **body})
    _write(tmp_path / "s" / "e" / "2020.json", body)
    registry = SchemaRegistry.from_folder(tmp_path / "s")
    d7, d2020 = registry.get("e", "7"), registry.get("e", "2020")
    assert d7 is not None and d2020 is not None
    assert validate_payload(d7, {"x": 1}) == []
    assert [e.keyword for e in validate_payload(d2020, {"x": 1})] == ["minimum"]


def test_remote_and_dangling_refs_are_input_errors_at_load(tmp_path: Path) -> None:
    _write(tmp_path / "r" / "e" / "1.json", {"properties": {"a": {"$ref": "https://evil.example/s.json"}}})
    with pytest.raises(SchemaInputError, match="remote \\$ref"):
        SchemaRegistry.from_folder(tmp_path / "r")
    _write(tmp_path / "d" / "e" / "1.json", {"properties": {"a": {"$ref": "missing.json#/x"}}})
    with pytest.raises(SchemaInputError, match="does not exist"):
        SchemaRegistry.from_folder(tmp_path / "d")
    with pytest.raises(SchemaInputError, match="does not exist"):
        SchemaRegistry.from_folder(tmp_path / "nowhere")


def test_each_schema_is_compiled_once(tmp_path: Path) -> None:
    schema = SchemaRegistry.from_folder(_folder(tmp_path)).get("contact.creation", "1")
    assert schema is not None
    first = schema.validator
    for _ in range(3):
        validate_payload(schema, {"subscriptionType": "contact.creation"})
    assert schema.validator is first
