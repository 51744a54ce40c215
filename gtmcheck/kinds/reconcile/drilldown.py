"""Drill-down to records: name the keys that differ between two keyed sides without loading either whole.

RECONCILE-TOTALS calls this when a total differs and a ``key`` is declared::

    diff_keys(warehouse, left: KeyedSide, right: KeyedSide, *, sample=20, precision=None) -> KeyDiff
    diff_records(warehouse, left: KeyedSide, records, *, label="CRM", sample=20, precision=None) -> KeyDiff

``left`` is the expected side (the warehouse), ``right`` the actual one. A ``KeyedSide`` is a table (or a
``sql`` subquery), its key column, a value expression (``None`` compares presence only) and a ``where``
with its bound ``params``. ``precision`` compares values as numbers rounded to that many decimal places
(``28000`` equals ``28000.00``); without it values compare as text. ``diff_records`` takes the CRM side as
records already in memory (a ``{key: value}`` mapping or ``(key, value)`` pairs from one bounded paced scan).

How (reladiff's idea, ``checksums.py`` holds the SQL): the warehouse counts rows and sums a hash of
key+value per bucket of ``hash(key)``, for each side on its own (``diff_keys`` uses the warehouse's own
fast hash, since it hashes both sides; ``diff_records`` uses MD5, which Python computes alike). Buckets
whose count or checksum differ are split again (64 ways) while they hold more than ``MAX_BUCKET_ROWS``
rows, and only the rows of the buckets that still differ are pulled, in batches of at most
``PULL_BATCH_ROWS`` (identical rows folded into one by the warehouse). When more than
``STREAM_ABOVE_ROWS`` rows would be pulled (a whole-table mismatch), each side is instead read once, ordered
by the key's hash, and the two streams are merged batch by batch. Memory is bounded by a batch and the
listed differences, never by a side: the first pass returns at most ``MAX_FIRST_BUCKETS`` rows.

What a ``KeyDiff`` names: ``missing_left`` (keys only the right side has), ``missing_right`` (keys only the
left has), ``differing`` (one row a side, values differ; NULL differs from every value) and ``duplicated``
(a key with more than one row on a side whose rows do not match the other side's one for one; a key
duplicated identically on both sides is no difference). Rows whose key is NULL cannot be matched: they are
counted in ``counts`` and left out. At most ``MAX_LISTED`` differences are listed (the report's evidence);
the rest are counted in ``counts``. ``sample`` holds the first ``sample`` lines for the failure message.

Both sides are queried in the same warehouse, each on its own connection: a diff across two databases is
not in scope. Runs on DuckDB, PostgreSQL and Snowflake (``checksums.SUPPORTED_DIALECTS``).
"""

from __future__ import annotations

import bisect
import collections
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from ... import secrets
from ...connectors.warehouse import Warehouse
from ...errors import WarehouseError
from .checksums import SideSql, bucket_sql, hash60, row_text, rows_sql, stream_sql, value_text
from .diffs import DiffCounts, DuplicateKey, KeyDiff, ValueDiff, collect

__all__ = ["MAX_BUCKET_ROWS", "MAX_LISTED", "PULL_BATCH_ROWS", "DiffCounts", "DuplicateKey", "KeyDiff",
           "KeyedSide", "ValueDiff", "diff_keys", "diff_records"]

MAX_LISTED = 10_000  # differences listed in the evidence; the rest are counted
TARGET_BUCKET_ROWS = 256  # the first split aims at buckets about this big
MAX_FIRST_BUCKETS = 65_536  # so the first pass returns at most this many (bucket, count, checksum) rows a side
MAX_BUCKET_ROWS = 4_096  # a differing bucket bigger than this is split again before its rows are pulled
SPLIT = 64  # how many ways a differing bucket is split
MAX_DEPTH = 6  # after this many splits a bucket is pulled whatever its size (one key repeated)
PULL_BATCH_ROWS = 50_000  # rows pulled in one query, per side
RESIDUES_PER_QUERY = 1_000  # bucket ids written into one query
STREAM_ABOVE_ROWS = 200_000  # more rows than this to pull: one pass a side ordered by hash, merged, not batches
STREAM_PASS_ROWS = 1_000_000  # rows one ordered pass sorts at most (more: several passes, each a part)
FETCH_ROWS = 5_000  # rows fetched from a cursor at a time
NATIVE_HASH = True  # diff_keys hashes with the warehouse's own hash (both sides there); diff_records with MD5

