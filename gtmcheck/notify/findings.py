"""What a night's report.json says is wrong, as findings with fingerprints that survive noise.

A finding is one failed or errored check, or one entry of a BASELINE-DRIFT item's ``details.drifts``. Its
fingerprint hashes what identifies the problem and leaves out what changes from run to run (durations, run
ids, uuids, the ids of synthetic records), so the same failure on two nights is the same finding and a
different failure of the same check is a *changed* one (same ``key``, other fingerprint).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ..baseline.check import DOD_ID as DRIFT_DOD_ID
from ..history.fingerprint import drift_fingerprint, normalise

DRIFT_ITEM = DRIFT_DOD_ID
ALERTING = ("failed", "error")
NO_OWNER = "(no owner)"


def _hash(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class Finding:
    """One thing wrong tonight, routed to ``owner``."""

    fingerprint: str
    key: str  # what the finding is about (a check, a drift path): a new fingerprint for it is a change
    owner: str
    checklist: str  # the checklist file, as the report names it
    item: str  # the check's id (or the drift's path)
    dod: str
    status: str  # failed | error
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"fingerprint": self.fingerprint, "owner": self.owner, "checklist": self.checklist,
                "item": self.item, "dod": self.dod, "status": self.status, "message": self.message}


@dataclass(frozen=True)
class Night:
    """A report's findings and what ran: only what ran tonight can be called resolved."""

    run_id: str
    started_at: str
    environment: str
    findings: list[Finding]
    ran: frozenset[str]  # keys of every check that ran (any status) and of every checklist that loaded

    def covers(self, key: str) -> bool:
        """Whether the check behind ``key`` ran tonight (a drift's key is its item's key plus a path)."""
        return key in self.ran or key.split("\x1e", 1)[0] in self.ran


def item_key(checklist: str, item: str) -> str:
    return f"{checklist}\x1f{item}"


def read_night(report: Mapping[str, Any]) -> Night:
    """The findings of a report.json (already read and validated by ``report.schema.load_report``)."""
    summary = report.get("summary", {})
    findings: list[Finding] = []
    ran: set[str] = set()
    for entry in report.get("checklists", []):
        file = str(entry.get("file") or "")
        owner = str(entry.get("owner") or NO_OWNER)
        if entry.get("error"):  # a checklist that could not be loaded: nothing in it was verified
            key = item_key(file, "(load)")
            ran.add(key)
            message = str(entry["error"])
            findings.append(Finding(_hash(file, "(load)", normalise(message)), key, owner, file, "(load)", "",
                                    "error", message))
            continue
        for item in entry.get("items", []):
            key = item_key(file, str(item["id"]))
            ran.add(key)
            if item.get("status") not in ALERTING:
                continue
            drifts = (item.get("details") or {}).get("drifts") if item.get("dod") == DRIFT_ITEM else None
            if isinstance(drifts, list) and drifts:
                findings.extend(_drift_findings(file, owner, item, key, drifts))
                continue
            message = str(item.get("message") or item.get("status"))
            findings.append(Finding(_hash(file, str(item["id"]), normalise(message)), key, owner, file,
                                    str(item["id"]), str(item.get("dod", "")), str(item["status"]), message))
    return Night(
        run_id=str(summary.get("run_id") or ""),
        started_at=str(summary.get("started_at") or ""),
        environment=str(summary.get("environment") or ""),
        findings=findings,
        ran=frozenset(ran),
    )


def _drift_findings(file: str, owner: str, item: Mapping[str, Any], key: str,
                    drifts: list[Any]) -> Iterator[Finding]:
    """Each drift is its own finding, routed to the drift's own owner (else the checklist's)."""
    for drift in drifts:
        if not isinstance(drift, Mapping):
            continue
        path = str(drift.get("path", ""))
        was, is_ = _canonical(drift.get("was")), _canonical(drift.get("is"))
        message = str(drift.get("message") or f"{path}: was {was}, is {is_}")
        since = drift.get("since")
        if since and "since" not in message:
            message += f" (since {since})"
        fingerprint = drift_fingerprint(file, path, drift.get("was"), drift.get("is"))  # as the history keeps it
        yield Finding(fingerprint, f"{key}\x1e{path}", str(drift.get("owner") or owner), file, path,
                      str(item.get("dod", "")), str(item["status"]), message)


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str, ensure_ascii=False)
