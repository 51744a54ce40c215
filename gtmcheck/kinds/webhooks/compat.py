"""Sender against receiver, and the version rule, from the classifier of ``gtmcheck webhooks diff``.

``Differ(receiver -> sender)``: a change that ``widens`` lets the sender emit a payload the receiver's schema
rejects, so it breaks the pair (a new enum value only when ``enum_additions: breaking``; a format is an
annotation, not asserted by a receiver). The version rule compares the lower version with the higher: a
breaking change (level error, as ``webhooks diff`` exits 1 on) under a minor or patch bump is its own error.
``gtmcheck lint`` and the run's WEBHOOK-VERSIONS-COMPATIBLE both word their findings here, so they agree.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any

from ...visible import shorten
from .diff import Change, Differ
from .load import SchemaFile
from .report import is_breaking
from .validate import SECRET_KEY, LoadedSchema, mask, version_key

NOT_ASSERTED = frozenset({"format.changed"})  # jsonschema treats format as an annotation unless told
MAX_PAYLOAD_CHARS = 400


def instance_pointer(schema_pointer: str) -> str:
    """Where in a payload a schema pointer applies: ``/properties/properties/properties/arr`` -> ``/properties/arr``."""
    tokens = [t for t in schema_pointer.split("/") if t]
    out: list[str] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token in ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas") \
                and i + 1 < len(tokens):
            if token in ("properties", "patternProperties"):
                out.append(tokens[i + 1])
            i += 2
            continue
        if token in ("items", "additionalItems", "contains", "unevaluatedItems"):
            out.append("0")
        elif token == "prefixItems" and i + 1 < len(tokens):
            out.append(tokens[i + 1])
            i += 1
        elif token in ("additionalProperties", "unevaluatedProperties"):
            out.append("*")
        i += 1
    return "/" + "/".join(out)


def describe(change: Change) -> str:
    """``property arr renamed to ... at /properties/arr (WH102 property.renamed)``."""
    return f"{change.change} at {instance_pointer(change.pointer)} ({change.rule} {change.name})"


def _changes(old: LoadedSchema, new: LoadedSchema, enum_additions: str, envelope: tuple[str, ...]) -> list[Change]:
    """The classifier's changes, less those at the envelope's version pointer: a new version names itself."""
    return [c for c in Differ(enum_additions).run(old.doc, new.doc) if instance_pointer(c.pointer) not in envelope]


def sender_breaks(sender: LoadedSchema, receiver: LoadedSchema, enum_additions: str,
                  envelope: tuple[str, ...] = ()) -> list[Change]:
    """Changes from the receiver's schema to the sender's that let the sender emit what the receiver rejects."""
    if sender.path == receiver.path:
        return []
    changes = _changes(receiver, sender, enum_additions, envelope)
    return [c for c in changes if c.widens and c.name not in NOT_ASSERTED
            and not (c.name == "enum.added" and c.level != "error")]


@dataclass(frozen=True)
class VersionRuleBreak:
    """A breaking change between two versions whose numbers say it is not one."""

    event: str
    lower: str
    higher: str
    bump: str
    changes: tuple[Change, ...]

    @property
    def next_major(self) -> str:
        return f"{_numbers(self.lower)[0] + 1}.0"

    def message(self) -> str:
        more = f" (and {len(self.changes) - 1} more breaking change(s))" if len(self.changes) > 1 else ""
        return (f"{self.event} {self.lower} -> {self.higher}: {describe(self.changes[0])}{more}, a breaking "
                f"change under a {self.bump} bump; a breaking change needs a major version ({self.next_major})")


def _numbers(version: str) -> list[int]:
    return [p for _, p in version_key(version) if isinstance(p, int)]


def bump_of(lower: str, higher: str) -> str | None:
    """``major``, ``minor`` or ``patch``: the highest part that changed; ``None`` when a version is not numeric."""
    a, b = version_key(lower), version_key(higher)
    if not a or not b or any(kind for kind, _ in (*a, *b)):
        return None
    for name, x, y in zip(("major", "minor", "patch"), [p for _, p in a] + [0, 0], [p for _, p in b] + [0, 0],
                          strict=False):
        if x != y:
            return name
    return "patch"


def version_rule(event: str, one: LoadedSchema, other: LoadedSchema, enum_additions: str,
                 envelope: tuple[str, ...] = ()) -> VersionRuleBreak | None:
    """The version rule between two versions of ``event`` (in either order)."""
    lower, higher = sorted((one, other), key=lambda s: version_key(s.version))
    if lower.version == higher.version:
        return None
    bump = bump_of(lower.version, higher.version)
    if bump is None or bump == "major":
        return None
    breaking = [c for c in _changes(lower, higher, enum_additions, envelope) if is_breaking(c)]
    if not breaking:
        return None
    return VersionRuleBreak(event, lower.version, higher.version, bump, tuple(breaking))


def show_payload(payload: Any) -> str:
    """A payload on one line, shortened, secrets masked (registered ones, and values under secret-like keys)."""
    text = json.dumps(_hide_secret_keys(payload), ensure_ascii=False, default=str)
    return shorten(mask(text), MAX_PAYLOAD_CHARS)


def _hide_secret_keys(value: Any, depth: int = 0) -> Any:
    if depth > 64:
        return "..."
    if isinstance(value, dict):
        return {k: "***" if isinstance(k, str) and SECRET_KEY.search(k) else _hide_secret_keys(v, depth + 1)
                for k, v in value.items()}
    if isinstance(value, list):
        return [_hide_secret_keys(v, depth + 1) for v in value]
    return value


def counterexample(sender: LoadedSchema, receiver: LoadedSchema,
                   envelope: tuple[str, ...] = ()) -> tuple[str | None, str | None]:
    """(a shrunk payload the sender's schema accepts and the receiver's rejects, why the search was skipped).

    hypothesis draws payloads from the sender's schema (our own strategies, generate.py); each must validate
    under the receiver's. It catches what the keyword comparison cannot see (composition, patterns). As in the
    comparison, the envelope's pointers (where a payload names its event and version) are not judged: a new
    version names itself.
    """
    from . import generate  # imports hypothesis: only when a run compares two versions, never at plugin load

    try:
        found = generate.find_counterexample(sender.doc, _unpinned(receiver.doc, envelope))
    except generate.Unsupported as exc:
        return None, f"property-based check skipped: {exc.reason}"
    if found is None:
        return None, None
    return (f"generated payload {show_payload(found.payload)} is rejected by {receiver.version} at "
            f"{found.pointer} ({found.keyword}): {shorten(mask(str(found.message)), 200)}"), None


def _unpinned(doc: SchemaFile, pointers: tuple[str, ...]) -> SchemaFile:
    """``doc`` with the schemas at the instance ``pointers`` (reached through ``properties``) accepting anything."""
    root = copy.deepcopy(doc.root)
    for pointer in pointers:
        tokens = [t.replace("~1", "/").replace("~0", "~") for t in pointer.split("/")[1:]]
        node = root
        for token in tokens[:-1]:
            node = node.get("properties", {}).get(token) if isinstance(node, dict) else None
        props = node.get("properties") if isinstance(node, dict) else None
        if tokens and isinstance(props, dict) and tokens[-1] in props:
            props[tokens[-1]] = {}
    return SchemaFile(doc.path, root, doc.cache)
