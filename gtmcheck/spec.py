"""Checklists: load a ``*.gtm.yml`` file, validate it against its kind's schema, give it a typed header.

Everything that can be wrong with a file is found here, at collection time, and raised as a
``SpecError`` at its line: a bad checklist is never a fake test failure.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import envvars, yamlfile
from .dod import DEFAULT_WORK_TYPE, KINDS, TEMPLATES, DodItem, WorkType
from .errors import Location, SpecError, SpecErrors
from .kinds import get_kind
from .kinds.base import register_checklist_loader
from .schema import HEADER, validate
from .yamlfile import Document, JsonPath

CHECKLIST_SUFFIXES = (".gtm.yml", ".gtm.yaml")


@dataclass(frozen=True)
class Signoff:
    """Who accepted the work; ``index`` is its place in a ``signoff:`` list (``None``: a single mapping)."""

    by: str
    role: str
    on: str
    index: int | None = None

    @property
    def path(self) -> JsonPath:
        """Where it is written, for findings at its line."""
        return ("signoff",) if self.index is None else ("signoff", self.index)


@dataclass(frozen=True)
class ManualItem:
    """A DoD item a person verified, with the evidence they saw."""

    id: str
    evidence: str | None
    attested_by: str | None
    on: str | None
    index: int
    max_age: str | None = None  # a shorter age for this attestation than the project's


@dataclass
class Checklist:
    """A loaded, validated checklist: the typed header plus the kind's raw (validated) body."""

    doc: Document
    kind: str
    name: str
    owner: str
    built_by: str
    signoffs: tuple[Signoff, ...]
    work_type: WorkType
    manual: dict[str, ManualItem]
    max_age: dict[str, str] = field(default_factory=dict)  # the checklist's own (shorter) ``max_age:``
    cache: dict[str, Any] = field(default_factory=dict)  # kinds keep compiled forms here

    @property
    def path(self) -> Path:
        return self.doc.path

    @property
    def signoff(self) -> Signoff | None:
        """The first signer (``None`` when nobody signed); ``signoffs`` has them all."""
        return self.signoffs[0] if self.signoffs else None

    @property
    def display(self) -> str:
        return self.doc.display

    @property
    def data(self) -> dict[str, Any]:
        data: dict[str, Any] = self.doc.data
        return data

    @property
    def dod(self) -> tuple[DodItem, ...]:
        return TEMPLATES[self.kind]

    def location(self, path: JsonPath = (), *, key: bool = False) -> Location:
        return self.doc.location(path, key=key)


def is_checklist(path: Path) -> bool:
    return path.name.endswith(CHECKLIST_SUFFIXES)


def load_checklist(path: Path) -> Checklist:
    """Parse, expand ``${ENV}``, validate and type one checklist file."""
    doc = yamlfile.load(path)
    if not isinstance(doc.data, dict):
        raise SpecError(
            "a checklist must be a mapping of keys", doc.location(()), "start with `kind:` and `name:` lines"
        )
    kind_name = doc.data.get("kind")
    if kind_name not in KINDS:
        where = doc.location(("kind",)) if "kind" in doc.data else doc.location(())
        got = f" {kind_name!r}" if isinstance(kind_name, str) else ""
        raise SpecError(
            f"unknown or missing kind{got}",
            where,
            f"add `kind:` with one of: {', '.join(KINDS)}",
        )
    envvars.expand(doc)
    kind = get_kind(kind_name)
    validate(doc, kind.validation_schema)
    data = doc.data
    raw_signoff = data.get("signoff")
    if isinstance(raw_signoff, list):
        signoffs = tuple(Signoff(**entry, index=i) for i, entry in enumerate(raw_signoff))
    else:
        signoffs = (Signoff(**raw_signoff),) if raw_signoff else ()
    manual: dict[str, ManualItem] = {}
    ids = {item.id for item in TEMPLATES[kind_name]}
    problems: list[SpecError] = []
    for i, entry in enumerate(data.get("manual", [])):
        if entry["id"] not in ids:
            problems.append(SpecError(
                f"manual item {entry['id']!r} is not in the {kind_name} definition of done",
                doc.location(("manual", i, "id")),
                f"use one of: {', '.join(sorted(ids))}",
            ))
            continue
        if entry["id"] in manual:
            problems.append(SpecError(
                f"manual item {entry['id']!r} is attested twice",
                doc.location(("manual", i, "id")),
                "keep one entry per DoD item",
            ))
            continue
        manual[entry["id"]] = ManualItem(
            entry["id"], entry.get("evidence"), entry.get("attested_by"), entry.get("on"), i, entry.get("max_age")
        )
    if problems:
        raise problems[0] if len(problems) == 1 else SpecErrors(problems)
    checklist = Checklist(
        doc=doc,
        kind=kind_name,
        name=data["name"],
        owner=data["owner"],
        built_by=data["built_by"],
        signoffs=signoffs,
        work_type=WorkType(data.get("work_type", DEFAULT_WORK_TYPE[kind_name])),
        manual=manual,
        max_age=dict(data.get("max_age") or {}),
    )
    kind.prepare(checklist)
    return checklist


def header_keys() -> frozenset[str]:
    return frozenset(HEADER)


register_checklist_loader(load_checklist)  # kinds that read another checklist (kinds.base.load_other_checklist)
