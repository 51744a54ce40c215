"""The compiled form of a UTM checklist: taxonomy, channel map and campaign URLs (inline and from CSV).

Built once by ``UtmKind.prepare`` and kept in ``checklist.cache``: allowed lists become lower-cased
frozensets, patterns become RE2 programs, CSV files become rows that remember where they came from, so
lint is set look-ups and every finding can still point at a file, line and column.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...channels import ChannelMap, ChannelRule, Condition
from ...errors import Location, SpecError, relpath
from ...saferegex import compile_pattern
from ...sidefiles import read_relative_file
from ...yamlfile import JsonPath

if TYPE_CHECKING:
    from ...spec import Checklist

CACHE_KEY = "utm"
MAX_CSV_BYTES = 64 * 1024 * 1024
TRUE_WORDS = frozenset({"true", "yes", "y", "1", "active", "live", "on"})
FALSE_WORDS = frozenset({"false", "no", "n", "0", "inactive", "paused", "off", ""})


@dataclass(frozen=True)
class ParamSpec:
    """What one ``utm_*`` parameter may hold: an allowed list, a pattern, or anything."""

    name: str
    allowed: frozenset[str] | None  # lower-cased
    pattern: Any  # SafeRegex | None (kept Any to avoid a hot-path isinstance)
    max_length: int | None


@dataclass
class Taxonomy:
    """The ``taxonomy:`` section, pre-parsed for set look-ups."""

    required: tuple[str, ...] = ()
    case: str = "lower"
    separator: str | None = None
    max_length: int | None = None
    banned: frozenset[str] = frozenset()
    params: dict[str, ParamSpec] = field(default_factory=dict)
    declared: bool = False  # ``parameters:`` given: any other utm_* parameter is unknown
    combinations: dict[str, frozenset[str]] = field(default_factory=dict)

    @property
    def documented(self) -> bool:
        """Required parameters are named and each has an allowed list or a pattern."""
        return bool(self.required) and all(
            (p := self.params.get(name)) is not None and (p.allowed is not None or p.pattern is not None)
            for name in self.required
        )


class UrlSource:
    """Where a group of URLs came from; turns (entry, offset) into a file position."""

    display: str = ""

    def location(self, entry: UrlEntry, offset: int = 0, *, id_field: bool = False) -> Location:
        raise NotImplementedError


class InlineSource(UrlSource):
    """URLs written under ``urls:`` in the checklist itself."""

    def __init__(self, checklist: Checklist) -> None:
        self.checklist = checklist
        self.display = checklist.display
        self._lines: list[str] | None = None

    def _text_lines(self) -> list[str]:
        if self._lines is None:
            # the text already read (never the path again: it may have changed), split as editors count lines
            self._lines = re.split(r"\r\n?|\n", self.checklist.doc.text)
        return self._lines

    def location(self, entry: UrlEntry, offset: int = 0, *, id_field: bool = False) -> Location:
        base = self.checklist.location(("urls", entry.index, "id" if id_field else "url"))
        if id_field:
            return base
        lines = self._text_lines()
        if base.line > len(lines):
            return base
        text, start = lines[base.line - 1], base.column - 1
        if text[start : start + 1] in ("'", '"'):
            start += 1
        if text[start : start + len(entry.url)] != entry.url:  # folded, escaped or ${VAR}: no offset
            return base
        return Location(base.file, base.line, start + 1 + offset)


class CsvSource(UrlSource):
    """URLs listed in a CSV file named under ``url_files:``."""

    def __init__(self, path: Path, text: str, url_col: int, id_col: int | None) -> None:
        self.path = path
        self.display = relpath(path)
        self.text = text
        self._lines: list[str] | None = None
        self.url_col = url_col
        self.id_col = id_col

    @property
    def lines(self) -> list[str]:
        """The file's lines as csv counts them, split only once a finding needs a column."""
        if self._lines is None:
            self._lines = _split_lines(self.text)
        return self._lines

    def location(self, entry: UrlEntry, offset: int = 0, *, id_field: bool = False) -> Location:
        col_index = self.id_col if id_field and self.id_col is not None else self.url_col
        raw = self.lines[entry.index - 1] if entry.index <= len(self.lines) else ""
        start, quoted = _field_start(raw, col_index)
        column = start + 1 + (1 if quoted else 0) + (0 if id_field else offset)
        return Location(self.display, entry.index, column)


