"""Read a webhook schema file and resolve its local ``$ref``s; a remote ``$ref`` is refused, never fetched."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import jsonschema

from ...errors import GtmcheckError, UnreadableFile
from ...jsonrefs import schema_refs
from ...safefile import read_text_capped

MAX_SCHEMA_BYTES = 8 * 1024 * 1024


class SchemaInputError(GtmcheckError):
    """A schema file cannot be used: ``file: what is wrong. Fix: how`` (exit 2)."""

    def __init__(self, file: str, problem: str, hint: str) -> None:
        self.problem = problem
        self.hint = hint
        super().__init__(f"{file}: {problem}. Fix: {hint}")


@dataclass
class SchemaFile:
    """One parsed schema document; sibling files it refers to are loaded on demand and cached."""

    path: Path
    root: Any
    cache: dict[Path, SchemaFile] = field(default_factory=dict)

    def sibling(self, name: str) -> SchemaFile:
        target = (self.path.parent / name).resolve()
        if target not in self.cache:
            self.cache[target] = load_schema(target, self.cache)
        return self.cache[target]


def load_schema(path: Path, cache: dict[Path, SchemaFile] | None = None) -> SchemaFile:
    """The schema at ``path``: capped read, JSON, a valid schema for its ``$schema`` (2020-12 by default)."""
    name = str(path)
    try:
        text = read_text_capped(path, MAX_SCHEMA_BYTES, expect="a .json schema file")
    except UnreadableFile as exc:
        raise SchemaInputError(name, exc.problem, exc.hint) from None
    try:
        root = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SchemaInputError(f"{name}:{exc.lineno}:{exc.colno}", f"is not JSON ({exc.msg})",
                               "save the schema as JSON") from None
    if not isinstance(root, (dict, bool)):
        raise SchemaInputError(name, f"is not a JSON Schema (the top level is a {type(root).__name__})",
                               "the file must hold a schema object such as {\"type\": \"object\"}")
    validator = jsonschema.validators.validator_for(root, default=jsonschema.Draft202012Validator)
    try:
        validator.check_schema(root)  # type: ignore[arg-type]  # a boolean is a schema too
    except jsonschema.SchemaError as exc:
        where = "/" + "/".join(str(p) for p in exc.path)
        raise SchemaInputError(name, f"is not a valid JSON Schema at {where}: {exc.message}",
                               "correct that keyword (draft 7 or 2020-12, by its $schema)") from None
    for ref in schema_refs(root):
        if _is_remote(ref):
            raise SchemaInputError(name, f"has a remote $ref {ref!r}, which is never fetched",
                                   "save that schema beside this one and refer to it by file name")
    doc = SchemaFile(path.resolve(), root, cache if cache is not None else {})
    doc.cache.setdefault(doc.path, doc)
    return doc


def resolve_ref(doc: SchemaFile, ref: str, label: str) -> tuple[SchemaFile, Any, str]:
    """(document, schema, key) that ``ref`` names; ``key`` identifies the target for the cycle guard."""
    file_part, _, fragment = ref.partition("#")
    if _is_remote(ref):
        raise SchemaInputError(label, f"has a remote $ref {ref!r}, which is never fetched",
                               "save that schema beside this one and refer to it by file name")
    target = doc
    if file_part:
        try:
            target = doc.sibling(unquote(file_part))
        except SchemaInputError as exc:
            raise SchemaInputError(label, f"has a $ref {ref!r} to a file that {exc.problem}", exc.hint) from None
    node: Any = target.root
    for token in [t for t in fragment.split("/") if t] if fragment.startswith("/") or not fragment else [None]:
        if token is None:
            raise SchemaInputError(label, f"has a $ref {ref!r} with an anchor, which is not supported",
                                   "use a JSON pointer such as #/$defs/name")
        token = unquote(token).replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            raise SchemaInputError(label, f"has a $ref {ref!r} that points at nothing",
                                   "point the $ref at an existing definition")
    return target, node, f"{target.path}#{fragment}"


def _is_remote(ref: str) -> bool:
    file_part = ref.partition("#")[0]
    return "://" in file_part or file_part.startswith(("urn:", "//"))
