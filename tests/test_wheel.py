"""The first hour, for real: build a wheel, install it in a fresh virtualenv, and use it in an empty folder.

This is the slowest test here (about 30 s): it builds the wheel with pip (build isolation fetches setuptools),
creates a fresh virtualenv and installs the wheel there WITH its dependencies, from whatever package index
pip is configured with (a local mirror or cache keeps it offline; see pip's `find-links`/`index-url`).
Nothing of this checkout is importable in that virtualenv, so a file the package reads at run time but does
not ship (the demo scenario, its CSVs, the GA4 source categories, the init templates) fails it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

SOURCES = ("pyproject.toml", "README.md", "gtmcheck")
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.duckdb", "*.duckdb.wal", ".*.tmp")


def sh(*args: str | Path, cwd: Path, env: dict[str, str] | None = None,
       timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture(scope="module")
def wheel(repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel of this working tree, built from a copy (so the checkout gets no build/ folder)."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "src"
    source.mkdir()
    for name in SOURCES:
        if (repo / name).is_dir():
            shutil.copytree(repo / name, source / name, ignore=IGNORED)
        else:
            shutil.copy2(repo / name, source / name)
    built = sh(sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", work / "dist", source, cwd=work)
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    (found,) = (work / "dist").glob("gtmcheck-*.whl")
    return found


def test_the_wheel_carries_what_gtmcheck_reads_at_run_time(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in ("gtmcheck/demo/healthy.yml", "gtmcheck/demo/drifted.yml", "gtmcheck/demo/campaign_urls.csv",
                   "gtmcheck/demo/data/deals.csv", "gtmcheck/demo/data/drifted/events.csv",
                   "gtmcheck/data/ga4_source_categories.csv",
                   "gtmcheck/report/report.schema.json", "gtmcheck/templates/gtmcheck.yml",
                   "gtmcheck/templates/checks/routing.gtm.yml", "gtmcheck/templates/workflows/gtm-golive.yml",
                   "gtmcheck/demo/schemas/account.updated/2.1.json", "gtmcheck/demo/schemas/hubspot-event.json",
                   "gtmcheck/py.typed"):
        assert needed in names, needed
    assert not [n for n in names if n.endswith((".duckdb", ".wal", ".pyc"))]


def test_init_lint_run_in_an_empty_folder_from_a_fresh_virtualenv(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    made = sh(getattr(sys, "_base_executable", sys.executable), "-m", "venv", venv, cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    bindir = venv / ("Scripts" if os.name == "nt" else "bin")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("GTMCHECK_", "PYTHON", "VIRTUAL_ENV", "PYTEST_", "HUBSPOT", "WAREHOUSE"))}
    env.update(PATH=f"{bindir}{os.pathsep}{env.get('PATH', '')}", HOME=str(tmp_path / "home"))
    env.pop("XDG_CACHE_HOME", None)
    installed = sh(bindir / "python", "-m", "pip", "install", "-q", wheel, cwd=tmp_path, env=env)
    assert installed.returncode == 0, installed.stdout[-3000:] + installed.stderr[-3000:]

    folder = tmp_path / "acme-gtm"  # no gtmcheck.yml here or above, nothing of this checkout
    folder.mkdir()
    where = sh(bindir / "python", "-c", "import gtmcheck; print(gtmcheck.__file__)", cwd=folder, env=env)
    assert Path(where.stdout.strip()).is_relative_to(venv), where.stdout + where.stderr

    init = sh(bindir / "gtmcheck", "init", cwd=folder, env=env)
    assert init.returncode == 0, init.stderr
    lint = sh(bindir / "gtmcheck", "lint", cwd=folder, env=env)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    run = sh(bindir / "gtmcheck", "run", cwd=folder, env=env)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "warning" not in run.stdout.lower()  # e.g. pytest's assertion-rewrite warning on an installed plugin
    summary = json.loads((folder / "gtmcheck-report" / "report.json").read_text())["summary"]
    assert summary["go_live"] is True and summary["failed"] == summary["error"] == 0 and summary["passed"] > 0
    assert (folder / "gtmcheck-report" / "report.html").is_file()
    again = sh(bindir / "gtmcheck", "init", cwd=folder, env=env)
    assert again.returncode == 2 and "not overwriting" in again.stderr
