"""The reviewed baseline: what each checklist observed of the live stack when it was signed off.

``gtmcheck baseline save`` writes one JSON file per checklist under ``gtmcheck-baseline/`` (the checklist's path
relative to the project root, ``.gtm.yml`` replaced by ``.json``), sorted and indented so a change to the stack
is a small, reviewable diff in a pull request. The nightly run diffs what it observes tonight against it.

This module only reads and writes the files: it knows no kind (kinds reach it through ``RunContext.baseline``).
Beside it: ``diff.py`` (the structural diff into ``Drift`` records, kind-blind), ``check.py`` (BASELINE-DRIFT,
given a kind object) and ``save.py`` (``gtmcheck baseline save|diff``: every checklist of a project, read-only).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from ..errors import Location, SpecError, UnreadableFile, relpath
from ..safefile import read_text_capped

if TYPE_CHECKING:
    from ..spec import Checklist

BASELINE_DIR = "gtmcheck-baseline"
FORMAT_VERSION = 1
MAX_BASELINE_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class BaselineEntry:
    """One checklist's saved observation, with when, where and on what calendar date it was taken."""

    checklist: str  # the checklist file, relative to the project root (POSIX)
    kind: str
    name: str
    owner: str
    environment: str
    saved_at: str  # ISO 8601 UTC timestamp of the save
    saved_on: date  # the environment's date at the save (``RunContext.today()``)
    observed: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"version": FORMAT_VERSION, "checklist": self.checklist, "kind": self.kind, "name": self.name,
                "owner": self.owner, "environment": self.environment, "saved_at": self.saved_at,
                "saved_on": self.saved_on.isoformat(), "observed": self.observed}


def relative_checklist(root: Path, checklist_path: Path) -> str:
    """The checklist's path as the baseline names it: relative to the project root when inside it."""
    path = Path(checklist_path).resolve()
    try:
        return PurePosixPath(path.relative_to(Path(root).resolve())).as_posix()
    except ValueError:
        return PurePosixPath(path).as_posix().lstrip("/")


def baseline_path(root: Path, checklist: str | Checklist) -> Path:
    """Where the baseline of a checklist lives: ``gtmcheck-baseline/checks/crm.json`` for checks/crm.gtm.yml."""
    rel = checklist if isinstance(checklist, str) else relative_checklist(root, checklist.path)
    name = PurePosixPath(rel)
    stem = name.name
    for suffix in (".gtm.yml", ".gtm.yaml", ".yml", ".yaml"):
        if stem.endswith(suffix):
            stem = stem[: -len(suffix)]
            break
    return Path(root) / BASELINE_DIR / name.parent / f"{stem}.json"


def read_entry(root: Path, checklist: str | Checklist) -> BaselineEntry | None:
    """The saved baseline of a checklist, ``None`` when none was saved; an unreadable file is a SpecError."""
    path = baseline_path(root, checklist)
    if not path.is_file():
        return None
    where = Location(relpath(path))  # as the user sees it: relative to the working directory
    try:
        data = json.loads(read_text_capped(path, MAX_BASELINE_BYTES, expect="a baseline file"))
    except UnreadableFile as exc:
        raise SpecError(f"baseline file {exc.problem}", where,
                        "restore it from version control or run `gtmcheck baseline save` again") from None
    except json.JSONDecodeError as exc:
        raise SpecError(f"baseline file is unreadable ({exc})", where,
                        "restore it from version control or run `gtmcheck baseline save` again") from None
    if not isinstance(data, dict) or data.get("version") != FORMAT_VERSION or not isinstance(
            data.get("observed"), dict):
        raise SpecError("not a gtmcheck baseline file (version 1)", where,
                        "restore it from version control or run `gtmcheck baseline save` again")
    try:
        saved_on = date.fromisoformat(str(data["saved_on"]))
    except (KeyError, ValueError):
        raise SpecError("baseline file has no valid `saved_on` date", where,
                        "run `gtmcheck baseline save` again") from None
    return BaselineEntry(checklist=str(data.get("checklist", "")), kind=str(data.get("kind", "")),
                         name=str(data.get("name", "")), owner=str(data.get("owner", "")),
                         environment=str(data.get("environment", "")), saved_at=str(data.get("saved_at", "")),
                         saved_on=saved_on, observed=data["observed"])


def write_entry(root: Path, entry: BaselineEntry) -> Path:
    """Write one checklist's baseline (stable key order, two-space indent, newline at the end)."""
    path = baseline_path(root, entry.checklist)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(entry.to_json(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return path
