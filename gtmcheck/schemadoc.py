"""JSON Schema -> Markdown reference: the docs pages are generated from the schemas the code validates with.

``docs/routing-reference.md`` and ``docs/sandbox-scenario.md`` are ``gtmcheck schema --format markdown``
output (``--kind routing``, ``--scenario``), so a key added to a schema shows up in the docs, and a test
fails until the committed page is regenerated. Every key gets its type, default, allowed values, description
and an example, read from the schema's own keywords:

- ``description``; ``default`` (a value) or ``x-default`` (prose, such as "no fallback"); ``examples``;
- ``x-key-name`` names the keys of a free-form mapping (``lists.<list>``), ``x-key-example`` gives one;
- an object without ``examples`` is shown with its keys' examples put together (when that validates).

``gaps`` lists what a schema does not say yet; the docs test requires none for the published pages.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from .limits import FORMATS, Validator

_TYPE_NAMES = {"object": "mapping", "array": "list", "string": "string", "integer": "integer",
               "number": "number", "boolean": "boolean", "null": "empty (null)"}
_NO_EXAMPLE = object()


@dataclass(frozen=True)
class Entry:
    """One documented key: where it is, its schema, and whether its parent requires it."""

    path: tuple[str, ...]
    schema: Mapping[str, Any]
    required: bool
    same_as: str | None = None  # the path already documenting the same keys

    @property
    def name(self) -> str:
        return "".join(p if p == "[]" else f".{p}" for p in self.path).lstrip(".")

    @property
    def is_map_value(self) -> bool:
        return self.path[-1].startswith("<")


def entries(schema: Mapping[str, Any]) -> Iterator[Entry]:
    """Every key of ``schema`` in document order, depth first (list items and anyOf variants descended into)."""
    seen: dict[int, str] = {}
    yield from _walk(schema, (), seen, emit=False, required=False)


def _walk(schema: Mapping[str, Any], path: tuple[str, ...], seen: dict[int, str], *, emit: bool,
          required: bool) -> Iterator[Entry]:
    props = schema.get("properties")
    same_as = seen.get(id(props)) if isinstance(props, dict) and props else None
    if emit:
        entry = Entry(path, schema, required, same_as)
        yield entry
        if same_as is not None:
            return
        if isinstance(props, dict) and props:
            seen[id(props)] = entry.name
    if isinstance(props, dict):
        needed = set(schema.get("required") or ())
        for key, sub in props.items():
            yield from _walk(sub, (*path, key), seen, emit=True, required=key in needed)
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict):
        yield from _walk(extra, (*path, f"<{schema.get('x-key-name', 'key')}>"), seen, emit=True, required=False)
    items = schema.get("items")
    if isinstance(items, dict):
        yield from _walk(items, (*path, "[]"), seen, emit=False, required=False)
    for variant in (*schema.get("anyOf", ()), *schema.get("oneOf", ())):
        yield from _walk(variant, path, seen, emit=False, required=False)


def type_of(schema: Mapping[str, Any]) -> str:
    """``integer``, ``list of string``, ``mapping of <list> → list``, ``string or list of string`` ..."""
    if "const" in schema:
        return _TYPE_NAMES.get(_json_type(schema["const"]), "value")
    if "enum" in schema:
        kinds = dict.fromkeys(_TYPE_NAMES.get(_json_type(v), "value") for v in schema["enum"])
        return " or ".join(kinds)
    variants = [*schema.get("anyOf", ()), *schema.get("oneOf", ())]
    if variants:
        return " or ".join(dict.fromkeys(type_of(v) for v in variants))
    types = schema.get("type")
    names = [types] if isinstance(types, str) else list(types or [])
    shown = []
    for name in names:
        if name == "array" and isinstance(schema.get("items"), dict):
            item = type_of(schema["items"])
            shown.append(f"list of ({item})" if " or " in item else f"list of {item}")
        elif name == "object" and isinstance(schema.get("additionalProperties"), dict) and not schema.get(
                "properties"):
            key = schema.get("x-key-name", "key")
            shown.append(f"mapping of `<{key}>` → {type_of(schema['additionalProperties'])}")
        else:
            shown.append(_TYPE_NAMES.get(name, name))
    return " or ".join(shown) or "any"


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "null" if value is None else "object"


def allowed(schema: Mapping[str, Any]) -> str:
    """The constraints a value must meet, in words (what the validator enforces)."""
    parts: list[str] = []
    if "const" in schema:
        parts.append(f"only {_code(schema['const'])}")
    if "enum" in schema:
        parts.append(", ".join(_code(v) for v in schema["enum"]))
    low, high = schema.get("minimum"), schema.get("maximum")
    if low is not None and high is not None:
        parts.append(f"{low} to {high}")
    elif low is not None:
        parts.append(f"at least {low}")
    elif high is not None:
        parts.append(f"at most {high}")
    if "exclusiveMinimum" in schema:
        parts.append(f"more than {schema['exclusiveMinimum']}")
    if schema.get("minLength"):
        parts.append("not empty")
    if schema.get("minItems"):
        parts.append(f"at least {schema['minItems']} item{'s' if schema['minItems'] > 1 else ''}")
    if schema.get("minProperties") == 1 and schema.get("maxProperties") == 1:
        parts.append("exactly one of the keys below")
    elif schema.get("minProperties"):
        parts.append("not empty")
    if "pattern" in schema:
        parts.append(f"matches `{schema['pattern']}`")
    if schema.get("format") == "date":
        parts.append("a real calendar date")
    if "x-max-duration" in schema:
        parts.append(f"a duration such as `90s`, `5m`, `1h`, at most {schema['x-max-duration']}")
    if isinstance(schema.get("properties"), dict) and schema.get("additionalProperties") is False:
        keys = ", ".join(f"`{k}`" for k in schema["properties"])
        parts.append(f"keys: {keys}")
        if schema.get("required"):
            parts.append("required: " + ", ".join(f"`{k}`" for k in schema["required"]))
    for variant in (*schema.get("anyOf", ()), *schema.get("oneOf", ())):
        words = allowed(variant)
        parts.append(f"{type_of(variant)}{': ' + words if words != 'any' else ''}")
    if not parts and (schema.get("properties") or isinstance(schema.get("items"), dict)
                      and (schema["items"].get("properties") or schema["items"].get("anyOf"))):
        parts.append("the keys below")
    return "; ".join(parts) or "any"


def default_of(entry: Entry) -> str | None:
    """The default in words, or ``None`` when the schema does not say."""
    if entry.required:
        return "required"
    if "default" in entry.schema:
        return _code(entry.schema["default"])
    if "x-default" in entry.schema:
        return str(entry.schema["x-default"])
    if entry.is_map_value:
        return "none (keys are your names)"
    return None


def example_of(schema: Mapping[str, Any]) -> Any:
    """The schema's first example, or one built from its keys' examples; ``_NO_EXAMPLE`` when neither."""
    if schema.get("examples"):
        return schema["examples"][0]
    props = schema.get("properties")
    if isinstance(props, dict) and props:
        built = {k: ex for k, sub in props.items() if (ex := example_of(sub)) is not _NO_EXAMPLE}
        return built if built and _valid(built, schema) else _NO_EXAMPLE
    items = schema.get("items")
    if schema.get("type") == "array" and isinstance(items, dict):
        item = example_of(items)
        return [item] if item is not _NO_EXAMPLE else _NO_EXAMPLE
    return _NO_EXAMPLE


def _valid(value: Any, schema: Mapping[str, Any]) -> bool:
    return not any(Validator(schema, format_checker=FORMATS).iter_errors(value))


def gaps(schema: Mapping[str, Any]) -> list[str]:
    """What the schema leaves undocumented, or documents wrongly (an example or default it would reject)."""
    problems = []
    for entry in entries(schema):
        if entry.same_as is None and not entry.schema.get("description"):
            problems.append(f"{entry.name}: no description")
        if default_of(entry) is None:
            problems.append(f"{entry.name}: no default (add `default` or `x-default`)")
        example = example_of(entry.schema)
        if example is _NO_EXAMPLE:
            problems.append(f"{entry.name}: no example (add `examples`)")
        elif not _valid(example, entry.schema):
            problems.append(f"{entry.name}: the example {example!r} does not validate")
        if "default" in entry.schema and not _valid(entry.schema["default"], entry.schema):
            problems.append(f"{entry.name}: the default does not validate")
    return problems


def render(schema: Mapping[str, Any], *, title: str, intro: str) -> str:
    """The Markdown reference of ``schema``: an index of top-level keys, then one section per key."""
    all_entries = list(entries(schema))
    lines = [f"# {title}", "", intro.strip(), "", "| key | type | what it is |", "|---|---|---|"]
    for entry in all_entries:
        if len(entry.path) == 1:
            lines.append(f"| [`{entry.name}`](#{_anchor(entry.name)}) | {_cell(type_of(entry.schema))} | "
                         f"{_cell(_first_sentence(entry.schema.get('description', '')))} |")
    for entry in all_entries:
        lines += ["", f"{'##' if len(entry.path) == 1 else '###'} `{entry.name}`", ""]
        if entry.same_as is not None:
            note = f"Same keys as [`{entry.same_as}`](#{_anchor(entry.same_as)})."
            lines += [" ".join(filter(None, [entry.schema.get("description", ""), note])), ""]
        elif entry.schema.get("description"):
            lines += [str(entry.schema["description"]), ""]
        lines += ["| type | default | allowed |", "|---|---|---|",
                  f"| {_cell(type_of(entry.schema))} | {_cell(default_of(entry) or '—')} | "
                  f"{_cell(allowed(entry.schema))} |"]
        example = example_of(entry.schema)
        if example is not _NO_EXAMPLE:
            lines += ["", "```yaml", _example_yaml(entry, example, schema).rstrip(), "```"]
    return "\n".join(lines) + "\n"


def _example_yaml(entry: Entry, example: Any, root: Mapping[str, Any]) -> str:
    """The example nested under its full path, so it can be pasted into a file as it is."""
    value: Any = example
    keys = _concrete_keys(entry.path, root)
    for key in reversed(keys):
        value = _BlockList([value]) if key == "[]" else _BlockDict({key: value})
    return yaml.dump(value, Dumper=_Dumper, default_flow_style=None, sort_keys=False, allow_unicode=True, width=100)


class _BlockDict(dict[str, Any]):
    """A mapping on the example's path: always written in block style, so the path reads as in a file."""


