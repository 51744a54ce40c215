"""The routing audit of real leads (ROUTING-AUDIT, reported as ``ROUTING-ALERTS[audit]``): read-only, nightly.

Production rightly refuses synthetic leads, so the nightly run checks the leads people really submitted: every
record of the checklist's ``object`` created in the audit window (``audit: {window: 24h}``), found through the
CRM connector's search on the creation date (HubSpot: partitioned by date whenever a window reaches the
10,000-result cap; Salesforce: SOQL on ``CreatedDate``, paged), gtmcheck's own synthetic records left out. For
each lead the declared rules (``logic.Solver``) name the owner it should have had (a round robin: any member;
``owner_of: account``: the account's owner); it is compared with the owner it got, and when. Leads waiting in the
fallback queue are held against ``alerts.default_queue``. Nothing is written. At most ``MAX_LEADS`` leads are
read, and the evidence says when the window held more.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ...connectors.crm import Filter, ObjectType, Record, to_epoch_ms
from ...durations import format_duration
from ...errors import CheckError, CheckFailed, ConnectorError, Evidence, NotConfigured
from ...synthetic import TAG_PROPERTY, is_synthetic
from .leads import EMAIL_DOMAIN, Expectation, expectation_for
from .live import LeadRunner, fmt_span, owner_directory, percentile
from .logic import Lead, Solver, Value, format_lead

if TYPE_CHECKING:
    from ...context import RunContext
    from .kind import RoutingSpec

AUDIT_PARAM = "audit"
DEFAULT_WINDOW_S = 86_400.0
MAX_LEADS = 50_000
SHOWN_LEADS = 3
KEPT_LEADS = 50  # misrouted leads kept in the evidence
INSTEAD = "the routing of the real leads created in the audit window instead (ROUTING-ALERTS[audit])"


@dataclass
class AuditedLead:
    """One real lead: what the rules say it should have had, and what it got."""

    record_id: str
    created_ms: int | None
    values: Lead
    source: str  # the rule id that should have matched, or "fallback"
    expected: tuple[str, ...]
    expected_text: str
    owner_email: str | None
    owner_text: str
    assigned_ms: int | None
    problem: str | None = None

    @property
    def shown(self) -> str:
        """``record 1051 {country: ES, employees: 4200}``: the lead as a reviewer finds it in the CRM."""
        return f"record {self.record_id} {format_lead(self.values)}"

    def as_dict(self) -> dict[str, Any]:
        return {"record": self.record_id, "created": _iso(self.created_ms), "values": format_lead(self.values),
                "rule": self.source, "expected": self.expected_text, "owner": self.owner_email,
                "assigned": _iso(self.assigned_ms), "problem": self.problem}


def _iso(ms: int | None) -> str | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _value(text: str) -> Value:
    """A CRM string as the rules compare it: numbers as numbers (``employees: "1500"`` meets ``gte: 1000``)."""
    try:
        number = float(text)
    except ValueError:
        return text
    return int(number) if number.is_integer() and "." not in text and "e" not in text.lower() else number


def lead_values(record: Record, props: Sequence[str]) -> Lead:
    """The values the rules read of a real lead, with ``email_domain`` from its email."""
    values: Lead = {}
    for prop in props:
        raw = record.properties.get(prop)
        if raw not in (None, ""):
            values[prop] = _value(str(raw))
    email = record.properties.get("email") or ""
    if "@" in email:
        values[EMAIL_DOMAIN] = email.rsplit("@", 1)[1].strip().lower()
    return values


def rule_properties(spec: RoutingSpec) -> list[str]:
    """The CRM properties the declared rules read (``email_domain`` comes from ``email``)."""
    return sorted({a.prop for rule in spec.rules for a in rule.atoms if a.prop != EMAIL_DOMAIN})


def real_leads(ctx: RunContext, spec: RoutingSpec, start_ms: int, end_ms: int,
               limit: int = MAX_LEADS) -> tuple[list[Record], bool]:
    """The real (not synthetic) leads created in ``[start_ms, end_ms)``, oldest first, and whether more were left."""
    object_type: ObjectType = "leads" if spec.object_type == "leads" else "contacts"
    window = [[Filter("createdate", "GTE", str(start_ms)), Filter("createdate", "LT", str(end_ms))]]
    props = [*rule_properties(spec), "email", "owner_id", "createdate", TAG_PROPERTY]
    found: list[Record] = []
    records: Iterator[Record] = ctx.crm().search(object_type, window, props, sort="createdate",
                                                 date_property="createdate")
    for record in records:
        if ctx.cancelled.is_set():
            break
        if is_synthetic(object_type, record):
            continue
        if len(found) >= limit:
            return found, True
        found.append(record)
    return found, False


class Auditor:
    """Judges real leads against the declared rules, reading owners and accounts once per run."""

    def __init__(self, ctx: RunContext, spec: RoutingSpec) -> None:
        self.ctx = ctx
        self.spec = spec
        self.runner = LeadRunner(ctx, spec, spec.sla_seconds or 0.0)  # for owners and accounts only: never sends
        self.solver = Solver(spec.rules)
        self.props = rule_properties(spec)
        self.fallback = expectation_for(spec, "fallback") if spec.fallback_assign else None

    def judge(self, record: Record, now_ms: int) -> AuditedLead | None:
        """One lead's verdict; ``None`` when nothing is expected of it (no rule matches and no fallback)."""
        values = lead_values(record, self.props)
        i = self.solver.first_match(values)
        expect: Expectation | None = expectation_for(self.spec, self.spec.rules[i].id) if i is not None \
            else self.fallback
        if expect is None:
            return None
        owner_id = record.properties.get("owner_id") or None
        owner_email = self.runner.owners().email(owner_id)
        created = to_epoch_ms(record.properties.get("createdate") or record.created_at)
        assigned = to_epoch_ms(record.owner_assigned_at)
        lead = AuditedLead(record.id, created, values, expect.source, (), expect.label, owner_email,
                           self.runner.who(owner_email, owner_id), assigned)
        try:
            lead.expected, lead.expected_text = self.runner.resolve(expect, dict(values))
        except CheckError as exc:
            lead.problem = f"{lead.shown}: {exc.message}"
            return lead
        expected = " or ".join(lead.expected)
        when = f" at {_iso(assigned)}" if assigned is not None else ""
        if owner_id is None:
            age = (now_ms - created) / 1000 if created is not None else None
            sla = self.spec.sla_seconds
            if age is not None and sla is not None and age <= sla:
                return None  # not yet due: routing may still be on its way
            lead.problem = (f"{lead.shown}: {expect.label} should have matched; expected {expected}, got no owner "
                            f"{fmt_span(age or 0)} after creation")
        elif owner_email not in lead.expected:
            lead.problem = (f"{lead.shown}: {expect.label} should have matched; expected {expected}, "
                            f"got {lead.owner_text}{when}")
        # A right owner set late is not judged: HubSpot's assigned date moves with every reassignment (a manager
        # rebalancing a pool), so it would alert on leads that were routed in time; the latency is reported.
        return lead