def _split_lines(text: str) -> list[str]:
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")  # csv's line breaks only
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def _field_start(line: str, index: int) -> tuple[int, bool]:
    """Character offset where CSV field ``index`` starts in ``line``, and whether it is quoted."""
    if '"' not in line:
        fields = line.split(",", index)
        start = sum(len(f) + 1 for f in fields[:index])
        return start, False
    field_no, i, n = 0, 0, len(line)
    while field_no < index and i < n:
        if line[i] == '"':
            i += 1
            while i < n:
                if line[i] == '"':
                    if i + 1 < n and line[i + 1] == '"':
                        i += 2
                        continue
                    break
                i += 1
        elif line[i] == ",":
            field_no += 1
        i += 1
    return i, line[i : i + 1] == '"'


@dataclass(slots=True)
class UrlEntry:
    """One campaign URL; ``index`` is its position in ``urls:`` or its 1-based CSV line."""

    id: str
    url: str
    active: bool
    source: UrlSource
    index: int

    def location(self, offset: int = 0) -> Location:
        return self.source.location(self, offset)

    def id_location(self) -> Location:
        return self.source.location(self, id_field=True)


@dataclass
class UtmSpec:
    """Everything lint and the checks need, compiled once per checklist."""

    taxonomy: Taxonomy
    channels: ChannelMap
    expected: tuple[str, ...]
    urls: list[UrlEntry]
    require_https: bool = True
    max_redirects: int = 10
    has_taxonomy: bool = False


def _lower_set(values: list[str]) -> frozenset[str]:
    return frozenset(v.lower() for v in values)


def _taxonomy(checklist: Checklist, raw: dict[str, Any]) -> Taxonomy:
    base: JsonPath = ("taxonomy",)
    params: dict[str, ParamSpec] = {}
    for name, spec in (raw.get("parameters") or {}).items():
        pattern = None
        if "pattern" in spec:
            pattern = compile_pattern(
                spec["pattern"],
                checklist.location((*base, "parameters", name, "pattern")),
                what=f"{name} pattern",
            )
        allowed = _lower_set(spec["allowed"]) if "allowed" in spec else None
        params[name] = ParamSpec(name, allowed, pattern, spec.get("max_length"))
    required = tuple(raw.get("required", ()))
    for name in required:
        params.setdefault(name, ParamSpec(name, None, None, None))
    return Taxonomy(
        required=required,
        case=raw.get("case", "lower"),
        separator=raw.get("separator"),
        max_length=raw.get("max_length"),
        banned=_lower_set(raw.get("banned", [])),
        params=params,
        declared="parameters" in raw,
        combinations={src.lower(): _lower_set(ms) for src, ms in (raw.get("combinations") or {}).items()},
    )


def _channel_map(checklist: Checklist, raw: dict[str, Any]) -> ChannelMap:
    rules = []
    for i, rule in enumerate(raw.get("custom", [])):
        when: dict[str, Condition] = {}
        for fld, cond in (rule.get("when") or {}).items():
            matches = None
            if "matches" in cond:
                where = checklist.location(("channels", "custom", i, "when", fld, "matches"))
                matches = compile_pattern(cond["matches"], where, what=f"{fld} pattern", ignore_case=True)
            when[fld] = Condition(
                equals=cond["equals"].lower() if "equals" in cond else None,
                in_=_lower_set(cond["in"]) if "in" in cond else None,
                contains=cond["contains"].lower() if "contains" in cond else None,
                ends_with=cond["ends_with"].lower() if "ends_with" in cond else None,
                matches=matches,
            )
        rules.append(ChannelRule(rule["channel"], when))
    preset = raw.get("preset", "ga4")
    return ChannelMap(custom=tuple(rules), preset=None if preset == "none" else preset)


