"""The sandbox receiver's payload schemas: ``<folder>/<event>/<version>.json``, validated with jsonschema.

The sandbox knows nothing of the webhooks kind (layers point one way), so it keeps its own small registry:
every ``*.json`` under the folder is a ``referencing`` resource named by its file URI, so a relative ``$ref``
(``common.json#/$defs/name``, ``../hubspot-event.json#/$defs/eventId``) names a sibling file, whatever the
schema's ``$id`` says; nothing is ever fetched. A file whose name is a version (``2.0.json``, ``1.json``) in an
event folder is that event's schema at that version; other files are definitions. Each version's ``$ref``s
are inlined once at load (a recursive one stays a ``$ref``, made absolute), so validating a payload never
looks a reference up: the receiver judges every delivery of a routing run and must stay cheap.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import jsonschema
from jsonschema.exceptions import ValidationError
from referencing import Registry, Resource
from referencing.exceptions import Unresolvable
from referencing.jsonschema import DRAFT202012

from ..errors import Location, SpecError, UnreadableFile
from ..jsonrefs import schema_refs
from ..safefile import read_text_capped

VERSION_NAME = re.compile(r"^v?\d+(?:\.\d+){0,3}$")
MAX_SCHEMA_BYTES = 8 * 1024 * 1024
MAX_SCHEMA_FILES = 512


@dataclass(frozen=True)
class Invalid:
    """Why a payload fails its schema: the JSON pointer, the schema keyword, jsonschema's message."""

    pointer: str
    keyword: str
    message: str


def _pointer(parts: list[Any]) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def _first(errors: list[ValidationError]) -> Invalid:
    """The error a receiver reports: a missing required property first (the root cause), else the shallowest.

    A ``required`` error's pointer names the missing property (``/properties/arr``), not its parent object.
    """
    def key(error: ValidationError) -> tuple[int, int, str]:
        return (error.validator != "required", len(error.absolute_path), _pointer(list(error.absolute_path)))

    error = min(errors, key=key)
    path = list(error.absolute_path)
    if error.validator == "required" and isinstance(error.instance, dict):
        names: Any = error.validator_value
        missing = [n for n in names if n not in error.instance]
        if missing:
            path.append(missing[0])
    return Invalid(_pointer(path) or "/", str(error.validator), error.message)


class PayloadSchemas:
    """(event, version) -> a compiled validator, loaded once from a schemas folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder.resolve()
        self._validators: dict[tuple[str, str], Any] = {}
        resources: list[tuple[str, Resource[Any]]] = []
        versions: list[tuple[str, str, Any]] = []
        refs: list[tuple[Path, str]] = []
        files = sorted(self.folder.rglob("*.json"))
        if len(files) > MAX_SCHEMA_FILES:
            raise SpecError(f"{self.folder} holds {len(files)} schema files, more than {MAX_SCHEMA_FILES}",
                            Location(str(self.folder)), "point `webhooks.schemas` at the folder of one integration")
        for file in files:
            schema = _load(file)
            schema = {**schema, "$id": file.as_uri()}  # relative $refs name files, whatever $id says
            resources.append((file.as_uri(), DRAFT202012.create_resource(schema)))
            refs.extend((file, ref) for ref in schema_refs(schema))
            if file.parent.parent == self.folder and VERSION_NAME.match(file.stem):
                versions.append((file.parent.name, file.stem, schema))
        registry: Registry[Any] = Registry().with_resources(resources)  # nothing else: no retrieval, no network
        for file, ref in refs:
            try:
                registry.resolver(base_uri=file.as_uri()).lookup(ref)
            except Unresolvable:
                raise SpecError(f"has a $ref {ref!r} that names nothing in the schemas folder", Location(str(file)),
                                "point it at a definition in this file or a sibling file, such as "
                                "common.json#/$defs/name (nothing is fetched)") from None
        for event, version, schema in versions:
            cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
            uri = str(schema["$id"])
            try:
                flat = {**_inline(schema, registry.resolver(base_uri=uri), uri, (uri,)), "$id": uri}
            except (Unresolvable, RecursionError):  # deep or odd: validate through the registry instead
                flat = schema
            self._validators[(event, version)] = cls(flat, registry=registry)

    def has(self, event: str, version: str) -> bool:
        """True when the folder holds ``<event>/<version>.json``."""
        return (event, version) in self._validators

    def events(self) -> set[str]:
        """Every event the folder has a schema for."""
        return {event for event, _ in self._validators}

    def check(self, event: str, version: str, payload: Any) -> Invalid | None:
        """``None`` when ``payload`` is valid under ``event`` at ``version`` (which must exist), else why not."""
        validator = self._validators[(event, version)]
        if validator.is_valid(payload):
            return None
        return _first(list(validator.iter_errors(payload)))


def _load(file: Path) -> Any:
    try:
        text = read_text_capped(file, MAX_SCHEMA_BYTES, expect="a .json schema file")
    except UnreadableFile as exc:
        raise SpecError(f"schema file {file} {exc.problem}", Location(str(file)), exc.hint) from None
    try:
        schema = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SpecError(f"is not JSON ({exc.msg})", Location(str(file), exc.lineno, exc.colno),
                        "save the schema as JSON") from None
    if not isinstance(schema, dict):
        raise SpecError("is not a JSON Schema object", Location(str(file)), 'write a schema such as {"type": "object"}')
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    try:
        cls.check_schema(schema)
    except jsonschema.SchemaError as exc:
        raise SpecError(f"is not a valid JSON Schema at {_pointer(list(exc.path)) or '/'}: {exc.message}",
                        Location(str(file)), "correct that keyword") from None
    return schema


_DATA_KEYWORDS = {"const", "enum", "default", "examples"}  # their values are data, not schemas


def _inline(node: Any, resolver: Any, base: str, stack: tuple[str, ...]) -> Any:
    """``node`` with every ``$ref`` replaced by what it names; one already being inlined stays, absolute."""
    if isinstance(node, list):
        return [_inline(item, resolver, base, stack) for item in node]
    if not isinstance(node, dict):
        return node
    out = {k: v if k in _DATA_KEYWORDS else _inline(v, resolver, base, stack) for k, v in node.items() if k != "$ref"}
    ref = node.get("$ref")
    if not isinstance(ref, str):
        return out
    target = urljoin(base, ref)
    if target in stack:
        return {**out, "$ref": target}
    resolved = resolver.lookup(ref)
    document = target.partition("#")[0]
    inlined = _inline(resolved.contents, resolved.resolver, document, (*stack, target))
    if isinstance(inlined, dict):
        inlined = {k: v for k, v in inlined.items() if k not in ("$id", "$schema")}
    if not out:
        return inlined
    return {**out, "allOf": [*out.get("allOf", []), inlined]}
