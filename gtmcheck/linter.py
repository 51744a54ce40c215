"""``gtmcheck lint``: load every checklist under the given paths and collect findings, offline."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from . import governance
from .errors import Location, SpecError
from .findings import Finding, Severity
from .kinds import get_kind
from .lintconfig import LintConfig, settle
from .ruleset import load_rules
from .spec import Checklist, is_checklist, load_checklist

CHECKLIST_PATTERNS = "*.gtm.yml / *.gtm.yaml"


@dataclass
class LintResult:
    """Findings for the files that loaded, errors for the files that did not."""

    findings: list[Finding] = field(default_factory=list)
    errors: list[SpecError] = field(default_factory=list)
    files: int = 0
    suppressed: list[Finding] = field(default_factory=list)  # silenced by `# gtmcheck: ignore`; never counted
    notes: list[str] = field(default_factory=list)  # text-format lines after the findings (a routing lead budget)

    def exit_code(self, fail_on: Severity = Severity.ERROR) -> int:
        if self.errors or self.files == 0:  # nothing to lint is unusable input, never a clean bill
            return 2
        return 1 if any(f.severity >= fail_on for f in self.findings) else 0


def discover(paths: Iterable[Path]) -> tuple[list[Path], list[SpecError]]:
    """Checklist files under ``paths``: folders are searched, files are taken as named."""
    files: list[Path] = []
    errors: list[SpecError] = []
    for path in paths:
        if path.is_dir():
            # not only regular files: a FIFO or a broken link named *.gtm.yml is reported by the loader,
            # never silently skipped (nor read: the loader refuses what is not a regular file)
            found = sorted(p for p in path.rglob("*") if is_checklist(p) and not p.is_dir())
            if not found:
                errors.append(SpecError(f"no checklist in this folder (looked for {CHECKLIST_PATTERNS})",
                                        Location(str(path)), "name the folder that holds your *.gtm.yml files"))
            files.extend(found)
        elif os.path.lexists(path):
            files.append(path)
        else:
            errors.append(SpecError("no such file or folder", Location(str(path)), "check the path"))
    return files, errors


def lint_checklist(checklist: Checklist, max_age: Mapping[str, str] | None = None) -> list[Finding]:
    """Governance and kind findings for one loaded checklist; ``max_age``: gtmcheck.yml's ``governance.max_age``."""
    kind = get_kind(checklist.kind)
    automated = {check.dod_id for check in kind.checks(checklist) if not check.reads_attestation}
    findings = list(governance.lint(checklist, automated, max_age=max_age))
    findings.extend(kind.lint(checklist))
    return findings


def lint_paths(
    paths: Iterable[Path],
    extra: Callable[[Checklist], Iterable[Finding]] | None = None,
    config: LintConfig | None = None,
    notes: bool = False,
    max_age: Mapping[str, str] | None = None,
) -> LintResult:
    """Lint every checklist under ``paths``; ``extra`` adds findings per loaded checklist (the CRM's owners).

    ``config`` (gtmcheck.yml's ``lint:``) sets rules' severities or turns them off; ``# gtmcheck: ignore``
    comments silence findings on their line. Unusable input (GTM001) is neither. ``notes``: also plan each
    routing checklist's leads for its lead budget (``LintResult.notes``).
    """
    load_rules()  # every rule known, so an ignore comment naming one of any kind is not taken for a typo
    files, errors = discover(paths)
    result = LintResult(errors=errors, files=len(files))
    for path in files:
        try:
            checklist = load_checklist(path)
        except SpecError as exc:
            result.errors.extend(exc.errors)  # every schema error of the file, one GTM001 finding each
            continue
        findings = lint_checklist(checklist, max_age)
        if extra is not None:
            findings.extend(extra(checklist))
        kept, silenced = settle(findings, checklist.doc, config)
        if notes and checklist.kind == "routing":  # the lead budget: only the text format prints it
            from .kinds.routing.budget import budget_lines

            try:
                result.notes.extend(budget_lines(checklist))
            except SpecError:
                pass  # a checklist that does not compile has its findings; it has no budget to show
        result.findings.extend(kept)
        result.suppressed.extend(silenced)
    result.findings.sort(key=Finding.sort_key)
    return result
