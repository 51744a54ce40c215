"""The sandbox's calendar (``clock.today``) and the baseline files' round trip."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from gtmcheck.baseline import BaselineEntry, baseline_path, read_entry, write_entry
from gtmcheck.errors import SpecError
from gtmcheck.sandbox.scenario import Scenario


def test_a_scenario_pins_its_calendar_date(tmp_path: Path) -> None:
    path = tmp_path / "s.yml"
    path.write_text("clock: {today: 2027-02-26}\n")
    assert Scenario.load(path).today == date(2027, 2, 26)
    path.write_text("portal_id: 1\n")
    assert Scenario.load(path).today is None


def test_an_impossible_date_is_an_error_at_its_line(tmp_path: Path) -> None:
    path = tmp_path / "s.yml"
    path.write_text("portal_id: 1\nclock: {today: 2027-02-30}\n")
    with pytest.raises(SpecError) as err:
        Scenario.load(path)
    assert ":2:" in str(err.value) and "YYYY-MM-DD" in str(err.value)


def test_baseline_files_round_trip_sorted_and_stable(tmp_path: Path) -> None:
    entry = BaselineEntry(checklist="checks/crm.gtm.yml", kind="crm", name="CRM", owner="mops@acme.example",
                          environment="sandbox", saved_at=datetime.now(UTC).isoformat(), saved_on=date(2026, 11, 27),
                          observed={"properties": {"b": 1, "a": [2, 1]}})
    path = write_entry(tmp_path, entry)
    assert path == baseline_path(tmp_path, "checks/crm.gtm.yml") == tmp_path / "gtmcheck-baseline/checks/crm.json"
    first = path.read_text()
    write_entry(tmp_path, entry)
    assert path.read_text() == first and first.index('"a"') < first.index('"b"')
    assert read_entry(tmp_path, "checks/crm.gtm.yml") == entry
    assert read_entry(tmp_path, "checks/none.gtm.yml") is None
    path.write_text("{not json")
    with pytest.raises(SpecError, match="baseline save"):
        read_entry(tmp_path, "checks/crm.gtm.yml")
