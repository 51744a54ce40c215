"""``gtmcheck webhooks diff``: the changes as text for people or JSON for CI, and the exit code."""

from __future__ import annotations

import json
from pathlib import Path

from .diff import Change, diff_files


def is_breaking(change: Change) -> bool:
    """Breaking = level error (docs/webhooks.md says which rules, and the enum policy)."""
    return change.level == "error"


def diff_command(old: Path, new: Path, *, fmt: str, enum_additions: str) -> tuple[str, int]:
    """(output, exit code): 0 nothing breaking, 1 breaking; unusable input raises ``SchemaInputError``."""
    changes = diff_files(old, new, enum_additions=enum_additions)
    code = 1 if any(is_breaking(c) for c in changes) else 0
    if fmt == "json":
        return json.dumps([c.as_dict() for c in changes], indent=2), code
    if not changes:
        return f"No changes from {old} to {new}.", 0
    lines = []
    for c in changes:
        ways = "+".join(w for w, on in (("narrows", c.narrows), ("widens", c.widens)) if on) or "neither"
        lines.append(f"{c.level:<7} {c.rule} {c.name:<20} {c.pointer}: {c.change} ({ways})")
    breaking = sum(is_breaking(c) for c in changes)
    lines.append(f"{len(changes)} change(s), {breaking} breaking.")
    return "\n".join(lines), code
