"""The notify state file: what was seen and alerted, per fingerprint, between nightly runs.

One JSON file (default ``.gtmcheck/notify-state.json`` in the project root), written atomically (a temporary
file beside it, then a rename), so a run killed mid-write leaves last night's state, never half of one.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..errors import UnreadableFile
from ..safefile import read_text_capped

DEFAULT_STATE = Path(".gtmcheck") / "notify-state.json"
VERSION = 1
MAX_STATE_BYTES = 64 * 1024 * 1024
FIX = "delete the file to start afresh (every open finding is then alerted once more)"


@dataclass
class Record:
    """One fingerprint's history: when first seen, when last alerted, how many failing runs in a row."""

    key: str
    owner: str
    checklist: str
    item: str
    status: str
    message: str
    first_seen: str
    last_seen: str
    last_run: str  # the run id that last counted: the same report read twice counts once
    consecutive: int = 1
    last_alerted: str | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Record:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


@dataclass
class State:
    """Every open fingerprint, and the issue gtmcheck keeps per owner in each GitHub repository."""

    records: dict[str, Record] = field(default_factory=dict)
    issues: dict[str, dict[str, int]] = field(default_factory=dict)  # "owner/repo" -> owner -> issue number

    def to_json(self) -> dict[str, Any]:
        return {"version": VERSION,
                "findings": {fp: asdict(r) for fp, r in sorted(self.records.items())},
                "github_issues": self.issues}


def load_state(path: Path) -> State:
    """The state at ``path``; an empty one when there is no file yet (the first night)."""
    if not path.exists():
        return State()
    text = read_text_capped(path, MAX_STATE_BYTES, expect="a notify state file")
    try:
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("version") != VERSION:
            raise ValueError(f"not a version {VERSION} notify state")
        records = {fp: Record.from_json(r) for fp, r in data.get("findings", {}).items()}
        issues = {repo: {o: int(n) for o, n in owners.items()}
                  for repo, owners in data.get("github_issues", {}).items()}
    except (ValueError, TypeError, AttributeError, KeyError) as exc:
        raise UnreadableFile(f"is not a gtmcheck notify state file ({str(exc).splitlines()[0]})", FIX) from None
    return State(records, issues)


def save_state(state: State, path: Path) -> None:
    """Write ``state`` to ``path`` atomically (the folder is created if needed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(state.to_json(), out, indent=1, sort_keys=True, ensure_ascii=False)
            out.write("\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
