"""Routing lint against the CRM's owners (``ROUTE2xx``): assignees that do not exist, left, or are the wrong type.

The offline lint (``rules``) cannot know who exists; ``gtmcheck lint --env NAME`` fetches the CRM's
owners once and passes them here. Assignments are read from the checklist as written, so every finding points
at the email itself: ``rules[i].assign.owner``, ``rules[i].assign.queue``, ``rules[i].assign.round_robin[k]``
and ``fallback.owner``/``fallback.queue``. ``owner_of: account`` names nobody and is not checked. Emails are
compared case-insensitively; owners without an email (some integration users) are ignored.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from difflib import SequenceMatcher
from typing import TYPE_CHECKING, Any

from ...findings import Finding, Severity, register

if TYPE_CHECKING:
    from ...connectors.crm import Owner
    from ...spec import Checklist

E, W = Severity.ERROR, Severity.WARNING
CLOSE_PART = 0.65  # SequenceMatcher ratio of the local part and of the domain that makes a suggestion
MAX_SUGGESTIONS = 3

UNKNOWN_OWNER = register(
    "ROUTE201",
    "owner.unknown",
    E,
    "An owner, queue or round-robin member is not an owner in the CRM.",
    "fix the address, or create the user or queue in the CRM",
    "Anti-pattern: `owner: ana@acme.example` when the CRM knows `anna@acme.example`, or a rep who was never "
    "given a seat: the CRM's workflow cannot assign to them and the lead stays unowned or falls through. "
    "Best practice: every assignee is an owner in the CRM; checked by `gtmcheck lint --env NAME`.",
)
INACTIVE_OWNER = register(
    "ROUTE202",
    "owner.inactive",
    E,
    "An owner or queue (the fallback's too) is deactivated in the CRM.",
    "reactivate the user or queue in the CRM, or assign to an active owner",
    "Anti-pattern: a rep leaves, their user is deactivated, and the rule keeps routing enterprise leads to "
    "them: nobody works those leads. Best practice: when someone leaves, reassign their rules in the same "
    "change; checked by `gtmcheck lint --env NAME`.",
)
RR_INACTIVE = register(
    "ROUTE203",
    "round-robin.inactive-member",
    E,
    "A round-robin pool has members who are deactivated in the CRM.",
    "remove the inactive members from the pool (and from the CRM's rotation), or reactivate them",
    "Anti-pattern: a pool of four reps where one has left: unless the CRM skips inactive users, every fourth "
    "lead goes to nobody. Best practice: pools list only active reps; checked by `gtmcheck lint --env NAME`.",
)
WRONG_TYPE = register(
    "ROUTE204",
    "owner.type-mismatch",
    W,
    "`queue:` names a person, or `owner:` names a queue, in the CRM.",
    "write `owner:` for a person and `queue:` for a queue",
    "Anti-pattern: `queue: anna@acme.example`. It routes, but readers (and alerts on default-queue "
    "accumulation) take a person for a queue or a queue for a person. Best practice: the key says what the CRM "
    "says it is.",
)

_TYPE = {"owner": "PERSON", "queue": "QUEUE"}
_NOUN = {"PERSON": "a person", "QUEUE": "a queue"}


def lint_owners(checklist: Checklist, owners: Sequence[Owner]) -> list[Finding]:
    """Findings for the assignees of a routing checklist that the CRM's ``owners`` do not back."""
    return sorted(_lint(checklist, _index(owners)), key=Finding.sort_key)


def _index(owners: Sequence[Owner]) -> dict[str, Owner]:
    """Owners by lower-case email; where the CRM lists an email twice (a re-created user), the active one."""
    by_email: dict[str, Owner] = {}
    for owner in owners:
        if not owner.email:
            continue
        key = owner.email.strip().lower()
        seen = by_email.get(key)
        if seen is None or (owner.active and not seen.active):
            by_email[key] = owner
    return by_email


