"""CRM-HANDOFF-SLA: the sales handoff SLA, verified by the reconcile handoff check that measures it.

``handoff_sla: {team, within, measured_by}``. ``measured_by`` names a ``handoffs:`` entry of a reconcile
checklist: by id (``lead-to-sales``), searched in the run's project's reconcile checklists (its ``checks:``
folders), or as ``{checklist: checks/reconcile.gtm.yml, handoff: lead-to-sales}`` from the project root. The
entry is run as RECONCILE-HANDOFFS runs it (``reconcile.handoffs``), with the SLA this checklist declares
(``within``) in place of the entry's: every key the source fired must reach the destination within it. Without
``measured_by`` the SLA is only documented, and the item is attested under ``manual:`` (or not configured).

The reconcile checklist is read when the check runs (a kind sees its own checklist only): a file or handoff
that is not there is an error of the item, saying which file and ids it looked at.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ... import envvars, yamlfile
from ...errors import CheckError, CheckFailed, Evidence, SpecError, relpath
from ..base import WAREHOUSE, Check
from ..reconcile.handoffs import check_handoff, parse_handoff
from .model import CrmSpec, HandoffSla

if TYPE_CHECKING:
    from ...context import RunContext

DOD_ID = "CRM-HANDOFF-SLA"
CHECKLIST_SUFFIXES = (".gtm.yml", ".gtm.yaml")


def handoff_checks(spec: CrmSpec) -> Iterator[Check]:
    sla = spec.handoff_sla
    if sla is not None and sla.handoff is not None:
        yield Check(DOD_ID, partial(check_sla, sla=sla), spec.location("handoff_sla", "measured_by"),
                    param=sla.team, description=f"handoffs reach {sla.team} within {sla.within}",
                    needs=frozenset({WAREHOUSE}))


def _reconcile_files(ctx: RunContext, sla: HandoffSla) -> list[Path]:
    if sla.checklist is not None:
        path = (ctx.project.root / sla.checklist).resolve()
        if not path.is_file():
            raise CheckError(f"measured_by.checklist: no such file {sla.checklist!r} under the project root "
                             f"{relpath(ctx.project.root) or '.'}; give the reconcile checklist's path from there")
        return [path]
    try:
        return [p for p in ctx.project.checklist_files() if p.name.endswith(CHECKLIST_SUFFIXES)]
    except SpecError as exc:
        raise CheckError(f"could not list the project's checklists: {exc}") from None


def find_handoff(ctx: RunContext, sla: HandoffSla) -> tuple[Mapping[str, Any], Any, Path]:
    """The ``handoffs:`` entry ``sla.handoff`` names, its location and its file; ``CheckError`` when none."""
    files = _reconcile_files(ctx, sla)
    searched: list[str] = []
    reconcile: list[Path] = []
    for path in files:
        try:
            doc = yamlfile.load(path)
        except SpecError as exc:
            if sla.checklist is not None:
                raise CheckError(f"the reconcile checklist cannot be read: {exc.format()}") from None
            continue
        data = doc.data
        if not isinstance(data, dict) or data.get("kind") != "reconcile":
            if sla.checklist is not None:
                raise CheckError(f"{relpath(path)} is not a reconcile checklist (its kind is {data.get('kind')!r})"
                                 if isinstance(data, dict) else f"{relpath(path)} is not a checklist")
            continue
        envvars.expand(doc)
        reconcile.append(path)
        for i, entry in enumerate(data.get("handoffs") or []):
            if isinstance(entry, dict) and str(entry.get("id")) == sla.handoff:
                return entry, doc.location(("handoffs", i)), path
            if isinstance(entry, dict):
                searched.append(str(entry.get("id")))
    where = ", ".join(relpath(p) for p in reconcile) or "no reconcile checklist of the project"
    raise CheckError(f"measured_by: no reconcile handoff {sla.handoff!r} in {where} (handoffs there: "
                     f"{', '.join(searched) or 'none'}); name one of them, or declare it in a reconcile checklist")


def check_sla(ctx: RunContext, sla: HandoffSla) -> Evidence:
    """Run the reconcile handoff with this checklist's SLA."""
    entry, location, path = find_handoff(ctx, sla)
    try:
        handoff = parse_handoff({**entry, "within": sla.within}, location)
    except SpecError as exc:
        raise CheckError(f"the reconcile handoff {sla.handoff!r} cannot be used: {exc.format()}") from None
    source = f"reconcile handoff {sla.handoff!r} ({relpath(path)})"
    try:
        evidence = check_handoff(ctx, handoff)
    except CheckFailed as exc:
        raise CheckFailed(f"{sla.team} handoff SLA {sla.within} not met, measured by {source}: {exc.message}",
                          expected=exc.expected, received=exc.received, evidence=exc.evidence) from None
    evidence.summary = f"{sla.team} handoff SLA {sla.within} met, measured by {source}: {evidence.summary}"
    return evidence
