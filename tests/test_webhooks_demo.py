"""The demo story end to end: the healthy sandbox passes the webhooks items, the drifted one names the drift.

Needs the sandbox's part of issue 11 (gtmcheck/demo/schemas, the delivery log, account.updated deliveries at
the scenario's sender version); the lint comparison needs only the schemas.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from gtmcheck.cli import main


def _run(repo: Path, out: Path, env: str) -> tuple[int, list[dict[str, Any]], str]:
    result = subprocess.run([sys.executable, "-m", "gtmcheck.cli", "run", "--env", env, "-k", "WEBHOOK",
                             "--report-dir", str(out)], cwd=repo, capture_output=True, text=True, timeout=300,
                            env=dict(os.environ))
    output = result.stdout + result.stderr
    assert "Traceback" not in output
    report = json.loads((out / "report.json").read_text())
    [checklist] = [c for c in report["checklists"] if c["kind"] == "webhooks"]
    return result.returncode, checklist["items"], output


def test_healthy_sandbox_passes_every_webhooks_item(repo: Path, tmp_path: Path) -> None:
    code, items, output = _run(repo, tmp_path, "sandbox")
    assert code == 0, output[-3000:]
    statuses = {i["id"]: i["status"] for i in items}
    assert {i["dod"] for i in items} == {"WEBHOOK-SCHEMAS-VERSIONED", "WEBHOOK-SAMPLES-VALID",
                                         "WEBHOOK-VERSIONS-COMPATIBLE", "WEBHOOK-SIGNATURES-ENFORCED"}
    assert set(statuses.values()) <= {"passed", "attested"}, statuses
    assert statuses["WEBHOOK-VERSIONS-COMPATIBLE[account.updated]"] == "passed"
    assert statuses["WEBHOOK-SAMPLES-VALID[delivery_log]"] == "passed"


def _version_rule(text: str) -> str:
    found = re.search(r"account\.updated 2\.0 -> 2\.1: .*?needs a major version \(3\.0\)", text)
    assert found, text
    return found.group()


def test_drifted_sandbox_fails_compatibility_at_the_pointer_with_the_version_rule(
        repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, items, output = _run(repo, tmp_path / "out", "sandbox-drifted")
    assert code == 1
    failed = {i["id"]: i["message"] for i in items if i["status"] == "failed"}
    message = failed["WEBHOOK-VERSIONS-COMPATIBLE[account.updated]"]
    assert "/properties/arr" in message
    assert "a breaking change under a minor bump" in message
    assert "Example: delivery " in message  # a real delivery the receiver's 2.0 schema rejects
    assert "claims account.updated 2.1, but the sender is declared to emit 2.0" \
        in failed["WEBHOOK-SAMPLES-VALID[delivery_log]"]
    # offline, a checklist declaring what the drifted sender does reports the same rule, pointer and text
    copy = tmp_path / "checks" / "webhooks.gtm.yml"
    copy.parent.mkdir()
    shutil.copytree(repo / "gtmcheck" / "demo" / "schemas", tmp_path / "schemas")
    text = (repo / "checks" / "webhooks.gtm.yml").read_text()
    text = text.replace("../gtmcheck/demo/schemas", "../schemas").replace('sender: "2.0"', 'sender: "2.1"', 1)
    copy.write_text(text)
    assert main(["lint", str(copy), "--format", "json"]) == 1
    findings = {f["rule"]: f["message"] for f in json.loads(capsys.readouterr().out)}
    assert "/properties/arr (WH10" in findings["WEBHOOK101"]
    assert _version_rule(findings["WEBHOOK102"]) == _version_rule(message)
