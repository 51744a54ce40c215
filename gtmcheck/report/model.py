"""Turn a run's item results into the report structure (``report.json``; shape in DESIGN.md).

Completeness counts DoD items, not checks: twenty campaign URLs are one item, done only when all twenty
resolve. A check outside the DoD (BASELINE-DRIFT) is reported with ``outside_dod`` and counts toward no
item. The go-live verdict is true only at 100% with every checklist signed off by the right person and
nothing failed, errored or left unconfigured (a check outside the DoD included).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .. import governance
from ..dod import TEMPLATES
from ..errors import SpecError
from ..spec import Checklist, Signoff
from ..staleness import GovernancePolicy
from .graph import merge_graphs

DONE = ("passed", "attested")
STATUSES = ("passed", "failed", "error", "attested", "not_configured")
# A DoD item without a result: ``not_selected`` when -k/-m left its checks out, ``not_run`` otherwise.
NOT_SELECTED, NOT_RUN = "not_selected", "not_run"
_LINE_COLUMN = re.compile(r":(\d+):\d+$")
_URL = re.compile(r"https?://[^\s<>\"'`\\]+", re.IGNORECASE | re.ASCII)
# The worst status of a DoD item's checks decides the item's status.
SEVERITY = {"failed": 4, "error": 3, "not_configured": 2, "attested": 1, "passed": 0}


@dataclass
class ItemResult:
    """What one check did."""

    id: str
    dod: str
    text: str
    status: str
    line: int
    location: str = ""  # file:line:column of what configures the check (a YAML line or a CSV row)
    message: str = ""
    evidence: str = ""
    expected: str = ""
    received: str = ""
    duration_s: float = 0.0
    position: int = 0  # its place in the collection (not in report.json): the order of the report's items
    graph: dict[str, Any] | None = None  # a routing check's rules and leads (merged per checklist, not per item)
    details: dict[str, Any] | None = None  # the evidence's details: the full lists behind the message
    recheck: str | None = None  # ``--recheck``: "failed twice" or "passed on recheck (flaky)"

    def as_dict(self, outside_dod: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "dod": self.dod,
            "text": self.text,
            "status": self.status,
            "message": self.message,
            "evidence": self.evidence,
            "line": self.line,
            "location": self.location,
            "duration_s": round(self.duration_s, 3),
        }
        if self.expected or self.received:
            out["expected"], out["received"] = self.expected, self.received
        if self.details:
            out["details"] = self.details
        if outside_dod:
            out["outside_dod"] = True
        if self.recheck:
            out["recheck"] = self.recheck
        return out


@dataclass
class RunMeta:
    """Facts about the run shown in the report's header and footer."""

    run_id: str | None = None
    environment: str | None = None
    started_at: str = ""
    duration_s: float = 0.0
    partial: bool = False  # -k / -m deselected some items: no go-live verdict possible
    not_selected: int = 0  # how many checks -k / -m left out (pytest's "deselected")
    governance: GovernancePolicy = field(default_factory=GovernancePolicy)  # gtmcheck.yml's require, max_age
    checks_folder: str = "checks"  # where a required component's missing checklist belongs
    extra: dict[str, Any] = field(default_factory=dict)


def dod_status(statuses: Iterable[str]) -> str:
    return max(statuses, key=lambda s: SEVERITY[s])


def count_statuses(statuses: Iterable[str], load_errors: int = 0, not_selected: int = 0) -> dict[str, int]:
    """The counts of checks by status, as report.json's summary and the terminal's gtmcheck line give them.

    A checklist that cannot be loaded counts as one ``error``; checks left out by -k/-m as ``not_selected``.
    """
    counts = dict.fromkeys(STATUSES, 0)
    for status in statuses:
        counts[status] += 1
    counts["error"] += load_errors
    counts[NOT_SELECTED] = not_selected
    return counts


def url_spans(text: str) -> list[tuple[int, int]]:
    """Where the http(s) URLs in ``text`` are (trailing punctuation left out): what the views link."""
    spans = []
    for match in _URL.finditer(text):
        url = match.group().rstrip(".,;:!?)]}")
        if len(url) > len(match.group().split("//", 1)[0]) + 2:  # more than the bare scheme
            spans.append((match.start(), match.start() + len(url)))
    return spans


