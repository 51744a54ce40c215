"""The report writer as a pytest plugin: records every checklist item's outcome, writes at session end."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from .model import ItemResult, RunMeta, build_report
from .write import write_reports


class ReportPlugin:
    """Registered by ``pytest_configure`` when ``--gtm-report-dir`` is given (like pytest's junitxml)."""

    def __init__(self, config: pytest.Config, directory: Path) -> None:
        self.config = config
        self.directory = directory
        self.results: dict[str, list[ItemResult]] = {}
        self.started = time.monotonic()
        self.started_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        self.deselected = 0
        self.written: list[Path] = []
        self.items: dict[str, pytest.Item] = {}

    def pytest_deselected(self, items: list[pytest.Item]) -> None:
        self.deselected += len(items)

    @pytest.hookimpl(trylast=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        details: dict[str, Any] | None = getattr(report, "gtm", None)
        if details is None:
            return
        item_ref = self.items.get(report.nodeid)
        if item_ref is None:
            return
        from ..plugin import CheckItem, GtmItem

        assert isinstance(item_ref, GtmItem)
        # The node name shows hidden characters as escapes; report.json keeps the check's exact name.
        name = item_ref.check.name if isinstance(item_ref, CheckItem) else item_ref.name
        self.results.setdefault(item_ref.checklist.display, []).append(
            ItemResult(
                id=name,
                dod=item_ref.dod.id,
                text=item_ref.dod.text,
                status=details["status"],
                line=item_ref.line,
                location=str(item_ref.where),
                message=details["message"],
                evidence=details["evidence"],
                expected=details.get("expected", ""),
                received=details.get("received", ""),
                duration_s=report.duration,
            )
        )

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.items = {item.nodeid: item for item in session.items}

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        from ..plugin import gtm_session

        state = gtm_session(self.config)
        meta = RunMeta(
            run_id=state.run_id,
            environment=state.environment_name,
            started_at=self.started_at,
            duration_s=time.monotonic() - self.started,
            partial=self.deselected > 0,
        )
        cleanup = state.cleanup
        if cleanup is not None:
            meta.extra["cleanup"] = {"run_id": cleanup.run_id, "archived": cleanup.archived,
                                     "remaining": len(cleanup.remaining), "clean": cleanup.clean}
        report = build_report(state.checklists, self.results, state.load_errors, meta)
        if cleanup is not None and not cleanup.clean:
            report["summary"]["blocking"].append(f"synthetic records: {cleanup.summary()}")
            report["summary"]["go_live"] = False
        self.written = write_reports(report, self.directory)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.written:
            names = ", ".join(p.name for p in self.written)
            terminalreporter.write_sep("-", f"gtmcheck report: {self.directory}/ ({names})")