Buckets = dict[int, tuple[int, int]]  # bucket -> (rows, checksum)
Rows = Iterator[tuple[str, str | None, int]]  # key text, value text, how many identical rows
StreamRow = tuple[int, str, str | None, int]  # the same with the key's hash first
Stream = Iterator[list[StreamRow]]  # chunks of rows ordered by the key's hash
Parent = tuple[int, Sequence[int]] | None  # (modulus, residues): only the rows of these buckets


@dataclass(frozen=True)
class KeyedSide:
    """One side of a drill-down: where its rows are, which column keys them, which value is compared."""

    key: str  # a column, validated and quoted by the connector's quote_identifier
    table: str | None = None  # a table, or
    sql: str | None = None  # a SELECT whose columns the key and value name
    value: str | None = None  # an expression over the side's columns, named unqualified (``amount * fx``)
    where: str | None = None  # the checklist's filter (min_age goes here); its values are in ``params``
    params: Mapping[str, Any] = field(default_factory=dict)
    label: str = "warehouse"  # how messages name the side


class _SqlSide:
    """A side the warehouse computes."""

    def __init__(self, warehouse: Warehouse, side: KeyedSide, precision: int | None, *, native: bool) -> None:
        self.warehouse = warehouse
        self.label = side.label
        self.params = dict(side.params)
        self.sql = SideSql.build(warehouse.engine, table=side.table, sql=side.sql, key=side.key,
                                 value=side.value, where=side.where, precision=precision, native=native)

    def _run(self, sql: str) -> Iterator[Sequence[Any]]:
        for chunk in self._chunks(sql):
            yield from chunk

    def _chunks(self, sql: str) -> Iterator[Sequence[Sequence[Any]]]:
        try:
            with self.warehouse.engine.connect() as conn:
                result = conn.execution_options(stream_results=True).execute(text(sql), self.params)
                while batch := result.fetchmany(FETCH_ROWS):
                    yield batch
        except SQLAlchemyError as exc:
            raise self._error(exc) from exc
        except WarehouseError:
            raise
        except Exception as exc:  # a driver error SQLAlchemy did not wrap (duckdb raises some directly)
            raise self._error(exc) from exc

    def _error(self, exc: BaseException) -> WarehouseError:
        orig = getattr(exc, "orig", None) or exc
        first = (str(orig).strip().splitlines() or [type(orig).__name__])[0]
        return WarehouseError(secrets.redact(
            f"{self.warehouse.display_url}: drill-down on the {self.label} side failed: {first}"))

    def counts(self) -> tuple[int, int]:
        """Rows, and rows with a NULL key."""
        for n, keyed in self._run(self.sql.counts_sql()):
            return int(n or 0), int(n or 0) - int(keyed or 0)
        return 0, 0

    def buckets(self, modulus: int, parent: tuple[int, Sequence[int]] | None) -> Buckets:
        """(rows, checksum) per bucket (within ``parent``'s buckets), computed by the warehouse."""
        found: Buckets = {}
        for chunk in _chunks(parent):
            for bucket, n, checksum in self._run(bucket_sql(self.sql, modulus, chunk)):
                found[int(bucket)] = (int(n), int(checksum))
        return found

    def rows(self, modulus: int, residues: Sequence[int]) -> Rows:
        """The rows of the given buckets."""
        for k, v, n in self._run(rows_sql(self.sql, modulus, residues)):
            yield str(k), None if v is None else str(v), int(n)

    def stream(self, parent: Parent, part: Parent = None) -> Stream:
        """Every row (of ``parent``'s buckets and ``part``) as ``kh, k, v, n``, ordered by ``kh``, in chunks."""
        for chunk in self._chunks(stream_sql(self.sql, parent, part)):
            yield [(int(kh), str(k), None if v is None else str(v), int(n)) for kh, k, v, n in chunk]