def signers(checklist: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The signers of a report.json checklist entry, whether ``signoff`` is one mapping, a list, or empty."""
    signoff = checklist.get("signoff")
    entries = signoff if isinstance(signoff, list) else [signoff]
    return [s for s in entries if isinstance(s, Mapping)]


def place(item: Mapping[str, Any], checklist_file: object) -> str:
    """``file:line`` of what configures a check: the YAML line, or the row of a ``url_files:`` CSV."""
    location = str(item.get("location") or "")
    if location:
        return _LINE_COLUMN.sub(r":\1", location)
    return f"{checklist_file}:{item['line']}" if item.get("line") else ""


def _signoff_json(checklist: Checklist) -> dict[str, str] | list[dict[str, str]] | None:
    """As the checklist wrote it: one signer (a mapping), several (a list), or nobody (``None``)."""
    def signer(s: Signoff) -> dict[str, str]:
        return {"by": s.by, "role": s.role, "on": s.on}

    if not checklist.signoffs:
        return None
    if checklist.signoffs[0].index is None:
        return signer(checklist.signoffs[0])
    return [signer(s) for s in checklist.signoffs]


def checklist_entry(
    checklist: Checklist, items: list[ItemResult], partial: bool, policy: GovernancePolicy | None = None
) -> dict[str, Any]:
    by_dod: dict[str, list[str]] = {}
    for item in items:
        by_dod.setdefault(item.dod, []).append(item.status)
    missing = NOT_SELECTED if partial else NOT_RUN
    dod = [
        {"id": d.id, "text": d.text, "status": dod_status(by_dod[d.id]) if d.id in by_dod else missing}
        for d in checklist.dod
    ]
    counted = [d for d in dod if d["status"] != NOT_SELECTED]
    done = sum(d["status"] in DONE for d in counted)
    completeness = round(100.0 * done / len(counted), 1) if counted else 0.0
    blocking = [
        f"{checklist.display}: {d['id']} {d['status'].replace('_', ' ')}" for d in counted if d["status"] not in DONE
    ]
    # Checks beyond the DoD (BASELINE-DRIFT) never count toward completeness, but a drifted or unverifiable
    # stack is not the one signed off: it blocks go-live like an item not done.
    dod_ids = {d.id for d in checklist.dod}
    blocking += [f"{checklist.display}: {i.id} {i.status.replace('_', ' ')}" for i in items
                 if i.dod not in dod_ids and i.status not in DONE]
    max_age = (policy or GovernancePolicy()).max_age
    blocking += governance.blocking_reasons(checklist, max_age)
    unmet = governance.review_signers(checklist, max_age)[1] if checklist.signoffs else \
        list(governance.signoff_requirements(checklist))
    return {
        "file": checklist.display,
        "kind": checklist.kind,
        "name": checklist.name,
        "owner": checklist.owner,
        "built_by": checklist.built_by,
        "work_type": checklist.work_type.value,
        "signoff": _signoff_json(checklist),
        "signoff_missing": [f"{r.function} ({' or '.join(r.roles)})" for r in unmet],
        "completeness": completeness,
        "go_live": not blocking and not partial and done == len(counted) > 0,
        "blocking": blocking,
        "error": None,
        "dod": dod,
        "items": [i.as_dict(outside_dod=i.dod not in dod_ids) for i in items],
        **({"routing_graph": graph} if (graph := merge_graphs(items)) else {}),
        "_done": done,
        "_total": len(counted),
    }


def error_entry(file: str, error: SpecError) -> dict[str, Any]:
    return {
        "file": file,
        "kind": None,
        "name": None,
        "owner": None,
        "built_by": None,
        "work_type": None,
        "signoff": None,
        "completeness": 0.0,
        "go_live": False,
        "blocking": [f"{file}: cannot be loaded"],
        "error": error.format(),
        "dod": [],
        "items": [],
        "_done": 0,
        "_total": 0,
    }


def missing_entry(kind: str, folder: str) -> dict[str, Any]:
    """A component gtmcheck.yml requires and no checklist covers: one not-done entry that blocks go-live."""
    file = f"{folder}/{kind}.gtm.yml"
    message = (f"{kind} is required by gtmcheck.yml (governance.require) but no {kind} checklist was in this "
               f"run; write {file} (`gtmcheck init` writes a starting one)")
    dod = list(TEMPLATES[kind])
    return {
        "file": file,
        "kind": kind,
        "name": None,
        "owner": None,
        "built_by": None,
        "work_type": None,
        "signoff": None,
        "status": "not_configured",
        "message": message,
        "completeness": 0.0,
        "go_live": False,
        "blocking": [message],
        "error": None,
        "dod": [{"id": d.id, "text": d.text, "status": "not_configured"} for d in dod],
        "items": [],
        "_done": 0,
        "_total": len(dod),
    }


def build_report(
    checklists: Mapping[str, Checklist],
    results: Mapping[str, list[ItemResult]],
    load_errors: Mapping[str, SpecError],
    meta: RunMeta,
) -> dict[str, Any]:
    """The whole report: summary counts, completeness, the go-live verdict and every checklist."""
    entries = [checklist_entry(c, results.get(f, []), meta.partial, meta.governance) for f, c in checklists.items()]
    entries += [error_entry(f, e) for f, e in load_errors.items()]
    present = {c.kind for c in checklists.values()}
    missing = [missing_entry(k, meta.checks_folder) for k in meta.governance.require if k not in present]
    entries += missing
    entries.sort(key=lambda e: e["file"])
    statuses = [item["status"] for entry in entries for item in entry["items"]]
    counts = count_statuses(statuses, len(load_errors), meta.not_selected)
    counts["not_configured"] += len(missing)  # each missing component is one not-done item
    done = sum(e.pop("_done") for e in entries)
    total = sum(e.pop("_total") for e in entries)
    blocking = [reason for e in entries for reason in e["blocking"]]
    if meta.partial:
        left_out = f" left out {meta.not_selected} checks" if meta.not_selected else ""
        blocking.append(f"only part of the checks ran (-k/-m{left_out}): no go-live verdict for a partial run")
    if not entries:
        blocking.append("no checklist was found")
    summary: dict[str, Any] = {
        **counts,
        "completeness": round(100.0 * done / total, 1) if total else 0.0,
        "go_live": not blocking,
        "blocking": blocking,
        "checklists": len(entries),
        "run_id": meta.run_id,
        "environment": meta.environment,
        "started_at": meta.started_at,
        "duration_s": round(meta.duration_s, 2),
        "partial": meta.partial,
        **meta.extra,
    }
    return {"summary": summary, "checklists": entries}
