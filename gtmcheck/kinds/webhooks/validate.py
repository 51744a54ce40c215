"""Validate captured webhook payloads against the versioned schemas a checklist names.

A ``SchemaRegistry`` maps (event, version) to a schema file, from a folder ``<event>/<version>.json`` or from
files whose ``$id`` ends in ``/<event>/<version>.json``. Local ``$ref``s (same file, sibling files) follow
load.py's rules (checked when the registry is built, so a bad one is an input error, not a failure mid-run);
remote ones are refused. Each schema is compiled once, for its draft (7 or 2020-12, by ``$schema``), and
reused for every payload; ``validate_payload`` turns jsonschema's errors into ``SampleError``s that are safe
to print: the value shortened and secrets masked.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import jsonschema
from jsonschema.exceptions import ValidationError, relevance
from referencing import Registry, Resource
from referencing.exceptions import Unresolvable
from referencing.jsonschema import DRAFT202012

from ... import secrets
from ...jsonrefs import schema_refs
from ...visible import json_text, shorten, visible
from . import fastpath
from .load import SchemaFile, SchemaInputError, load_schema, resolve_ref

VERSION_NAME = re.compile(r"^v?\d+(?:\.\d+){0,3}$")
ID_TAIL = re.compile(r"/(?P<event>[^/]+)/(?P<version>[^/]+)\.json$")
SECRET_KEY = re.compile(r"(?i)(secret|password|passwd|token|api[_-]?key|authorization|signature|credential)")
MAX_VALUE_CHARS = 80
MAX_MESSAGE_CHARS = 300
MAX_REF_FILES = 256  # sibling files one schema may pull in: a bound, not a limit anyone should meet


@dataclass(frozen=True)
class SampleError:
    """One way a payload fails its schema: where (``pointer``), which ``keyword``, the ``value``, why."""

    pointer: str
    keyword: str
    value: str
    message: str

    def __str__(self) -> str:
        return f"{self.pointer} ({self.keyword}): {self.message}"


@dataclass
class LoadedSchema:
    """The schema of one event version; the jsonschema validator is built on first use and kept."""

    event: str
    version: str
    doc: SchemaFile
    _validator: Any = field(default=None, repr=False)

    @property
    def path(self) -> Path:
        return self.doc.path

    @property
    def root(self) -> Any:
        return self.doc.root

    @property
    def validator(self) -> Any:
        """A compiled jsonschema validator whose relative ``$ref``s resolve against the file, not ``$id``."""
        if self._validator is None:
            self._validator = _compile(self.doc)
        return self._validator


class SchemaRegistry:
    """(event, version) -> ``LoadedSchema``; built from a folder or a list of files."""

    def __init__(self) -> None:
        self._schemas: dict[tuple[str, str], LoadedSchema] = {}
        self._cache: dict[Path, SchemaFile] = {}

    @classmethod
    def from_folder(cls, folder: Path) -> SchemaRegistry:
        """Every ``<folder>/<event>/<version>.json``; other JSON files are definitions ``$ref``s may use."""
        registry = cls()
        if not folder.is_dir():
            problem = "does not exist" if not folder.exists() else "is not a folder"
            raise SchemaInputError(str(folder), problem,
                                   "name a folder holding <event>/<version>.json, e.g. account.updated/2.0.json")
        for event_dir in sorted(p for p in folder.iterdir() if p.is_dir()):
            for file in sorted(event_dir.glob("*.json")):
                if VERSION_NAME.match(file.stem):
                    registry.add(event_dir.name, file.stem, file)
        return registry

    @classmethod
    def from_files(cls, files: Iterable[Path]) -> SchemaRegistry:
        """Files whose ``$id`` ends in ``/<event>/<version>.json`` (the path itself need not)."""
        registry = cls()
        for file in files:
            registry.add_by_id(file)
        return registry

    def add_by_id(self, file: Path) -> LoadedSchema:
        """Load ``file`` as the event and version its ``$id`` names."""
        doc = load_schema(file, self._cache)
        sid = doc.root.get("$id") if isinstance(doc.root, dict) else None
        match = ID_TAIL.search(urlparse(sid).path) if isinstance(sid, str) else None
        if match is None:
            raise SchemaInputError(str(file), f"has no $id naming its event and version (found {sid!r})",
                                   'give it an "$id" ending in /<event>/<version>.json, '
                                   'e.g. "https://acme.example/schemas/account.updated/2.0.json"')
        return self.add(unquote(match["event"]), unquote(match["version"]), file)

    def add(self, event: str, version: str, file: Path) -> LoadedSchema:
        """Load ``file`` as ``event`` at ``version``; its ``$ref``s are checked now."""
        key = (event, version)
        if key in self._schemas:
            raise SchemaInputError(str(file), f"is a second schema for {event} {version} "
                                   f"(the first is {self._schemas[key].path})", "keep one file per event version")
        doc = load_schema(file, self._cache)
        _check_refs(doc)
        loaded = LoadedSchema(event, version, doc)
        self._schemas[key] = loaded
        return loaded

    def get(self, event: str, version: str) -> LoadedSchema | None:
        return self._schemas.get((event, version))

    def events(self) -> list[str]:
        return sorted({event for event, _ in self._schemas})

    def versions(self, event: str) -> list[str]:
        """The versions of ``event`` the registry holds, in version order (2.0 before 10.0)."""
        return sorted((v for e, v in self._schemas if e == event), key=version_key)

    def __iter__(self) -> Iterator[LoadedSchema]:
        return iter(self._schemas.values())

    def __len__(self) -> int:
        return len(self._schemas)


def version_key(version: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key: numeric parts as numbers, anything else as text after them."""
    parts = version.lstrip("vV").split(".")
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in parts)


