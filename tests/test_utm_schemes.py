"""A campaign URL that is not an absolute http(s) URL is never fetched: an error item and a UTM101 finding.

``javascript:``, ``data:``, ``file:`` and scheme-less URLs, inline and in a ``url_files:`` CSV, through
``gtmcheck run`` and ``gtmcheck lint`` as a user runs them. No network is needed: nothing is dialled.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

Q = "utm_source=google&utm_medium=cpc&utm_campaign=fy26q1_emea_launch"
CHECKLIST = f"""\
kind: utm
name: Odd schemes
owner: mops@acme.example
built_by: jane@acme.example
taxonomy:
  required: [utm_source, utm_medium, utm_campaign]
  parameters:
    utm_source: {{allowed: [google]}}
    utm_medium: {{allowed: [cpc]}}
    utm_campaign: {{pattern: "^fy[0-9]{{2}}q[1-4]_[a-z_]+$"}}
urls:
  - {{id: js, url: "javascript:alert(document.cookie)//?{Q}"}}
  - {{id: data, url: "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==?{Q}"}}
url_files:
  - {{path: urls.csv, id_column: id}}
"""
CSV = f"""\
id,url
file,file:///etc/passwd?{Q}
bare,www.acme.example/spring?{Q}
"""
EXPECTED = {  # item -> what its message says was received
    "UTM-URLS-RESOLVE[js]": "'javascript:alert(document.cookie)//?utm_source=google",
    "UTM-URLS-RESOLVE[data]": "uses scheme 'data'",
    "UTM-URLS-RESOLVE[file]": "'file:///etc/passwd?utm_source=google&utm_medium=cpc&utm_campaign=fy26q1_emea_launch' "
                              "uses scheme 'file'",
    "UTM-URLS-RESOLVE[bare]": "'www.acme.example/spring?utm_source=google&utm_medium=cpc&utm_campaign=fy26q1_emea_"
                              "launch' has no scheme",
}


def project(root: Path) -> Path:
    (root / "checks").mkdir()
    (root / "checks" / "odd.gtm.yml").write_text(CHECKLIST)
    (root / "checks" / "urls.csv").write_text(CSV)
    (root / "gtmcheck.yml").write_text("version: 1\nenvironments:\n  live: {web: {type: live}}\n"
                                       "default_environment: live\n")
    return root


def gtmcheck(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gtmcheck.cli", *args], cwd=root, capture_output=True, text=True,
                          timeout=120, env={**os.environ, "HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY":
                                            "http://127.0.0.1:9"})  # anything dialled would fail loudly


def test_non_http_campaign_urls_are_error_items_saying_what_was_listed(tmp_path: Path) -> None:
    root = project(tmp_path)
    result = gtmcheck(root, "run", "--report-dir", "out")
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "a bug in gtmcheck" not in output and "Traceback" not in output
    report = json.loads((root / "out" / "report.json").read_text())
    items = {i["id"]: i for c in report["checklists"] for i in c["items"]}
    resolve = {name: item for name, item in items.items() if name.startswith("UTM-URLS-RESOLVE[")}
    assert set(resolve) == set(EXPECTED), list(items)
    for name, said in EXPECTED.items():
        assert resolve[name]["status"] == "error", resolve[name]
        assert said in resolve[name]["message"], resolve[name]["message"]
        assert "is not fetched" in resolve[name]["message"] and "UTM101" in resolve[name]["message"]
    assert items["UTM-TAXONOMY-DOCUMENTED"]["status"] == "failed"
    assert "UTM101" in items["UTM-TAXONOMY-DOCUMENTED"]["message"]
    assert output.count("could not be verified: the campaign URL") == 4


def test_lint_flags_each_of_them_at_its_line(tmp_path: Path) -> None:
    root = project(tmp_path)
    result = gtmcheck(root, "lint", "checks", "--format", "json")
    assert result.returncode == 1, result.stdout + result.stderr
    found = {(f["file"], f["line"]) for f in json.loads(result.stdout) if f["rule"] == "UTM101"}
    assert found == {("checks/odd.gtm.yml", 12), ("checks/odd.gtm.yml", 13), ("checks/urls.csv", 2),
                     ("checks/urls.csv", 3)}
