"""Package hygiene: the public API is exactly what ``__all__`` says, and the code is ruff and mypy clean."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import gtmcheck


def test_all_matches_the_public_names() -> None:
    public = {name for name in vars(gtmcheck) if not name.startswith("_")} - {
        # submodules become attributes of the package when imported; they are not API
        name for name, value in vars(gtmcheck).items() if type(value).__name__ == "module"
    }
    assert public | {"__version__"} == set(gtmcheck.__all__)


def test_the_core_never_imports_the_cli() -> None:
    code = "import sys, gtmcheck, gtmcheck.plugin; sys.exit('gtmcheck.cli' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


@pytest.mark.parametrize("tool", ["ruff", "mypy"])
def test_code_quality(tool: str, repo: Path) -> None:
    if shutil.which(tool) is None and tool == "ruff":
        pytest.fail("ruff is part of the [test] extra; install it with pip install -e '.[test]'")
    args = {
        "ruff": [sys.executable, "-m", "ruff", "check", "gtmcheck", "tests", "benchmarks"],
        "mypy": [sys.executable, "-m", "mypy"],
    }[tool]
    result = subprocess.run(args, cwd=repo, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
