"""``gtmcheck baseline save`` and ``diff``: observe each checklist of the project in one environment.

Both only read the stack (``Kind.observe``); the environment is used with ``writes`` off whatever gtmcheck.yml
says, so not even a sandbox record is created. A checklist whose kind observes nothing is skipped with a note;
one that cannot be observed (the CRM or warehouse did not answer) is reported on its own and its baseline file
is left as it was.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import CheckError, ConfigError, ConnectorError, SpecError
from . import BaselineEntry, baseline_path, read_entry, relative_checklist, write_entry
from .check import compare
from .diff import Drift

if TYPE_CHECKING:
    from ..context import RunContext
    from ..kinds.base import Kind
    from ..project import Environment, Project
    from ..spec import Checklist


@dataclass
class Outcome:
    """What happened to one checklist: a file written (save), drifts found (diff), skipped, or failed."""

    checklist: str  # relative to the project root
    written: Path | None = None
    kept: Path | None = None  # saved again with nothing changed: the file (and its date) stays as it was
    drifts: list[Drift] = field(default_factory=list)
    since: str = ""
    note: str = ""  # why it was skipped
    error: str = ""  # why it could not be observed (or read)
    bad_input: bool = False  # the checklist or its baseline file is unusable: exit 2


@dataclass
class Outcomes:
    """Every checklist's outcome, and the exit code they make together."""

    items: list[Outcome] = field(default_factory=list)

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.items if o.error]

    def exit_code(self, *, drift_is_failure: bool = False) -> int:
        """2 unusable input (or nothing to compare), 1 a checklist could not be observed or drifted, else 0."""
        if any(o.bad_input for o in self.items):
            return 2
        if self.failed or (drift_is_failure and any(o.drifts for o in self.items)):
            return 1
        return 0


def checklist_files(project: Project, paths: Sequence[Path]) -> tuple[list[Path], list[SpecError]]:
    """The checklist files named (folders searched), or the project's ``checks:`` when none is named."""
    from ..linter import discover

    return discover(list(paths) or [project.root / p for p in project.check_paths])


def read_only(environment: Environment) -> Environment:
    """The environment with ``writes`` off: observing never creates a record, not even in a sandbox."""
    return dataclasses.replace(environment, writes=False)


@contextmanager
def observing(project: Project, environment: Environment) -> Iterator[RunContext]:
    """A run context for observing, closed afterwards (connections, the warehouse)."""
    from ..connectors.warehouse import Warehouse
    from ..context import RunContext

    ctx = RunContext(project, read_only(environment))
    try:
        yield ctx
    finally:
        for cached in list(ctx.cache.values()):  # the warehouses the kinds opened for this context
            if isinstance(cached, Warehouse):
                cached.close()
        ctx.close()


def _each(project: Project, paths: Sequence[Path], outcomes: Outcomes,
          select: str | None = None) -> Iterator[tuple[Checklist, Kind, str]]:
    """Each loadable checklist with its kind; an unusable file becomes an outcome with ``bad_input``.

    ``select``: only checklists whose file, name or kind contains it (case-insensitive), as ``-k`` says.
    """
    from ..kinds import get_kind
    from ..spec import load_checklist

    files, errors = checklist_files(project, paths)
    for error in errors:
        outcomes.items.append(Outcome(error.location.file if error.location else "?", error=error.format(),
                                      bad_input=True))
    for path in files:
        rel = relative_checklist(project.root, path)
        try:
            checklist = load_checklist(path)
        except SpecError as exc:
            outcomes.items.append(Outcome(rel, error=exc.format(), bad_input=True))
            continue
        if select and select.lower() not in f"{rel}\n{checklist.name}\n{checklist.kind}".lower():
            continue
        yield checklist, get_kind(checklist.kind), rel


def _failure(exc: Exception) -> str:
    if isinstance(exc, SpecError):
        return exc.format()
    return str(getattr(exc, "message", None) or exc)


OBSERVE_FAILURES = (CheckError, ConnectorError, ConfigError, SpecError)


def save_baselines(project: Project, environment: Environment, paths: Sequence[Path] = (),
                   now: Callable[[], datetime] = lambda: datetime.now(UTC), select: str | None = None) -> Outcomes:
    """Observe every checklist and write its baseline; a failure keeps that checklist's old file untouched."""
    outcomes = Outcomes()
    with observing(project, environment) as ctx:
        saved_on = ctx.today()
        for checklist, kind, rel in _each(project, paths, outcomes, select):
            try:
                observed = dict(kind.observe(checklist, ctx))
            except OBSERVE_FAILURES as exc:
                outcomes.items.append(Outcome(rel, error=_failure(exc)))
                continue
            if not observed:
                outcomes.items.append(Outcome(rel, note=f"the {checklist.kind} kind observes nothing yet"))
                continue
            entry = BaselineEntry(checklist=rel, kind=checklist.kind, name=checklist.name, owner=checklist.owner,
                                  environment=environment.name,
                                  saved_at=now().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                                  saved_on=saved_on, observed=observed)
            if _unchanged(project, checklist, entry):
                outcomes.items.append(Outcome(rel, kept=baseline_path(project.root, checklist)))
                continue
            outcomes.items.append(Outcome(rel, written=write_entry(project.root, entry)))
    return outcomes


def _unchanged(project: Project, checklist: Checklist, entry: BaselineEntry) -> bool:
    """The same observation of the same checklist in the same environment as the file holds already.

    Saving again then leaves the file byte for byte (its ``saved_on`` stays the date the state was first seen),
    so a nightly ``save`` in CI makes no commit when nothing changed.
    """
    try:
        old = read_entry(project.root, checklist)
    except SpecError:
        return False  # an unreadable file is replaced
    return old is not None and (old.observed, old.environment, old.name, old.owner, old.kind) == (
        entry.observed, entry.environment, entry.name, entry.owner, entry.kind)


def diff_baselines(project: Project, environment: Environment, paths: Sequence[Path] = (),
                   select: str | None = None) -> Outcomes:
    """Observe every checklist that has a baseline and diff it; one without a baseline gets a note."""
    outcomes = Outcomes()
    with observing(project, environment) as ctx:
        for checklist, kind, rel in _each(project, paths, outcomes, select):
            try:
                entry = read_entry(project.root, checklist)
            except SpecError as exc:
                outcomes.items.append(Outcome(rel, error=exc.format(), bad_input=True))
                continue
            if entry is None:
                where = baseline_path(project.root, checklist).relative_to(project.root).as_posix()
                outcomes.items.append(Outcome(rel, note=f"no baseline ({where} does not exist)"))
                continue
            try:
                result = compare(checklist, kind, ctx, entry)
            except OBSERVE_FAILURES as exc:
                outcomes.items.append(Outcome(rel, error=_failure(exc)))
                continue
            outcomes.items.append(Outcome(rel, drifts=result.drifts, since=result.since))
    return outcomes


def any_compared(outcomes: Iterable[Outcome]) -> bool:
    """Whether at least one checklist had a baseline to compare with (else ``diff`` is a usage error)."""
    return any(o.since or o.error and not o.bad_input for o in outcomes)

