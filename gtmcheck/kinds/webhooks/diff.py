"""Classify the changes between two webhook payload schemas, each with the directions it goes.

``narrows``: some payload valid under the old schema is invalid under the new one (a receiver validating
with the new schema rejects what an old sender emits). ``widens``: the new schema accepts some payload the
old rejects (a receiver written for the old one gets something new). Both schemas are walked in parallel;
pointers are the path from the root as a validator walks it, ``$ref``s followed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .load import SchemaFile, SchemaInputError, load_schema, resolve_ref
from .rules import RULES, level_of

TYPES = ("array", "boolean", "integer", "null", "number", "object", "string")
MAX_REF_CHAIN = 64
COMPOSITION = ("allOf", "anyOf", "oneOf", "not", "if", "then", "else")


@dataclass(frozen=True)
class Change:
    """One classified change; ``as_dict`` is the JSON shape of ``--format json``."""

    pointer: str
    change: str
    rule: str
    name: str
    level: str
    narrows: bool
    widens: bool

    def as_dict(self) -> dict[str, object]:
        return {"pointer": self.pointer, "change": self.change, "rule": self.rule, "level": self.level,
                "narrows": self.narrows, "widens": self.widens}


@dataclass
class Side:
    """A schema node and the document its ``$ref``s are relative to."""

    doc: SchemaFile
    node: dict[str, Any]
    nullable: bool


def diff_files(old: Path, new: Path, *, enum_additions: str = "compatible") -> list[Change]:
    """The changes from the schema file ``old`` to ``new``."""
    return Differ(enum_additions).run(load_schema(old), load_schema(new))


class Differ:
    """Walks two schemas in parallel and collects ``Change``s."""

    def __init__(self, enum_additions: str) -> None:
        self.enum_additions = enum_additions
        self.changes: list[Change] = []
        self.open_pairs: set[tuple[str, str]] = set()  # ($ref target pairs) being compared further up

    def run(self, old: SchemaFile, new: SchemaFile) -> list[Change]:
        self.walk(old, old.root, new, new.root, "")
        return self.changes

    def add(self, pointer: str, name: str, change: str, narrows: bool, widens: bool) -> None:
        rule = RULES[name]
        self.changes.append(Change(pointer or "/", change, rule.code, rule.name,
                                   level_of(rule, self.enum_additions), narrows, widens))

    def side(self, doc: SchemaFile, node: Any, label: str) -> tuple[Side, str]:
        """``node`` with ``$ref``s followed (siblings of a ``$ref`` kept), a null-branch unwrapped."""
        key = ""
        for _ in range(MAX_REF_CHAIN):
            if isinstance(node, bool):
                node = {} if node else {"not": {}}
            if not isinstance(node, dict) or "$ref" not in node:
                break
            doc, target, key = resolve_ref(doc, str(node["$ref"]), label)
            rest = {k: v for k, v in node.items() if k != "$ref"}
            node = {**(target if isinstance(target, dict) else {} if target else {"not": {}}), **rest}
        else:
            raise SchemaInputError(label, f"has a chain of more than {MAX_REF_CHAIN} $refs (a $ref loop?)",
                                   "make each $ref point at a schema, not at another $ref in a circle")
        node = dict(node) if isinstance(node, dict) else {}
        nullable = bool(node.pop("nullable", False))
        for word in ("anyOf", "oneOf"):
            branches = node.get(word)
            if isinstance(branches, list) and len(branches) == 2 and {"type": "null"} in branches:
                other = branches[1 - branches.index({"type": "null"})]
                del node[word]
                inner, key2 = self.side(doc, other, label)
                merged = {**inner.node, **node}
                return Side(inner.doc, merged, True), key2 or key
        types = node.get("type")
        if types == "null" or (isinstance(types, list) and "null" in types):
            nullable = True
        if isinstance(types, list):
            node["type"] = [t for t in types if t != "null"]
        elif types == "null":
            node["type"] = []
        return Side(doc, node, nullable), key

    def walk(self, old_doc: SchemaFile, old_node: Any, new_doc: SchemaFile, new_node: Any, ptr: str) -> None:
        old, old_key = self.side(old_doc, old_node, str(old_doc.path))
        new, new_key = self.side(new_doc, new_node, str(new_doc.path))
        pair = (old_key, new_key)
        if pair in self.open_pairs:
            return  # a recursive schema: this pair is already being compared further up
        if old_key or new_key:
            self.open_pairs.add(pair)
        try:
            self.compare(old, new, ptr)
        finally:
            self.open_pairs.discard(pair)

    def compare(self, old: Side, new: Side, ptr: str) -> None:
        self.nullable(old, new, ptr)
        self.types(old.node, new.node, ptr)
        self.values(old.node, new.node, ptr)
        self.strings(old.node, new.node, ptr)
        self.numbers(old.node, new.node, ptr)
        self.arrays(old, new, ptr)
        self.objects(old, new, ptr)
        for word in COMPOSITION:
            if word in old.node or word in new.node:
                if json.dumps(old.node.get(word), sort_keys=True) != json.dumps(new.node.get(word), sort_keys=True):
                    self.add(f"{ptr}/{word}", "composition.changed", f"{word} changed (not compared)", True, True)

    def nullable(self, old: Side, new: Side, ptr: str) -> None:
        before = old.nullable or "type" not in old.node  # a schema without a type accepts null too
        after = new.nullable or "type" not in new.node
        if after and not before:
            self.add(f"{ptr}/type", "nullable.added", "null is now allowed", False, True)
        elif before and not after:
            self.add(f"{ptr}/type", "nullable.removed", "null is no longer allowed", True, False)

    def types(self, old: dict[str, Any], new: dict[str, Any], ptr: str) -> None:
        before, after = _type_set(old), _type_set(new)
        if before == after:
            return
        lost = {t for t in before if not _covered(t, after)}
        gained = {t for t in after if not _covered(t, before)}
        if not lost and not gained:
            return
        text = f"type {_show(before)} -> {_show(after)}"
        name = "type.changed" if lost and gained else "type.narrowed" if lost else "type.widened"
        self.add(f"{ptr}/type", name, text, bool(lost), bool(gained))

    def values(self, old: dict[str, Any], new: dict[str, Any], ptr: str) -> None:
        if "enum" in old or "enum" in new:
            a, b = old.get("enum"), new.get("enum")
            if a is None or b is None:
                name = "enum.removed" if a is None else "enum.added"
                self.add(f"{ptr}/enum", name, "enum added" if a is None else "enum removed", a is None, b is None)
            else:
                ka, kb = {_key(v) for v in a}, {_key(v) for v in b}
                if ka - kb:
                    self.add(f"{ptr}/enum", "enum.removed", f"enum values removed: {_values(ka - kb)}", True, False)
                if kb - ka:
                    self.add(f"{ptr}/enum", "enum.added", f"enum values added: {_values(kb - ka)}", False, True)
        if ("const" in old) != ("const" in new) or _key(old.get("const")) != _key(new.get("const")):
            self.add(f"{ptr}/const", "const.changed", "const " + ("added" if "const" not in old else "removed"
                     if "const" not in new else "changed"), "const" in new, "const" in old)

    def strings(self, old: dict[str, Any], new: dict[str, Any], ptr: str) -> None:
        if old.get("pattern") != new.get("pattern"):
            self.add(f"{ptr}/pattern", "pattern.changed", f"pattern {old.get('pattern')!r} -> {new.get('pattern')!r}",
                     "pattern" in new, "pattern" in old)
        if old.get("format") != new.get("format"):
            self.add(f"{ptr}/format", "format.changed", f"format {old.get('format')!r} -> {new.get('format')!r}",
                     "format" in new, "format" in old)
        self.bounds(old, new, ptr, "minLength", "maxLength", "length")
        self.bounds(old, new, ptr, "minItems", "maxItems", "items")

    def bounds(self, old: dict[str, Any], new: dict[str, Any], ptr: str, low: str, high: str, what: str) -> None:
        for word, sign in ((low, 1), (high, -1)):
            a, b = old.get(word), new.get(word)
            if a == b:
                continue
            tighter = b is not None and (a is None or (b - a) * sign > 0)
            self.add(f"{ptr}/{word}", f"{what}.narrowed" if tighter else f"{what}.widened",
                     f"{word} {'none' if a is None else a} -> {'none' if b is None else b}", tighter, not tighter)

    def numbers(self, old: dict[str, Any], new: dict[str, Any], ptr: str) -> None:
        for side_name, sign in (("minimum", 1), ("maximum", -1)):
            a, b = _bound(old, side_name), _bound(new, side_name)
            if a == b:
                continue
            word = b[2] if b else a[2] if a else side_name
            tighter = b is not None and (a is None or (b[0] - a[0]) * sign > 0 or (b[0] == a[0] and b[1] > a[1]))
            self.add(f"{ptr}/{word}", "range.narrowed" if tighter else "range.widened",
                     f"{side_name} {_show_bound(a)} -> {_show_bound(b)}", tighter, not tighter)

    def arrays(self, old: Side, new: Side, ptr: str) -> None:
        a, b = bool(old.node.get("uniqueItems")), bool(new.node.get("uniqueItems"))
        if a != b:
            self.add(f"{ptr}/uniqueItems", "items.narrowed" if b else "items.widened",
                     f"uniqueItems {a} -> {b}".lower(), b, a)
        old_tuple, new_tuple = _prefix(old.node), _prefix(new.node)
        for i in range(min(len(old_tuple), len(new_tuple))):
            word = "prefixItems" if "prefixItems" in new.node else "items"
            self.walk(old.doc, old_tuple[i], new.doc, new_tuple[i], f"{ptr}/{word}/{i}")
        old_items, new_items = _rest_items(old.node), _rest_items(new.node)
        if old_items is not None or new_items is not None:
            self.walk(old.doc, True if old_items is None else old_items,
                      new.doc, True if new_items is None else new_items, f"{ptr}/items")

    def objects(self, old: Side, new: Side, ptr: str) -> None:
        a_props, b_props = old.node.get("properties") or {}, new.node.get("properties") or {}
        a_extra, b_extra = old.node.get("additionalProperties", True), new.node.get("additionalProperties", True)
        removed = [n for n in a_props if n not in b_props]
        added = [n for n in b_props if n not in a_props]
        for name in a_props:
            if name in b_props:
                self.walk(old.doc, a_props[name], new.doc, b_props[name], f"{ptr}/properties/{_esc(name)}")
        for name in list(removed):
            twin = next((n for n in added if _same(a_props[name], b_props[n])), None)
            if twin is not None:
                removed.remove(name)
                added.remove(twin)
                constrains = a_props[name] not in ({}, True)  # the same schema under both names
                self.add(f"{ptr}/properties/{_esc(name)}", "property.renamed", f"property {name} renamed to {twin}",
                         b_extra is False or (a_extra is not False and constrains),
                         a_extra is False or (b_extra is not False and constrains))
        for name in removed:
            self.add(f"{ptr}/properties/{_esc(name)}", "property.removed", f"property {name} removed",
                     b_extra is False, b_extra is not False and a_props[name] not in ({}, True))
        for name in added:
            self.add(f"{ptr}/properties/{_esc(name)}", "property.added", f"property {name} added",
                     a_extra is not False and b_props[name] not in ({}, True), a_extra is False)
        self.required(old.node, new.node, ptr)
        self.additional(old, new, ptr, a_extra, b_extra)

    def required(self, old: dict[str, Any], new: dict[str, Any], ptr: str) -> None:
        a, b = set(old.get("required") or []), set(new.get("required") or [])
        for name in sorted(b - a):
            self.add(f"{ptr}/required", "required.added", f"{name} is now required", True, False)
        for name in sorted(a - b):
            self.add(f"{ptr}/required", "required.removed", f"{name} is no longer required", False, True)

    def additional(self, old: Side, new: Side, ptr: str, a: Any, b: Any) -> None:
        where = f"{ptr}/additionalProperties"
        if a is False and b is not False:
            self.add(where, "additional.loosened", "additionalProperties false -> allowed", False, True)
        elif b is False and a is not False:
            self.add(where, "additional.tightened", "additionalProperties allowed -> false", True, False)
        elif isinstance(a, dict) or isinstance(b, dict):
            self.walk(old.doc, a, new.doc, b, where)


def _type_set(node: dict[str, Any]) -> frozenset[str]:
    types = node.get("type")
    if types is None:
        return frozenset(t for t in TYPES if t != "null")
    return frozenset([types] if isinstance(types, str) else types) - {"null"}


def _covered(kind: str, types: frozenset[str]) -> bool:
    return kind in types or (kind == "integer" and "number" in types)


def _show(types: frozenset[str]) -> str:
    return "|".join(sorted(types)) or "null"


def _bound(node: dict[str, Any], side: str) -> tuple[float, bool, str] | None:
    """(value, exclusive, keyword) of the lower or upper bound; draft 4 boolean exclusives understood."""
    exclusive_word = "exclusive" + side[0].upper() + side[1:]
    inclusive, exclusive = node.get(side), node.get(exclusive_word)
    if isinstance(exclusive, bool):
        return None if inclusive is None else (inclusive, exclusive, side)
    if exclusive is not None and (inclusive is None or (exclusive - inclusive) * (1 if side == "minimum" else -1) >= 0):
        return (exclusive, True, exclusive_word)
    return None if inclusive is None else (inclusive, False, side)


def _show_bound(bound: tuple[float, bool, str] | None) -> str:
    return "none" if bound is None else f"{bound[0]}{' (exclusive)' if bound[1] else ''}"


def _prefix(node: dict[str, Any]) -> list[Any]:
    if isinstance(node.get("prefixItems"), list):
        return list(node["prefixItems"])
    return list(node["items"]) if isinstance(node.get("items"), list) else []


def _rest_items(node: dict[str, Any]) -> Any:
    if isinstance(node.get("items"), list):
        return node.get("additionalItems")
    return node.get("items")


def _key(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def _values(keys: set[str]) -> str:
    return ", ".join(sorted(keys))


def _same(a: Any, b: Any) -> bool:
    return _key(a) == _key(b)


def _esc(name: str) -> str:
    return name.replace("~", "~0").replace("/", "~1")