def check_audit(ctx: RunContext, spec: RoutingSpec) -> Evidence:
    """ROUTING-AUDIT: the real leads of the window went where the declared rules send them; the queue is in bounds."""
    if not spec.rules:
        raise NotConfigured("the routing audit needs `rules:` to say where each lead should go")
    window_s = spec.audit_window_s or DEFAULT_WINDOW_S
    now_ms = int(datetime.now(UTC).timestamp() * 1000)
    start_ms = now_ms - int(window_s * 1000)
    try:
        owner_directory(ctx)
        records, capped = real_leads(ctx, spec, start_ms, now_ms)
        auditor = Auditor(ctx, spec)
        judged = [lead for lead in (auditor.judge(r, now_ms) for r in records) if lead is not None]
    except ConnectorError as exc:
        raise CheckError(f"could not read the leads of the last {format_duration(window_s)}: {exc}") from None
    queue = _queue_problems(spec, auditor, judged, now_ms)
    misrouted = [lead for lead in judged if lead.problem]
    latencies = [(lead.assigned_ms - lead.created_ms) / 1000 for lead in judged
                 if lead.assigned_ms is not None and lead.created_ms is not None
                 and lead.assigned_ms >= lead.created_ms]
    data: dict[str, Any] = {
        "p95_assignment_s": percentile(latencies, 95),
        "window_s": window_s, "from": _iso(start_ms), "to": _iso(now_ms), "leads": len(records),
        "judged": len(judged), "misrouted": len(misrouted), "capped": capped, "max_leads": MAX_LEADS,
        "per_rule": _per_rule(judged), "misrouted_leads": [lead.as_dict() for lead in misrouted[:KEPT_LEADS]],
    }
    cap = f" (capped at the first {MAX_LEADS:,} leads of the window)" if capped else ""
    what = f"{len(judged)} real {spec.object_type} created in the last {format_duration(window_s)}{cap}"
    if misrouted or queue:
        first = misrouted[0] if misrouted else None
        parts = []
        if misrouted:
            shown = "; ".join(lead.problem or "" for lead in misrouted[:SHOWN_LEADS])
            more = f" (and {len(misrouted) - SHOWN_LEADS} more)" if len(misrouted) > SHOWN_LEADS else ""
            parts.append(f"{len(misrouted)} of {what} misrouted: {shown}{more}")
        parts.extend(queue)
        raise CheckFailed(
            "; ".join(parts),
            expected=first.expected_text if first else "the default queue within its thresholds",
            received=(first.owner_text if first and first.owner_email else "no owner") if first else queue[0],
            evidence=Evidence(f"{len(judged) - len(misrouted)} of {what} routed as declared", data),
        )
    return Evidence(f"{what}, all routed as the declared rules say" +
                    ("" if not data["per_rule"] else f" ({_rules_text(data['per_rule'])})"), data)


