"""YAML with a line and column on every node, safe against hostile input.

PyYAML's ``safe_load`` loses positions and speaks YAML 1.1, where ``on:`` is ``True``, ``NO`` (Norway) is
``False`` and ``2026-11-20`` is a ``date``. Checklists need the opposite: every value keeps the place it
came from (so schema and lint errors point at a line), only ``true``/``false`` are booleans, and dates stay
strings. Mapping keys are always their source text. Aliases are allowed but their expansion is bounded, so
a "billion laughs" document fails fast with a clear message instead of eating the machine.
"""

from __future__ import annotations

import bisect
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
import yaml.cyaml

from .errors import Location, SpecError, UnreadableFile, relpath
from .safefile import read_capped
from .secrets import redact

JsonPath = tuple[str | int, ...]
CParser: Any = getattr(yaml.cyaml, "CParser", object)  # PyYAML built without libyaml: the pure-Python path only
_WITH_LIBYAML = CParser is not object

MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_VALUES = 200_000
MAX_DEPTH = 64


class _Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 core-schema scalars.

    No yes/no/on/off booleans, no implicit dates, no sexagesimal
    (``9:30``), underscored (``2026_11``) or leading-zero octal (``0755``) numbers.
    """


_YAML11_ONLY = ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:int",
                "tag:yaml.org,2002:float")
_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in _YAML11_ONLY]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_INT_12 = re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$")
_FLOAT_12 = re.compile(
    r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
)
_Loader.add_implicit_resolver("tag:yaml.org,2002:int", _INT_12, list("-+0123456789"))
_Loader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT_12, list("-+0123456789."))


def _construct_int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int:
    """YAML 1.2 core integers: decimal (leading zeros allowed), ``0o`` octal, ``0x`` hexadecimal."""
    value = str(loader.construct_scalar(node))
    if not _INT_12.match(value):
        raise yaml.constructor.ConstructorError(None, None, "not an integer", node.start_mark)
    if len(value) > 1000:  # Python refuses to print such numbers (int_max_str_digits): never let one in
        raise yaml.constructor.ConstructorError(None, None, "a number over 1000 digits", node.start_mark)
    if value.startswith(("0o", "0x")):
        return int(value[2:], 8 if value[1] == "o" else 16)
    return int(value, 10)


_Loader.add_constructor("tag:yaml.org,2002:int", _construct_int)


class _FastLoader(CParser, yaml.constructor.SafeConstructor, yaml.resolver.Resolver):  # type: ignore[misc]
    """libyaml's parser and composer with ``_Loader``'s scalars: the same nodes and marks, several times faster.

    Used only for plain ASCII text that it accepts; anything else (and every error) goes through
    ``_Loader``, whose messages and positions the error handling below is written for.
    """

    yaml_implicit_resolvers = _Loader.yaml_implicit_resolvers
    yaml_constructors = _Loader.yaml_constructors

    def __init__(self, stream: str) -> None:
        CParser.__init__(self, stream)
        yaml.constructor.SafeConstructor.__init__(self)
        yaml.resolver.Resolver.__init__(self)


_PLAIN_ASCII = re.compile(r"[\t\n\r\x20-\x7e]*")  # where character offsets and libyaml's byte offsets agree


def _compose_fast(text: str) -> tuple[yaml.Node | None, yaml.constructor.SafeConstructor] | None:
    """The document's node graph from libyaml, or None to take the pure-Python path (and its messages)."""
    if not _WITH_LIBYAML or not _PLAIN_ASCII.fullmatch(text):
        return None
    loader = _FastLoader(text)
    try:
        return loader.get_single_node(), loader
    except yaml.YAMLError:
        return None
    finally:
        loader.dispose()
_MERGE_TAG = "tag:yaml.org,2002:merge"
_NULL_TAG = "tag:yaml.org,2002:null"
_CORE_SCALAR_TAGS = {
    "tag:yaml.org,2002:int": "a whole number", "tag:yaml.org,2002:float": "a number",
    "tag:yaml.org,2002:bool": "true or false", "tag:yaml.org,2002:null": "empty",
}
_COLLECTION_TAGS = ("tag:yaml.org,2002:seq", "tag:yaml.org,2002:map")

