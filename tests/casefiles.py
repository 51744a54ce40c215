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
