"""Governance rules shared by every kind: who built it, who signed it off, what was attested by whom.

A checklist that passes every automated check is still not live until the right person, who did not build
it, has accepted it. These rules make that part of the definition of done instead of a meeting.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from .dod import KIND_SIGNERS, SIGNER_ROLES, WORK_TYPE_SIGNER, RoleRequirement
from .errors import CheckError, CheckFailed, NotConfigured
from .findings import Finding, Severity, register
from .kinds import get_kind
from .spec import Checklist, ManualItem, Signoff
from .staleness import MaxAge, effective_max_age, in_future, stale_since, today_utc

SIGNOFF_MISSING = register(
    "GOV001", "signoff.missing", Severity.WARNING,
    "The checklist has no sign-off, so it cannot go live.",
    "add `signoff: {by: <email>, role: <role>, on: YYYY-MM-DD}` once the work is accepted",
    "Anti-pattern: a checklist that is green but was never accepted by anyone. Best practice: the "
    "accountable person signs off with their role and the date; until then the go-live gate stays shut.",
)
SIGNOFF_BY_BUILDER = register(
    "GOV002", "signoff.by-builder", Severity.ERROR,
    "The person who built the work signed it off.",
    "ask someone who did not build it to review and sign off",
    "Anti-pattern: the builder approving their own work. Best practice: sign-off comes from a second "
    "person in the role the work type calls for.",
)
SIGNOFF_ROLE = register(
    "GOV003", "signoff.role-mismatch", Severity.ERROR,
    "The signer's role does not fit the work type.",
    "have it signed by a role allowed for this work type, or set `work_type:`",
    "Pre-pipeline work (UTM, routing) is signed by a GTM engineer or the head of marketing ops; "
    "in-pipeline work (CRM, webhooks, reconciliation) by RevOps; cross-functional work (attribution, "
    "lifecycle model) by the CRO or VP Revenue.",
)
SIGNOFF_FUTURE = register(
    "GOV004", "signoff.future-date", Severity.ERROR,
    "A sign-off or an attestation is dated in the future.",
    "use the date it actually happened",
    "A date ahead records a decision or a check that has not happened yet, and would never go stale; it "
    "does not count until that day.",
)
MANUAL_NO_EVIDENCE = register(
    "GOV005", "manual.no-evidence", Severity.ERROR,
    "A manual item has no evidence.",
    "add `evidence:` with a link or a short record of what was checked",
    "Anti-pattern: 'done, trust me'. Best practice: every attested item links to what was seen (a "
    "screenshot, a ticket, a report URL) so the next person can check it again.",
)
MANUAL_NO_ATTESTER = register(
    "GOV006", "manual.no-attester", Severity.ERROR,
    "A manual item names nobody who attested it.",
    "add `attested_by:` with the email of the person who checked it",
    "An attestation without a name has nobody to ask when it turns out to be wrong.",
)
MANUAL_BY_BUILDER = register(
    "GOV007", "manual.self-attested", Severity.WARNING,
    "The builder attested a manual item of their own work.",
    "have someone else confirm it, or accept the risk explicitly in `note:`",
    "Self-attestation is better than nothing and worse than a second pair of eyes.",
)
MANUAL_SHADOWS_CHECK = register(
    "GOV008", "manual.overrides-check", Severity.WARNING,
    "A DoD item is attested by hand although the checklist also verifies it automatically.",
    "remove the `manual:` entry; the automated check decides",
    "When both exist the automated check wins; the attestation only adds confusion.",
)
SIGNOFF_ROLE_MISSING = register(
    "GOV009", "signoff.role-missing", Severity.ERROR,
    "A role this checklist needs has not signed it off.",
    "add a signer in that role to `signoff:` (a list takes several: `- {by: <email>, role: <role>, on: ...}`)",
    "Work that spans functions is accepted by each of them: a CRM build-out by marketing ops and sales ops, "
    "a lifecycle model or the data taxonomy revenue is reported by also by the CRO or VP Revenue.",
)
SIGNOFF_SAME_PERSON = register(
    "GOV010", "signoff.same-person", Severity.ERROR,
    "One person signs the checklist twice.",
    "have the other role signed by another person",
    "Anti-pattern: one person signing as marketing ops and as sales ops. Each required role is a different "
    "person, or the second pair of eyes is the first one again.",
)
SIGNOFF_STALE = register(
    "GOV011", "signoff.stale", Severity.WARNING,
    "A sign-off is older than its `max_age`.",
    "review the work again and sign it off with today's date",
    "Acceptance ages like the stack it accepted. gtmcheck.yml's `governance.max_age.signoff` says how long a "
    "sign-off counts; after that it does not, and go-live is blocked until someone signs again.",
)
MANUAL_STALE = register(
    "GOV012", "manual.stale", Severity.WARNING,
    "An attestation is older than its `max_age`.",
    "check the item again and update `on:` (and the evidence) with what you saw",
    "An attestation records what a person saw on one day. After `governance.max_age.attestation` it is no "
    "longer evidence: the item is not done until it is checked again (or automated).",
)
MANUAL_UNDATED = register(
    "GOV013", "manual.undated", Severity.ERROR,
    "An attestation has no date although attestations expire here.",
    "add `on: YYYY-MM-DD`, the day it was checked",
    "When gtmcheck.yml (or the checklist) sets an attestation `max_age`, an undated attestation could be any "
    "age: it does not count until it says when it was made.",
)


def allowed_roles(checklist: Checklist) -> tuple[str, ...]:
    return SIGNER_ROLES[checklist.work_type]


def signoff_requirements(checklist: Checklist) -> tuple[RoleRequirement, ...]:
    """The sign-offs this checklist needs, one person each.

    Its kind's roles (``dod.KIND_SIGNERS``) or its work type's, plus those its cross-functional parts add
    (``Kind.extra_signoff_roles``).

    An explicit ``work_type:`` chooses the one signer of a single-signer kind; for a kind with several it adds
    that work type's signer (a crm checklist cannot drop sales ops by calling itself pre-pipeline).
    """
    own = WORK_TYPE_SIGNER[checklist.work_type]
    needed = list(KIND_SIGNERS.get(checklist.kind, ()))
    for requirement in [own, *get_kind(checklist.kind).extra_signoff_roles(checklist)]:
        if requirement not in needed:
            needed.append(requirement)
    return tuple(needed)


@dataclass(frozen=True)
class SignerVerdict:
    """One signer as governance sees it: the requirement they fill, or why they count for none."""

    signoff: Signoff
    counts_for: RoleRequirement | None
    problem: Finding | None


def _match(candidates: Sequence[Signoff], needed: Sequence[RoleRequirement]) -> dict[int, int]:
    """Signer index -> requirement index, as many requirements filled as possible, one person each."""
    owner: dict[int, int] = {}  # requirement -> signer

    def place(signer: int, seen: set[int]) -> bool:
        for r, requirement in enumerate(needed):
            if candidates[signer].role in requirement.roles and r not in seen:
                seen.add(r)
                if r not in owner or place(owner[r], seen):
                    owner[r] = signer
                    return True
        return False

    for signer in range(len(candidates)):
        place(signer, set())
    return {signer: r for r, signer in owner.items()}


def review_signers(
    checklist: Checklist, max_age: Mapping[str, str] | None = None, today: date | None = None
) -> tuple[list[SignerVerdict], list[RoleRequirement]]:
    """Every signer's verdict, and the requirements nobody fills. ``max_age``: gtmcheck.yml's ``max_age:``.

    A requirement whose signer only lacks a valid date (stale, or in the future) is not listed as unfilled:
    that signer's own finding says what to do.
    """
    today = today or today_utc()
    builder = checklist.built_by.lower()
    needed = signoff_requirements(checklist)
    age = effective_max_age("signoff", max_age, checklist.max_age)
    fitting = {role for requirement in needed for role in requirement.roles}
    verdicts: dict[int, SignerVerdict] = {}
    candidates: list[Signoff] = []
    for i, signer in enumerate(checklist.signoffs):
        problem = _signer_problem(checklist, signer, builder, fitting, age, today)
        if problem is None and any(c.by.lower() == signer.by.lower() for c in candidates):
            problem = SIGNOFF_SAME_PERSON.finding(
                checklist.location((*signer.path, "by")), f"{signer.by} signs twice; each role needs its own person"
            )
        if problem is None:
            candidates.append(signer)
        verdicts[i] = SignerVerdict(signer, None, problem)
    matched = _match(candidates, needed)
    for c, signer in enumerate(candidates):
        i = checklist.signoffs.index(signer)
        verdicts[i] = SignerVerdict(signer, needed[matched[c]] if c in matched else None, None)
    dated = {v.signoff.role for v in verdicts.values()
             if v.problem is not None and v.problem.rule in (SIGNOFF_STALE, SIGNOFF_FUTURE)}
    unmet = [r for i, r in enumerate(needed) if i not in matched.values() and not dated & set(r.roles)]
    return [verdicts[i] for i in range(len(checklist.signoffs))], unmet


def _signer_problem(
    checklist: Checklist, signer: Signoff, builder: str, fitting: set[str], age: MaxAge | None, today: date
) -> Finding | None:
    """Why this signer cannot count, whoever else signed."""
    if signer.by.lower() == builder:
        return SIGNOFF_BY_BUILDER.finding(checklist.location((*signer.path, "by")), f"signed off by {signer.by}, "
                                          "who built it")
    if signer.role not in fitting:
        needed = signoff_requirements(checklist)
        work = (f"{checklist.work_type.value.replace('_', '-')} work" if len(needed) == 1
                else f"this {checklist.kind} checklist")
        roles = [role for requirement in needed for role in requirement.roles]
        return SIGNOFF_ROLE.finding(checklist.location((*signer.path, "role")),
                                    f"role {signer.role!r} cannot sign off {work}",
                                    hint=f"use one of: {', '.join(roles)}")
    if in_future(signer.on, today):
        return SIGNOFF_FUTURE.finding(checklist.location((*signer.path, "on")), f"signed off on {signer.on}, a date "
                                      "in the future")
    since = stale_since(signer.on, age, today)
    if since is not None and age is not None:
        return SIGNOFF_STALE.finding(
            checklist.location((*signer.path, "on")),
            f"sign-off by {signer.by} on {signer.on} is stale since {since} (max_age {age.text})",
        )
    return None


def attestation_problem(
    checklist: Checklist, item: ManualItem, max_age: Mapping[str, str] | None = None, today: date | None = None
) -> Finding | None:
    """Why a dated attestation does not count today (future, stale or undated where ages apply); else None."""
    today = today or today_utc()
    where = ("manual", item.index)
    if in_future(item.on, today):
        return SIGNOFF_FUTURE.finding(checklist.location((*where, "on")), f"{item.id} attested on {item.on}, "
                                      "a date in the future")
    age = effective_max_age("attestation", max_age, checklist.max_age, item.max_age)
    if age is None:
        return None
    if not item.on:
        return MANUAL_UNDATED.finding(checklist.location((*where, "id")), f"{item.id} has no `on:` date, and "
                                      f"attestations count for {age.text}")
    since = stale_since(item.on, age, today)
    if since is not None:
        return MANUAL_STALE.finding(checklist.location((*where, "on")), f"{item.id} attested on {item.on} is stale "
                                    f"since {since} (max_age {age.text})")
    return None


def check_attestation_date(checklist: Checklist, item: ManualItem, max_age: Mapping[str, str] | None) -> None:
    """Raise what a run makes of an attestation's date; nothing when it counts.

    A future date is an error at its line, a stale one failed, none (where attestations expire) not configured.
    """
    problem = attestation_problem(checklist, item, max_age)
    if problem is None:
        return
    if problem.rule is SIGNOFF_FUTURE:
        raise CheckError(f"{problem.location}: {problem.message}. Fix: {problem.hint}")
    if problem.rule is MANUAL_UNDATED:
        raise NotConfigured(f"{problem.message}; {problem.hint} (at {problem.location})")
    age = effective_max_age("attestation", max_age, checklist.max_age, item.max_age)
    raise CheckFailed(f"{problem.message}; {problem.hint}", expected=f"attested within {age.text if age else '?'}",
                      received=f"attested on {item.on}")


def lint(
    checklist: Checklist,
    automated: set[str] | None = None,
    today: date | None = None,
    max_age: Mapping[str, str] | None = None,
) -> Iterator[Finding]:
    """Governance findings for one checklist; ``automated`` holds the DoD ids the kind verifies itself.

    ``max_age`` is gtmcheck.yml's ``governance.max_age`` (the checklist's own may only shorten it).
    """
    today = today or today_utc()
    builder = checklist.built_by.lower()
    yield from _signoff_findings(checklist, max_age, today)
    for item in checklist.manual.values():
        where = ("manual", item.index)
        if not item.evidence:
            yield MANUAL_NO_EVIDENCE.finding(checklist.location((*where, "id")), f"{item.id} has no evidence")
        if not item.attested_by:
            yield MANUAL_NO_ATTESTER.finding(checklist.location((*where, "id")), f"{item.id} names no attester")
        elif item.attested_by.lower() == builder:
            yield MANUAL_BY_BUILDER.finding(
                checklist.location((*where, "attested_by")), f"{item.id} attested by its builder"
            )
        problem = attestation_problem(checklist, item, max_age, today)
        if problem is not None:
            yield problem
        if automated and item.id in automated:
            yield MANUAL_SHADOWS_CHECK.finding(
                checklist.location((*where, "id")), f"{item.id} is verified automatically by this checklist"
            )


def _signoff_findings(checklist: Checklist, max_age: Mapping[str, str] | None, today: date) -> Iterator[Finding]:
    if not checklist.signoffs:
        yield SIGNOFF_MISSING.finding(
            checklist.location(("name",)),
            f"{checklist.name!r} is not signed off; go-live is blocked",
        )
        return
    verdicts, unmet = review_signers(checklist, max_age, today)
    yield from (v.problem for v in verdicts if v.problem is not None)
    for requirement in unmet:
        yield SIGNOFF_ROLE_MISSING.finding(
            checklist.location(("signoff",)),
            f"needs a {requirement.function} signer ({' or '.join(requirement.roles)}) who did not build it",
            hint=f"add `- {{by: <email>, role: {requirement.roles[0]}, on: YYYY-MM-DD}}` to `signoff:`",
        )


# Every sign-off finding keeps a checklist from going live (GOV001 and GOV011 too, though lint only warns: the
# work may be fine, its acceptance is missing); a stale or future attestation blocks through its item's status.
_BLOCKING = (SIGNOFF_MISSING, SIGNOFF_BY_BUILDER, SIGNOFF_ROLE, SIGNOFF_FUTURE, SIGNOFF_ROLE_MISSING,
             SIGNOFF_SAME_PERSON, SIGNOFF_STALE)


def blocking_reasons(
    checklist: Checklist, max_age: Mapping[str, str] | None = None, today: date | None = None
) -> list[str]:
    """Why governance alone keeps this checklist from going live (empty when it does not)."""
    findings = _signoff_findings(checklist, max_age, today or today_utc())
    return [f"{checklist.display}: {f.message}" for f in findings if f.rule in _BLOCKING]