_JSON_SCALARS = (str, int, float, bool, type(None))
_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass
class Document:
    """A parsed YAML file: plain JSON-like data plus the position of every value and key."""

    path: Path
    data: Any
    marks: dict[JsonPath, tuple[int, int]] = field(default_factory=dict)
    key_marks: dict[JsonPath, tuple[int, int]] = field(default_factory=dict)
    text: str = field(default="", repr=False)
    spans: dict[JsonPath, tuple[int, int]] = field(default_factory=dict, repr=False)  # strings holding a ``$``
    lines: _Lines | None = field(default=None, repr=False)

    _display: tuple[str, str] | None = field(default=None, repr=False)  # (working directory, display)

    @property
    def display(self) -> str:
        """The path as messages show it; resolved once per working directory (a lint names it thousands of times)."""
        cwd = os.getcwd()
        if self._display is None or self._display[0] != cwd:
            self._display = (cwd, relpath(self.path))
        return self._display[1]

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

    def find(self, path: JsonPath, needle: str) -> Location:
        """Where ``needle`` is written inside the string at ``path``, else the position of the value itself.

        A ``${VAR}`` on the third line of a block scalar is reported on that line.
        """
        span = self.spans.get(tuple(path))
        at = self.text.find(needle, *span) if span and needle else -1
        if at < 0 or self.lines is None:
            return self.location(path)
        line, col = self.lines.position(at)
        return Location(self.display, line, col)

    def get(self, path: JsonPath, default: Any = None) -> Any:
        node = self.data
        for part in path:
            try:
                node = node[part]
            except (KeyError, IndexError, TypeError):
                return default
        return node


class _Lines:
    """Line and column of a character offset, counting lines as editors do (LF, CRLF or CR).

    PyYAML's own marks also break lines at U+0085, U+2028 and U+2029, which would put every later
    error on the wrong line.
    """

    _BREAK = re.compile(r"\r\n?|\n")

    def __init__(self, text: str) -> None:
        self.starts = [0, *(m.end() for m in self._BREAK.finditer(text))]

    def position(self, index: int) -> tuple[int, int]:
        line = bisect.bisect_right(self.starts, index)
        return line, index - self.starts[line - 1] + 1


