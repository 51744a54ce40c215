"""``gtmcheck webhooks diff OLD NEW``: text and JSON output, exit 0/1/2, one-line errors for unusable input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gtmcheck.cli import main

OPEN = {"type": "object", "properties": {"stage": {"enum": ["open", "won"]}, "id": {"type": "string"}},
        "required": ["id"]}


def _files(tmp_path: Path, old: Any, new: Any) -> tuple[str, str]:
    a, b = tmp_path / "old.json", tmp_path / "new.json"
    a.write_text(old if isinstance(old, str) else json.dumps(old), encoding="utf-8")
    b.write_text(new if isinstance(new, str) else json.dumps(new), encoding="utf-8")
    return str(a), str(b)


def test_no_change_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old, new = _files(tmp_path, OPEN, OPEN)
    assert main(["webhooks", "diff", old, new]) == 0
    assert "No changes" in capsys.readouterr().out


def test_json_without_changes_is_an_empty_list(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old, new = _files(tmp_path, OPEN, {**OPEN, "description": "wording only"})
    assert main(["webhooks", "diff", old, new, "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_warnings_alone_are_not_breaking(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    new = {**OPEN, "properties": {**OPEN["properties"], "id": {"type": "string", "maxLength": 64}}}
    old_path, new_path = _files(tmp_path, new, OPEN)
    assert main(["webhooks", "diff", old_path, new_path]) == 0
    assert "warning WH116 length.widened       /properties/id/maxLength: maxLength 64 -> none (widens)" in (
        capsys.readouterr().out)


def test_breaking_change_exits_1_with_json_list(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    new = {**OPEN, "required": ["id", "stage"]}
    old_path, new_path = _files(tmp_path, OPEN, new)
    assert main(["webhooks", "diff", old_path, new_path, "--format", "json"]) == 1
    assert json.loads(capsys.readouterr().out) == [
        {"pointer": "/required", "change": "stage is now required", "rule": "WH104", "level": "error",
         "narrows": True, "widens": False}]


def test_text_format_names_rule_pointer_and_directions(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    new = {**OPEN, "properties": {**OPEN["properties"], "id": {"type": ["string", "null"]}}}
    old_path, new_path = _files(tmp_path, OPEN, new)
    assert main(["webhooks", "diff", old_path, new_path]) == 1
    out = capsys.readouterr().out
    assert "error   WH109 nullable.added" in out
    assert "/properties/id/type: null is now allowed (widens)" in out
    assert "1 change(s), 1 breaking." in out


def test_enum_additions_policy_decides_the_exit_code(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    new = {**OPEN, "properties": {**OPEN["properties"], "stage": {"enum": ["open", "won", "lost"]}}}
    old_path, new_path = _files(tmp_path, OPEN, new)
    assert main(["webhooks", "diff", old_path, new_path]) == 0
    assert "info    WH112 enum.added" in capsys.readouterr().out
    assert main(["webhooks", "diff", old_path, new_path, "--enum-additions", "breaking"]) == 1
    assert "error   WH112 enum.added" in capsys.readouterr().out


def _one_error(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in captured.err
    return lines[0]


@pytest.mark.parametrize(("new", "problem", "fix"), [
    ("{\"type\": \"object\",", "new.json:1:19: is not JSON", "Fix: save the schema as JSON"),
    ("[1, 2]", "new.json: is not a JSON Schema (the top level is a list)", "Fix: the file must hold a schema"),
    ({"type": "strng"}, "new.json: is not a valid JSON Schema at /type", "Fix: correct that keyword"),
    ({"properties": {"a": {"$ref": "https://example.com/a.json"}}},
     "new.json: has a remote $ref 'https://example.com/a.json', which is never fetched",
     "Fix: save that schema beside this one"),
    ({"$ref": "missing.json#/x"}, "new.json: has a $ref 'missing.json#/x' to a file that does not exist",
     "Fix: check the path"),
    ({"$ref": "#/$defs/a", "$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"$ref": "#/$defs/a"}}},
     "new.json: has a chain of more than 64 $refs", "Fix: make each $ref point at a schema"),
    ({"$ref": "#/$defs/nothing"}, "new.json: has a $ref '#/$defs/nothing' that points at nothing",
     "Fix: point the $ref at an existing definition"),
])
def test_unusable_input_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], new: Any, problem: str, fix: str
) -> None:
    old_path, new_path = _files(tmp_path, OPEN, new)
    assert main(["webhooks", "diff", old_path, new_path]) == 2
    line = _one_error(capsys)
    assert problem in line and fix in line


def test_missing_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old_path, _ = _files(tmp_path, OPEN, OPEN)
    assert main(["webhooks", "diff", old_path, str(tmp_path / "nope.json")]) == 2
    line = _one_error(capsys)
    assert "nope.json: does not exist. Fix:" in line
