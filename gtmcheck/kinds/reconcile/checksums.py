"""The drill-down's SQL and its Python twin: keyed row checksums bucketed by a hash of the key.

Every row becomes two 60-bit integers computed by the warehouse: ``kh``, the first 15 hex digits of
``MD5(key)`` (its bucket is ``MOD(kh, modulus)``), and ``rh``, the same of ``MD5(row)`` where the row text is
``<len(key)>:<key>`` then ``=<value>`` (or ``~`` for NULL, so NULL never equals a value and the length prefix
keeps a key and a value from trading characters). A bucket's checksum is ``SUM(rh)`` with ``COUNT(*)``: equal
rows give equal sums whatever their order, a changed value changes the sum. ``row_text`` and ``hash60``
compute the same in Python for the in-memory (CRM) side, so its buckets compare with the warehouse's.
When both sides are in the warehouse, ``native`` swaps MD5 for the warehouse's own 64-bit hash (DuckDB and
Snowflake ``HASH``, PostgreSQL ``HASHTEXTEXTENDED``): the same checksums, computed many times faster, but
only comparable within one warehouse (and, for DuckDB, one version), which is all a drill-down needs.

Values are compared as text: with ``precision`` a number is cast to ``DECIMAL(38, precision)`` first, so
``28000`` and ``28000.00`` (or a float) read alike; without it the value's own text is compared.

The dialect differences live in ``_DIALECTS`` and nowhere else: how to turn 15 hex digits into an integer
(DuckDB casts ``'0x...'``, PostgreSQL goes through ``BIT(64)``, Snowflake and the rest add up the digits'
``POSITION`` in ``'0123456789abcdef'``, plain SQL that runs on fakesnow as on Snowflake). Moduli and bucket
residues are integers this module computes, written as literals; the checklist's identifiers are quoted by
the connector's ``quote_identifier`` and its ``where`` values are bound parameters.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from ...connectors.warehouse import quote_identifier
from ...connectors.warehouse_queries import check_where
from ...errors import WarehouseError

__all__ = ["SUPPORTED_DIALECTS", "SideSql", "bucket_sql", "hash60", "row_text", "rows_sql", "stream_sql",
           "value_text"]

HEX_DIGITS = 15  # 60 bits: a checksum of any realistic bucket stays far inside the warehouses' SUM types


@dataclass(frozen=True)
class _Dialect:
    text_type: str
    hex_to_int: str  # a format string over {h}, an expression holding 15 lowercase hex digits
    native_key: str  # the warehouse's own 64-bit hash of the key text {k}, many times faster than MD5
    native_row: str  # the same of a row: over {k} and {v} (NULL hashes apart from every text) or {row}


def _positional(h: str) -> str:
    terms = [f"(POSITION(SUBSTR({h}, {i + 1}, 1) IN '0123456789abcdef') - 1) * {16 ** (HEX_DIGITS - 1 - i)}"
             for i in range(HEX_DIGITS)]
    return "(" + " + ".join(terms) + ")"


_DIALECTS: dict[str, _Dialect] = {
    "duckdb": _Dialect("VARCHAR", "CAST(('0x' || {h}) AS BIGINT)", "HASH({k})", "HASH({k}, {v})"),
    "postgresql": _Dialect("VARCHAR", "CAST(CAST(('x0' || {h}) AS BIT(64)) AS BIGINT)",
                           "HASHTEXTEXTENDED({k}, 0)", "HASHTEXTEXTENDED({row}, 0)"),
    "snowflake": _Dialect("VARCHAR", _positional("{h}"), "HASH({k})", "HASH({k}, {v})"),
}
SUPPORTED_DIALECTS: tuple[str, ...] = tuple(_DIALECTS)


def _dialect(name: str) -> _Dialect:
    try:
        return _DIALECTS[name]
    except KeyError:
        raise WarehouseError(
            f"record drill-down runs on {', '.join(SUPPORTED_DIALECTS)}, not {name}; "
            "the totals are still compared, without the records that differ"
        ) from None


def _check_fragment(fragment: str, what: str) -> str:
    if ";" in fragment or "--" in fragment or "/*" in fragment:
        raise WarehouseError(f"a {what} may not contain ';', '--' or '/*'")
    return fragment


@dataclass(frozen=True)
class SideSql:
    """One side's rows as SQL: ``k`` (key text), ``v`` (value text or NULL), ``kh`` and ``rh`` (the hashes)."""

    source: str  # the quoted table or ``(subquery)``
    key: str  # the quoted key column
    value: str | None  # the value expression, already checked
    where: str  # `` WHERE ...`` or ""
    dialect: str
    precision: int | None
    native: bool  # the warehouse's own hash, when both sides are hashed by the same warehouse

    @classmethod
    def build(cls, engine: Any, *, table: str | None, sql: str | None, key: str, value: str | None,
              where: str | None, precision: int | None, native: bool = False) -> SideSql:
        """Validate and quote a side's parts for ``engine``'s dialect."""
        name = engine.dialect.name
        _dialect(name)
        if (table is None) == (sql is None):
            raise WarehouseError("a drill-down side names a table or a sql subquery, not both or neither")
        if sql is not None:
            body = _check_fragment(sql.strip().rstrip(";").strip(), "sql subquery")
            source = f"({body}) AS gtm_src"
        else:
            source = quote_identifier(engine, str(table), "table")
        if precision is not None and not (isinstance(precision, int) and 0 <= precision <= 18):
            raise WarehouseError(f"precision must be a whole number from 0 to 18, not {precision!r}")
        checked_value = None if value is None else _check_fragment(value, "value expression")
        filtered = check_where(where)
        return cls(source, quote_identifier(engine, key), checked_value, f" WHERE {filtered}" if filtered else "",
                   name, precision, native)

    def keyed(self, parent: tuple[int, Sequence[int]] | None = None, *, typed: bool = False,
              part: tuple[int, Sequence[int]] | None = None) -> str:
        """``kh, k, v`` of every row with a key (within ``parent``'s buckets when given).

        The key is hashed first and the bucket filter sits in the WHERE of the SELECT that renders the value,
        so only the rows of the wanted buckets have their value cast to text. ``typed`` keeps a number as
        ``DECIMAL(38, precision)`` (hashing it is several times cheaper than hashing its text).
        """
        d = _dialect(self.dialect)
        s0 = f"SELECT CAST({self.key} AS {d.text_type}) AS gtm_k, * FROM {self.source}{self.where}"
        if self.native:
            hashed = f"SELECT {d.native_key.format(k='gtm_k')} AS gtm_kh, * FROM ({s0}) AS gtm_s0"
        else:
            s1 = f"SELECT SUBSTR(MD5(gtm_k), 1, {HEX_DIGITS}) AS gtm_kx, * FROM ({s0}) AS gtm_s0"
            hashed = f"SELECT {d.hex_to_int.format(h='gtm_kx')} AS gtm_kh, * FROM ({s1}) AS gtm_s1"
        if self.value is None:
            val_text = f"CAST(NULL AS {d.text_type})"
        elif self.precision is not None and typed:
            val_text = f"CAST(({self.value}) AS DECIMAL(38, {self.precision}))"
        elif self.precision is not None:
            val_text = f"CAST(CAST(({self.value}) AS DECIMAL(38, {self.precision})) AS {d.text_type})"
        else:
            val_text = f"CAST(({self.value}) AS {d.text_type})"
        return (f"SELECT gtm_kh AS kh, gtm_k AS k, {val_text} AS v FROM ({hashed}) AS gtm_s2 "
                f"WHERE gtm_k IS NOT NULL{_residues('gtm_kh', parent)}{_residues('gtm_kh', part)}")

    def row_text(self) -> str:
        """The SQL twin of ``row_text`` over ``k`` and ``v``."""
        d = _dialect(self.dialect)
        presence = "''" if self.value is None else "COALESCE('=' || v, '~')"
        return f"CAST(LENGTH(k) AS {d.text_type}) || ':' || k || {presence}"

    def counts_sql(self) -> str:
        """Rows, and rows whose key is NULL (they cannot be matched and are left out)."""
        return f"SELECT COUNT(*) AS n, COUNT({self.key}) AS keyed FROM {self.source}{self.where}"


