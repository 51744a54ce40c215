"""Write the report files; every string passes through secret redaction first."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import secrets
from ..visible import json_text

if TYPE_CHECKING:
    from ..history.trends import Trends


def redact_tree(value: Any) -> Any:
    if isinstance(value, str):
        return secrets.redact(value)
    if isinstance(value, dict):
        return {k: redact_tree(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_tree(v) for v in value]
    return value


MAX_DETAILS_BYTES = 512 * 1024  # per item in report.json: a check's full list, not an unbounded dump


def evidence_details(details: dict[str, Any]) -> dict[str, Any] | None:
    """A check's evidence details as report.json keeps them: JSON, redacted, bounded (the graph goes apart)."""
    kept = {k: v for k, v in details.items() if k != "routing_graph"}
    if not kept:
        return None
    text = json.dumps(kept, default=str, ensure_ascii=False)
    if len(text.encode()) > MAX_DETAILS_BYTES:
        return {"truncated": f"{len(text.encode())} bytes of details, more than the {MAX_DETAILS_BYTES} kept"}
    tree: dict[str, Any] = redact_tree(json.loads(text))
    return tree


def write_reports(report: dict[str, Any], directory: Path, history: Trends | None = None) -> list[Path]:
    """``report.json``, ``report.md`` and ``report.html`` in ``directory`` (created if needed).

    ``history`` (the environment's last runs) adds the strips and trends to report.html.
    """
    from .html import render_html
    from .markdown import render_markdown

    clean = redact_tree(report)
    directory.mkdir(parents=True, exist_ok=True)
    outputs = {
        "report.json": json_text(clean) + "\n",
        "report.md": render_markdown(clean),
        "report.html": render_html(clean, history),
    }
    written = []
    for name, text in outputs.items():
        path = directory / name
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(secrets.redact(text), encoding="utf-8")
        tmp.replace(path)  # never leave a half-written report behind
        written.append(path)
    return written