class _MemorySide:
    """A side already in memory (the CRM's records), hashed in Python exactly as the warehouse hashes."""

    def __init__(self, records: Mapping[Any, Any] | Iterable[tuple[Any, Any]], label: str,
                 precision: int | None, presence_only: bool) -> None:
        self.label = label
        pairs = records.items() if isinstance(records, Mapping) else records
        self.rows_by_hash: list[tuple[int, int, str, str | None]] = []
        self.null_keys = 0
        for key, value in pairs:
            if key is None:
                self.null_keys += 1
                continue
            k = str(key)
            v = None if presence_only else value_text(value, precision)
            self.rows_by_hash.append((hash60(k), hash60(row_text(k, v, presence_only=presence_only)), k, v))

    def counts(self) -> tuple[int, int]:
        """Rows, and rows with a NULL key."""
        return len(self.rows_by_hash) + self.null_keys, self.null_keys

    def buckets(self, modulus: int, parent: tuple[int, Sequence[int]] | None) -> Buckets:
        """(rows, checksum) per bucket, as ``bucket_sql`` computes them."""
        allowed = None if parent is None else (parent[0], set(parent[1]))
        found: dict[int, list[int]] = {}
        for kh, rh, _, _ in self.rows_by_hash:
            if allowed is not None and kh % allowed[0] not in allowed[1]:
                continue
            entry = found.setdefault(kh % modulus, [0, 0])
            entry[0] += 1
            entry[1] += rh
        return {b: (n, s) for b, (n, s) in found.items()}

    def stream(self, parent: Parent, part: Parent = None) -> Stream:
        """The records (of ``parent``'s buckets and ``part``) ordered by the key's hash, identical ones folded."""
        filters = [(chosen[0], set(chosen[1])) for chosen in (parent, part) if chosen is not None]
        folded = collections.Counter((kh, k, v) for kh, _, k, v in self.rows_by_hash
                                     if all(kh % modulus in residues for modulus, residues in filters))
        rows = sorted(((kh, k, v, n) for (kh, k, v), n in folded.items()), key=lambda row: row[0])
        for start in range(0, len(rows), FETCH_ROWS):
            yield rows[start:start + FETCH_ROWS]

    def rows(self, modulus: int, residues: Sequence[int]) -> Rows:
        """The records of the given buckets, identical ones folded."""
        wanted = set(residues)
        folded = collections.Counter((k, v) for kh, _, k, v in self.rows_by_hash if kh % modulus in wanted)
        for (k, v), n in folded.items():
            yield k, v, n


def _chunks(parent: tuple[int, Sequence[int]] | None) -> Iterator[tuple[int, Sequence[int]] | None]:
    if parent is None:
        yield None
        return
    modulus, residues = parent
    for start in range(0, len(residues), RESIDUES_PER_QUERY):
        yield modulus, residues[start:start + RESIDUES_PER_QUERY]


def _first_modulus(rows: int) -> int:
    modulus = 1
    while modulus < MAX_FIRST_BUCKETS and rows / modulus > TARGET_BUCKET_ROWS:
        modulus *= 2
    return modulus


def _differing_buckets(left: _SqlSide, right: _SqlSide | _MemorySide, rows: int
                       ) -> list[tuple[int, int, int]]:
    """(modulus, residue, rows) of every bucket that differs and is small enough to pull (or too deep to split)."""
    modulus, parent, depth = _first_modulus(rows), None, 0
    to_pull: list[tuple[int, int, int]] = []
    while True:
        lb, rb = left.buckets(modulus, parent), right.buckets(modulus, parent)
        split: list[int] = []
        for bucket in sorted(lb.keys() | rb.keys()):
            ours, theirs = lb.get(bucket, (0, 0)), rb.get(bucket, (0, 0))
            if ours == theirs:
                continue
            size = max(ours[0], theirs[0])
            if size > MAX_BUCKET_ROWS and depth < MAX_DEPTH:
                split.append(bucket)
            else:
                to_pull.append((modulus, bucket, size))
        if not split:
            return to_pull
        parent, modulus, depth = (modulus, split), modulus * SPLIT, depth + 1


def _batches(buckets: list[tuple[int, int, int]]) -> Iterator[tuple[int, list[int]]]:
    batch: list[int] = []
    modulus, rows = 0, 0
    for bucket_modulus, residue, size in buckets:
        if batch and (bucket_modulus != modulus or rows + size > PULL_BATCH_ROWS
                      or len(batch) >= RESIDUES_PER_QUERY):
            yield modulus, batch
            batch, rows = [], 0
        modulus = bucket_modulus
        batch.append(residue)
        rows += size
    if batch:
        yield modulus, batch


