"""Which lint findings count: the ``lint:`` section of ``gtmcheck.yml`` and ``# gtmcheck: ignore`` comments.

As in ruff and sqlfluff, a project turns a rule off or changes its severity in one place::

    lint:
      rules: {ROUTE103: off, UTM204: warning, ROUTE110: error}

and one finding is silenced where it is, with a YAML comment on the line the finding points at::

    - id: emea   # gtmcheck: ignore[ROUTE103]       (several: ignore[ROUTE103, ROUTE105]; every rule: ignore)

GTM001 (unusable input) can be neither changed nor silenced: a file gtmcheck cannot read is never clean.
A comment naming a code that is no rule is itself a finding (``GTM002``), so a typo does not silence nothing
quietly.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from .errors import Location
from .findings import RULES, Finding, Severity, register
from .yamlfile import Document

UNUSABLE_INPUT = "GTM001"  # registered by the CLI; never changed, never suppressed
SEVERITIES = ("error", "warning", "info", "off")
# a YAML comment: ``#`` at the start of the line or after a blank, then ``gtmcheck: ignore`` and maybe [CODES]
IGNORE_COMMENT = re.compile(r"(?:^|\s)#\s*gtmcheck:\s*ignore(?![\w-])(?:\[([^\]]*)\])?")

UNKNOWN_SUPPRESSION = register(
    "GTM002",
    "suppression.unknown-rule",
    Severity.WARNING,
    "A `# gtmcheck: ignore[...]` comment names a code that is no lint rule, or GTM001.",
    "fix the code (`gtmcheck rules` lists them), or remove it from the comment",
    "Anti-pattern: `# gtmcheck: ignore[ROUTE13]` for ROUTE103: the finding still shows and the comment looks "
    "as if it did something. Best practice: name the exact codes a comment silences, as ruff's `# noqa: E501`.",
)

# the part of docs/rules.md (``gtmcheck rules --format markdown``) that says how findings are tuned
MARKDOWN = """\
## Severity, turning rules off, silencing one finding

As in ruff and sqlfluff. In `gtmcheck.yml`, the `lint:` section changes a rule's severity (`error`, `warning`,
`info`) or turns it off (`off`); `gtmcheck lint` applies it whenever it finds a `gtmcheck.yml` in the working
directory or above (with or without paths), and works as before without one:

```yaml
lint:
  rules: {ROUTE103: off, UTM204: warning, ROUTE110: error}
```

The section is closed: an unknown key, an unknown rule code (`ROUTE13: off`, "did you mean `ROUTE103`?") or
an unknown severity is an error at its line, exit code 2 (`gtmcheck schema --project` lists every code).

One finding is silenced by a YAML comment on the line it points at (the line of `gtmcheck lint`'s output):

```yaml
  - id: emea   # gtmcheck: ignore[ROUTE103]
  - id: apac   # gtmcheck: ignore[ROUTE103, ROUTE105]
  - id: dach   # gtmcheck: ignore              (every rule on this line)
```

Silenced findings are not shown and do not count for the exit code; in the text format `gtmcheck lint` says
on stderr how many it silenced. A comment naming a code that is no rule is itself a finding (GTM002), so a
typo never silences nothing quietly. The run's checks built on the lint (`ROUTING-RULES-EXPLICIT`,
`UTM-TAXONOMY-DOCUMENTED`) count findings the same way: the project's `lint:` severities and the file's
comments. GTM001 (unusable input: malformed YAML, unknown keys, a folder without checklists) can be neither
changed nor silenced. Comments work in checklist files; a finding in a URL CSV file is tuned with `lint:`.
"""


@dataclass(frozen=True)
class LintConfig:
    """Severity per rule code as the project sets it; ``None`` is off."""

    severities: Mapping[str, Severity | None] = field(default_factory=dict)

    @classmethod
    def from_section(cls, section: Mapping[str, object] | None) -> LintConfig:
        """From the (validated) ``lint:`` mapping of gtmcheck.yml."""
        rules = (section or {}).get("rules") or {}
        assert isinstance(rules, Mapping)
        return cls({str(code): None if level == "off" else Severity.parse(str(level))
                    for code, level in rules.items() if code != UNUSABLE_INPUT})

    def apply(self, findings: Iterable[Finding]) -> list[Finding]:
        """The findings with the project's severities; those of rules turned off are dropped."""
        out = []
        for finding in findings:
            if finding.code not in self.severities:
                out.append(finding)
                continue
            severity = self.severities[finding.code]
            if severity is not None:
                out.append(dataclasses.replace(finding, severity=severity))
        return out


@dataclass
class Suppressions:
    """The ``# gtmcheck: ignore`` comments of one file: per line, the codes silenced (``None``: all)."""

    file: str
    lines: dict[int, frozenset[str] | None] = field(default_factory=dict)
    problems: list[Finding] = field(default_factory=list)  # GTM002: codes that are no rule

    def covers(self, finding: Finding) -> bool:
        loc = finding.location
        if loc.file != self.file or loc.line not in self.lines or finding.code == UNUSABLE_INPUT:
            return False
        codes = self.lines[loc.line]
        return codes is None or finding.code in codes


def read_suppressions(doc: Document) -> Suppressions:
    """Scan the file's lines for ignore comments (comments are not in the parsed data)."""
    found = Suppressions(doc.display)
    known = set(RULES)  # complete once the ruleset is loaded (gtmcheck.ruleset.load_rules)
    for number, text in enumerate(doc.text.splitlines(), start=1):
        match = IGNORE_COMMENT.search(text)
        if match is None:
            continue
        if match.group(1) is None:
            found.lines[number] = None
            continue
        codes: set[str] = set()
        offset = match.start(1)
        for part in match.group(1).split(","):
            code = part.strip()
            column = offset + len(part) - len(part.lstrip()) + 1
            offset += len(part) + 1
            if not code:
                continue
            if code.upper() in known and code.upper() != UNUSABLE_INPUT:
                codes.add(code.upper())
                continue
            where = Location(doc.display, number, column)
            if code.upper() == UNUSABLE_INPUT:
                message = "GTM001 (unusable input) cannot be suppressed"
            else:
                close = difflib.get_close_matches(code.upper(), sorted(known), n=1)
                message = f"{code!r} is no lint rule" + (f"; did you mean {close[0]}?" if close else "")
            found.problems.append(UNKNOWN_SUPPRESSION.finding(where, message))
        found.lines[number] = frozenset(codes)
    return found


def suppress(findings: Iterable[Finding], suppressions: Suppressions) -> tuple[list[Finding], list[Finding]]:
    """(findings that stand, findings silenced by a comment on their line)."""
    kept: list[Finding] = []
    silenced: list[Finding] = []
    for finding in findings:
        (silenced if suppressions.covers(finding) else kept).append(finding)
    return kept, silenced


def settle(findings: Iterable[Finding], doc: Document, config: LintConfig | None = None
           ) -> tuple[list[Finding], list[Finding]]:
    """One checklist's findings as they count: the project's severities, then the file's ignore comments.

    Returns (the findings that stand, with GTM002 for unknown codes in comments; the findings silenced).
    """
    suppressions = read_suppressions(doc)
    found = [*findings, *suppressions.problems]
    if config is not None:
        found = config.apply(found)
    return suppress(found, suppressions)
