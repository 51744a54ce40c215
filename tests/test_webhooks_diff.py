"""``gtmcheck webhooks diff``: every labelled schema pair in tests/cases/webhooks_diff classified as written."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from casefiles import rule_cases

from gtmcheck.kinds.webhooks.diff import diff_files
from gtmcheck.kinds.webhooks.rules import RULES

CASES = Path(__file__).parent / "cases" / "webhooks_diff"


def _write(folder: Path, case: dict[str, Any]) -> tuple[Path, Path]:
    for name, schema in (case.get("files") or {}).items():
        (folder / name).write_text(json.dumps(schema), encoding="utf-8")
    (folder / "old").mkdir()
    (folder / "new").mkdir()
    for side in ("old", "new"):
        for name, schema in (case.get(f"{side}_files") or {}).items():
            (folder / side / name).write_text(json.dumps(schema), encoding="utf-8")
        (folder / side / "schema.json").write_text(json.dumps(case[side]), encoding="utf-8")
    return folder / "old" / "schema.json", folder / "new" / "schema.json"


@pytest.mark.parametrize(("code", "case"), rule_cases(CASES))
def test_schema_pair_is_classified_as_labelled(code: str, case: dict[str, Any], tmp_path: Path) -> None:
    old, new = _write(tmp_path, case)
    changes = diff_files(old, new, enum_additions=case.get("enum_additions", "compatible"))
    got = sorted((c.pointer, c.rule, c.narrows, c.widens) for c in changes)
    want = sorted((e["pointer"], e["rule"], e["narrows"], e["widens"]) for e in case["expect"])
    assert got == want
    if "level" in case:
        assert {c.level for c in changes if c.rule == code} == {case["level"]}


def test_corpus_covers_every_rule_with_sixty_pairs() -> None:
    params = rule_cases(CASES)
    assert len(params) >= 60
    fired = {e["rule"] for p in params for e in p.values[1]["expect"]}
    assert fired == {rule.code for rule in RULES.values()}
    files = {p.values[0] for p in params}
    assert files == {rule.code for rule in RULES.values()}


def test_docs_list_every_rule_with_its_level() -> None:
    text = (Path(__file__).parent.parent / "docs" / "webhooks.md").read_text(encoding="utf-8")
    for rule in RULES.values():
        assert f"| {rule.code} | `{rule.name}` | {rule.level}" in text
