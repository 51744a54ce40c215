"""CRM-SIGNOFF, automatic: every role the checklist needs has signed it off, each a valid signer.

The roles are governance's (``governance.signoff_requirements``): marketing ops and sales ops for any crm
checklist, and the CRO or VP Revenue too when it has a ``lifecycle:`` model (``CrmKind.extra_signoff_roles``).
A signer counts when ``governance.review_signers`` says so: not the builder, in a fitting role, not signing
twice, not stale under ``governance.max_age``, not dated in the future. The check reads the checklist only
(it needs nothing of the environment), so the item is never attested by hand, and a missing or lapsed
sign-off fails the item by name instead of hiding in the governance section of the report.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Protocol

from ...errors import CheckFailed, Evidence, Location
from ..base import Check

if TYPE_CHECKING:
    from ...context import RunContext
    from ...dod import RoleRequirement
    from ...spec import Checklist

__all__ = ["DOD_ID", "signoff_checks"]

DOD_ID = "CRM-SIGNOFF"


class SignoffSpec(Protocol):
    """What this module needs of the crm kind's compiled spec."""

    @property
    def checklist(self) -> Checklist: ...

    def location(self, *path: str | int) -> Location: ...


def _role(requirement: RoleRequirement) -> str:
    return f"{requirement.function} ({' or '.join(requirement.roles)})"


def signoff_checks(spec: SignoffSpec) -> list[Check]:
    """The one CRM-SIGNOFF check of a crm checklist, at its ``signoff:`` (or its ``name:`` without one)."""
    where = spec.location("signoff") if "signoff" in spec.checklist.data else spec.location("name")
    return [Check(DOD_ID, partial(check_signoff, spec.checklist), where,
                  description="every role this checklist needs signed it off: a valid signer, not its builder")]


def check_signoff(checklist: Checklist, ctx: RunContext) -> Evidence:
    """Pass when each required role is filled by a valid signer; fail naming the roles that are not, and why."""
    needed, verdicts = ctx.review_signers(checklist)
    filled = {v.counts_for: v.signoff for v in verdicts if v.counts_for is not None}
    details = {"needed": [_role(r) for r in needed],
               "signers": [{"by": v.signoff.by, "role": v.signoff.role, "on": v.signoff.on,
                            "counts_for": v.counts_for.function if v.counts_for else None,
                            "problem": v.problem.message if v.problem else None} for v in verdicts]}
    missing = [r for r in needed if r not in filled]
    if missing:
        why = [f"{v.problem.message}" for v in verdicts if v.problem is not None]
        roles = ", ".join(_role(r) for r in missing)
        raise CheckFailed(
            f"no valid sign-off from {roles}" + (f" ({'; '.join(why)})" if why else ""),
            expected="a sign-off by " + ", ".join(_role(r) for r in needed) + ", each by a different person who "
            "did not build it, dated and not stale",
            received="signed by " + (", ".join(f"{v.signoff.by} as {v.signoff.role}" for v in verdicts) or "nobody"),
            evidence=Evidence(f"missing sign-off: {roles}", details),
        )
    signed = ", ".join(f"{r.function}: {filled[r].by} ({filled[r].role}, {filled[r].on})" for r in needed)
    return Evidence(f"signed off by every role it needs: {signed}", details)
