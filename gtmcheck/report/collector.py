"""The report writer as a pytest plugin: records every checklist item's outcome, writes at session end.

It reads what the gtmcheck plugin puts on each call report (``report.gtm``) and the run's state through the
small ``RunState`` protocol, and never imports the plugin: the report reads results, not pytest items.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import pytest

from .. import secrets
from ..errors import GtmcheckError, relpath
from ..visible import visible
from .model import ItemResult, RunMeta, build_report
from .write import redact_tree, write_reports

if TYPE_CHECKING:
    from ..errors import SpecError
    from ..history.trends import Trends
    from ..project import Project
    from ..spec import Checklist
    from ..synthetic import RunCleanup


class RunState(Protocol):
    """What the report needs of a run (the plugin's ``GtmSession`` provides it)."""

    @property
    def checklists(self) -> Mapping[str, Checklist]: ...

    @property
    def load_errors(self) -> Mapping[str, SpecError]: ...

    @property
    def run_id(self) -> str | None: ...

    @property
    def environment_name(self) -> str | None: ...

    @property
    def cleanup(self) -> RunCleanup | None: ...

    @property
    def not_selected(self) -> int: ...  # checks -k/-m left out (under xdist, as the workers counted them)

    @property
    def project(self) -> Project: ...  # gtmcheck.yml: its ``governance:`` and where checklists belong


def go_live_required(config: pytest.Config) -> bool:
    """``--gtm-require-go-live`` on the command line, else the ``gtm_require_go_live`` ini option."""
    given = config.getoption("gtm_require_go_live")
    return bool(given) if given is not None else bool(config.getini("gtm_require_go_live"))


class ReportPlugin:
    """Registered by ``pytest_configure`` when ``--gtm-report-dir`` or ``--gtm-require-go-live`` is given.

    With a folder it writes the reports there (like pytest's junitxml); with ``require_go_live`` a run whose
    checks all passed still fails (exit 1) unless the report's go-live verdict is ready: the same gate as
    ``gtmcheck run --require-go-live``, for plain ``pytest``.
    """

    def __init__(self, state: RunState, directory: Path | None, require_go_live: bool = False,
                 history: bool = True) -> None:
        self.state = state
        self.history = history  # append the run to the project's history (when it writes a report)
        self.history_warning: str | None = None
        self.directory = directory
        self.require_go_live = require_go_live
        self.blocking: list[str] = []  # why go-live was refused, when ``require_go_live`` failed the run
        self.results: dict[str, list[ItemResult]] = {}
        self.started = time.monotonic()
        self.started_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        self.written: list[Path] = []

    @pytest.hookimpl(trylast=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        details: dict[str, Any] | None = getattr(report, "gtm", None)
        if details is None:
            return
        result = ItemResult(
            id=details["id"],
            dod=details["dod"],
            text=details["text"],
            status=details["status"],
            line=details["line"],
            location=details["location"],
            message=details["message"],
            evidence=details["evidence"],
            expected=details.get("expected", ""),
            received=details.get("received", ""),
            duration_s=report.duration,
            position=details.get("position", 0),
            graph=details.get("graph"),
            details=details.get("details"),
            recheck=details.get("recheck"),
        )
        self.results.setdefault(details["checklist"], []).append(result)

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        state = self.state
        for results in self.results.values():  # xdist workers report in any order; the report keeps collection's
            results.sort(key=lambda r: r.position)
        meta = RunMeta(
            run_id=state.run_id,
            environment=state.environment_name,
            started_at=self.started_at,
            duration_s=time.monotonic() - self.started,
            partial=state.not_selected > 0,
            not_selected=state.not_selected,
        )
        try:
            project = state.project
            meta.governance = project.governance
            meta.checks_folder = relpath(project.root / (project.check_paths or ["checks"])[0]).rstrip("/")
        except GtmcheckError:
            pass  # gtmcheck.yml cannot be read: the run said why; no governance section to apply
        cleanup = state.cleanup
        if cleanup is not None:
            meta.extra["cleanup"] = {"run_id": cleanup.run_id, "archived": cleanup.archived,
                                     "remaining": len(cleanup.remaining), "clean": cleanup.clean}
        report = build_report(state.checklists, self.results, state.load_errors, meta)
        if cleanup is not None and not cleanup.clean:
            report["summary"]["blocking"].append(f"synthetic records: {cleanup.summary()}")
            report["summary"]["go_live"] = False
        if self.directory is not None:
            # an interrupted run's missing checks are not news: it is reported, not kept
            keep = self.history and not session.config.option.collectonly and \
                session.exitstatus != pytest.ExitCode.INTERRUPTED
            trends = self._append_history(report) if keep else None
            self.written = write_reports(report, self.directory, trends)
        summary = report["summary"]
        # A run that checked nothing (--collect-only, or no checklist where none is required) has no verdict to gate.
        checked_nothing = session.config.option.collectonly or (
            not state.checklists and not state.load_errors and not meta.governance.require)
        if self.require_go_live and not summary["go_live"] and not checked_nothing \
                and session.exitstatus == pytest.ExitCode.OK:
            self.blocking = list(summary["blocking"])
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def _append_history(self, report: dict[str, Any]) -> Trends | None:
        """Append the run to the history; a failure is one warning line and never changes the run's result."""
        from ..history.recorder import append_run

        if not report["summary"].get("run_id") or not report["checklists"]:
            return None  # nothing ran
        try:
            return append_run(redact_tree(report), self.state.project)
        except Exception as exc:  # noqa: BLE001 - whatever breaks, the run's verdicts stand
            text = str(exc) if isinstance(exc, GtmcheckError) else f"{type(exc).__name__}: {exc}"
            self.history_warning = secrets.redact(text.splitlines()[0] if text else type(exc).__name__)
            return None

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.history_warning:
            terminalreporter.write_line(
                f"gtmcheck history: warning: this run was not appended ({visible(self.history_warning)}); "
                "the run's result is unchanged", yellow=True)
        if self.blocking:
            terminalreporter.write_sep("-", "gtmcheck: go-live required (--gtm-require-go-live) but BLOCKED", red=True)
            for reason in self.blocking[:20]:
                terminalreporter.write_line(f"  blocking: {visible(secrets.redact(reason))}")
            if len(self.blocking) > 20:
                terminalreporter.write_line(f"  ... and {len(self.blocking) - 20} more (report.json: summary.blocking)")
        if self.written:
            names = ", ".join(p.name for p in self.written)
            terminalreporter.write_sep("-", f"gtmcheck report: {self.directory}/ ({names})")
