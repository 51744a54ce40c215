r"""A compiled validator that vouches for valid payloads; jsonschema stays the judge of everything else.

jsonschema walks a schema in Python for every payload (a few thousand account.updated payloads a second);
jsonschema-rs compiles it once and answers in about a microsecond. It is used one way only: when it says
*valid*, the payload has no errors to list; when it says *invalid*, or fails, or the schema uses something
where the two libraries disagree, jsonschema decides and writes the messages. So a compiled "invalid" that
jsonschema calls valid costs time, never a wrong verdict; what must never happen is a compiled "valid" that
jsonschema rejects, and ``distrust`` refuses every schema where that was seen or cannot be ruled out
(tests/test_webhooks_fastpath.py compares the two on tricky payloads and on generated ones):

- ``pattern``s: jsonschema uses Python's ``re``, jsonschema-rs an ECMA-262 dialect. Python's ``\d``, ``\w``,
  ``.`` and ``$`` accept more than ECMA's (checked over every code point), which is safe; their negations
  (``\D``, ``\W``, ``[^\d]``...) accept less, which is not, and ECMA's ``\s`` takes U+FEFF, Python's does
  not. Only patterns built from literals, classes of literals, ``\d``/``\w`` outside negated classes,
  escaped punctuation and ``\n\t\r\f\v``, anchors, groups, alternation and quantifiers are trusted.
- ``multipleOf`` with a fraction: jsonschema rejects 0.07 as a multiple of 0.01 (float division), jsonschema-rs
  accepts it. Integer ``multipleOf`` agrees, big integers included.
- ``format`` is not asserted by either (validate.py's validator has no format checker; ``validate_formats=False``).
- Payloads nested deeper than ``MAX_DEPTH``: jsonschema-rs recurses on the C stack and can crash the process
  on absurd depths, so deep payloads go to jsonschema (which reports a RecursionError as a finding).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from ...jsonrefs import schema_refs
from .load import SchemaFile, SchemaInputError

if TYPE_CHECKING:
    from .validate import LoadedSchema

MAX_DEPTH = 256
_UNCOMPILED = object()
UNTRUSTED_WORDS = ("$dynamicRef", "$recursiveRef", "$dynamicAnchor", "$recursiveAnchor")
SAFE_ESCAPES = set("dwntrfv") | set("\\.-^$*+?()[]{}|/")  # see the module docstring


def accepts(schema: LoadedSchema, payload: Any) -> bool:
    """True when the compiled validator vouches that ``payload`` is valid; False: ask jsonschema."""
    fast = vars(schema).get("_fast", _UNCOMPILED)
    if fast is _UNCOMPILED:
        fast = vars(schema)["_fast"] = compile_fast(schema)  # once per schema, kept on it
    return fast is not None and bool(fast(payload))


def compile_fast(schema: LoadedSchema) -> Callable[[Any], bool] | None:
    """A fast ``payload -> valid?`` that only ever says True when jsonschema agrees; None: use jsonschema."""
    try:
        import jsonschema_rs
    except ImportError:  # an install without the compiled wheel: jsonschema alone, slower, same verdicts
        return None
    docs = _reachable(schema.doc)
    if docs is None or any(distrust(d.root) is not None for d in docs.values()):
        return None

    def with_id(uri: str) -> Any:
        root = docs[uri].root
        return {**root, "$id": uri} if isinstance(root, dict) else root

    def retrieve(uri: str) -> Any:
        if uri not in docs:  # a file validate.py did not load: let jsonschema resolve (or refuse) it
            raise LookupError(uri)
        return with_id(uri)

    try:
        validator = jsonschema_rs.validator_for(with_id(schema.doc.path.as_uri()), validate_formats=False,
                                                retriever=retrieve)
    except Exception:  # noqa: BLE001 - a schema jsonschema-rs cannot compile is simply not fast-pathed
        return None
    is_valid = validator.is_valid

    def vouch(payload: Any) -> bool:
        if not _shallow(payload):
            return False
        try:
            return bool(is_valid(payload))
        except Exception:  # noqa: BLE001 - e.g. a non-string dict key: jsonschema will say what it makes of it
            return False

    return vouch


def _reachable(doc: SchemaFile) -> dict[str, SchemaFile] | None:
    """The document and every sibling file its ``$ref``s reach, by file URI (None: one cannot be loaded)."""
    found = {doc.path.as_uri(): doc}
    todo = [doc]
    while todo:
        current = todo.pop()
        for ref in schema_refs(current.root):
            file_part = ref.partition("#")[0]
            if not file_part:
                continue
            try:
                sibling = current.sibling(unquote(file_part))
            except SchemaInputError:
                return None
            if sibling.path.as_uri() not in found:
                found[sibling.path.as_uri()] = sibling
                todo.append(sibling)
    return found


def distrust(root: Any) -> str | None:
    """Why jsonschema-rs might accept more than jsonschema under this schema document; None: it cannot."""
    stack = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
            continue
        if not isinstance(node, dict):
            continue
        for word in UNTRUSTED_WORDS:
            if word in node:
                return f"{word} is not fast-pathed"
        patterns = [node["pattern"]] if isinstance(node.get("pattern"), str) else []
        if isinstance(node.get("patternProperties"), dict):
            patterns.extend(str(key) for key in node["patternProperties"])
        for pattern in patterns:
            if why := untrusted_pattern(pattern):
                return why
        step = node.get("multipleOf")
        if isinstance(step, float) and not step.is_integer():
            return f"multipleOf {step} (a fraction: float division differs between the libraries)"
        stack.extend(node.values())
    return None


def untrusted_pattern(pattern: str) -> str | None:
    """Why ``pattern`` may match more in jsonschema-rs's ECMA dialect than in Python's ``re``; None: it cannot."""
    if "(?" in pattern or "{," in pattern:
        return f"pattern {pattern!r} uses syntax the two regex dialects read differently"
    in_class = negated = False
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            escaped = pattern[i + 1 : i + 2]
            if escaped not in SAFE_ESCAPES:
                return f"pattern {pattern!r} uses \\{escaped}, which the two dialects read differently"
            if in_class and negated and escaped in "dw":
                return f"pattern {pattern!r} negates \\{escaped}, which Python reads wider than ECMA"
            i += 2
            continue
        if in_class and (char == "[" or pattern[i : i + 2] in ("&&", "--", "~~")):
            return f"pattern {pattern!r} nests or combines character classes, which only ECMA understands"
        if in_class and char == "]":
            in_class = False
        elif not in_class and char == "[":
            in_class, negated = True, pattern[i + 1 : i + 2] == "^"
            i += 2 if negated else 1
            if pattern[i : i + 1] == "]":
                return f"pattern {pattern!r} starts a class with ], which the two dialects read differently"
            continue
        i += 1
    return None


def _shallow(payload: Any) -> bool:
    """Whether no container in ``payload`` is nested deeper than ``MAX_DEPTH`` (iterative: no recursion)."""
    stack: list[tuple[Any, int]] = [(payload, 0)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children: Any = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth >= MAX_DEPTH:
            return False
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return True
