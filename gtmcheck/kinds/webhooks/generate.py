"""Property-based compatibility: a payload the sender's schema admits and the receiver's rejects, shrunk.

hypothesis draws payloads valid under the sender's schema (``strategies.py``, our own strategies: see there
why not hypothesis-jsonschema); the first one the receiver's schema rejects is shrunk by hypothesis to the
smallest it can find, and reported with jsonschema's best-matching error: its pointer, keyword and message.
Deterministic for a given ``seed``, bounded by ``max_examples``, nothing saved to disk, nothing printed.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import jsonschema.exceptions

from .load import SchemaFile
from .scalars import Unsupported
from .validate import LoadedSchema, mask

__all__ = ["Counterexample", "Unsupported", "find_counterexample"]


@dataclass(frozen=True)
class Counterexample:
    """A payload valid under the sender's schema and invalid under the receiver's, and why the receiver says no."""

    payload: Any
    pointer: str
    keyword: str
    message: str


Schema = SchemaFile | LoadedSchema | Mapping[str, Any] | bool


def find_counterexample(sender: Schema, receiver: Schema, *, max_examples: int = 200,
                        seed: int = 0) -> Counterexample | None:
    """The smallest payload found that ``sender`` admits and ``receiver`` rejects; ``None`` when none was found.

    Raises ``Unsupported`` (with a ``reason``) when the sender's schema uses what the generator does not cover.
    """
    from hypothesis import HealthCheck, Phase, Verbosity, find, settings
    from hypothesis.errors import NoSuchExample, Unsatisfiable

    from .strategies import PayloadStrategies

    sender_doc, receiver_doc = _document(sender, "sender"), _document(receiver, "receiver")
    builder = PayloadStrategies(_property_names(receiver_doc.root) | _property_names(sender_doc.root))
    sender_valid = builder.valid_under(sender_doc, sender_doc.root)
    receiver_check = builder.validator(receiver_doc)
    strategy = builder.for_document(sender_doc).filter(sender_valid)
    drawn = [0]

    def rejected(payload: Any) -> bool:
        drawn[0] += 1
        return not receiver_check.is_valid(payload)

    config = settings(max_examples=max_examples, database=None, deadline=None, derandomize=False,
                      phases=[Phase.generate, Phase.shrink], suppress_health_check=list(HealthCheck),
                      verbosity=Verbosity.quiet, report_multiple_bugs=False)
    try:
        payload = find(strategy, rejected, settings=config, random=random.Random(seed))
    except (NoSuchExample, Unsatisfiable):
        if drawn[0] == 0:
            raise Unsupported("no payload valid under the sender's schema could be generated") from None
        return None
    error = jsonschema.exceptions.best_match(receiver_check.iter_errors(payload))
    if error is None:  # cannot happen: the receiver rejected it; kept so a surprise is a clear message
        raise Unsupported("the receiver's validator rejected a payload without naming an error")
    keyword = "false" if error.validator is None else str(error.validator)  # a `false` schema names no keyword
    return Counterexample(payload, _pointer(error), keyword, mask(error.message))


def _document(schema: Schema, name: str) -> SchemaFile:
    if isinstance(schema, SchemaFile):
        return schema
    if isinstance(schema, LoadedSchema):
        return schema.doc
    return SchemaFile(Path.cwd() / f"<{name}>.json", dict(schema) if isinstance(schema, Mapping) else schema)


def _pointer(error: jsonschema.exceptions.ValidationError) -> str:
    """The instance pointer of ``error``; for a missing required property, the pointer of that property."""
    parts = [str(p).replace("~", "~0").replace("/", "~1") for p in error.absolute_path]
    if error.validator == "required" and isinstance(error.instance, dict):
        missing = next((n for n in error.validator_value if n not in error.instance), None)  # type: ignore[union-attr]
        if isinstance(missing, str):
            parts.append(missing.replace("~", "~0").replace("/", "~1"))
    return "/" + "/".join(parts) if parts else "/"


def _property_names(node: Any) -> set[str]:
    """Every property name a schema mentions: extra keys worth trying in an open object."""
    names: set[str] = set()
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if isinstance(item.get("properties"), dict):
                names.update(str(k) for k in item["properties"])
            if isinstance(item.get("required"), list):
                names.update(str(k) for k in item["required"])
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return names