def _residues(column: str, parent: tuple[int, Sequence[int]] | None) -> str:
    if parent is None:
        return ""
    modulus, residues = parent
    return f" AND MOD({column}, {int(modulus)}) IN ({', '.join(str(int(r)) for r in residues)})"


def bucket_sql(side: SideSql, modulus: int, parent: tuple[int, Sequence[int]] | None = None) -> str:
    """``bucket, n, checksum`` per ``MOD(kh, modulus)``, only within ``parent``'s buckets when given."""
    d = _dialect(side.dialect)
    if side.native:
        keyed = side.keyed(parent, typed="{row}" not in d.native_row)
        rows = f"SELECT kh, {d.native_row.format(k='k', v='v', row=side.row_text())} AS rh FROM ({keyed}) AS gtm_s3"
    else:
        hexed = (f"SELECT kh, SUBSTR(MD5({side.row_text()}), 1, {HEX_DIGITS}) AS rx "
                 f"FROM ({side.keyed(parent)}) AS gtm_s3")
        rows = f"SELECT kh, {d.hex_to_int.format(h='rx')} AS rh FROM ({hexed}) AS gtm_s4"
    return (f"SELECT MOD(kh, {int(modulus)}) AS bucket, COUNT(*) AS n, SUM(rh) AS checksum "
            f"FROM ({rows}) AS gtm_s5 GROUP BY MOD(kh, {int(modulus)})")


def rows_sql(side: SideSql, modulus: int, residues: Sequence[int]) -> str:
    """``k, v, n``: the rows of the given buckets, identical rows folded into one with their count."""
    return f"SELECT k, v, COUNT(*) AS n FROM ({side.keyed((modulus, residues))}) AS gtm_s3 GROUP BY k, v"


def stream_sql(side: SideSql, parent: tuple[int, Sequence[int]] | None = None,
               part: tuple[int, Sequence[int]] | None = None) -> str:
    """``kh, k, v, n`` of every row (within ``parent``'s buckets and ``part``) ordered by ``kh``, to merge."""
    return f"SELECT kh, k, v, 1 AS n FROM ({side.keyed(parent, part=part)}) AS gtm_s3 ORDER BY kh"


def value_text(value: Any, precision: int | None) -> str | None:
    """A record's value as the warehouse renders it (``CAST(... AS DECIMAL(38, p))`` with ``precision``)."""
    if value is None:
        return None
    if precision is None:
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)
    try:
        number = Decimal(str(value).strip()) if not isinstance(value, Decimal) else value
        return str(number.quantize(Decimal(1).scaleb(-precision), rounding=ROUND_HALF_UP))
    except (InvalidOperation, ValueError):
        raise WarehouseError(f"value {value!r} is not a number; drop precision to compare it as text") from None


def row_text(key: str, value: str | None, *, presence_only: bool = False) -> str:
    """The text ``rh`` hashes, as the SQL above builds it."""
    if presence_only:
        return f"{len(key)}:{key}"
    return f"{len(key)}:{key}" + ("~" if value is None else "=" + value)


def hash60(text: str) -> int:
    """The first 15 hex digits of ``MD5(text)`` as an integer, as every dialect above computes it."""
    return int(hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()[:HEX_DIGITS], 16)