class _BlockList(list[Any]):
    """A list on the example's path (``rules[]``): block style too."""


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(_BlockDict, lambda d, v: d.represent_mapping("tag:yaml.org,2002:map", v, flow_style=False))
_Dumper.add_representer(_BlockList, lambda d, v: d.represent_sequence("tag:yaml.org,2002:seq", v, flow_style=False))


def _concrete_keys(path: tuple[str, ...], root: Mapping[str, Any]) -> list[str]:
    """``lists.<list>`` -> ``lists.customer_domains`` (the mapping's ``x-key-example``)."""
    keys, schema = [], root
    for part in path:
        if part == "[]":
            schema = schema.get("items") or {}
            keys.append(part)
        elif part.startswith("<"):
            keys.append(str(schema.get("x-key-example", part.strip("<>"))))
            schema = schema.get("additionalProperties") or {}
        else:
            schema = _property(schema, part)
            keys.append(part)
    return keys


def _property(schema: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    found = (schema.get("properties") or {}).get(key)
    if found is not None:
        return found  # type: ignore[no-any-return]
    for variant in (*schema.get("anyOf", ()), *schema.get("oneOf", ())):
        found = (variant.get("properties") or {}).get(key)
        if found is not None:
            return found  # type: ignore[no-any-return]
    return {}


def _code(value: Any) -> str:
    shown = json.dumps(value) if not isinstance(value, str) else value
    return f"`{shown}`"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _first_sentence(text: str) -> str:
    head, dot, _ = text.partition(". ")
    return head + (dot.strip() if dot else "")


def _anchor(name: str) -> str:
    """GitHub's heading anchor: lower case, punctuation dropped, spaces to dashes."""
    return "".join(c for c in name.lower() if c.isalnum() or c in "-_ ").replace(" ", "-")


# --- the published pages ---------------------------------------------------------------------------------

_GENERATED = "Generated by `{command}` from the JSON Schema the loader validates with; do not edit by hand."


def kind_page(kind: str) -> str:
    """The reference of one kind's own keys (``docs/routing-reference.md`` for ``routing``)."""
    from .kinds import get_kind
    from .schema import HEADER

    fragment = get_kind(kind).schema
    if not fragment:
        return f"# `kind: {kind}` reference\n\nThis kind's checks are not built yet, so it has no keys of its own.\n"
    header = ", ".join(f"`{key}`" for key in HEADER)
    intro = (f"{_GENERATED.format(command=f'gtmcheck schema --kind {kind} --format markdown')}\n\n"
             f"Every key a `kind: {kind}` checklist may have besides the header every checklist shares "
             f"({header}; see the README). Unknown keys are errors at their line, with the closest key "
             f"suggested.")
    return render({"type": "object", "properties": fragment}, title=f"`kind: {kind}` reference", intro=intro)


def scenario_page() -> str:
    """The reference of sandbox scenario files (``docs/sandbox-scenario.md``)."""
    from .sandbox.scenario import SCENARIO_SCHEMA

    intro = (f"{_GENERATED.format(command='gtmcheck schema --scenario --format markdown')}\n\n"
             f"{SCENARIO_SCHEMA['description']} A scenario is one YAML file, such as "
             "`gtmcheck/demo/healthy.yml`; the `sandbox` CRM type loads it (`crm: {type: sandbox, scenario: "
             "...}`), and so does `gtmcheck sandbox serve --scenario`. Unknown keys and wrong values are errors "
             "at their line, with a fix. `gtmcheck schema --scenario` prints the JSON Schema for editors. "
             "How the emulator behaves: [sandbox.md](sandbox.md).")
    return render(SCENARIO_SCHEMA, title="Sandbox scenario reference", intro=intro)
