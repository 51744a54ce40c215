"""What a kind provides, and the pieces it hands to the rest of gtmcheck.

A kind knows one definition of done: its schema fragment, its lint rules and how each DoD item is
verified. It knows nothing of pytest, the CLI or report formats, and talks to vendors only through the
``RunContext`` it is given.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, cast, runtime_checkable

from ..errors import Evidence, Location, SpecError
from ..schema import HEADER, kind_schema

if TYPE_CHECKING:
    from ..context import RunContext
    from ..dod import RoleRequirement
    from ..findings import Finding
    from ..spec import Checklist


# What a check may need of the environment. The run checks the environment once, before any check runs,
# for what the collected checks declare (``gtmcheck.preflight``), so a future kind only declares its needs.
CRM = "crm"  # a `crm:` block that can be connected (token set, scenario file there, ...)
WRITES = "writes"  # `writes: true`: the check creates synthetic records
WAREHOUSE = "warehouse"  # a `warehouse: {url: ...}` SQLAlchemy can parse
WEB = "web"  # campaign URLs are fetched (the sandbox site's scenario file must exist)
NEEDS = frozenset({CRM, WRITES, WAREHOUSE, WEB})


SpecT = TypeVar("SpecT")

# How a kind reads another checklist it refers to (an attribution checklist names its UTM checklist): the
# loader ``gtmcheck.spec`` registers when it is imported. A hook, not an import: spec imports the kinds.
_checklist_loader: Callable[[Path], Checklist] | None = None


def register_checklist_loader(loader: Callable[[Path], Checklist]) -> None:
    global _checklist_loader
    _checklist_loader = loader


def load_other_checklist(path: Path) -> Checklist:
    """Load a checklist this one refers to, validated as every checklist is (``SpecError`` at its line)."""
    if _checklist_loader is None:  # a checklist exists only once gtmcheck.spec was imported
        raise RuntimeError("gtmcheck.spec registers the checklist loader on import")
    return _checklist_loader(path)


def cached_spec(checklist: Checklist, key: str, compile_spec: Callable[[Checklist], SpecT]) -> SpecT:
    """The checklist's compiled spec under ``key``, compiled on first use (``prepare`` normally did it at load)."""
    spec = checklist.cache.get(key)
    if spec is None:
        spec = compile_spec(checklist)
        checklist.cache[key] = spec
    return cast(SpecT, spec)


@dataclass(frozen=True)
class Check:
    """One verifiable unit of a DoD item: ``UTM-URLS-RESOLVE[spring-launch]`` is one check.

    ``run`` returns the evidence of a pass, raises ``CheckFailed`` when the item is not done and
    ``CheckError`` when it could not be verified. ``needs`` says what of the environment it uses (``NEEDS``);
    a check that needs nothing (an offline lint) runs in any environment. A check that needs ``WRITES`` is not
    run in a read-only environment (``not_configured``); ``instead`` names the read-only check that covers it
    there, for that message (``the routing of the real leads ... (ROUTING-ALERTS[audit])``).
    """

    dod_id: str
    run: Callable[[RunContext], Evidence]
    location: Location
    param: str | None = None
    description: str = ""
    needs: frozenset[str] = frozenset()
    # the check also reads the item's ``manual:`` attestation (a human sign-off it verifies the signer of), so
    # governance's GOV008 does not call that entry redundant
    reads_attestation: bool = False
    instead: str = ""  # what a read-only run checks in place of this check when it needs ``WRITES``

    @property
    def name(self) -> str:
        return f"{self.dod_id}[{self.param}]" if self.param else self.dod_id


@runtime_checkable
class Kind(Protocol):
    """The contract every kind module fulfils (checked when kinds are registered)."""

    name: str
    schema: Mapping[str, Any]  # JSON Schema ``properties`` for the kind's own keys
    closed: bool  # False while a kind is not built: unknown keys are then allowed

    @property
    def validation_schema(self) -> Mapping[str, Any]: ...

    def prepare(self, checklist: Checklist) -> None:
        """Compile what the checks need (patterns, files); raise SpecError at a line if impossible."""

    def lint(self, checklist: Checklist) -> Iterable[Finding]:
        """Static findings; never touches the network."""

    def checks(self, checklist: Checklist) -> Iterable[Check]:
        """The automated checks this checklist configures; DoD items without one are manual or not configured."""

    def observe(self, checklist: Checklist, ctx: RunContext) -> Mapping[str, Any]:
        """What of the live stack this checklist's DoD rests on, read without writing, for the baseline.

        A JSON-able mapping of named sections (``properties``, ``owners``, ``totals``, ...) whose leaves are
        scalars or lists of scalars; ``gtmcheck baseline save`` writes it and the nightly run diffs tonight's
        against it (``gtmcheck.baseline``). Raise ``CheckError`` when the stack cannot be read.
        """

    def extra_signoff_roles(self, checklist: Checklist) -> Iterable[RoleRequirement]:
        """Sign-offs this checklist needs beyond its kind's (``dod.KIND_SIGNERS``) or work type's.

        The hook for cross-functional parts: a crm checklist with a ``lifecycle:`` model returns
        ``dod.CROSS_FUNCTIONAL_SIGNER`` (the CRO or VP Revenue signs too). Read from the checklist's
        structure, so leaving a header key out cannot drop a signer.
        """


class KindBase:
    """Shared plumbing for kinds: the validation schema built from the kind's fragment."""

    name: str = ""
    schema: Mapping[str, Any] = {}
    closed: bool = True

    @cached_property
    def validation_schema(self) -> Mapping[str, Any]:
        return kind_schema(self.name, self.schema, closed=self.closed)

    def prepare(self, checklist: Checklist) -> None:
        return None

    def lint(self, checklist: Checklist) -> Iterable[Finding]:
        return ()

    def checks(self, checklist: Checklist) -> Iterable[Check]:
        return ()

    def observe(self, checklist: Checklist, ctx: RunContext) -> Mapping[str, Any]:
        return {}  # a kind that observes nothing has no baseline

    def observe_needs(self, checklist: Checklist) -> frozenset[str]:
        """What of the environment ``observe`` reads (``NEEDS``): the run checks it before BASELINE-DRIFT runs.

        Optional beside the ``Kind`` protocol; without it, what the kind's checks need, less ``writes``.
        """
        return frozenset().union(*(c.needs for c in self.checks(checklist))) - {WRITES}

    def extra_signoff_roles(self, checklist: Checklist) -> Iterable[RoleRequirement]:
        return ()  # most checklists have no cross-functional part


class PendingKind(KindBase):
    """A kind whose automated checks are not built yet: its DoD items are attested or not configured.

    Its keys are not validated yet (the kind's issue defines them), so checklists written today keep
    loading when it lands.
    """

    closed = False

    def __init__(self, name: str) -> None:
        self.name = name

    def prepare(self, checklist: Checklist) -> None:
        """Open keys, but not typos of the shared header: ``signof:`` must not silently mean no sign-off."""
        header = sorted(HEADER)
        for key in checklist.data:
            if key in HEADER:
                continue
            close = difflib.get_close_matches(key, header, n=1, cutoff=0.75)
            if close:
                raise SpecError(
                    f"unknown key {key!r}", checklist.location((key,), key=True), f"did you mean `{close[0]}`?"
                )