def _merged(left: Stream, right: Stream) -> Iterator[tuple[Rows, Rows]]:
    """Both ordered streams cut into batches at a hash both have passed, so a key's rows stay together."""
    bufs: tuple[list[StreamRow], list[StreamRow]] = ([], [])
    streams, done = (left, right), [False, False]
    while True:
        for side in (0, 1):  # keep about half a batch of each side in hand
            while not done[side] and len(bufs[side]) < PULL_BATCH_ROWS // 2:
                chunk = next(streams[side], None)
                if chunk is None:
                    done[side] = True
                else:
                    bufs[side].extend(chunk)
        if all(done):
            if bufs[0] or bufs[1]:
                yield _rows_of(bufs[0]), _rows_of(bufs[1])
            return
        # rows below the smallest hash an unfinished side has reached are complete on both sides
        boundary = min(bufs[side][-1][0] for side in (0, 1) if not done[side])
        cuts = [bisect.bisect_left(buf, boundary, key=lambda row: row[0]) for buf in bufs]
        if cuts == [0, 0]:  # one hash fills the buffers: read on until it is passed
            for side in (0, 1):
                chunk = None if done[side] else next(streams[side], None)
                done[side] = done[side] or chunk is None
                bufs[side].extend(chunk or ())
            continue
        yield _rows_of(bufs[0][:cuts[0]]), _rows_of(bufs[1][:cuts[1]])
        bufs = (bufs[0][cuts[0]:], bufs[1][cuts[1]:])


def _rows_of(rows: list[StreamRow]) -> Rows:
    return ((k, v, n) for _, k, v, n in rows)


def _pairs(left: _SqlSide, right: _SqlSide | _MemorySide, pulls: list[tuple[int, int, int]]
           ) -> Iterator[tuple[Rows, Rows]]:
    """The rows of the differing buckets: a query per batch, or, past ``STREAM_ABOVE_ROWS``, one merged pass.

    A batch costs a scan of the side, so a whole-table mismatch would cost a scan per 50,000 rows; the
    merged pass costs one ordered scan a side whatever the number of differences.
    """
    if sum(size for _, _, size in pulls) <= STREAM_ABOVE_ROWS:
        for modulus, residues in _batches(pulls):
            yield left.rows(modulus, residues), right.rows(modulus, residues)
        return
    moduli = {modulus for modulus, _, _ in pulls}
    parent: Parent = None  # every row, when the buckets are too many to name in a query
    if len(moduli) == 1 and len(pulls) <= RESIDUES_PER_QUERY:
        parent = (moduli.pop(), [residue for _, residue, _ in pulls])
    passes = -(-sum(size for _, _, size in pulls) // STREAM_PASS_ROWS)  # so the warehouse sorts a part at a time
    for j in range(passes):
        part: Parent = (passes, [j, j - passes]) if passes > 1 else None  # MOD is negative for a negative hash
        yield from _merged(left.stream(parent, part), right.stream(parent, part))


def _diff(left: _SqlSide, right: _SqlSide | _MemorySide, sample: int) -> KeyDiff:
    left_rows, left_nulls = left.counts()
    right_rows, right_nulls = right.counts()
    counts = DiffCounts(left_rows=left_rows, right_rows=right_rows,
                        left_null_keys=left_nulls, right_null_keys=right_nulls)
    pulls = _differing_buckets(left, right, max(left_rows - left_nulls, right_rows - right_nulls))
    return collect(_pairs(left, right, pulls), counts, labels=(left.label, right.label), sample=sample,
                   max_listed=MAX_LISTED)


def diff_keys(warehouse: Warehouse, left: KeyedSide, right: KeyedSide, *, sample: int = 20,
              precision: int | None = None) -> KeyDiff:
    """The keys missing on either side and the values that differ, both sides in ``warehouse``."""
    if (left.value is None) != (right.value is None):
        raise WarehouseError("both drill-down sides compare a value, or neither does")
    if left.label == right.label:  # warehouse against warehouse: name each side by its table
        left = replace(left, label=f"{left.label} {left.table or 'sql'}")
        right = replace(right, label=f"{right.label} {right.table or 'sql'}")
    return _diff(_SqlSide(warehouse, left, precision, native=NATIVE_HASH),
                 _SqlSide(warehouse, right, precision, native=NATIVE_HASH), sample)


def diff_records(warehouse: Warehouse, left: KeyedSide, records: Mapping[Any, Any] | Iterable[tuple[Any, Any]],
                 *, label: str = "CRM", sample: int = 20, precision: int | None = None) -> KeyDiff:
    """``diff_keys`` against records held in memory (the CRM side of one bounded scan).

    Their bucket checksums are computed here, the warehouse's there, and warehouse rows are pulled only for
    the buckets that differ. With ``left.value`` ``None`` only presence is compared and the records' values are ignored.
    """
    memory = _MemorySide(records, label, precision, presence_only=left.value is None)
    return _diff(_SqlSide(warehouse, left, precision, native=False), memory, sample)
