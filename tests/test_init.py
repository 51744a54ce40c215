"""`gtmcheck init`: a first hour in the user's own repository, and the CI files it (and this repo) ships."""

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
import yaml

from gtmcheck.cli import main
from gtmcheck.scaffold import SCAFFOLD

WRITTEN = [dest for _, dest in SCAFFOLD]
WORKFLOWS = {
    "template go-live": ("init", ".github/workflows/gtm-golive.yml"),
    "template nightly": ("init", ".github/workflows/gtm-nightly.yml"),
    "repo go-live": ("repo", ".github/workflows/go-live.yml"),
    "repo nightly": ("repo", ".github/workflows/nightly-drift.yml"),
}


def gtmcheck(*args: str, cwd: Path, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GTMCHECK_CACHE_DIR": str(cwd / ".cache")}
    env.pop("GTMCHECK_ENV", None)
    return subprocess.run([sys.executable, "-m", "gtmcheck.cli", *args], cwd=cwd, capture_output=True,
                          text=True, env=env, timeout=timeout)


@pytest.fixture(scope="module")
def scaffolded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("acme-gtm")
    result = gtmcheck("init", cwd=folder)
    assert result.returncode == 0, result.stderr
    return folder


def test_init_writes_the_project_examples_and_workflows(scaffolded: Path) -> None:
    for name in WRITTEN:
        assert (scaffolded / name).is_file(), name
    kinds = {yaml.safe_load((scaffolded / "checks" / f"{k}.gtm.yml").read_text())["kind"]
             for k in ("crm", "utm", "routing", "attribution", "webhooks", "reconcile")}
    assert kinds == {"crm", "utm", "routing", "attribution", "webhooks", "reconcile"}
    project = yaml.safe_load((scaffolded / "gtmcheck.yml").read_text())
    assert project["environments"]["sandbox"]["crm"] == {"type": "sandbox"}  # the bundled demo, no path
    assert project["environments"]["production"]["writes"] is False
    assert "writes:" in (scaffolded / "gtmcheck.yml").read_text().split("production:")[1].split("writes: false")[0]


def test_every_key_of_the_examples_is_commented(scaffolded: Path) -> None:
    """Each example says what it is and how to adapt it; the header keys carry a comment on their line."""
    for name in WRITTEN:
        text = (scaffolded / name).read_text()
        assert text.startswith("#"), name
        for key in ("owner:", "built_by:", "signoff:"):
            lines = [line for line in text.splitlines() if line.startswith(key)]
            assert all("#" in line for line in lines), (name, lines)


def test_the_examples_lint_clean_and_pass_on_the_bundled_sandbox(scaffolded: Path) -> None:
    lint = gtmcheck("lint", "--format", "json", cwd=scaffolded)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    assert not [f for f in json.loads(lint.stdout) if f["severity"] in ("error", "warning")]
    run = gtmcheck("run", "--report-dir", "out", "--require-go-live", cwd=scaffolded)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    report = json.loads((scaffolded / "out" / "report.json").read_text())
    summary = report["summary"]
    assert summary["go_live"] is True and summary["failed"] == summary["error"] == 0
    assert summary["not_configured"] == 0 and summary["passed"] > 0  # utm and routing really ran
    ran = {c["kind"] for c in report["checklists"]}
    assert ran == {"crm", "utm", "routing", "attribution", "webhooks", "reconcile"}
    resolved = [i for c in report["checklists"] for i in c["items"] if i["id"].startswith("UTM-URLS-RESOLVE[")]
    assert len(resolved) == 3 and all(i["status"] == "passed" for i in resolved)
    assert "warning" not in run.stdout.lower()


def test_init_refuses_to_overwrite_and_writes_nothing(tmp_path: Path) -> None:
    mine = tmp_path / "checks" / "utm.gtm.yml"
    mine.parent.mkdir()
    mine.write_text("kind: utm  # mine\n")
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    (tmp_path / ".github" / "workflows" / "gtm-nightly.yml").symlink_to(tmp_path / "nowhere.yml")  # dangling
    result = gtmcheck("init", cwd=tmp_path)
    assert result.returncode == 2
    err = result.stderr
    assert "not overwriting" in err and "utm.gtm.yml" in err and "gtm-nightly.yml" in err and "Fix:" in err
    assert "Traceback" not in err
    assert mine.read_text() == "kind: utm  # mine\n"
    assert not (tmp_path / "gtmcheck.yml").exists() and not (tmp_path / "checks" / "crm.gtm.yml").exists()
    assert not (tmp_path / "nowhere.yml").exists()


def test_init_into_a_new_folder_then_again(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init", str(tmp_path / "gtm")]) == 0
    assert "cd " in capsys.readouterr().out
    before = {p: p.read_text() for p in (tmp_path / "gtm").rglob("*") if p.is_file()}
    assert main(["init", str(tmp_path / "gtm")]) == 2
    assert "not overwriting" in capsys.readouterr().err
    assert {p: p.read_text() for p in (tmp_path / "gtm").rglob("*") if p.is_file()} == before


def test_init_into_a_file_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "afile").write_text("x")
    assert main(["init", str(tmp_path / "afile")]) == 2
    assert "cannot write" in capsys.readouterr().err


# --- workflows -------------------------------------------------------------------------------------------


def workflow(which: str, scaffolded: Path, repo: Path) -> dict[Any, Any]:
    where, name = WORKFLOWS[which]
    data: dict[Any, Any] = yaml.safe_load(((scaffolded if where == "init" else repo) / name).read_text())
    return data


def steps(doc: dict[Any, Any]) -> list[dict[str, Any]]:
    (job,) = doc["jobs"].values()
    return list(job["steps"])


def step(doc: dict[Any, Any], name: str) -> dict[str, Any]:
    (found,) = [s for s in steps(doc) if s.get("name") == name or name in str(s.get("uses", ""))]
    return found


@pytest.mark.parametrize("which", list(WORKFLOWS))
def test_the_summary_is_written_even_without_a_report(which: str, scaffolded: Path, repo: Path,
                                                      tmp_path: Path) -> None:
    """Lint failed, so the run step was skipped: the summary step still runs and shows lint's findings."""
    summary_step = step(workflow(which, scaffolded, repo), "Job summary")
    assert summary_step["if"] == "always()"
    (tmp_path / "checks").mkdir()
    shutil.copy(repo / "gtmcheck" / "demo" / "broken" / "utm.gtm.yml", tmp_path / "checks" / "utm.gtm.yml")
    shutil.copy(repo / "gtmcheck" / "demo" / "broken" / "campaign_urls.csv", tmp_path / "checks")
    summary = tmp_path / "summary.md"
    bindir = Path(sys.executable).parent
    env = {"PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}", "GITHUB_STEP_SUMMARY": str(summary),
           "HOME": str(tmp_path)}
    result = subprocess.run(["bash", "-e", "-c", summary_step["run"]], cwd=tmp_path, env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    text = summary.read_text()
    assert "did not run" in text and "UTM1" in text and "checks/utm.gtm.yml:" in text
    (tmp_path / "report").mkdir()
    (tmp_path / "report" / "report.md").write_text("# Go-live: READY\n")
    summary.unlink()
    subprocess.run(["bash", "-e", "-c", summary_step["run"]], cwd=tmp_path, env=env, check=True, timeout=120)
    assert summary.read_text() == "# Go-live: READY\n"


@pytest.mark.parametrize("which", ["template go-live", "repo go-live"])
def test_a_failed_sarif_upload_does_not_fail_the_gate(which: str, scaffolded: Path, repo: Path) -> None:
    doc = workflow(which, scaffolded, repo)
    upload = step(doc, "upload-sarif")
    assert upload["continue-on-error"] is True and upload["if"] == "always()"
    assert step(doc, "Lint (SARIF for code scanning)")["if"] == "always()"
    assert "--require-go-live" in step(doc, "Run the checklists")["run"]


@pytest.mark.parametrize("which", ["template go-live", "template nightly"])
def test_the_written_workflows_install_gtmcheck_not_the_users_repository(which: str, scaffolded: Path,
                                                                         repo: Path) -> None:
    from gtmcheck import __version__

    installs = [s["run"] for s in steps(workflow(which, scaffolded, repo)) if "pip install" in s.get("run", "")]
    assert len(installs) == 1
    assert re.search(r"""pip install "gtmcheck @ git\+https://\S+@v""" + re.escape(__version__) + '"', installs[0])
    assert "pip install ." not in installs[0]
    assert "__GTMCHECK_VERSION__" not in (scaffolded / WORKFLOWS[which][1]).read_text()


# --- pre-commit and --help -------------------------------------------------------------------------------


def test_pre_commit_hook_lints_the_changed_checklists(repo: Path, tmp_path: Path) -> None:
    (hook,) = yaml.safe_load((repo / ".pre-commit-hooks.yaml").read_text())
    assert hook["id"] == "gtmcheck-lint" and hook["language"] == "python" and hook["pass_filenames"] is True
    files = re.compile(hook["files"])
    assert files.search("checks/utm.gtm.yml") and files.search("a/b.gtm.yaml") and not files.search("ci.yml")
    clean = sorted(str(p) for p in (repo / "checks").glob("*.gtm.yml"))
    entry = hook["entry"].split()
    assert entry[:2] == ["gtmcheck", "lint"]
    ok = gtmcheck(*entry[1:], *clean, cwd=tmp_path)  # as pre-commit calls it: the file names at the end
    assert ok.returncode == 0, ok.stdout + ok.stderr
    broken = str(repo / "gtmcheck" / "demo" / "broken" / "utm.gtm.yml")
    bad = gtmcheck(*entry[1:], *clean, broken, cwd=tmp_path)
    assert bad.returncode == 1 and "broken/utm.gtm.yml:" in bad.stdout


@pytest.mark.parametrize("command", [[], ["init"], ["lint"], ["run"]])
def test_help_points_at_documentation_an_installed_user_can_reach(command: list[str]) -> None:
    from gtmcheck.about import DOCS_URL

    result = subprocess.run([sys.executable, "-m", "gtmcheck.cli", *command, "--help"], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0
    assert "README.md" not in result.stdout
    if command in ([], ["init"]):
        assert DOCS_URL in result.stdout and DOCS_URL.startswith("https://")


def test_asking_for_an_environment_without_a_project_file_suggests_init(tmp_path: Path) -> None:
    result = gtmcheck("run", "--env", "sandbox", cwd=tmp_path)
    assert result.returncode == 4
    assert "gtmcheck init" in result.stderr and "README" not in result.stderr