def _read_csv(checklist: Checklist, i: int, spec: dict[str, Any]) -> list[UrlEntry]:
    base: JsonPath = ("url_files", i)
    where = checklist.location((*base, "path"))
    path, text = read_relative_file(
        checklist, spec["path"], where, what="URL file", expect="a .csv file", max_bytes=MAX_CSV_BYTES
    )
    if "\r" in text:
        n_lines = len(_split_lines(text))
    else:
        n_lines = text.count("\n") + (0 if text.endswith("\n") else 1)
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if not header:
        raise SpecError(f"URL file {spec['path']!r} is empty", where, "add a header row naming the URL column")
    header = [h.strip() for h in header]

    def column(key: str, default: str | None) -> int | None:
        name = spec.get(key, default)
        if name is None:
            return None
        if name not in header:
            loc = checklist.location((*base, key)) if key in spec else where
            raise SpecError(
                f"URL file {spec['path']!r} has no column {name!r} (columns: {', '.join(header)})",
                loc,
                f"set `{key}:` to one of the header's columns",
            )
        return header.index(name)

    url_col = column("url_column", "url")
    id_col = column("id_column", None)
    active_col = column("active_column", None)
    assert url_col is not None
    source = CsvSource(path, text, url_col, id_col)
    default_active = bool(spec.get("active", True))
    stem = path.stem
    header_lines = reader.line_num
    rows = list(reader)
    if header_lines + len(rows) == n_lines:  # no quoted line breaks: row i sits on line i + 2
        numbers: Iterable[int] = range(header_lines + 1, header_lines + 1 + len(rows))
    else:
        numbers = _row_lines(text, header_lines)
    width = max(url_col, id_col or 0, active_col or 0) + 1
    if active_col is None and min(map(len, rows), default=width) >= width:  # the common case, fast
        if id_col is None:
            return [
                UrlEntry(f"{stem}:{n}", row[url_col], default_active, source, n)
                for n, row in zip(numbers, rows, strict=True)
            ]
        return [
            UrlEntry(row[id_col].strip() or f"{stem}:{n}", row[url_col], default_active, source, n)
            for n, row in zip(numbers, rows, strict=True)
        ]
    entries: list[UrlEntry] = []
    append = entries.append
    for line, row in zip(numbers, rows, strict=True):
        if len(row) < width:
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            row = row + [""] * (width - len(row))
        active = default_active if active_col is None else row[active_col].strip().lower() in TRUE_WORDS
        ident = row[id_col].strip() if id_col is not None else ""
        append(UrlEntry(ident or f"{stem}:{line}", row[url_col], active, source, line))
    return entries


def _row_lines(text: str, header_lines: int) -> list[int]:
    """The first line of every data row, for files whose quoted fields span lines."""
    reader = csv.reader(io.StringIO(text))
    next(reader, None)
    numbers, start = [], header_lines + 1
    for _row in reader:
        numbers.append(start)
        start = reader.line_num + 1
    return numbers


def compile_spec(checklist: Checklist) -> UtmSpec:
    """Compile a validated UTM checklist; raises SpecError at the YAML line of anything unusable."""
    data = checklist.data
    taxonomy = _taxonomy(checklist, data.get("taxonomy") or {})
    channels_raw = data.get("channels") or {}
    inline = InlineSource(checklist)
    urls = [
        UrlEntry(str(u["id"]), u["url"], bool(u.get("active", True)), inline, i)
        for i, u in enumerate(data.get("urls", []))
    ]
    for i, spec in enumerate(data.get("url_files", [])):
        urls.extend(_read_csv(checklist, i, spec))
    resolve = data.get("resolve") or {}
    return UtmSpec(
        taxonomy=taxonomy,
        channels=_channel_map(checklist, channels_raw),
        expected=tuple(channels_raw.get("expected", ())),
        urls=urls,
        require_https=bool(resolve.get("require_https", True)),
        max_redirects=int(resolve.get("max_redirects", 10)),
        has_taxonomy="taxonomy" in data,
    )
