"""A stable fingerprint of a check's outcome: the same failure on two nights has the same fingerprint.

What changes from run to run without the failure changing is taken out of the message first: timings, run
ids, UUIDs, synthetic record ids and addresses, timestamps. Alerting uses the fingerprint to tell "new" from
"still the same"; ``first_seen`` uses it for "since when".
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

# What differs between two runs of the same outcome, taken out in this order. One list for the history and
# for `gtmcheck notify` (which imports it), so "the same failure" means the same thing to both.
_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"gtm-\d{8}T\d{6}-[0-9a-z]{6}", re.IGNORECASE), "<run>"),  # run ids (in tags and addresses)
    (re.compile(r"\bgtmcheck_[0-9a-f]{6}_", re.IGNORECASE), "gtmcheck_<run>_"),  # a mapping check's marker value
    (re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.IGNORECASE), "<uuid>"),
    # a synthetic record's reserved address
    (re.compile(r"[\w.+-]+@(?:[\w-]+\.)*(?:gtmcheck\.example\.com|example\.(?:com|org|net))\b", re.IGNORECASE),
     "<synthetic>"),
    (re.compile(r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?"), "<time>"),
    (re.compile(r"\b(contacts?|companies|company|deals?|leads?|records?|id)s? #?\s*\d{3,}\b", re.IGNORECASE),
     r"\1 <id>"),
    # a duration: 31.2s, 1500 ms, 2m, 1m35s, 3 hours
    (re.compile(r"\b\d+(?:\.\d+)?\s*(?:ms|milliseconds?|s|secs?|seconds?|m|mins?|minutes?|h|hours?)"
                r"(?:\d+(?:\.\d+)?(?:ms|s|m|h))*\b", re.IGNORECASE), "<t>"),
)
_SPACE = re.compile(r"\s+")


def normalise(message: str) -> str:
    """``message`` without what differs between two runs of the same outcome."""
    text = message
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    return _SPACE.sub(" ", text).strip()


def fingerprint(checklist: str, item: str, status: str, message: str) -> str:
    """16 hex digits: the checklist, the item, its status and its normalised message."""
    text = "\x1f".join((checklist, item, status, normalise(message)))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def drift_row_id(item: str, path: str) -> str:
    """The history's item id of one baseline drift: ``BASELINE-DRIFT#/properties/...`` (kept out of the strips)."""
    return f"{item}#{path}"


def is_drift_row(item_id: str) -> bool:
    return "#/" in item_id


def drift_fingerprint(checklist: str, path: str, was: Any, now: Any) -> str:
    """16 hex digits: one drift (the checklist, where, what it was, what it is); "since when" follows it."""
    text = "\x1f".join((checklist, path, json.dumps(was, sort_keys=True, default=str),
                        json.dumps(now, sort_keys=True, default=str)))
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]
