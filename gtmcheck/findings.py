"""Lint findings and the rule registry.

Every rule has a stable code (``UTM105``), a dotted name (``url.encoded-junk``), a default severity and a
fix hint; its docstring-like ``doc`` says what the anti-pattern is and what to do instead, so the rule
reference in ``docs/rules.md`` and ``gtmcheck rules`` is built from this registry, not written by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from .errors import Location


class Severity(IntEnum):
    """Ordered so that ``finding.severity >= fail_on`` decides the exit code."""

    INFO = 1
    WARNING = 2
    ERROR = 3

    def __str__(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Severity:
        return cls[text.upper()]


@dataclass(frozen=True)
class Rule:
    """A lint rule: what it is called, how bad it is by default, how to fix what it finds."""

    code: str
    name: str
    severity: Severity
    summary: str
    hint: str
    doc: str = ""

    def finding(
        self, location: Location, message: str, *, hint: str | None = None, severity: Severity | None = None
    ) -> Finding:
        return Finding(
            rule=self,
            severity=severity or self.severity,
            location=location,
            message=message,
            hint=self.hint if hint is None else hint,
        )


@dataclass(frozen=True)
class Finding:
    """One problem at one place."""

    rule: Rule
    severity: Severity
    location: Location
    message: str
    hint: str = ""

    @property
    def code(self) -> str:
        return self.rule.code

    def sort_key(self) -> tuple[str, int, int, str]:
        loc = self.location
        return (loc.file, loc.line, loc.column, self.rule.code)

    def as_dict(self) -> dict[str, object]:
        """The JSON shape other tools rely on (DESIGN.md), plus ``name`` and ``fix``."""
        return {
            "rule": self.rule.code,
            "severity": str(self.severity),
            "file": self.location.file,
            "line": self.location.line,
            "column": self.location.column,
            "message": self.message,
            "name": self.rule.name,
            "fix": self.hint,
        }


RULES: dict[str, Rule] = {}


def register(code: str, name: str, severity: Severity, summary: str, hint: str, doc: str = "") -> Rule:
    """Create a rule and add it to the registry; codes and names must be unique."""
    if code in RULES:
        raise ValueError(f"duplicate rule code {code}")
    if any(r.name == name for r in RULES.values()):
        raise ValueError(f"duplicate rule name {name}")
    rule = Rule(code, name, severity, summary, hint, doc)
    RULES[code] = rule
    return rule


def summarize(findings: list[Finding], limit: int = 5) -> str:
    """The first ``limit`` findings as ``file:line:col CODE message``, then how many more there are."""
    shown = "; ".join(f"{f.location} {f.code} {f.message}" for f in findings[:limit])
    return shown + (f"; and {len(findings) - limit} more" if len(findings) > limit else "")

