"""Lint findings as text for people, JSON for scripts, SARIF for code scanning, workflow commands for CI.

``gtmcheck lint --format`` picks one of :data:`FORMATS`. Every format lists the findings in the same order
(file, line, column, rule) so that output is stable between runs and diffs stay small.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import PurePath, PureWindowsPath
from typing import Any
from urllib.parse import quote

from .findings import RULES, Finding, Rule, Severity
from .visible import json_text, visible

FORMATS: tuple[str, ...] = ("text", "json", "sarif", "github")

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_VERSION = "2.1.0"
TOOL_NAME = "gtmcheck"
INFORMATION_URI = "https://pypi.org/project/gtmcheck/"

_SARIF_LEVEL: dict[Severity, str] = {
    Severity.ERROR: "error",
    Severity.WARNING: "warning",
    Severity.INFO: "note",
}
_GITHUB_COMMAND: dict[Severity, str] = {
    Severity.ERROR: "error",
    Severity.WARNING: "warning",
    Severity.INFO: "notice",
}
_SEVERITY_NOUN: dict[Severity, tuple[str, str]] = {
    Severity.ERROR: ("error", "errors"),
    Severity.WARNING: ("warning", "warnings"),
    Severity.INFO: ("info", "info"),
}


def format_findings(findings: Iterable[Finding], fmt: str, *, tool_version: str) -> str:
    """Render findings in one of :data:`FORMATS`; the result ends with a newline unless it is empty."""
    try:
        formatter = _FORMATTERS[fmt]
    except KeyError:
        raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}") from None
    ordered = sorted(findings, key=Finding.sort_key)
    return formatter(ordered, tool_version)


# --- text -----------------------------------------------------------------------------------------------


def _plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def format_text(findings: list[Finding], tool_version: str = "") -> str:
    """One ``file:line:column: CODE [severity] message (fix: hint)`` line per finding, then a summary."""
    lines = []
    for f in findings:
        fix = f" (fix: {_one_line(f.hint)})" if f.hint else ""
        lines.append(f"{visible(str(f.location))}: {f.code} [{f.severity}] {_one_line(f.message)}{fix}")
    lines.append(summary_line(findings))
    return "\n".join(lines) + "\n"


def summary_line(findings: list[Finding]) -> str:
    """``3 findings (1 error, 2 warnings) in 2 files``, or ``No findings.``: the last line a person reads."""
    if not findings:
        return "No findings."
    counts = Counter(f.severity for f in findings)
    parts = [
        _plural(counts[sev], *_SEVERITY_NOUN[sev])
        for sev in sorted(counts, reverse=True)  # errors first
    ]
    files = len({f.location.file for f in findings})
    total = _plural(len(findings), "finding", "findings")
    return f"{total} ({', '.join(parts)}) in {_plural(files, 'file', 'files')}"


def _one_line(text: str) -> str:
    """Keep one finding on one line, controls and bidi shown, so that ``grep`` and editors see it whole."""
    return visible(" ".join(text.split()))


# --- json -----------------------------------------------------------------------------------------------


def format_json(findings: list[Finding], tool_version: str = "") -> str:
    """The JSON list other tools rely on (DESIGN.md): one :meth:`Finding.as_dict` per finding."""
    return json_text([f.as_dict() for f in findings]) + "\n"


# --- sarif ----------------------------------------------------------------------------------------------


def sarif_log(findings: list[Finding], tool_version: str) -> dict[str, Any]:
    """Build a SARIF 2.1.0 log that GitHub code scanning accepts (one run, rules only for used codes)."""
    rules = _used_rules(findings)
    index = {rule.code: i for i, rule in enumerate(rules)}
    return {
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": TOOL_NAME,
                        "version": tool_version,
                        "informationUri": INFORMATION_URI,
                        "rules": [_sarif_rule(rule) for rule in rules],
                    }
                },
                "columnKind": "unicodeCodePoints",
                "results": [_sarif_result(f, index[f.code]) for f in findings],
            }
        ],
    }


def format_sarif(findings: list[Finding], tool_version: str) -> str:
    """Serialise :func:`sarif_log`."""
    return json_text(sarif_log(findings, tool_version)) + "\n"


def _used_rules(findings: list[Finding]) -> list[Rule]:
    """The registry's rule for each code in use, sorted by code; a finding's own rule if unregistered."""
    used: dict[str, Rule] = {}
    for f in findings:
        used.setdefault(f.code, RULES.get(f.code, f.rule))
    return [used[code] for code in sorted(used)]


def _sarif_rule(rule: Rule) -> dict[str, Any]:
    descriptor: dict[str, Any] = {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary or rule.name},
        "fullDescription": {"text": rule.doc or rule.summary or rule.name},
        "defaultConfiguration": {"level": _SARIF_LEVEL[rule.severity]},
    }
    if rule.hint:
        descriptor["help"] = {"text": rule.hint}
    return descriptor


def _sarif_result(finding: Finding, rule_index: int) -> dict[str, Any]:
    text = finding.message
    rule = RULES.get(finding.code, finding.rule)
    if finding.hint and finding.hint != rule.hint:
        # The rule's help already carries its default hint; only a finding-specific fix goes in the message.
        text = f"{text} (fix: {finding.hint})"
    loc = finding.location
    artifact: dict[str, str] = _artifact_location(loc.file)
    return {
        "ruleId": finding.code,
        "ruleIndex": rule_index,
        "level": _SARIF_LEVEL[finding.severity],
        "message": {"text": text},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": artifact,
                    "region": {"startLine": max(loc.line, 1), "startColumn": max(loc.column, 1)},
                }
            }
        ],
        "partialFingerprints": {"gtmcheckFinding/v1": _fingerprint(finding)},
    }


def _artifact_location(file: str) -> dict[str, str]:
    """A relative, forward-slash, percent-encoded URI under ``%SRCROOT%``; absolute paths become file URIs."""
    posix = file.replace("\\", "/")
    path: PurePath = PureWindowsPath(file) if PureWindowsPath(file).drive else PurePath(posix)
    if path.is_absolute():
        return {"uri": path.as_uri()}
    while posix.startswith("./"):
        posix = posix[2:]
    return {"uri": quote(posix, safe="/"), "uriBaseId": "%SRCROOT%"}


def _fingerprint(finding: Finding) -> str:
    """Stable across line moves, so code scanning keeps tracking an alert when lines above it change."""
    key = "\0".join((finding.code, finding.location.file.replace("\\", "/"), finding.message))
    return hashlib.sha256(key.encode()).hexdigest()[:32]


# --- github ---------------------------------------------------------------------------------------------


def format_github(findings: list[Finding], tool_version: str = "") -> str:
    """GitHub Actions workflow commands, which turn into annotations on the PR's changed lines."""
    lines = []
    for f in findings:
        props = {
            "file": f.location.file.replace("\\", "/"),
            "line": str(f.location.line),
            "col": str(f.location.column),
            "title": f"{f.code} {f.rule.name}",
        }
        prop_text = ",".join(f"{k}={escape_property(v)}" for k, v in props.items())
        text = f"{f.message} (fix: {f.hint})" if f.hint else f.message
        lines.append(f"::{_GITHUB_COMMAND[f.severity]} {prop_text}::{escape_data(text)}")
    return "".join(line + "\n" for line in lines)


def escape_data(text: str) -> str:
    """Escape a workflow command's message as the Actions runner expects (``%``, CR, LF).

    Other control, bidi and zero-width characters are made visible: the log would pass an ESC on.
    """
    return visible(text, keep="\r\n").replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Escape a workflow command property: as :func:`escape_data`, plus ``:`` and ``,``."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


_FORMATTERS: dict[str, Callable[[list[Finding], str], str]] = {
    "text": format_text,
    "json": format_json,
    "sarif": format_sarif,
    "github": format_github,
}
