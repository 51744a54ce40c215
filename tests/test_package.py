"""Package hygiene: the public API is exactly what ``__all__`` says, and the code is ruff and mypy clean."""

from __future__ import annotations

import ast
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


def _imports(package: Path) -> dict[str, set[str]]:
    """Module -> the package modules it imports at run time, lazy imports included, typing-only ones left out."""
    modules: dict[str, Path] = {}
    for path in package.rglob("*.py"):
        parts = list(path.relative_to(package.parent).with_suffix("").parts)
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path

    def owner(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        base = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
                node.body = []
        for node in ast.walk(tree):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                start = ".".join(base[: len(base) - node.level + 1]) if node.level else ""
                module = ".".join(p for p in (start, node.module or "") if p)
                targets = [f"{module}.{alias.name}" for alias in node.names]
            graph[name] |= {found for target in targets if (found := owner(target)) and found != name}
    return graph


def test_no_import_cycle_in_the_package() -> None:
    """Layers point one way: a lazy import that hides a cycle counts as one (kinds -> spec -> kinds, ...)."""
    graph = _imports(Path(gtmcheck.__file__).parent)
    cycles: list[str] = []
    state: dict[str, str] = {}

    def visit(name: str, trail: list[str]) -> None:
        state[name] = "open"
        for nxt in sorted(graph[name]):
            if state.get(nxt) == "open":
                cycles.append(" -> ".join([*trail[trail.index(nxt):], nxt]))
            elif nxt not in state:
                visit(nxt, [*trail, nxt])
        state[name] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert cycles == []
