"""report.json has a published schema; every report gtmcheck writes fits it, and `gtmcheck report` refuses
anything else (a folder, a FIFO, a device, non-UTF-8, JSON of another shape) with one line and exit 2.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import jsonschema
import pytest

from gtmcheck.cli import main
from gtmcheck.report.model import RunMeta, build_report
from gtmcheck.report.schema import report_schema, schema_problem

GOOD = {
    "summary": {"passed": 1, "failed": 0, "error": 0, "attested": 0, "not_configured": 0, "completeness": 100.0,
                "go_live": True, "blocking": []},
    "checklists": [{"file": "checks/a.gtm.yml", "kind": "crm", "name": "A", "owner": "mops@acme.example",
                    "signoff": None, "items": [{"id": "CRM-X", "dod": "CRM-X", "status": "passed", "message": "",
                                                "evidence": ""}]}],
}

pytestmark = pytest.mark.usefixtures("no_hang")  # a blocked read fails, never hangs


def _write(text: str | bytes) -> Callable[[Path], Path]:
    def make(path: Path) -> Path:
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
        return path

    return make


def _fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def _folder(path: Path) -> Path:
    path.mkdir()
    return path


def _device(path: Path) -> Path:
    path.symlink_to("/dev/zero")
    return path


def _huge(path: Path) -> Path:
    with path.open("wb") as fh:
        fh.truncate(300 * 1024 * 1024)  # sparse: no disk used
    return path


def _bad_status() -> str:
    report = json.loads(json.dumps(GOOD))
    report["checklists"][0]["items"][0]["status"] = "green"
    return json.dumps(report)


BAD_REPORTS: dict[str, tuple[Callable[[Path], Path], str]] = {
    "folder": (_folder, "is a directory"),
    "fifo": (_fifo, "is a named pipe (FIFO), not a regular file"),
    "device": (_device, "is a device, not a regular file"),
    "too_big": (_huge, "over the 268,435,456 byte limit"),
    "not_utf8": (_write(b'{"summary": "\xff"}'), "is not valid UTF-8"),
    "not_json": (_write("{\n  'summary': 1\n}"), "is not valid JSON (line 2, column 3"),
    "nan": (_write('{"summary": NaN, "checklists": []}'), "NaN is not a JSON number"),
    "a_list": (_write("[]"), "is not a gtmcheck report.json: at / (the whole document): [] is not of type 'object'"),
    "wrong_status": (_write(_bad_status()), "is not a gtmcheck report.json: at /checklists/0/items/0/status:"),
    "summary_missing_count": (
        _write(json.dumps({**GOOD, "summary": {k: v for k, v in GOOD["summary"].items() if k != "failed"}})),
        "at /summary: 'failed' is a required property",
    ),
    "deep": (_write("[" * 100_000 + "]" * 100_000), "nests too deeply"),
}


@pytest.mark.parametrize("case", sorted(BAD_REPORTS))
def test_report_refuses_bad_input_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    make, says = BAD_REPORTS[case]
    path = make(tmp_path / "report.json")
    assert main(["report", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith(f"gtmcheck: error: {path}: "), lines[0]
    assert says in lines[0] and ". Fix: " in lines[0], lines[0]


def test_report_renders_a_valid_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(json.dumps(GOOD))(tmp_path / "report.json")
    assert main(["report", str(path)]) == 0
    assert "checks/a.gtm.yml" in capsys.readouterr().out


def test_schema_report_prints_the_published_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema", "--report"]) == 0
    printed = json.loads(capsys.readouterr().out)
    jsonschema.Draft202012Validator.check_schema(printed)
    assert printed == report_schema()
    assert printed["$id"].endswith("report-v1.json")


def test_build_report_output_fits_the_schema_with_load_errors_and_cleanup() -> None:
    """Items are covered by the end-to-end runs: tests/test_end_to_end.py validates every report it makes."""
    from gtmcheck.errors import Location, SpecError

    meta = RunMeta(run_id="r1", environment="sandbox", started_at="2026-11-20T10:00:00Z", duration_s=1.5,
                   extra={"cleanup": {"run_id": "r1", "archived": 3, "remaining": 0, "clean": True}})
    error = SpecError("bad", Location("checks/b.gtm.yml", 3, 1), "fix it")
    report = build_report({}, {}, {"checks/b.gtm.yml": error}, meta)
    assert schema_problem(json.loads(json.dumps(report))) is None


def test_pytest_written_report_fits_the_schema(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yml", gtmcheck="version: 1\nenvironments:\n  local: {crm: {type: sandbox}}\n")
    checks = pytester.mkdir("checks")
    (checks / "crm.gtm.yml").write_text(
        "kind: crm\nname: CRM\nowner: mops@acme.example\nbuilt_by: jane@acme.example\n"
        "manual:\n  - {id: CRM-HANDOFF-SLA, evidence: 'https://wiki.acme.example/sla', attested_by: lee@acme.example}\n"
    )
    (checks / "bad.gtm.yml").write_text("kind: crm\nname: x\n")
    pytester.runpytest("checks", "--gtm-report-dir=out", "--continue-on-collection-errors")
    report = json.loads((pytester.path / "out" / "report.json").read_text())
    assert {c["file"] for c in report["checklists"]} == {"checks/crm.gtm.yml", "checks/bad.gtm.yml"}
    assert schema_problem(report) is None
