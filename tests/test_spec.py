"""Checklists: schema errors become SpecError at the right line and column, with a fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from gtmcheck import secrets, spec
from gtmcheck.dod import KINDS, WorkType
from gtmcheck.errors import EnvVarError, SpecError, relpath

HEADER = "kind: routing\nname: Inbound demo requests\nowner: mops@acme.example\nbuilt_by: jane@acme.example\n"


def write(tmp_path: Path, text: str, name: str = "c.gtm.yml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def fails(tmp_path: Path, text: str) -> SpecError:
    path = write(tmp_path, text)
    with pytest.raises(SpecError) as info:
        spec.load_checklist(path)
    err = info.value
    assert err.location is not None and err.location.file == relpath(path)
    assert err.message and err.hint
    return err


def where(err: SpecError) -> tuple[int, int]:
    assert err.location is not None
    return err.location.line, err.location.column


def test_valid_checklist(tmp_path: Path) -> None:
    text = HEADER + (
        "signoff: {by: lee@acme.example, role: head_of_marketing_ops, on: 2026-11-20}\n"
        "manual:\n"
        "  - id: ROUTING-ALERTS\n"
        "    evidence: https://wiki.acme.example/alerts\n"
        "    attested_by: lee@acme.example\n"
        "    on: 2026-11-20\n"
    )
    checklist = spec.load_checklist(write(tmp_path, text))
    assert checklist.kind == "routing"
    assert checklist.name == "Inbound demo requests"
    assert checklist.signoff is not None and checklist.signoff.on == "2026-11-20"  # a string, not a date
    assert checklist.work_type is WorkType.PRE_PIPELINE
    assert checklist.manual["ROUTING-ALERTS"].index == 0
    assert checklist.location(("manual", 0, "id")).line == 7
    assert spec.is_checklist(checklist.path)


def test_gtm_yaml_suffix_and_others() -> None:
    assert spec.is_checklist(Path("a.gtm.yaml"))
    assert not spec.is_checklist(Path("a.yml"))


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_loads_with_only_a_header(tmp_path: Path, kind: str) -> None:
    assert spec.load_checklist(write(tmp_path, HEADER.replace("routing", kind))).kind == kind


def test_unknown_key_points_at_the_key_with_did_you_mean(tmp_path: Path) -> None:
    err = fails(tmp_path, HEADER + "signof: {by: lee@acme.example, role: cro, on: 2026-11-20}\n")
    assert "signof" in err.message
    assert where(err) == (5, 1)
    assert "signoff" in err.hint


def test_unknown_nested_key_with_a_typo(tmp_path: Path) -> None:
    err = fails(tmp_path, HEADER + "signoff:\n  by: lee@acme.example\n  rol: cro\n  on: 2026-11-20\n")
    assert "rol" in err.message
    assert where(err) == (7, 3)
    assert "`role`" in err.hint


def test_unknown_nested_key_far_from_any(tmp_path: Path) -> None:
    err = fails(
        tmp_path,
        HEADER + "signoff:\n  by: lee@acme.example\n  role: cro\n  on: 2026-11-20\n  zzzzzz: 1\n",
    )
    assert "zzzzzz" in err.message
    assert where(err) == (9, 3)
    assert "allowed keys" in err.hint


def test_unknown_key_of_a_built_kind(tmp_path: Path) -> None:
    err = fails(tmp_path, HEADER.replace("routing", "utm") + "urlz: []\n")
    assert "urlz" in err.message
    assert where(err) == (5, 1)


def test_wrong_type_points_at_the_value(tmp_path: Path) -> None:
    err = fails(tmp_path, "kind: routing\nname:   [a, b]\nowner: mops@acme.example\nbuilt_by: jane@acme.example\n")
    assert "name must be a string, not a list" in err.message
    assert where(err) == (2, 9)


def test_wrong_type_in_a_list(tmp_path: Path) -> None:
    err = fails(tmp_path, HEADER + "manual:\n  - ROUTING-ALERTS\n")
    assert "manual[0] must be a mapping" in err.message
    assert where(err) == (6, 5)


def test_missing_required_key_points_at_the_mapping(tmp_path: Path) -> None:
    err = fails(tmp_path, "# a comment first\nkind: routing\nname: x\nowner: mops@acme.example\n")
    assert "built_by" in err.message
    assert where(err) == (2, 1)
    assert "built_by:" in err.hint


def test_missing_nested_key(tmp_path: Path) -> None:
    err = fails(tmp_path, HEADER + "signoff:\n  by: lee@acme.example\n  role: cro\n")
    assert "signoff is missing the required key 'on'" in err.message
    assert where(err) == (6, 3)


@pytest.mark.parametrize(
    ("text", "position", "needle"),
    [
        ("kind: routng\nname: x\n", (1, 7), "routng"),
        ("name: x\nowner: a@b.example\n", (1, 1), "missing kind"),
        ("kind: [routing]\nname: x\n", (1, 7), "kind"),
        ("kind:\nname: x\n", (1, 6), "kind"),
    ],
)
def test_unknown_or_missing_kind(tmp_path: Path, text: str, position: tuple[int, int], needle: str) -> None:
    err = fails(tmp_path, text)
    assert needle in err.message
    assert where(err) == position
    assert "routing" in err.hint and "utm" in err.hint


def test_enum_error_with_did_you_mean(tmp_path: Path) -> None:
    err = fails(tmp_path, HEADER + "work_type: pre-pipeline\n")
    assert "'pre-pipeline' is not allowed" in err.message and "pre_pipeline" in err.message
    assert where(err) == (5, 12)
    assert "`pre_pipeline`" in err.hint


def test_const_version(tmp_path: Path) -> None:
    err = fails(tmp_path, "version: 2\n" + HEADER)
    assert where(err) == (1, 10)
    assert "version: 1" in err.hint


@pytest.mark.parametrize(
    ("extra", "position", "hint"),
    [
        ("signoff: {by: lee@acme.example, role: cro, on: 20/11/2026}\n", (5, 48), "YYYY-MM-DD"),
        ("signoff: {by: lee, role: cro, on: 2026-11-20}\n", (5, 15), "email"),
    ],
)
def test_pattern_errors(tmp_path: Path, extra: str, position: tuple[int, int], hint: str) -> None:
    err = fails(tmp_path, HEADER + extra)
    assert where(err) == position
    assert hint in err.hint


def test_empty_name(tmp_path: Path) -> None:
    err = fails(tmp_path, "kind: routing\nname: ''\nowner: mops@acme.example\nbuilt_by: jane@acme.example\n")
    assert "must not be empty" in err.message
    assert where(err) == (2, 7)


def test_first_error_in_file_order(tmp_path: Path) -> None:
    err = fails(tmp_path, "kind: routing\nname: 1\nowner: nope\nbuilt_by: nope\n")
    assert where(err) == (2, 7)


def test_manual_item_not_in_the_dod(tmp_path: Path) -> None:
    err = fails(tmp_path, HEADER + "manual:\n  - id: UTM-URLS-RESOLVE\n")
    assert "UTM-URLS-RESOLVE" in err.message
    assert where(err) == (6, 9)
    assert "ROUTING-ALERTS" in err.hint


def test_manual_item_twice(tmp_path: Path) -> None:
    err = fails(tmp_path, HEADER + "manual:\n  - id: ROUTING-ALERTS\n  - id: ROUTING-ALERTS\n")
    assert "twice" in err.message
    assert where(err) == (7, 9)


@pytest.mark.parametrize("text", ["- kind: routing\n", "just a string\n", "42\n"])
def test_checklist_must_be_a_mapping(tmp_path: Path, text: str) -> None:
    err = fails(tmp_path, text)
    assert "mapping" in err.message
    assert where(err) == (1, 1)


def test_yaml_errors_surface_from_load_checklist(tmp_path: Path) -> None:
    err = fails(tmp_path, HEADER + "rules:\n\t- id: x\n")
    assert where(err) == (6, 1)


def test_missing_checklist_file(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="not found"):
        spec.load_checklist(tmp_path / "gone.gtm.yml")


def test_env_var_in_a_checklist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GTMCHECK_TEST_OWNER", "owner@acme.example")
    text = "kind: routing\nname: x\nowner: ${GTMCHECK_TEST_OWNER}\nbuilt_by: jane@acme.example\n"
    assert spec.load_checklist(write(tmp_path, text)).owner == "owner@acme.example"


def test_missing_env_var_in_a_checklist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GTMCHECK_TEST_MISSING", raising=False)
    text = HEADER + "description: >-\n  ${GTMCHECK_TEST_MISSING}\n"
    with pytest.raises(EnvVarError) as info:
        spec.load_checklist(write(tmp_path, text))
    assert "GTMCHECK_TEST_MISSING" in info.value.message
    loc = info.value.location
    assert loc is not None and (loc.line, loc.column) == (6, 3)  # the variable's own line in the block scalar


def test_missing_env_var_in_a_literal_block(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GTMCHECK_TEST_MISSING", raising=False)
    text = HEADER + "description: |\n  first line\n\n  uses ${GTMCHECK_TEST_MISSING:-} and ${GTMCHECK_TEST_MISSING}\n"
    with pytest.raises(EnvVarError) as info:
        spec.load_checklist(write(tmp_path, text))
    loc = info.value.location
    assert loc is not None and (loc.line, loc.column) == (8, 39)


def test_expanded_value_is_validated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GTMCHECK_TEST_OWNER", "not-an-email")
    text = "kind: routing\nname: x\nowner: ${GTMCHECK_TEST_OWNER}\nbuilt_by: jane@acme.example\n"
    err = fails(tmp_path, text)
    assert where(err) == (3, 8)
    assert "not-an-email" not in str(err)  # the value came from the environment: never echoed
    secrets.clear()


def test_enum_error_does_not_echo_a_value_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GTMCHECK_TEST_WORK_TYPE", "s3cret-work-type")
    err = fails(tmp_path, HEADER + "work_type: ${GTMCHECK_TEST_WORK_TYPE}\n")
    assert where(err) == (5, 12)
    assert "s3cret" not in str(err)
    secrets.clear()
