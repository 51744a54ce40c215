"""A ``kind: webhooks`` checklist compiled once at load: the schema registry, events, sample sources.

Everything that makes the checklist unusable is a ``SpecError`` at its line here (exit 2 on ``gtmcheck
lint``, a collection error in a run): a missing schema folder, a schema that is not one, an event without a
schema for its sender or receiver version, an unsafe ``where``, an hmac-sha256 receiver without its headers.
"""

from __future__ import annotations

import glob
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ... import secrets
from ...errors import Location, SpecError, SpecErrors, relpath
from ..base import CRM, WAREHOUSE
from .load import SchemaInputError
from .schema import DEFAULT_SAMPLE_ROWS
from .signing import SigningScheme
from .validate import SchemaRegistry

if TYPE_CHECKING:
    from ...spec import Checklist

CACHE_KEY = "webhooks.spec"
DEFAULT_ENVELOPE = {"event": "/event", "version": "/version"}
MAX_SAMPLE_FILES = 10_000


@dataclass(frozen=True)
class EventSpec:
    """One declared event: its sender and receiver versions, retired versions, envelope pointers."""

    name: str
    sender: str
    receiver: str
    retired: tuple[str, ...]
    event_pointer: str
    version_pointer: str
    index: int

    @property
    def envelope(self) -> tuple[str, str]:
        """The pointers where a payload names its event and version: they differ by version on purpose."""
        return (self.event_pointer, self.version_pointer)


@dataclass(frozen=True)
class SampleSource:
    """One entry of ``samples:``; ``label`` names it in item names and messages."""

    kind: str  # "files" | "delivery_log" | "table"
    label: str
    index: int
    files: tuple[str, ...] = ()
    table: str = ""
    payload: str = "payload"
    key: str = "id"
    where: str | None = None
    limit: int = DEFAULT_SAMPLE_ROWS

    @property
    def needs(self) -> frozenset[str]:
        if self.kind == "delivery_log":
            return frozenset({CRM})
        if self.kind == "table":
            return frozenset({WAREHOUSE})
        return frozenset()


@dataclass(frozen=True)
class ReceiverSpec:
    """The live receiver whose signature checking is tested; ``signing`` is the checklist's mapping as written."""

    url: str
    signing: dict[str, Any]
    location: Location


@dataclass
class WebhooksSpec:
    """What the checks and lint rules of one webhooks checklist work from."""

    checklist: Checklist
    registry: SchemaRegistry
    events: list[EventSpec]
    samples: list[SampleSource]
    receiver: ReceiverSpec | None
    enum_additions: str
    base: Path
    cache: dict[str, Any] = field(default_factory=dict)

    def event(self, name: str) -> EventSpec | None:
        return next((e for e in self.events if e.name == name), None)

    def location(self, *path: str | int, key: bool = False) -> Location:
        return self.checklist.location(path, key=key)


def compile_spec(checklist: Checklist) -> WebhooksSpec:
    """The checklist's spec; every problem found is raised together, each at its line."""
    data = checklist.data
    base = checklist.path.parent
    problems: list[SpecError] = []
    registry = _registry(checklist, base, problems)
    envelope = {**DEFAULT_ENVELOPE, **(data.get("envelope") or {})}
    events: list[EventSpec] = []
    for i, entry in enumerate(data.get("events") or []):
        own = {**envelope, **(entry.get("envelope") or {})}
        event = EventSpec(entry["event"], entry["sender"], entry["receiver"], tuple(entry.get("retired") or ()),
                          own["event"], own["version"], i)
        if any(e.name == event.name for e in events):
            problems.append(SpecError(f"event {event.name!r} is declared twice", checklist.location(
                ("events", i, "event")), "keep one entry per event"))
            continue
        events.append(event)
        if registry is not None:
            problems += _missing_versions(checklist, registry, event)
    if events and "schemas" not in data:
        problems.append(SpecError("`events` are declared but no `schemas`", checklist.location(("events",), key=True),
                                  "add `schemas: <folder>` holding <event>/<version>.json"))
    samples = [_source(checklist, base, i, entry, problems) for i, entry in enumerate(data.get("samples") or [])]
    receiver = _receiver(checklist, problems)
    if problems:
        raise problems[0] if len(problems) == 1 else SpecErrors(problems)
    return WebhooksSpec(checklist, registry or SchemaRegistry(), events, samples, receiver,
                        data.get("enum_additions", "compatible"), base)


def _registry(checklist: Checklist, base: Path, problems: list[SpecError]) -> SchemaRegistry | None:
    raw = checklist.data.get("schemas")
    if raw is None:
        return None
    if isinstance(raw, str):
        try:
            return SchemaRegistry.from_folder(base / raw)
        except SchemaInputError as exc:
            problems.append(_schema_error(checklist, base, exc, ("schemas",)))
            return None
    registry = SchemaRegistry()
    for i, pattern in enumerate(raw):
        found = _expand(base, pattern)
        if not found:
            problems.append(SpecError(f"schemas entry {pattern!r} matches no file",
                                      checklist.location(("schemas", i)),
                                      "check the path; it is relative to the checklist"))
        for file in found:
            try:
                registry.add_by_id(file)
            except SchemaInputError as exc:
                problems.append(_schema_error(checklist, base, exc, ("schemas", i)))
    return registry