class _Builder:
    """Turns a composed node graph into plain data, recording marks and bounding alias expansion."""

    def __init__(self, loader: yaml.constructor.SafeConstructor, doc: Document, lines: _Lines) -> None:
        self.loader = loader
        self.doc = doc
        self.lines = lines
        self.sizes: dict[int, int] = {}  # id(collection node) -> values it expands to (capped)
        self.sizing: set[int] = set()  # collections being sized: meeting one again means a cycle
        self.merged: dict[int, list[tuple[str, yaml.Node, yaml.Node]]] = {}
        self.merging: set[int] = set()

    def mark(self, node: yaml.Node) -> tuple[int, int]:
        return self.lines.position(node.start_mark.index)

    def error(self, node: yaml.Node, message: str, hint: str) -> SpecError:
        line, col = self.mark(node)
        return SpecError(message, Location(self.doc.display, line, col), hint)

    def children(self, node: yaml.Node) -> list[yaml.Node]:
        if isinstance(node, yaml.SequenceNode):
            return list(node.value)
        if isinstance(node, yaml.MappingNode):
            return [value for _key, _key_node, value in self.pairs(node)]
        return []

    def size(self, node: yaml.Node) -> int:
        """How many values ``node`` expands to once aliases are followed.

        Counted without expanding them (memoised per node, capped just above the limit), so a
        "billion laughs" costs nothing.
        """
        if isinstance(node, yaml.ScalarNode):
            return 1
        known = self.sizes.get(id(node))
        if known is not None:
            return known
        if id(node) in self.sizing:
            raise self.error(
                node, "an anchored value contains an alias (*name) to itself",
                "aliases must not refer to the value they sit in; copy the value instead",
            )
        self.sizing.add(id(node))
        total = 1
        for child in self.children(node):
            total += self.size(child)
            if total > MAX_VALUES:
                break
        self.sizing.discard(id(node))
        self.sizes[id(node)] = total
        return total

    def check_size(self, root: yaml.Node) -> None:
        if self.size(root) <= MAX_VALUES:
            return
        node = root  # point at the innermost anchored value that alone goes over the limit
        while True:
            big = next((c for c in self.children(node) if self.size(c) > MAX_VALUES), None)
            if big is None:
                break
            node = big
        raise self.error(
            node,
            f"the document holds more than {MAX_VALUES:,} values, counting every expansion of its aliases (*name)",
            "remove nested aliases, or split the file; a checklist never needs this many values",
        )

    def build(self, node: yaml.Node, path: JsonPath) -> Any:
        if len(path) > MAX_DEPTH:
            raise self.error(node, f"nesting deeper than {MAX_DEPTH} levels", "flatten the structure")
        self.doc.marks.setdefault(path, self.mark(node))
        if isinstance(node, yaml.ScalarNode):
            value = self.scalar(node)
            if isinstance(value, str) and "$" in value:
                self.doc.spans[path] = (node.start_mark.index, node.end_mark.index)
            return value
        if node.tag not in _COLLECTION_TAGS:  # ``!!python/object/apply:os.system [...]`` and friends
            raise self.error(
                node, f"unsupported YAML tag {node.tag!r}", "remove the tag; checklists hold plain values"
            )
        if isinstance(node, yaml.SequenceNode):
            return [self.build(child, (*path, i)) for i, child in enumerate(node.value)]
        if isinstance(node, yaml.MappingNode):
            out: dict[str, Any] = {}
            for key, key_node, value_node in self.pairs(node):
                child = (*path, key)
                self.doc.key_marks[child] = self.mark(key_node)
                out[key] = self.build(value_node, child)
            return out
        raise self.error(node, "unsupported YAML node", "use plain mappings, lists and scalars")

    def scalar(self, node: yaml.ScalarNode) -> Any:
        try:
            value = self.loader.construct_object(node, deep=True)
        except (yaml.constructor.ConstructorError, ValueError, KeyError, TypeError) as exc:
            # unknown tags, and core tags whose text does not fit (``!!int abc``, ``!!bool maybe``, 5000 digits)
            raw = redact(node.value)  # before the cut: a cut secret would survive as its prefix
            text = raw if len(raw) <= 40 else raw[:37] + "..."
            if node.tag in _CORE_SCALAR_TAGS:
                what = _CORE_SCALAR_TAGS[node.tag]
                raise self.error(
                    node, f"{text!r} cannot be read as {what}", "quote it to make it a string, or remove the `!!` tag"
                ) from exc
            raise self.error(
                node, f"unsupported YAML tag {node.tag!r} on {text!r}", "remove the tag; checklists hold plain values"
            ) from exc
        if not isinstance(value, _JSON_SCALARS):
            raise self.error(
                node, f"unsupported YAML value of type {type(value).__name__}", "write it as a plain string"
            )
        if isinstance(value, float) and value != value:  # NaN never means anything in a checklist
            return node.value
        if isinstance(value, str) and _SURROGATE.search(value):
            raise self.error(
                node, "the value holds an unpaired UTF-16 surrogate escape (\\uD800-\\uDFFF)",
                "write the character itself, or a \\U00XXXXXX escape",
            )
        return value

    def pairs(self, node: yaml.MappingNode) -> list[tuple[str, yaml.Node, yaml.Node]]:
        """The mapping's entries with ``<<`` merges resolved.

        Its own keys override merged ones, and an earlier merge source overrides a later one.
        Memoised, so nested merges stay linear.
        """
        done = self.merged.get(id(node))
        if done is not None:
            return done
        if id(node) in self.merging:
            raise self.error(node, "a merge (<<) includes the mapping it sits in", "merge another mapping")
        self.merging.add(id(node))
        merged: dict[str, tuple[str, yaml.Node, yaml.Node]] = {}
        own: dict[str, tuple[str, yaml.Node, yaml.Node]] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise self.error(
                    key_node, "a mapping key must be a plain string", "use a simple key such as `name:`"
                )
            if key_node.tag == _MERGE_TAG:
                sources = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
                for source in sources:
                    if not isinstance(source, yaml.MappingNode):
                        raise self.error(
                            source, "invalid merge key (<<)", "merge only mappings or lists of mappings"
                        )
                    for entry in self.pairs(source):
                        merged.setdefault(entry[0], entry)
                continue
            key = str(key_node.value)
            if key in own:
                raise self.error(
                    key_node,
                    f"duplicate key {key!r}",
                    "keep one of the two; YAML would silently keep only the last",
                )
            own[key] = (key, key_node, value_node)
        self.merging.discard(id(node))
        result = list({**merged, **own}.values())
        self.merged[id(node)] = result
        return result


