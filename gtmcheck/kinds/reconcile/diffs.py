"""What a drill-down found: the keys that differ, listed up to a cap and counted beyond it.

``collect`` compares the rows of the differing buckets one batch at a time, so memory holds one batch and
the listed differences, never a whole side.
"""

from __future__ import annotations

import collections
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

__all__ = ["DiffCounts", "DuplicateKey", "KeyDiff", "ValueDiff", "collect"]

Rows = Iterator[tuple[str, str | None, int]]


@dataclass(frozen=True)
class ValueDiff:
    """A key with one row on each side and different values (``None`` is NULL)."""

    key: str
    left: str | None
    right: str | None


@dataclass(frozen=True)
class DuplicateKey:
    """A key with more than one row on a side, whose rows do not match the other side's one for one."""

    key: str
    left: tuple[str | None, ...]
    right: tuple[str | None, ...]


@dataclass
class DiffCounts:
    """Every difference counted, listed or not, and the rows each side holds."""

    left_rows: int = 0
    right_rows: int = 0
    left_null_keys: int = 0
    right_null_keys: int = 0
    missing_left: int = 0
    missing_right: int = 0
    differing: int = 0
    duplicated: int = 0

    @property
    def differences(self) -> int:
        """All the keys that differ."""
        return self.missing_left + self.missing_right + self.differing + self.duplicated


@dataclass
class KeyDiff:
    """The drill-down's answer: lists capped at ``max_listed`` in all, ``total_counts`` complete."""

    missing_left: list[str] = field(default_factory=list)
    missing_right: list[str] = field(default_factory=list)
    differing: list[ValueDiff] = field(default_factory=list)
    duplicated: list[DuplicateKey] = field(default_factory=list)
    total_counts: DiffCounts = field(default_factory=DiffCounts)
    labels: tuple[str, str] = ("left", "right")
    sample: list[str] = field(default_factory=list)
    max_listed: int = 0

    @property
    def listed(self) -> int:
        """How many differences the lists hold."""
        return len(self.missing_left) + len(self.missing_right) + len(self.differing) + len(self.duplicated)

    @property
    def not_listed(self) -> int:
        """Differences counted but not listed (past ``max_listed``)."""
        return self.total_counts.differences - self.listed

    def evidence(self) -> dict[str, Any]:
        """The full (capped) list for report.json."""
        left, right = self.labels
        c = self.total_counts
        return {
            "sides": {"left": left, "right": right},
            "rows": {"left": c.left_rows, "right": c.right_rows},
            "null_keys": {"left": c.left_null_keys, "right": c.right_null_keys},
            "counts": {"missing_left": c.missing_left, "missing_right": c.missing_right,
                       "differing": c.differing, "duplicated": c.duplicated},
            "missing_left": list(self.missing_left),
            "missing_right": list(self.missing_right),
            "differing": [{"key": d.key, "left": d.left, "right": d.right} for d in self.differing],
            "duplicated": [{"key": d.key, "left": list(d.left), "right": list(d.right)} for d in self.duplicated],
            "not_listed": self.not_listed,
            "max_listed": self.max_listed,
        }


def _show(value: str | None) -> str:
    return "NULL" if value is None else value


def _line(kind: str, key: str, labels: tuple[str, str], left: Any = None, right: Any = None) -> str:
    if kind == "missing_left":
        return f"{key}: missing in {labels[0]}"
    if kind == "missing_right":
        return f"{key}: missing in {labels[1]}"
    if kind == "differing":
        return f"{key}: {_show(left)} ({labels[0]}) vs {_show(right)} ({labels[1]})"
    return f"{key}: {len(left)} rows ({labels[0]}) vs {len(right)} ({labels[1]})"


Values = tuple[str | None] | collections.Counter[str | None]  # one row's value, or a key's several rows


def _load(rows: Rows) -> dict[str, Values]:
    """A batch's rows by key: a 1-tuple for the usual single row (cheap), a Counter when a key repeats."""
    by_key: dict[str, Values] = {}
    for k, v, n in rows:
        seen = by_key.get(k)
        if seen is None and n == 1:
            by_key[k] = (v,)
            continue
        counter = seen if isinstance(seen, collections.Counter) else collections.Counter(seen or ())
        counter[v] += n
        by_key[k] = counter
    return by_key


def _counter(values: Values) -> collections.Counter[str | None]:
    return values if isinstance(values, collections.Counter) else collections.Counter(values)


def _expand(values: Values) -> tuple[str | None, ...]:
    return tuple(sorted(_counter(values).elements(), key=lambda v: (v is None, v or "")))


def collect(batches: Iterable[tuple[Rows, Rows]], counts: DiffCounts, *, labels: tuple[str, str],
            sample: int, max_listed: int) -> KeyDiff:
    """Compare each batch's rows key by key; list differences until ``max_listed``, count them all."""
    found = KeyDiff(total_counts=counts, labels=labels, max_listed=max_listed)
    sample = max(0, int(sample))
    listed = 0

    def note(kind: str, key: str, left: Any = None, right: Any = None) -> None:
        nonlocal listed
        setattr(counts, kind, getattr(counts, kind) + 1)
        if listed >= max_listed:
            return
        listed += 1
        if kind == "differing":
            found.differing.append(ValueDiff(key, left, right))
        elif kind == "duplicated":
            found.duplicated.append(DuplicateKey(key, left, right))
        else:
            getattr(found, kind).append(key)
        if len(found.sample) < sample:
            found.sample.append(_line(kind, key, labels, left, right))

    for left_rows, right_rows in batches:
        left, right = _load(left_rows), _load(right_rows)
        for key in sorted(left.keys() | right.keys()):
            ours, theirs = left.get(key), right.get(key)
            if ours is None:
                note("missing_left", key)
            elif theirs is None:
                note("missing_right", key)
            elif ours == theirs:
                continue
            elif type(ours) is tuple and type(theirs) is tuple:
                note("differing", key, ours[0], theirs[0])
            elif _counter(ours) != _counter(theirs):
                note("duplicated", key, _expand(ours), _expand(theirs))
    return found