def validate_payload(schema: LoadedSchema, payload: Any) -> list[SampleError]:
    """Every way ``payload`` fails ``schema``, most relevant first; an empty list when it is valid."""
    if fastpath.accepts(schema, payload):  # compiled (jsonschema-rs), trusted only where it agrees: no errors
        return []
    try:
        errors = sorted(schema.validator.iter_errors(payload), key=_order)
    except RecursionError:  # a payload (or a recursive schema over it) deeper than Python's stack
        return [SampleError("/", "depth", "…", "the payload nests too deeply to be validated")]
    except Unresolvable as exc:  # checked at load; a $ref only reachable through dynamic scope lands here
        raise SchemaInputError(str(schema.path), f"has a $ref that cannot be resolved ({exc})",
                               "point every $ref at this file or a sibling file") from None
    return [_sample_error(e) for e in errors]


def _order(error: ValidationError) -> tuple[Any, ...]:
    return (list(map(str, error.absolute_path)), relevance(error))


def _sample_error(error: ValidationError) -> SampleError:
    path = list(error.absolute_path)
    pointer = "/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in path) if path else "/"
    hidden = any(isinstance(p, str) and SECRET_KEY.search(p) for p in path)
    value = "***" if hidden else mask(json_text(error.instance, indent=None))
    message = error.message
    if hidden:
        message = message.replace(repr(error.instance), "***").replace(json_text(error.instance, indent=None),
                                                                         "***")
    return SampleError(pointer, str(error.validator), shorten(value, MAX_VALUE_CHARS),
                       shorten(mask(message), MAX_MESSAGE_CHARS))


def mask(text: str) -> str:
    """Registered secrets and credentials masked, hidden characters made visible."""
    return visible(secrets.redact(text))


def _check_refs(doc: SchemaFile, seen: set[Path] | None = None) -> None:
    """Resolve every ``$ref`` of ``doc`` and of the sibling files they reach, through load.py's rules."""
    seen = seen if seen is not None else set()
    if doc.path in seen:
        return
    seen.add(doc.path)
    if len(seen) > MAX_REF_FILES:
        raise SchemaInputError(str(doc.path), f"refers to more than {MAX_REF_FILES} schema files",
                               "merge the shared definitions into fewer files")
    for ref in schema_refs(doc.root):
        target, _, _ = resolve_ref(doc, ref, str(doc.path))
        if target is not doc:
            _check_refs(target, seen)


def _with_file_id(doc: SchemaFile) -> Any:
    """The schema with ``$id`` set to the file's URI: relative ``$ref``s then name sibling files."""
    if isinstance(doc.root, dict):
        return {**doc.root, "$id": doc.path.as_uri()}
    return doc.root


def _compile(doc: SchemaFile) -> Any:
    # jsonschema keeps no retrieved resource between validations: without the known siblings in the registry
    # (crawled once) every $ref re-read, re-parsed and re-checked its file: 15 payloads/s on the demo's
    # account.updated 2.0, 1,800/s with a retrieve cache alone (it crawls again per $ref), 2,500-4,000/s now
    retrieved: dict[str, Resource[Any]] = {}

    def retrieve(uri: str) -> Resource[Any]:
        if uri in retrieved:
            return retrieved[uri]
        parsed = urlparse(uri)
        if parsed.scheme != "file":
            raise SchemaInputError(str(doc.path), f"has a remote $ref {uri!r}, which is never fetched",
                                   "save that schema beside this one and refer to it by file name")
        sibling = load_schema(Path(unquote(parsed.path)), doc.cache)
        retrieved[uri] = Resource.from_contents(_with_file_id(sibling), default_specification=DRAFT202012)
        return retrieved[uri]

    contents = _with_file_id(doc)
    cls = jsonschema.validators.validator_for(contents, default=jsonschema.Draft202012Validator)
    known = [(d.path.as_uri(), Resource.from_contents(_with_file_id(d), default_specification=DRAFT202012))
             for d in list(doc.cache.values()) if d is not doc]  # the sibling files load.py already read
    registry = Registry(retrieve=retrieve).with_resources(known).crawl()  # type: ignore[call-arg]
    return cls(contents, registry=registry)
