"""A synthetic payload for the signature probes: valid under the receiver's schema, marked with the run id.

A probe must be refused for its signature alone, so its payload has to be one the receiver would accept:
the smallest instance of the schema (required properties; ``const``, ``enum``, ``default`` or ``examples``
where the schema gives them; formats such as ``date-time`` and ``email`` honoured), with the event and version
written where the envelope says, and the run id in an ``event_id``-like field where the schema allows a string
there. The result is checked with jsonschema; a schema this cannot satisfy is said plainly, never guessed at.
"""

from __future__ import annotations

import copy
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import jsonschema
import referencing.exceptions

from .load import SchemaFile, SchemaInputError, resolve_ref

MARKER_FIELDS = ("event_id", "eventId", "delivery_id", "deliveryId", "message_id", "messageId", "id")
MAX_DEPTH = 12
_STRING_TRIES = ("gtmcheck", "gtmcheck-probe", "a", "A", "0", "1", "x1", "example.com", "probe@example.com",
                 "https://example.com/gtmcheck", "2026-01-01", "00000000-0000-4000-8000-000000000000")


class UnbuildableSchema(Exception):
    """The schema asks for something the builder cannot produce (a pattern no candidate matches, a loop)."""


def example_payload(schema: Any, *, envelope: Mapping[str, str], values: Mapping[str, str],
                    marker: str) -> tuple[Any, str | None, bool]:
    """(payload, the field that carries ``marker`` or ``None``, whether jsonschema confirmed it valid).

    ``schema`` is a schema node, a ``load.SchemaFile`` or a loaded schema with ``doc`` and ``validator`` (the
    kind's ``validate.LoadedSchema``: sibling-file ``$ref``s then resolve). ``envelope`` maps ``event`` and
    ``version`` to JSON pointers, ``values`` gives what to write there. Raises ``UnbuildableSchema`` when no
    valid payload could be made.
    """
    doc, root, check = _unwrap(schema)
    preset = {pointer: values[name] for name, pointer in envelope.items() if name in values}
    wanted = {p.rsplit("/", 1)[-1] for p in envelope.values()} | set(MARKER_FIELDS)
    try:
        payload = _Builder(doc, root, wanted, preset).build(root, 0, "")
    except UnbuildableSchema:
        payload = None
    if payload is None or check(payload) is False:  # the envelope values do not fit: the schema's own, then
        payload = _Builder(doc, root, wanted, {}).build(root, 0, "")
        for pointer, value in preset.items():
            payload = _try_set(payload, pointer, value, check)
    marked: str | None = None
    if isinstance(payload, dict):
        for field in MARKER_FIELDS:
            if field in payload:
                changed = _try_set(payload, "/" + field, marker, check)
                if changed is not payload:
                    payload, marked = changed, field
                    break
    verdict = check(payload)
    if verdict is False:
        raise UnbuildableSchema("the payload built from the schema does not validate under it; add `examples` "
                                "to the schema's properties")
    return payload, marked, verdict is True


def _unwrap(schema: Any) -> tuple[SchemaFile | None, Any, Callable[[Any], bool | None]]:
    """(document for $refs, root node, payload -> True valid / False invalid / None cannot tell)."""
    doc = getattr(schema, "doc", None)
    if isinstance(doc, SchemaFile) and hasattr(schema, "validator"):
        compiled = schema.validator
        return doc, doc.root, lambda payload: _verdict(compiled, payload)
    if isinstance(schema, SchemaFile):
        doc, root = schema, schema.root
    else:
        doc, root = None, schema
    cls = jsonschema.validators.validator_for(root, default=jsonschema.Draft202012Validator)
    validator = cls(root)
    return doc, root, lambda payload: _verdict(validator, payload)


def _verdict(validator: Any, payload: Any) -> bool | None:
    """Valid, invalid, or ``None`` when the schema's ``$ref``s leave what the validator can resolve."""
    try:
        return bool(validator.is_valid(payload))
    except (referencing.exceptions.Unresolvable, jsonschema.exceptions.SchemaError):
        return None


def _try_set(payload: Any, pointer: str, value: str, check: Callable[[Any], bool | None]) -> Any:
    """A copy of ``payload`` with ``value`` at an existing ``pointer``, if still valid; else ``payload`` itself."""
    tokens = [t.replace("~1", "/").replace("~0", "~") for t in pointer.split("/")[1:]]
    if not tokens:
        return payload
    changed = copy.deepcopy(payload)
    node = changed
    for token in tokens[:-1]:
        if not isinstance(node, dict) or token not in node:
            return payload
        node = node[token]
    if not isinstance(node, dict) or tokens[-1] not in node or node[tokens[-1]] == value:
        return payload
    old, node[tokens[-1]] = node[tokens[-1]], value
    verdict = check(changed)
    # without a verdict (a $ref jsonschema cannot follow) a string only ever replaces a string
    return changed if verdict is True or (verdict is None and isinstance(old, str)) else payload


