"""YAML with a line and column on every node, safe against hostile input.

PyYAML's ``safe_load`` loses positions and speaks YAML 1.1, where ``on:`` is ``True``, ``NO`` (Norway) is
``False`` and ``2026-11-20`` is a ``date``. Checklists need the opposite: every value keeps the place it
came from (so schema and lint errors point at a line), only ``true``/``false`` are booleans, and dates stay
strings. Mapping keys are always their source text. Aliases are allowed but their expansion is bounded, so
a "billion laughs" document fails fast with a clear message instead of eating the machine.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import Location, SpecError, relpath

JsonPath = tuple[str | int, ...]

MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_VALUES = 200_000
MAX_DEPTH = 64


class _Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 core-schema scalars: no yes/no/on/off booleans, no implicit dates."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:timestamp")]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)

_JSON_SCALARS = (str, int, float, bool, type(None))


@dataclass
class Document:
    """A parsed YAML file: plain JSON-like data plus the position of every value and key."""

    path: Path
    data: Any
    marks: dict[JsonPath, tuple[int, int]] = field(default_factory=dict)
    key_marks: dict[JsonPath, tuple[int, int]] = field(default_factory=dict)

    @property
    def display(self) -> str:
        return relpath(self.path)

    def location(self, path: JsonPath = (), *, key: bool = False) -> Location:
        """The position of the value at ``path`` (or of its key), else of its nearest ancestor."""
        p = tuple(path)
        if key and p in self.key_marks:
            line, col = self.key_marks[p]
            return Location(self.display, line, col)
        while True:
            if p in self.marks:
                line, col = self.marks[p]
                return Location(self.display, line, col)
            if not p:
                return Location(self.display, 1, 1)
            p = p[:-1]

    def get(self, path: JsonPath, default: Any = None) -> Any:
        node = self.data
        for part in path:
            try:
                node = node[part]
            except (KeyError, IndexError, TypeError):
                return default
        return node


def _mark(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


class _Builder:
    """Turns a composed node graph into plain data, recording marks and bounding alias expansion."""

    def __init__(self, loader: _Loader, doc: Document) -> None:
        self.loader = loader
        self.doc = doc
        self.count = 0

    def error(self, node: yaml.Node, message: str, hint: str) -> SpecError:
        line, col = _mark(node)
        return SpecError(message, Location(self.doc.display, line, col), hint)

    def build(self, node: yaml.Node, path: JsonPath) -> Any:
        self.count += 1
        if self.count > MAX_VALUES:
            raise self.error(
                node,
                f"the document expands to more than {MAX_VALUES:,} values",
                "remove deeply nested aliases (*name); a checklist never needs this many values",
            )
        if len(path) > MAX_DEPTH:
            raise self.error(node, f"nesting deeper than {MAX_DEPTH} levels", "flatten the structure")
        self.doc.marks.setdefault(path, _mark(node))
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(child, (*path, i)) for i, child in enumerate(node.value)]
        if isinstance(node, yaml.MappingNode):
            return self.mapping(node, path)
        raise self.error(node, "unsupported YAML node", "use plain mappings, lists and scalars")

    def scalar(self, node: yaml.ScalarNode) -> Any:
        try:
            value = self.loader.construct_object(node, deep=True)
        except yaml.constructor.ConstructorError as exc:
            raise self.error(
                node, f"unsupported YAML tag {node.tag!r}", "remove the tag; checklists hold plain values"
            ) from exc
        if not isinstance(value, _JSON_SCALARS):
            raise self.error(
                node, f"unsupported YAML value of type {type(value).__name__}", "write it as a plain string"
            )
        if isinstance(value, float) and value != value:  # NaN never means anything in a checklist
            return node.value
        return value

    def mapping(self, node: yaml.MappingNode, path: JsonPath) -> dict[str, Any]:
        try:
            self.loader.flatten_mapping(node)  # resolves ``<<: *defaults`` merge keys
        except yaml.constructor.ConstructorError as exc:
            raise self.error(node, "invalid merge key (<<)", "merge only mappings or lists of mappings") from exc
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise self.error(key_node, "a mapping key must be a plain string", "use a simple key such as `name:`")
            key = str(key_node.value)
            if key in out:
                raise self.error(
                    key_node,
                    f"duplicate key {key!r}",
                    "keep one of the two; YAML would silently keep only the last",
                )
            child = (*path, key)
            self.doc.key_marks[child] = _mark(key_node)
            out[key] = self.build(value_node, child)
        return out


def _decode(raw: bytes, display: str) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise SpecError(
            "the file is not valid UTF-8", Location(display, line, col), "save the file as UTF-8"
        ) from None


def parse_text(text: str, path: Path) -> Document:
    """Parse one YAML document held in ``text``; ``path`` names it in messages."""
    doc = Document(path=path, data=None)
    display = doc.display
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise SpecError("the file is empty", Location(display, 1, 1), "add the checklist's `kind:` and `name:`")
        doc.data = _Builder(loader, doc).build(node, ())
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = exc.problem or exc.context or "invalid YAML"
        hint = "check the indentation and quoting on this line"
        if "\t" in problem or "'\\t'" in problem:
            hint = "indent with spaces; YAML does not allow tabs"
        elif "expected a single document" in str(exc):
            problem, hint = "more than one YAML document", "keep one document per file (remove the `---`)"
        raise SpecError(f"invalid YAML: {problem}", Location(display, line, col), hint) from None
    except yaml.reader.ReaderError as exc:
        before = text[: exc.position]
        line = before.count("\n") + 1
        col = exc.position - (before.rfind("\n") + 1) + 1
        raise SpecError(
            f"invalid character {exc.character!r} in YAML", Location(display, line, col), "remove it"
        ) from None
    except yaml.YAMLError as exc:  # anything else PyYAML raises without a position
        raise SpecError(f"invalid YAML: {exc}", Location(display, 1, 1), "check the file's syntax") from None
    except RecursionError:
        raise SpecError(
            "the document nests too deeply", Location(display, 1, 1), "flatten the structure"
        ) from None
    finally:
        loader.dispose()
    return doc


def load(path: Path) -> Document:
    """Read and parse a YAML file, refusing files that are missing, huge or not UTF-8."""
    display = relpath(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise SpecError(
                f"the file is {size:,} bytes, over the {MAX_FILE_BYTES:,} byte limit",
                Location(display, 1, 1),
                "split it; move long URL lists into a CSV file",
            )
        raw = path.read_bytes()
    except FileNotFoundError:
        raise SpecError("file not found", Location(display, 1, 1), "check the path") from None
    except IsADirectoryError:
        raise SpecError("is a directory, not a file", Location(display, 1, 1), "name a .gtm.yml file") from None
    except OSError as exc:
        raise SpecError(f"cannot read the file: {exc.strerror}", Location(display, 1, 1), "check permissions") from None
    return parse_text(_decode(raw, display), path)


def walk_strings(data: Any, path: JsonPath = ()) -> Iterator[tuple[JsonPath, str]]:
    """Every string value in ``data`` with its path (used for ``${ENV}`` expansion)."""
    if isinstance(data, str):
        yield path, data
    elif isinstance(data, dict):
        for key, value in data.items():
            yield from walk_strings(value, (*path, key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from walk_strings(value, (*path, i))