def _decode(raw: bytes, display: str) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        # ``exc.object`` is the input after any BOM; everything before ``exc.start`` decodes cleanly.
        before = exc.object[: exc.start].decode("utf-8", errors="replace")
        line, col = _Lines(before).position(len(before))
        raise SpecError(
            "the file is not valid UTF-8", Location(display, line, col), "save the file as UTF-8"
        ) from None


def parse_text(text: str, path: Path) -> Document:
    """Parse one YAML document held in ``text``; ``path`` names it in messages."""
    lines = _Lines(text)
    doc = Document(path=path, data=None, text=text, lines=lines)
    display = doc.display
    loader: Any = None
    try:
        fast = _compose_fast(text)
        if fast is not None:
            node, loader = fast
        else:
            loader = _Loader(text)  # checks every character: may raise ReaderError
            node = loader.get_single_node()
        if node is None or (isinstance(node, yaml.ScalarNode) and node.tag == _NULL_TAG and not node.value):
            raise SpecError(
                "the file is empty", Location(display, 1, 1), "add the checklist's `kind:` and `name:`"
            )
        builder = _Builder(loader, doc, lines)
        builder.check_size(node)
        doc.data = builder.build(node, ())
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = lines.position(mark.index) if mark else (1, 1)
        problem = exc.problem or exc.context or "invalid YAML"
        hint = "check the indentation and quoting on this line"
        if "\t" in problem or "'\\t'" in problem:
            hint = "indent with spaces; YAML does not allow tabs"
        elif "expected a single document" in str(exc):
            problem, hint = "more than one YAML document", "keep one document per file (remove the `---`)"
        raise SpecError(f"invalid YAML: {problem}", Location(display, line, col), hint) from None
    except yaml.reader.ReaderError as exc:
        line, col = lines.position(exc.position)
        char = exc.character if isinstance(exc.character, str) else chr(exc.character)
        raise SpecError(
            f"invalid character {char!r} (U+{ord(char):04X}) in YAML",
            Location(display, line, col),
            "remove it",
        ) from None
    except yaml.YAMLError as exc:  # anything else PyYAML raises without a position
        raise SpecError(f"invalid YAML: {exc}", Location(display, 1, 1), "check the file's syntax") from None
    except RecursionError:
        raise SpecError(
            "the document nests too deeply", Location(display, 1, 1), "flatten the structure"
        ) from None
    finally:
        if loader is not None:
            loader.dispose()
    return doc


def load(path: Path) -> Document:
    """Read and parse a YAML file, refusing files that are missing, huge, not regular files or not UTF-8."""
    display = relpath(path)
    try:
        raw = read_capped(path, MAX_FILE_BYTES, expect="a YAML file")
    except UnreadableFile as exc:
        hint = "split it; move long URL lists into a CSV file" if "limit" in exc.problem else exc.hint
        problem = "file not found" if exc.problem == "does not exist" else f"the file {exc.problem}"
        raise SpecError(problem, Location(display, 1, 1), hint) from None
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
