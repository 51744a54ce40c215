"""Rule tests from case files: ``tests/cases/<kind>/<CODE>.yaml`` each hold passing and failing snippets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml


def rule_cases(folder: Path) -> list[Any]:
    """One ``pytest.param(code, case)`` per case in every case file of ``folder``, id ``CODE-name``."""
    params = []
    for path in sorted(folder.glob("*.yaml")):
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
        if not isinstance(spec, dict) or "cases" not in spec:
            continue  # a README or notes file beside the cases
        for case in spec["cases"]:
            params.append(pytest.param(spec["code"], case, id=f"{spec['code']}-{case['name']}"))
    return params


def expected_positions(entries: list[Any], path: Path, offset: int) -> list[tuple[int, int | None]]:
    """(line, column or None) per expected entry of a case; ``at`` pins the column to where its text starts.

    An entry is a line number (any column) or ``{line, at}``; ``offset`` is the lines the test put before the
    case's body (its header).
    """
    lines = path.read_text(encoding="utf-8").splitlines()
    out: list[tuple[int, int | None]] = []
    for entry in entries:
        if isinstance(entry, int):
            out.append((entry + offset, None))
            continue
        line = entry["line"] + offset
        index = lines[line - 1].find(entry["at"])
        assert index >= 0, f"{entry['at']!r} not on line {line} of {path.name}"
        out.append((line, index + 1))
    return sorted(out, key=lambda t: (t[0], t[1] or 0))


def case_kinds(folder: Path) -> dict[str, set[bool]]:
    """Per rule code, whether its cases include passing (False) and failing (True) ones."""
    seen: dict[str, set[bool]] = {}
    for param in rule_cases(folder):
        code, case = param.values
        seen.setdefault(code, set()).add(bool(case.get("expect") or case.get("expect_csv")))
    return seen
