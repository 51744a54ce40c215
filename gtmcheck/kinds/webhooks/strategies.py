"""Hypothesis strategies of payloads valid under a webhook schema, for the JSON Schema subset gtmcheck supports.

Our own, not hypothesis-jsonschema: that package (last release 2024-02) breaks on the hypothesis we run
(``AttributeError: 'many' object has no attribute 'more'`` from 6.170.15 on), and pinning hypothesis below it
would hold back every other user of hypothesis in the same environment.

The strategies aim at the schema's keywords; wherever a construct is only approximated (anyOf/oneOf, not,
an allOf that cannot be merged, uniqueItems, a ``$ref`` with siblings) the node's strategy is filtered by
jsonschema's verdict on that node, and the caller filters the whole payload again, so what comes out is
valid by construction *and* by the reference validator. What the generator cannot handle is an
``Unsupported`` with a reason, never a crash and never a silently wrong payload.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

import jsonschema
from hypothesis import strategies as st

from .load import SchemaFile, SchemaInputError, resolve_ref
from .scalars import FORMATS, Unsupported, number_strategy, pattern_predicate, pattern_strategy
from .validate import LoadedSchema

MAX_REF_DEPTH = 6  # $refs followed on one path: a recursive schema stops growing here
SHORT = 4  # items (x3: characters) beyond the minimum in the usual array (string)
LONG_ITEMS = 64  # the long arrays drawn now and then, to cross a receiver's lower maxItems
LONG_TEXT = 300  # the long strings drawn now and then, to cross a receiver's lower maxLength
MAX_EXTRA_PROPERTIES = 3  # undeclared properties added to an open object
ANNOTATIONS = {"$schema", "$id", "$comment", "$anchor", "$dynamicAnchor", "$vocabulary", "$defs", "definitions",
               "title", "description", "examples", "default", "deprecated", "readOnly", "writeOnly",
               "contentMediaType", "contentEncoding", "contentSchema", "nullable"}  # nullable: OpenAPI, ignored
SUPPORTED = {"type", "enum", "const", "properties", "required", "additionalProperties", "minLength", "maxLength",
             "pattern", "format", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf",
             "items", "prefixItems", "additionalItems", "minItems", "maxItems", "uniqueItems", "allOf", "anyOf",
             "oneOf", "not", "$ref"}
FILTERED = {"allOf", "anyOf", "oneOf", "not", "uniqueItems", "multipleOf"}  # approximated: jsonschema has the say
TYPES = ("null", "boolean", "integer", "number", "string", "array", "object")


Predicate = Callable[[Any], bool]


class PayloadStrategies:
    """Builds the strategy of one schema document; ``names`` are property names worth trying as extra keys."""

    def __init__(self, names: Iterable[str] = (), format_checker: jsonschema.FormatChecker | None = None) -> None:
        self.format_checker = format_checker  # None: formats are annotations, as validate.py checks them
        self.names = sorted(set(names))
        self.validators: dict[str, Any] = {}

    def for_document(self, doc: SchemaFile) -> st.SearchStrategy[Any]:
        """Payloads valid under the whole of ``doc``."""
        return self.build(doc, doc.root, "", 0)

    # --- the reference validator, per document ---------------------------------------------------------------

    def validator(self, doc: SchemaFile) -> Any:
        """The validator validate.py uses for ``doc`` (relative ``$ref``s name sibling files), kept per file."""
        key = str(doc.path)
        if key not in self.validators:
            self.validators[key] = LoadedSchema("", "", doc).validator
        return self.validators[key]

    def valid_under(self, doc: SchemaFile, node: Any) -> Predicate:
        """Whether a value is valid under ``node``, a schema inside ``doc`` (its ``$ref``s relative to ``doc``)."""
        validator = self.validator(doc)
        if node is doc.root:  # validate.py's validator gives the root the file's URI as $id: refs name files
            return validator.is_valid  # type: ignore[no-any-return]
        if isinstance(node, dict) and "$id" in node:  # descend would rebase relative $refs on an http(s) $id
            node = {k: v for k, v in node.items() if k != "$id"}
        return lambda value: next(validator.descend(value, node), None) is None

    # --- one schema node -------------------------------------------------------------------------------------

    def build(self, doc: SchemaFile, node: Any, where: str, depth: int) -> st.SearchStrategy[Any]:
        if node is True or node == {}:
            return self.any_value()
        if node is False:
            return st.nothing()
        if not isinstance(node, dict):
            raise Unsupported(f"{where or '/'} is not a schema object")
        cls = jsonschema.validators.validator_for(doc.root, default=jsonschema.Draft202012Validator)
        if "$ref" in node:
            return self.ref(doc, node, where, depth, cls)
        self.refuse_unknown(node, where, cls)
        if any(word in node for word in ("allOf", "anyOf", "oneOf")):
            return self.composed(doc, node, where, depth).filter(self.valid_under(doc, node))
        strategy = self.plain(doc, node, where, depth, cls)
        if any(word in node for word in FILTERED):
            strategy = strategy.filter(self.valid_under(doc, node))
        return strategy

    def refuse_unknown(self, node: dict[str, Any], where: str, cls: Any) -> None:
        for word in node:
            if word in cls.VALIDATORS and word not in SUPPORTED:
                raise Unsupported(f"keyword {word!r} at {where or '/'} is not supported by the payload generator")

    def ref(self, doc: SchemaFile, node: dict[str, Any], where: str, depth: int, cls: Any) -> st.SearchStrategy[Any]:
        if depth >= MAX_REF_DEPTH:
            return st.nothing()  # a recursive schema: the branch that recurses further is not taken
        try:
            target_doc, target, _ = resolve_ref(doc, str(node["$ref"]), str(doc.path))
        except SchemaInputError as exc:
            raise Unsupported(f"$ref at {where or '/'}: {exc.problem}") from None
        inner = self.build(target_doc, target, where, depth + 1)
        rest = {k: v for k, v in node.items() if k != "$ref" and k not in ANNOTATIONS}
        if rest and ("$dynamicRef" in cls.VALIDATORS or "$recursiveRef" in cls.VALIDATORS):
            self.refuse_unknown(rest, where, cls)  # 2019-09+: keywords beside a $ref apply too
            return inner.filter(self.valid_under(doc, rest))
        return inner  # draft 7 and older ignore a $ref's siblings, as jsonschema does

    def composed(self, doc: SchemaFile, node: dict[str, Any], where: str, depth: int) -> st.SearchStrategy[Any]:
        """The allOf branches merged into the node where exact; anyOf/oneOf: one branch merged with the rest."""
        base = {k: v for k, v in node.items() if k != "allOf"}
        for branch in node.get("allOf") or []:
            base = merge(base, self.inline(doc, branch, depth))
        base.pop("allOf", None)  # what could not be merged: the caller's filter on the whole node checks it
        for word in ("anyOf", "oneOf"):
            if word in base:
                rest = {k: v for k, v in base.items() if k not in ("anyOf", "oneOf")}
                options = [self.build(doc, merge(rest, self.inline(doc, b, depth)), f"{where}/{word}/{i}", depth)
                           for i, b in enumerate(base[word])]
                return st.one_of(options)
        return self.build(doc, base, where, depth)

    def inline(self, doc: SchemaFile, branch: Any, depth: int) -> Any:
        """A branch with a same-document ``$ref`` followed, so it can be merged; others stay as they are."""
        for _ in range(MAX_REF_DEPTH - depth):
            if not (isinstance(branch, dict) and set(branch) == {"$ref"}):
                break
            try:
                target_doc, target, _ = resolve_ref(doc, str(branch["$ref"]), str(doc.path))
            except SchemaInputError as exc:
                raise Unsupported(f"$ref {branch['$ref']!r}: {exc.problem}") from None
            if target_doc.path != doc.path:
                break
            branch = target
        if branch is True:
            return {}
        return {"not": {}} if branch is False else branch

    def plain(self, doc: SchemaFile, node: dict[str, Any], where: str, depth: int, cls: Any) -> st.SearchStrategy[Any]:
        if "const" in node:
            return st.just(node["const"]).filter(self.valid_under(doc, node))
        if "enum" in node:
            return st.sampled_from(list(node["enum"])).filter(self.valid_under(doc, node)) if node["enum"] \
                else st.nothing()
        declared = node.get("type")
        types = list(TYPES) if declared is None else [declared] if isinstance(declared, str) else list(declared)
        if "integer" in types and "number" in types:
            types.remove("integer")  # number's strategy draws integers too
        return st.one_of([self.of_type(doc, node, kind, where, depth, cls) for kind in TYPES if kind in types])

    def of_type(self, doc: SchemaFile, node: dict[str, Any], kind: str, where: str, depth: int,
                cls: Any) -> st.SearchStrategy[Any]:
        if kind == "null":
            return st.none()
        if kind == "boolean":
            return st.booleans()
        if kind in ("integer", "number"):
            return number_strategy(node, integer=kind == "integer")
        if kind == "string":
            return self.text(node, where)
        if kind == "array":
            return self.array(doc, node, where, depth, cls)
        return self.object(doc, node, where, depth)

    # --- strings ---------------------------------------------------------------------------------------------

    def text(self, node: dict[str, Any], where: str) -> st.SearchStrategy[str]:
        low, high = int(node.get("minLength", 0)), node.get("maxLength")
        fmt, pattern = str(node.get("format", "")), node.get("pattern")
        checked = bool(fmt) and self.format_checker is not None and fmt in self.format_checker.checkers
        strategy: st.SearchStrategy[str]
        if checked and fmt not in FORMATS:
            raise Unsupported(f"format {fmt!r} at {where or '/'} is checked but the generator has no strategy for it")
        if checked:
            strategy = FORMATS[fmt]
        elif pattern is not None:
            strategy = pattern_strategy(str(pattern), where)
        else:
            strategy = sized(lambda n, m: st.text(min_size=n, max_size=m), low, high, 3 * SHORT, LONG_TEXT)
            if fmt in FORMATS:  # a format nobody asserts (an annotation): realistic values or any text
                strategy = st.one_of(FORMATS[fmt], strategy)
        if checked and pattern is not None:
            strategy = strategy.filter(pattern_predicate(str(pattern), where))
        if checked or pattern is not None or fmt in FORMATS:
            strategy = strategy.filter(lambda s: len(s) >= low and (high is None or len(s) <= int(high)))
        return strategy

    # --- arrays ----------------------------------------------------------------------------------------------

    def array(self, doc: SchemaFile, node: dict[str, Any], where: str, depth: int,
              cls: Any) -> st.SearchStrategy[list[Any]]:
        if "prefixItems" in cls.VALIDATORS:
            prefix_nodes, rest_node = list(node.get("prefixItems") or []), node.get("items", True)
            prefix_word = "prefixItems"
        elif isinstance(node.get("items"), list):
            prefix_nodes, rest_node, prefix_word = list(node["items"]), node.get("additionalItems", True), "items"
        else:
            prefix_nodes, rest_node, prefix_word = [], node.get("items", True), "items"
        low, high = int(node.get("minItems", 0)), node.get("maxItems")
        prefix = [self.build(doc, n, f"{where}/{prefix_word}/{i}", depth) for i, n in enumerate(prefix_nodes)]
        rest = self.build(doc, rest_node, f"{where}/items", depth)
        if rest.is_empty:  # `items: false`, or a recursion cut off at MAX_REF_DEPTH: only the prefix
            high = len(prefix) if high is None else min(int(high), len(prefix))
            if low > high:
                return st.nothing()
        if not prefix and rest.is_empty:
            return st.just([])
        if not prefix:
            unique = canonical if node.get("uniqueItems") else None
            lists = sized(lambda n, m: st.lists(rest, min_size=low if unique else n, max_size=m, unique_by=unique),
                          low, high, SHORT, LONG_ITEMS)  # unique: no exact long size (few distinct items?)
            if unique or (high is not None and high < 2) or low > 2:
                return lists
            return st.one_of(lists, rest.map(lambda v: [v, v]).filter(lambda v: len(v) >= low))  # duplicates
        top = low + max(SHORT, len(prefix)) if high is None else int(high)
        sizes = st.integers(min_value=low, max_value=max(low, min(top, low + LONG_ITEMS)))

        def of_size(size: int) -> st.SearchStrategy[list[Any]]:
            parts = prefix[:size] + [rest] * max(0, size - len(prefix))
            return st.tuples(*parts).map(list)

        return sizes.flatmap(of_size)

    # --- objects ---------------------------------------------------------------------------------------------

    def object(self, doc: SchemaFile, node: dict[str, Any], where: str,
               depth: int) -> st.SearchStrategy[dict[str, Any]]:
        properties: dict[str, Any] = node.get("properties") or {}
        extra = node.get("additionalProperties", True)
        required = [name for name in dict.fromkeys(node.get("required") or [])]

        def value(name: str) -> st.SearchStrategy[Any]:
            escaped = name.replace("~", "~0").replace("/", "~1")
            if name in properties:
                return self.build(doc, properties[name], f"{where}/properties/{escaped}", depth)
            return self.build(doc, extra, f"{where}/additionalProperties", depth)

        must = {name: value(name) for name in required}
        may = {name: value(name) for name in properties if name not in must and properties[name] is not False}
        declared = st.fixed_dictionaries(must, optional=may)
        if extra is False:
            return declared
        pool = [n for n in self.names if n not in properties]
        keys = st.one_of(st.sampled_from(pool), st.text(max_size=8)) if pool else st.text(max_size=8)
        others = st.dictionaries(keys.filter(lambda k: k not in properties), value("\x00"),
                                 max_size=MAX_EXTRA_PROPERTIES)
        return st.tuples(declared, others).map(lambda pair: {**pair[1], **pair[0]})

    def any_value(self) -> st.SearchStrategy[Any]:
        """Any JSON value, small; keys drawn from the known property names half of the time."""
        keys = st.one_of(st.sampled_from(self.names), st.text(max_size=8)) if self.names else st.text(max_size=8)
        scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False),
                            st.text(max_size=12))
        return st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                             st.dictionaries(keys, inner, max_size=3)), max_leaves=6)


def sized(make: Callable[[int, int], st.SearchStrategy[Any]], low: int, high: Any, short: int,
          long: int) -> st.SearchStrategy[Any]:
    """Sizes ``low``..``low + short`` mostly; now and then an exact longer size up to ``long`` more (or ``high``).

    hypothesis keeps collections small on average, so a receiver's ``maxLength: 40`` would never be crossed
    by an unbounded sender without the long branch; an exact size drawn as an integer shrinks well.
    """
    short_high = low + short if high is None else min(int(high), low + short)
    usual = make(low, short_high)
    top = low + long if high is None else min(int(high), low + long)
    if top <= short_high:
        return usual
    return st.one_of(usual, st.integers(min_value=low, max_value=top).flatmap(lambda n: make(n, n)))


def merge(a: dict[str, Any], b: Any) -> dict[str, Any]:
    """Two schemas one value must satisfy, merged where that is exact; where not, ``b`` waits in ``allOf``."""
    if not isinstance(b, dict):
        return {**a, "allOf": [*a.get("allOf", []), b]}
    out = dict(a)
    pending: list[Any] = list(a.get("allOf", []))
    for word, value in b.items():
        if word not in out or out[word] == value or word in ANNOTATIONS:
            out.setdefault(word, value)
        elif word == "required":
            out[word] = list(dict.fromkeys([*out[word], *value]))
        elif word == "properties":
            out[word] = {**out[word], **{name: ({"allOf": [out[word][name], sub]} if name in out[word] else sub)
                                         for name, sub in value.items()}}
        elif word == "type":
            mine = {out[word]} if isinstance(out[word], str) else set(out[word])
            theirs = {value} if isinstance(value, str) else set(value)
            both = (mine & theirs) | ({"integer"} if ("integer" in mine and "number" in theirs)
                                      or ("number" in mine and "integer" in theirs) else set())
            out[word] = sorted(both)
        elif word in ("minimum", "minLength", "minItems"):
            out[word] = max(out[word], value)
        elif word in ("maximum", "maxLength", "maxItems"):
            out[word] = min(out[word], value)
        else:
            pending.append({word: value})  # kept exact by the filter on the merged node
    if pending:
        out["allOf"] = pending
    elif "allOf" in out:
        del out["allOf"]
    return out


def canonical(value: Any) -> str:
    """A key for uniqueItems (the filter on the node settles 1 vs 1.0, which jsonschema counts as equal)."""
    return json.dumps(value, sort_keys=True)