def _schema_error(checklist: Checklist, base: Path, exc: SchemaInputError, at: tuple[str | int, ...]) -> SpecError:
    shown = exc.args[0].split(": ", 1)[0]
    return SpecError(f"schema {_relative(shown, base)}: {exc.problem}", checklist.location(at), exc.hint)


def _relative(name: str, base: Path) -> str:
    """A schema path as the checklist names it (below its folder), else as seen from the working directory."""
    try:
        return str(Path(name).resolve().relative_to(base.resolve()))
    except (ValueError, OSError):
        return relpath(name)


def _missing_versions(checklist: Checklist, registry: SchemaRegistry, event: EventSpec) -> list[SpecError]:
    problems = []
    known = registry.versions(event.name)
    for side in ("sender", "receiver"):
        version = getattr(event, side)
        if registry.get(event.name, version) is None:
            have = f"the registry has {', '.join(known)}" if known else f"the registry has no schema for {event.name}"
            problems.append(SpecError(
                f"{event.name} {side} version {version!r} has no schema ({have})",
                checklist.location(("events", event.index, side)),
                f"add {event.name}/{version}.json to the schemas, or declare a version that has one",
            ))
    return problems


def _expand(base: Path, pattern: str) -> list[Path]:
    """Files matching ``pattern`` relative to ``base``, sorted; a path without wildcards is itself."""
    full = str(base / pattern)
    if not glob.has_magic(full):
        return [Path(full)] if Path(full).is_file() else []
    return sorted(Path(p) for p in glob.glob(full, recursive=True) if Path(p).is_file())[:MAX_SAMPLE_FILES]


def expand_files(base: Path, patterns: tuple[str, ...]) -> list[Path]:
    """Every sample file of a ``files:`` source, without duplicates, in order."""
    seen: dict[Path, None] = {}
    for pattern in patterns:
        for path in _expand(base, pattern):
            seen.setdefault(path, None)
    return list(seen)[:MAX_SAMPLE_FILES]


def _source(checklist: Checklist, base: Path, i: int, entry: dict[str, Any],
            problems: list[SpecError]) -> SampleSource:
    kinds = [k for k in ("files", "delivery_log", "table") if k in entry]
    where = checklist.location(("samples", i))
    if len(kinds) != 1:
        problems.append(SpecError(
            f"a sample source names {'both ' + ' and '.join(kinds) if kinds else 'no source'}", where,
            "write one source per entry: {files: ...}, {delivery_log: sandbox} or "
            "{table: ..., payload: ..., key: ...}"))
        return SampleSource("files", f"samples[{i}]", i)
    kind = kinds[0]
    table_only = [k for k in ("payload", "key", "where") if k in entry]
    if kind != "table" and table_only:
        problems.append(SpecError(f"`{table_only[0]}` belongs to a `table` source, not `{kind}`",
                                  checklist.location(("samples", i, table_only[0]), key=True),
                                  "drop it, or read the payloads from a table"))
    if kind == "files" and "limit" in entry:
        problems.append(SpecError("`limit` applies to a table or the delivery log, not to files",
                                  checklist.location(("samples", i, "limit"), key=True), "drop it"))
    limit = int(entry.get("limit", DEFAULT_SAMPLE_ROWS))
    if kind == "files":
        patterns = (entry["files"],) if isinstance(entry["files"], str) else tuple(entry["files"])
        for j, pattern in enumerate(patterns):
            if not glob.has_magic(pattern) and not (base / pattern).is_file():
                at = ("samples", i, "files") if isinstance(entry["files"], str) else ("samples", i, "files", j)
                problems.append(SpecError(f"sample file {pattern!r} does not exist", checklist.location(at),
                                          "check the path; it is relative to the checklist"))
        label = "files:" + ",".join(patterns)
        return SampleSource("files", label, i, files=patterns)
    if kind == "delivery_log":
        return SampleSource("delivery_log", "delivery_log", i, limit=limit)
    filter_ = entry.get("where")
    if filter_ is not None and any(bad in filter_ for bad in (";", "--", "/*")):
        problems.append(SpecError("the `where` filter contains ';', '--' or '/*'",
                                  checklist.location(("samples", i, "where")),
                                  "write one SQL condition without statement separators or comments"))
    return SampleSource("table", f"table:{entry['table']}", i, table=entry["table"],
                        payload=entry.get("payload", "payload"), key=entry.get("key", "id"), where=filter_,
                        limit=limit)


def _receiver(checklist: Checklist, problems: list[SpecError]) -> ReceiverSpec | None:
    raw = checklist.data.get("receiver")
    if raw is None:
        return None
    signing = dict(raw["signing"])
    secrets.register(str(signing["secret"]))
    try:  # the signature checks' own reading of it: one set of rules, errors at the receiver's line
        SigningScheme.from_mapping(signing, checklist.location(("receiver", "signing"), key=True))
    except SpecError as exc:
        problems.append(exc)
    return ReceiverSpec(raw["url"], signing, checklist.location(("receiver",), key=True))