class _Builder:
    """The smallest instance of a schema node, following local ``$ref``s (sibling files through load.py)."""

    def __init__(self, doc: SchemaFile | None, root: Any, wanted: set[str], preset: Mapping[str, Any]) -> None:
        self.doc = doc
        self.root = root
        self.wanted = wanted
        self.preset = preset  # JSON pointer -> the value to write there instead of one built from the schema

    def build(self, node: Any, depth: int, path: str) -> Any:
        if path in self.preset:
            return self.preset[path]
        if depth > MAX_DEPTH:
            raise UnbuildableSchema("the schema nests deeper than a probe payload can follow")
        if node is True or node == {}:
            return "gtmcheck"
        if not isinstance(node, Mapping):
            raise UnbuildableSchema("the schema accepts nothing (false)")
        if isinstance(node.get("$ref"), str):
            return self._ref(node, depth, path)
        for key in ("const", "default"):
            if key in node:
                return copy.deepcopy(node[key])
        for key in ("enum", "examples"):
            if isinstance(node.get(key), list) and node[key]:
                return copy.deepcopy(node[key][0])
        if isinstance(node.get("allOf"), list):
            return self.build(_merged(node), depth + 1, path)
        for key in ("oneOf", "anyOf"):
            if isinstance(node.get(key), list) and node[key]:
                branch = {**{k: v for k, v in node.items() if k != key}, **node[key][0]}
                return self.build(branch, depth + 1, path)
        kind = _type(node)
        if kind == "object":
            return self._object(node, depth, path)
        if kind == "array":
            return self._array(node, depth, path)
        if kind == "string":
            return _string(node)
        if kind in ("integer", "number"):
            return _number(node, integer=kind == "integer")
        return {"boolean": True, "null": None}.get(kind, "gtmcheck")

    def _ref(self, node: Mapping[str, Any], depth: int, path: str) -> Any:
        ref = str(node["$ref"])
        if self.doc is not None:
            try:
                target, found, _ = resolve_ref(self.doc, ref, str(self.doc.path))
            except SchemaInputError as exc:
                raise UnbuildableSchema(str(exc)) from None
            return _Builder(target, target.root, self.wanted, self.preset).build(found, depth + 1, path)
        if not ref.startswith("#"):
            raise UnbuildableSchema(f"the $ref {ref!r} leaves the schema")
        found = self.root
        for token in [t for t in ref[1:].split("/") if t]:
            token = token.replace("~1", "/").replace("~0", "~")
            if not isinstance(found, Mapping) or token not in found:
                raise UnbuildableSchema(f"the $ref {ref!r} points at nothing")
            found = found[token]
        return self.build(found, depth + 1, path)

    def _object(self, node: Mapping[str, Any], depth: int, path: str) -> dict[str, Any]:
        found = node.get("properties")
        props: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
        required = [r for r in node.get("required", []) if isinstance(r, str)]
        names = list(dict.fromkeys([*required, *(p for p in props if p in self.wanted)]))
        out: dict[str, Any] = {}
        for name in names:
            child = f"{path}/{name.replace('~', '~0').replace('/', '~1')}"
            out[name] = self.build(props.get(name, True), depth + 1, child)
        return out

    def _array(self, node: Mapping[str, Any], depth: int, path: str) -> list[Any]:
        items = node.get("prefixItems", node.get("items", True))
        if isinstance(items, list):  # prefixItems, or draft 7's tuple form of items
            count = int(node.get("minItems", len(items)))
            return [self.build(item, depth + 1, f"{path}/{i}") for i, item in enumerate(items[:count])]
        return [self.build(items, depth + 1, f"{path}/{i}") for i in range(int(node.get("minItems", 0)))]


def _type(node: Mapping[str, Any]) -> str:
    kind = node.get("type")
    if isinstance(kind, list):
        kinds = [k for k in kind if k != "null"] or ["null"]
        kind = kinds[0]
    if isinstance(kind, str):
        return kind
    return "object" if "properties" in node or "required" in node else "string"


def _merged(node: Mapping[str, Any]) -> dict[str, Any]:
    """``allOf`` folded into one node: properties merged, required lists joined (enough for envelope schemas)."""
    out: dict[str, Any] = {k: v for k, v in node.items() if k != "allOf"}
    for part in node["allOf"]:
        if not isinstance(part, Mapping):
            continue
        for key, value in part.items():
            if key == "properties" and isinstance(value, Mapping):
                out["properties"] = {**out.get("properties", {}), **value}
            elif key == "required" and isinstance(value, Sequence):
                out["required"] = [*out.get("required", []), *value]
            else:
                out.setdefault(key, value)
    return out


def _string(node: Mapping[str, Any]) -> str:
    fmt = node.get("format")
    now = datetime.now(UTC)
    by_format = {"date-time": now.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z", "date": now.strftime("%Y-%m-%d"),
                 "email": "gtmcheck-probe@example.com", "uri": "https://example.com/gtmcheck",
                 "uuid": str(uuid.uuid4()), "hostname": "example.com", "ipv4": "192.0.2.1"}
    tries = ([by_format[fmt]] if fmt in by_format else []) + list(_STRING_TRIES) + [by_format["date-time"]]
    low, high = int(node.get("minLength", 0)), node.get("maxLength")
    pattern = node.get("pattern")
    for text in tries:
        text = text + "x" * max(0, low - len(text))
        if high is not None and len(text) > int(high):
            continue
        if isinstance(pattern, str) and not re.search(pattern, text):
            continue
        return text
    raise UnbuildableSchema(f"no probe value matches the pattern {pattern!r}; add `examples` to that property")


def _number(node: Mapping[str, Any], *, integer: bool) -> int | float:
    low = node.get("minimum", node.get("exclusiveMinimum"))
    value: float = 1 if low is None else float(low) + (1 if "exclusiveMinimum" in node and "minimum" not in node
                                                       else 0)
    step = node.get("multipleOf")
    if isinstance(step, (int, float)) and step > 0:
        value = -(-value // step) * step
    high = node.get("maximum", node.get("exclusiveMaximum"))
    if high is not None and value > float(high):
        value = float(high) - (1 if "exclusiveMaximum" in node else 0)
    return int(value) if integer or float(value).is_integer() else value
