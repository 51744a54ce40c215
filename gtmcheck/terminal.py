"""What the terminal says of a gtmcheck run: each check by its gtmcheck status, and one closing count.

pytest knows two outcomes, passed and failed, and they decide the exit code; gtmcheck has five statuses. So
an attested check is shown as ATTESTED (pytest counts it as passed), a check that could not be verified as
ERROR and an unconfigured one as NOT CONFIGURED (pytest counts both as failed), and the closing gtmcheck line
counts exactly as report.json's summary does and says how that maps to pytest's own count.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest

from .visible import visible

# The statuses that pytest shows under another name: (letter, word, colour) in the terminal.
TERMINAL_STATUS: dict[str, tuple[str, str, dict[str, bool]]] = {
    "attested": ("A", "ATTESTED", {"green": True}),
    "error": ("E", "ERROR", {"red": True}),
    "not_configured": ("N", "NOT CONFIGURED", {"yellow": True}),
}
# ... and what they are called in the closing line, and what pytest counts them as.
PYTEST_OUTCOME = {
    "attested": ("attested", "passed"),
    "error": ("error (could not be verified)", "failed"),
    "not_configured": ("not configured", "failed"),
}


@pytest.hookimpl(tryfirst=True)
def pytest_report_teststatus(report: pytest.TestReport) -> tuple[str, str, tuple[str, dict[str, bool]]] | None:
    """ATTESTED, ERROR, NOT CONFIGURED instead of PASSED/FAILED; pytest's category (its count) stays."""
    details: dict[str, Any] | None = getattr(report, "gtm", None)
    if details is None or report.when != "call" or details["status"] not in TERMINAL_STATUS:
        return None
    letter, word, markup = TERMINAL_STATUS[details["status"]]
    return report.outcome, letter, (word, markup)


def closing_line(statuses: Iterable[str], load_errors: int, not_selected: int, environment: str | None,
                 read_only: int = 0) -> str:
    """``gtmcheck (environment sandbox): 3 passed, ...``: report.json's counts, and how they map to pytest's.

    ``read_only``: of the not configured, the checks a read-only run left out because they write (pytest: skipped).
    """
    from .report.model import STATUSES, count_statuses  # late: a plain pytest run never loads the report

    statuses = list(statuses)
    counts = count_statuses(statuses, load_errors, not_selected)
    shown = [f"{counts[s]} {s.replace('_', ' ')}" for s in STATUSES]
    if not_selected:
        shown.append(f"{not_selected} not selected (-k/-m)")
    env = f" (environment {visible(environment)})" if environment else ""
    ran = set(statuses)  # a checklist that cannot be loaded is an error to both (a collection error)
    mapping = [f"{label} as {outcome}" for status, (label, outcome) in PYTEST_OUTCOME.items() if status in ran
               and not (status == "not_configured" and statuses.count(status) == read_only)]
    if read_only:
        mapping.append(f"{read_only} not run (read-only: they write) as skipped")
    if not_selected:
        mapping.append("not selected as deselected")
    note = f"; pytest's own count shows {', '.join(mapping)}" if mapping else ""
    return f"gtmcheck{env}: {', '.join(shown)}{note}"
