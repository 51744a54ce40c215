"""Decide what each owner is told tonight: new, changed, resolved and (after the suppression interval) reminded.

Pure: a state and a night in, the digests and the state to keep out. Nothing here sends or writes; the
caller keeps the new state only for the owners whose digests were delivered, so a failed delivery is retried
the next night.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import UTC, datetime

from .findings import Finding, Night
from .state import Record, State


@dataclass(frozen=True)
class Policy:
    """How eagerly to alert: ``alert_after`` failing runs in a row (errors: at least 2), ``suppress`` seconds."""

    alert_after: int = 1
    suppress: float | None = None  # an unchanged open finding is re-alerted once per this; None: never

    def threshold(self, status: str) -> int:
        """Runs in a row before a first alert; "could not verify" needs two, so one 5xx night never alerts."""
        return self.alert_after if status == "failed" else max(self.alert_after, 2)


@dataclass
class Digest:
    """One owner's message for tonight."""

    owner: str
    new: list[Finding] = field(default_factory=list)
    changed: list[Finding] = field(default_factory=list)
    reminded: list[Finding] = field(default_factory=list)  # unchanged, open, re-alerted after ``suppress``
    resolved: list[Record] = field(default_factory=list)
    open: int = 0  # every alert-worthy finding of this owner tonight, alerted before or not

    @property
    def empty(self) -> bool:
        return not (self.new or self.changed or self.reminded or self.resolved)


@dataclass
class Plan:
    """Tonight's digests (only owners with something to say) and the state to keep per owner."""

    digests: dict[str, Digest]
    proposed: dict[str, Record]  # the state after tonight if every digest is delivered
    previous: State

    def state_after(self, failed_owners: set[str]) -> State:
        """The state to save: tonight's, except for owners whose delivery failed, who keep last night's."""
        records = {fp: r for fp, r in self.proposed.items() if r.owner not in failed_owners}
        records.update({fp: r for fp, r in self.previous.records.items() if r.owner in failed_owners})
        return State(records, self.previous.issues)


def night_time(night: Night) -> datetime:
    """When the night's run started (its report says), else now: suppression counts in report time."""
    try:
        return datetime.strptime(night.started_at, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        return datetime.now(UTC)


def _stamp(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse(stamp: str) -> datetime:
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def plan(state: State, night: Night, policy: Policy) -> Plan:
    """What to send and what to remember after ``night`` (see the module docstring)."""
    now = night_time(night)
    stamp = _stamp(now)
    digests: dict[str, Digest] = {}
    proposed: dict[str, Record] = {}
    tonight = {f.fingerprint: f for f in night.findings}
    by_key: dict[str, list[Record]] = {}
    for fp, old in state.records.items():
        if fp not in tonight:
            by_key.setdefault(old.key, []).append(old)
    replaced: set[str] = set()  # keys whose old fingerprint a new one of tonight replaces

    def digest(owner: str) -> Digest:
        return digests.setdefault(owner, Digest(owner))

    for fp, finding in tonight.items():
        seen = state.records.get(fp)
        predecessors = by_key.get(finding.key, [])
        record: Record
        if seen is not None:
            record = dataclasses.replace(seen, owner=finding.owner, status=finding.status, message=finding.message,
                                         last_seen=stamp, last_run=night.run_id,
                                         consecutive=seen.consecutive + (seen.last_run != night.run_id))
        else:
            before = max(predecessors, key=lambda r: r.consecutive, default=None)
            record = Record(key=finding.key, owner=finding.owner, checklist=finding.checklist, item=finding.item,
                            status=finding.status, message=finding.message,
                            first_seen=before.first_seen if before else stamp, last_seen=stamp,
                            last_run=night.run_id,
                            consecutive=before.consecutive + (before.last_run != night.run_id) if before else 1)
            if predecessors:
                replaced.add(finding.key)
        proposed[fp] = record
        if record.consecutive < policy.threshold(finding.status):
            continue  # held: not enough failing runs in a row yet
        target = digest(finding.owner)
        target.open += 1
        if record.last_alerted is None:
            was_alerted = any(p.last_alerted for p in predecessors)
            (target.changed if was_alerted else target.new).append(finding)
            record.last_alerted = stamp
        elif policy.suppress is not None and (now - _parse(record.last_alerted)).total_seconds() >= policy.suppress:
            target.reminded.append(finding)
            record.last_alerted = stamp

    for fp, old in state.records.items():
        if fp in tonight or old.key in replaced:
            continue
        if night.covers(old.key):  # it ran tonight and is no longer wrong
            if old.last_alerted:
                digest(old.owner).resolved.append(old)
            continue
        proposed[fp] = old  # its check did not run tonight: nothing to say either way
    return Plan({o: d for o, d in sorted(digests.items()) if not d.empty}, proposed, state)