def _lint(checklist: Checklist, index: Mapping[str, Owner]) -> Iterator[Finding]:
    data = checklist.data
    rules = data.get("rules") or []
    for i, raw in enumerate(rules):
        assign = raw.get("assign") if isinstance(raw, Mapping) else None
        if not isinstance(assign, Mapping):
            continue
        rule = f"rule {raw.get('id', f'#{i + 1}')}"
        for key in ("owner", "queue"):
            if isinstance(assign.get(key), str):
                yield from _single(checklist, index, ("rules", i, "assign", key), key, assign[key], f"of {rule}")
        pool = assign.get("round_robin")
        if isinstance(pool, list):
            yield from _pool(checklist, index, i, rule, pool)
    fallback = data.get("fallback")
    if isinstance(fallback, Mapping):
        for key in ("owner", "queue"):
            if isinstance(fallback.get(key), str):
                yield from _single(checklist, index, ("fallback", key), key, fallback[key], "of the fallback")


def _single(
    checklist: Checklist, index: Mapping[str, Owner], path: tuple[str | int, ...], key: str, email: str, of: str
) -> Iterator[Finding]:
    where = checklist.location(path)
    owner = index.get(email.strip().lower())
    if owner is None:
        yield UNKNOWN_OWNER.finding(
            where, f"{key} {email} {of} is not an owner in the CRM", hint=_unknown_hint(email, index, key)
        )
        return
    if not owner.active:
        yield INACTIVE_OWNER.finding(where, f"{key} {email} {of} is deactivated in the CRM")
    if owner.type != _TYPE[key]:
        is_, not_ = _NOUN[owner.type], _NOUN[_TYPE[key]]
        yield WRONG_TYPE.finding(where, f"{key} {email} {of} is {is_} in the CRM, not {not_}")


def _pool(checklist: Checklist, index: Mapping[str, Owner], i: int, rule: str, pool: list[Any]) -> Iterator[Finding]:
    inactive: dict[str, int] = {}  # lower-case email -> its first position in the pool
    for k, email in enumerate(pool):
        if not isinstance(email, str):
            continue
        owner = index.get(email.strip().lower())
        if owner is None:
            yield UNKNOWN_OWNER.finding(
                checklist.location(("rules", i, "assign", "round_robin", k)),
                f"round-robin member {email} of {rule} is not an owner in the CRM",
                hint=_unknown_hint(email, index, "round_robin"),
            )
        elif not owner.active:
            inactive.setdefault(email.strip().lower(), k)
    if inactive:
        names = ", ".join(pool[k] for k in inactive.values())
        yield RR_INACTIVE.finding(
            checklist.location(("rules", i, "assign", "round_robin", min(inactive.values()))),
            f"round-robin pool of {rule} has {len(inactive)} inactive member(s): {names}; the pool keeps "
            "assigning to them unless the CRM skips inactive users",
        )


def _unknown_hint(email: str, index: Mapping[str, Owner], key: str) -> str:
    close = _close_matches(email.strip().lower(), index)
    if close:
        shown = " or ".join(e if index[e].active else f"{e} (inactive)" for e in close)
        return f"did you mean {shown}?"
    what = "queue" if key == "queue" else "user"
    return f"create the {what} in the CRM, or fix the address (owners are matched by email)"


def _close_matches(email: str, known: Mapping[str, Owner]) -> list[str]:
    """Known emails with the same local part, or with a similar local part and a similar domain.

    Comparing the whole address would suggest ``dev@acme.example`` for ``ben@acme.example``: the shared
    domain outweighs the different names.
    """
    local, _, domain = email.partition("@")
    scored: list[tuple[float, str]] = []
    for candidate in known:
        c_local, _, c_domain = candidate.partition("@")
        by_local = SequenceMatcher(None, local, c_local).ratio()
        by_domain = SequenceMatcher(None, domain, c_domain).ratio()
        if local == c_local or (by_local >= CLOSE_PART and by_domain >= CLOSE_PART):
            scored.append((by_local + by_domain, candidate))
    scored.sort(key=lambda t: (-t[0], t[1]))
    return [candidate for _, candidate in scored[:MAX_SUGGESTIONS]]
