"""The published JSON Schema of ``report.json``, and reading a report.json back safely.

``gtmcheck report`` renders a report.json again, possibly one from another machine or a CI artifact; a file
that is not the report gtmcheck writes (a folder, a FIFO, not UTF-8, valid JSON of another shape) is refused
with one line naming the file and, for a wrong shape, the JSON pointer of the offending value.
The schema ships as package data (``report.schema.json``) and prints with ``gtmcheck schema --report``.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
from jsonschema.exceptions import best_match

from ..errors import UnreadableFile
from ..safefile import read_text_capped

MAX_REPORT_BYTES = 256 * 1024 * 1024
FIX = "give the report.json written by `gtmcheck run` (its shape: `gtmcheck schema --report`)"


@cache
def report_schema() -> dict[str, Any]:
    """The JSON Schema of report.json (draft 2020-12)."""
    text = resources.files("gtmcheck").joinpath("report/report.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def pointer(path: Any) -> str:
    """The RFC 6901 JSON pointer of a path (``/checklists/0/items/2/status``)."""
    parts = [str(p).replace("~", "~0").replace("/", "~1") for p in path]
    return "/" + "/".join(parts) if parts else "/ (the whole document)"


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


def schema_problem(report: Any) -> str | None:
    """Why ``report`` does not fit the schema (at which JSON pointer), or ``None`` when it does."""
    validator = jsonschema.Draft202012Validator(report_schema())
    error = best_match(validator.iter_errors(report))
    if error is None:
        return None
    message = error.message if len(error.message) <= 160 else error.message[:157] + "..."
    return f"at {pointer(error.absolute_path)}: {message}"


def load_report(path: Path) -> dict[str, Any]:
    """A report.json read, parsed and validated; ``UnreadableFile`` says why not (one line, no path)."""
    try:
        text = read_text_capped(path, MAX_REPORT_BYTES, expect="a report.json file")
    except UnreadableFile as exc:
        if "byte limit" in exc.problem:
            exc.hint = FIX
        raise
    try:
        report = json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise UnreadableFile(f"is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})", FIX) from None
    except RecursionError:
        raise UnreadableFile("is not a report: the JSON nests too deeply", FIX) from None
    except ValueError as exc:  # NaN/Infinity, an integer too long to read
        raise UnreadableFile(f"is not valid JSON ({str(exc).splitlines()[0]})", FIX) from None
    try:
        problem = schema_problem(report)
    except RecursionError:
        problem = "the JSON nests too deeply"
    if problem is not None:
        raise UnreadableFile(f"is not a gtmcheck report.json: {problem}", FIX)
    assert isinstance(report, dict)
    return report