def _queue_problems(spec: RoutingSpec, auditor: Auditor, judged: list[AuditedLead], now_ms: int) -> list[str]:
    """Leads of the window waiting in the fallback queue, against ``alerts.default_queue``."""
    if auditor.fallback is None or not auditor.fallback.emails:
        return []
    email = auditor.fallback.emails[0]
    waiting = [lead for lead in judged if lead.owner_email == email]
    ages = [(now_ms - lead.created_ms) / 1000 for lead in waiting if lead.created_ms is not None]
    oldest = max(ages, default=None)
    problems = []
    if spec.alert_max_count is not None and len(waiting) > spec.alert_max_count:
        problems.append(f"{email} got {len(waiting)} of the window's leads (max {spec.alert_max_count})")
    if spec.alert_max_age is not None and oldest is not None and oldest > spec.alert_max_age:
        problems.append(f"{len(waiting)} leads wait in {email}, the oldest {fmt_span(oldest)} "
                        f"(max {fmt_span(spec.alert_max_age)})")
    return problems


def _per_rule(judged: list[AuditedLead]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for lead in judged:
        counts[lead.source] = counts.get(lead.source, 0) + 1
    return counts


def _rules_text(per_rule: dict[str, int]) -> str:
    return ", ".join(f"{rule} {n}" for rule, n in per_rule.items())


def outcomes_per_rule(ctx: RunContext, spec: RoutingSpec) -> dict[str, list[str]]:
    """Rule id -> the sorted owner emails real leads of the audit window got (for the baseline; counts are noise)."""
    window_s = spec.audit_window_s or DEFAULT_WINDOW_S
    now_ms = int(datetime.now(UTC).timestamp() * 1000)
    records, _ = real_leads(ctx, spec, now_ms - int(window_s * 1000), now_ms)
    auditor = Auditor(ctx, spec)
    seen: dict[str, set[str]] = {}
    for record in records:
        values = lead_values(record, auditor.props)
        i = auditor.solver.first_match(values)
        rule = spec.rules[i].id if i is not None else "fallback"
        owner = auditor.runner.owners().email(record.properties.get("owner_id")) or "(no owner)"
        seen.setdefault(rule, set()).add(owner)
    return {rule: sorted(owners) for rule, owners in sorted(seen.items())}
