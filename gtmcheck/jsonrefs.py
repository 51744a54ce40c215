"""The ``$ref`` strings of a JSON Schema document: shared by the webhooks kind and the sandbox's receiver.

Neutral ground, so the sandbox (which knows no kind) and the kind (which knows no sandbox) read refs alike.
"""

from __future__ import annotations

from typing import Any


def schema_refs(node: Any) -> list[str]:
    """Every ``$ref`` string anywhere in a schema document, checked before the document is trusted."""
    found: list[str] = []
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if isinstance(item.get("$ref"), str):
                found.append(item["$ref"])
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found
