"""The command line as a user meets it: exit codes, formats, messages, and never a secret or a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from gtmcheck.cli import main, rules_markdown

SIGNED = """\
kind: reconcile
name: Totals
owner: revops@acme.example
built_by: jane@acme.example
signoff: {by: lee@acme.example, role: revops, on: 2026-11-20}
manual:
  - {id: RECONCILE-TOTALS, evidence: "https://bi.acme.example/q/1", attested_by: lee@acme.example}
  - {id: RECONCILE-HANDOFFS, evidence: "https://bi.acme.example/q/2", attested_by: lee@acme.example}
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def gtmcheck(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gtmcheck.cli", *args], cwd=cwd, capture_output=True, text=True, env=env,
        timeout=120,
    )


def test_lint_clean_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path, "checks/t.gtm.yml", SIGNED)
    assert main(["lint", str(tmp_path / "checks")]) == 0
    assert "No findings" in capsys.readouterr().out


def test_lint_findings_exit_1_and_fail_on(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path, "a.gtm.yml", SIGNED.replace("by: lee@acme.example, role", "by: jane@acme.example, role"))
    assert main(["lint", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "a.gtm.yml:5:15: GOV002 [error] signed off by jane@acme.example, who built it" in out
    write(tmp_path, "a.gtm.yml", SIGNED.replace("signoff: {by: lee@acme.example, role: revops, on: 2026-11-20}\n", ""))
    assert main(["lint", str(tmp_path)]) == 0  # a missing sign-off is a warning...
    assert main(["lint", str(tmp_path), "--fail-on", "warning"]) == 1  # ...unless warnings fail


def test_lint_unusable_input_exits_2_with_file_line_column(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path, "bad.gtm.yml", SIGNED.replace("owner:", "ownr:"))
    assert main(["lint", str(tmp_path), "--format", "json"]) == 2
    findings = json.loads(capsys.readouterr().out)
    assert findings[0]["rule"] == "GTM001"
    assert (findings[0]["line"], findings[0]["column"]) == (3, 1)
    assert "did you mean `owner`" in findings[0]["fix"]


def test_lint_missing_path_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lint", str(tmp_path / "nope")]) == 2
    assert "no such file or folder" in capsys.readouterr().out


def test_schema_is_a_valid_json_schema_that_accepts_the_examples(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from gtmcheck.yamlfile import load

    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    examples = sorted((repo / "checks").glob("*.gtm.yml"))
    assert examples
    for path in examples:
        assert not list(validator.iter_errors(load(path).data)), path
    typo = {"kind": "utm", "name": "x", "owner": "a@b.c", "built_by": "d@e.f", "taxonomyy": {}}
    assert list(validator.iter_errors(typo)), "the editor schema must flag unknown keys of built kinds"
    assert main(["schema", "--project"]) == 0
    project_schema = json.loads(capsys.readouterr().out)
    assert not list(jsonschema.Draft202012Validator(project_schema).iter_errors(load(repo / "gtmcheck.yml").data))


def test_rules_reference_is_generated_from_the_registry(repo: Path) -> None:
    assert (repo / "docs" / "rules.md").read_text() == rules_markdown() + "\n", (
        "docs/rules.md is stale: run `gtmcheck rules --format markdown > docs/rules.md`"
    )


def test_run_unknown_env_is_usage_error(repo: Path) -> None:
    result = gtmcheck("run", "--env", "staging", cwd=repo)
    assert result.returncode == 4
    assert "unknown environment 'staging'" in result.stderr
    assert "Traceback" not in result.stderr


def test_report_command_rerenders(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(tmp_path / "missing.json")]) == 2
    assert "file not found" in capsys.readouterr().err
    write(tmp_path, "r.json", "{}")
    assert main(["report", str(tmp_path / "r.json")]) == 2
    assert "not a gtmcheck report.json" in capsys.readouterr().err


def test_help_lists_the_commands() -> None:
    result = subprocess.run([sys.executable, "-m", "gtmcheck.cli", "--help"], capture_output=True, text=True)
    for command in ("lint", "run", "schema", "rules", "report"):
        assert command in result.stdout


def test_run_takes_options_after_the_paths(tmp_path: Path) -> None:
    write(tmp_path, "gtmcheck.yml", "version: 1\nenvironments:\n  local: {web: {type: live}}\n")
    write(tmp_path, "checks/totals.gtm.yml", SIGNED)
    result = gtmcheck("run", "checks/totals.gtm.yml", "--report-dir", "out", "-q", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["summary"]["attested"] == 2
    assert not (tmp_path / "gtmcheck-report").exists()  # the option was taken, not handed to pytest


def test_run_passes_what_follows_double_dash_to_pytest_and_refuses_unknown_options(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path, "gtmcheck.yml", "version: 1\nenvironments:\n  local: {web: {type: live}}\n")
    project = str(tmp_path / "gtmcheck.yml")
    assert main(["run", "a.gtm.yml", "--project", project, "b.gtm.yml", "--dry-run", "--", "-x", "--tb=short"]) == 0
    line = capsys.readouterr().out
    assert line.startswith("pytest a.gtm.yml b.gtm.yml --gtm-env local ")
    assert line.rstrip().endswith("-x --tb=short")
    with pytest.raises(SystemExit) as usage:
        main(["run", "a.gtm.yml", "--tb=short", "--project", project])
    assert usage.value.code == 2
    assert "unrecognized arguments: --tb=short; pytest options go after --" in capsys.readouterr().err


def test_lint_takes_options_after_the_paths(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first = write(tmp_path, "a.gtm.yml", SIGNED)
    unsigned = SIGNED.replace("signoff: {by: lee@acme.example, role: revops, on: 2026-11-20}\n", "")
    second = write(tmp_path, "b.gtm.yml", unsigned)
    assert main(["lint", str(first), "--format", "json", str(second), "--fail-on", "warning"]) == 1
    findings = json.loads(capsys.readouterr().out)
    assert {Path(f["file"]).name for f in findings} == {"b.gtm.yml"}
