"""The published JSON Schemas, and validation that points at the offending YAML line.

Each kind owns the schema fragment for its own keys (``Kind.schema``); this module adds the header every
checklist shares and builds two things from the same parts: one schema per kind, used to validate (so a
typo gets "unknown key 'rulez', did you mean 'rules'?"), and the combined schema that ``gtmcheck schema``
prints for editors (yaml-language-server autocompletes checklists from it).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import Any

from jsonschema.exceptions import ValidationError, best_match

from . import secrets
from .dod import KINDS, TEMPLATES, WorkType
from .durations import SCHEMA as DURATION
from .errors import SpecError, SpecErrors
from .history.settings import SECTION_SCHEMA as HISTORY_SECTION
from .limits import DATE_FORMAT, FORMATS, MAX_DURATION_KEYWORD, NUMBER_HINT, Validator, bad_numbers
from .notify.settings import NOTIFY_SCHEMA
from .yamlfile import Document

DRAFT = "https://json-schema.org/draft/2020-12/schema"
SHOWN_KEYS = 20  # allowed keys named in an unknown-key fix (lint.rules has one per rule code)
EMAIL = {
    "type": "string",
    "pattern": r"^[^@\s]+@[^@\s]+$",
    "x-hint": "write an email address such as jane@acme.example",
}
DATE = {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$", "format": "date", "x-hint": "write the date as YYYY-MM-DD"}
SIGNER = {
    "type": "object",
    "required": ["by", "role", "on"],
    "additionalProperties": False,
    "properties": {"by": EMAIL, "role": {"type": "string", "minLength": 1}, "on": DATE},
}
MAX_AGE_LIMIT = "3660d"  # ten years: an age is days to months; a longer one is a typo
MAX_AGE = {**DURATION, "x-max-duration": MAX_AGE_LIMIT, "x-hint": "write an age such as 90d"}
MAX_AGES = {
    "type": "object",
    "additionalProperties": False,
    "description": "How long an attestation or a sign-off counts after its date (`on:`).",
    "properties": {
        "attestation": {**MAX_AGE, "description": "A `manual:` item's `on:` is older than this: not done."},
        "signoff": {**MAX_AGE, "description": "A sign-off's `on:` is older than this: it no longer counts."},
    },
}
ITEM_ID = {
    "type": "string",
    "pattern": r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)+$",
    "x-hint": "use a DoD item id such as UTM-URLS-RESOLVE",
}

HEADER: dict[str, Any] = {
    "version": {"const": 1, "description": "Checklist format version.", "x-hint": "write `version: 1`"},
    "kind": {"enum": list(KINDS), "description": "What this checklist is the definition of done for."},
    "name": {"type": "string", "minLength": 1, "description": "A human name, shown in reports."},
    "description": {"type": "string"},
    "owner": {**EMAIL, "description": "Who answers for this piece of the stack once it is live."},
    "built_by": {**EMAIL, "description": "Who built it; never the person who signs it off."},
    "work_type": {
        "enum": [w.value for w in WorkType],
        "description": "Overrides the kind's default work type, which decides the signer's role.",
    },
    "signoff": {
        "type": ["object", "array"],
        "description": "Who accepted the work, in which role, on which day: one signer, or a list of them "
                       "when the kind needs several roles (crm: marketing ops and sales ops).",
        "x-hint": "write `signoff: {by: <email>, role: <role>, on: YYYY-MM-DD}` or a list of such signers",
        "if": {"type": "object"},
        "then": SIGNER,
        "else": {"type": "array", "minItems": 1, "items": SIGNER,
                 "x-hint": "list each signer as `- {by: <email>, role: <role>, on: YYYY-MM-DD}`, or remove "
                           "`signoff:` until the work is accepted"},
    },
    "max_age": {
        **MAX_AGES,
        "description": "Shorter ages than gtmcheck.yml's `governance.max_age` for this checklist (never longer).",
    },
    "manual": {
        "type": "array",
        "description": "DoD items verified by a person, with evidence.",
        "items": {
            "type": "object",
            "required": ["id"],
            "additionalProperties": False,
            "properties": {
                "id": ITEM_ID,
                "evidence": {"type": "string", "description": "A link or a short record of what was seen."},
                "attested_by": EMAIL,
                "on": DATE,
                "max_age": {**MAX_AGE, "description": "A shorter age for this attestation (never longer)."},
                "note": {"type": "string"},
            },
        },
    },
}
REQUIRED = ["kind", "name", "owner", "built_by"]


def kind_schema(kind: str, fragment: Mapping[str, Any], *, closed: bool = True) -> dict[str, Any]:
    """The full schema of one kind's checklists: the shared header plus the kind's own keys."""
    props = {**HEADER, **fragment}
    props["kind"] = {"const": kind}
    return {
        "$schema": DRAFT,
        "title": f"gtmcheck {kind} checklist (v1)",
        "type": "object",
        "required": REQUIRED,
        "properties": props,
        "additionalProperties": not closed,
    }


def checklist_schema(fragments: Mapping[str, tuple[Mapping[str, Any], bool]]) -> dict[str, Any]:
    """The combined schema for editors: the header, then each kind's keys when ``kind`` says so."""
    branches = []
    for kind, (fragment, closed) in fragments.items():
        items = [item.id for item in TEMPLATES[kind]]
        manual = {"items": {"properties": {"id": {"enum": items}}}}
        then: dict[str, Any] = {"properties": {**fragment, "manual": manual}}
        if not closed:  # a kind not built yet accepts any key: evaluate them all here
            then["patternProperties"] = {"^.*$": {}}
        branches.append({"if": {"properties": {"kind": {"const": kind}}, "required": ["kind"]}, "then": then})
    schema: dict[str, Any] = {
        "$schema": DRAFT,
        "$id": "https://gtmcheck.example/schema/checklist-v1.json",
        "title": "gtmcheck checklist (v1)",
        "description": "A definition of done for one piece of GTM infrastructure (*.gtm.yml).",
        "type": "object",
        "required": REQUIRED,
        "properties": HEADER,
        "allOf": branches,
        # Unknown keys are errors: every key must be evaluated by the header or the kind's branch.
        "unevaluatedProperties": False,
    }
    return schema


def project_schema(crm_types: Iterable[str], lint_section: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The schema of ``gtmcheck.yml``; ``lint_section`` is that of ``lint:`` (``ruleset`` knows every rule)."""
    secret = {"type": "string", "description": "Write it as ${ENV_VAR}; never commit a token."}
    environment = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "description": {"type": "string"},
            "crm": {
                "type": "object",
                "required": ["type"],
                "additionalProperties": False,
                "properties": {
                    "type": {"enum": list(crm_types)},
                    "scenario": {"type": "string", "description": "Sandbox only: the scenario file."},
                    "token": secret,
                    "base_url": {"type": "string", "description": "Point the connector at another host."},
                    "forms_base_url": {
                        "type": "string",
                        "description": "HubSpot's Forms API host (default https://api.hsforms.com; the "
                        "`base_url` when that names another host, such as a served sandbox).",
                    },
                    "instance_url": {"type": "string"},
                    "api_version": {"type": "string"},
                    "plan": {"enum": ["starter", "professional", "enterprise"]},
                    "search_lag": {
                        **DURATION,
                        "x-max-duration": "1h",
                        "description": "How long the CRM's search trails writes (default: HubSpot 10s).",
                    },
                },
            },
            "warehouse": {
                "type": "object",
                "required": ["url"],
                "additionalProperties": False,
                "properties": {"url": {"type": "string", "description": "Any SQLAlchemy URL."}},
            },
            "web": {
                "type": "object",
                "required": ["type"],
                "additionalProperties": False,
                "description": "How campaign URLs are fetched: the live internet or the sandbox site.",
                "properties": {
                    "type": {"enum": ["live", "sandbox"]},
                    "site": {"type": "string", "description": "Sandbox only: a scenario file with a `site:`."},
                    "timeout": {"type": "number", "exclusiveMinimum": 0, "maximum": 600,
                                "description": "Seconds to wait for each campaign URL (at most 600)."},
                },
            },
            "writes": {"type": "boolean", "description": "Synthetic records may be created here."},
        },
    }
    return {
        "$schema": DRAFT,
        "$id": "https://gtmcheck.example/schema/project-v1.json",
        "title": "gtmcheck project (gtmcheck.yml)",
        "type": "object",
        "required": ["version", "environments"],
        "additionalProperties": False,
        "properties": {
            "version": {"const": 1, "x-hint": "write `version: 1`"},
            "environments": {"type": "object", "minProperties": 1, "additionalProperties": environment},
            "default_environment": {"type": "string"},
            "checks": {
                "type": "array",
                "items": {"type": "string"},
                "description": "Folders or files holding checklists; default [checks].",
            },
            "lint": dict(lint_section) if lint_section is not None else {"type": "object"},
            "notify": NOTIFY_SCHEMA,
            "governance": {
                "type": "object",
                "additionalProperties": False,
                "description": "What a go-live requires beyond each checklist's own DoD.",
                "properties": {
                    "require": {
                        "type": "array",
                        "items": {"enum": list(KINDS)},
                        "uniqueItems": True,
                        "description": "Components a go-live needs: one without a checklist is a not-done "
                                       "item in the report and blocks go-live.",
                    },
                    "max_age": MAX_AGES,
                },
            },
            "history": HISTORY_SECTION,
        },
    }


_TYPE_NAMES = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "null": "empty",
}


def _typename(value: Any) -> str:
    for name, cls in (("a mapping", dict), ("a list", list), ("true or false", bool), ("a string", str)):
        if isinstance(value, cls):
            return name
    if value is None:
        return "empty"
    return "a number"


def _where(path: Iterable[Any]) -> str:
    parts = [f"[{p}]" if isinstance(p, int) else f".{p}" for p in path]
    return "".join(parts).lstrip(".") or "the document"


def _leaf(error: ValidationError) -> ValidationError:
    while error.context:
        error = best_match(error.context) or error
        if error.context is None:
            break
    return error


def _to_spec_errors(error: ValidationError, doc: Document) -> list[SpecError]:
    """The errors one schema violation stands for: one per unknown key, else one."""
    v = error.validator
    if v in ("additionalProperties", "unevaluatedProperties") and isinstance(error.instance, dict):
        path = tuple(error.absolute_path)
        where = _where(path)
        allowed = sorted((error.schema.get("properties") or {}).keys()) if isinstance(error.schema, dict) else []
        extra = [k for k in error.instance if k not in allowed] or list(error.instance)
        out = []
        shown = ", ".join(allowed[:SHOWN_KEYS]) + (f" and {len(allowed) - SHOWN_KEYS} more (`gtmcheck schema`)"
                                                    if len(allowed) > SHOWN_KEYS else "")
        for key in extra:
            close = [a for a in allowed if a.lower() == str(key).lower()]  # `route103` for `ROUTE103`
            close = close or difflib.get_close_matches(str(key), allowed, n=1)
            fix = f"did you mean `{close[0]}`?" if close else f"remove it; allowed keys here: {shown}"
            out.append(SpecError(f"unknown key {key!r} in {where}", doc.location((*path, key), key=True), fix))
        return out
    return [_to_spec_error(error, doc)]


def _to_spec_error(error: ValidationError, doc: Document) -> SpecError:
    path = tuple(error.absolute_path)
    where = _where(path)
    hint = str(error.schema.get("x-hint", "")) if isinstance(error.schema, dict) else ""
    v = error.validator
    loc = doc.location(path, key=False)
    if v == "required":
        missing = error.message.split("'")[1] if "'" in error.message else "?"
        props = (error.schema.get("properties") or {}) if isinstance(error.schema, dict) else {}
        unknown = [k for k in error.instance if k not in props] if isinstance(error.instance, dict) else []
        typo = difflib.get_close_matches(missing, unknown, n=1)
        if typo:  # ``rol:`` for ``role:`` is one mistake: show the typo, not only the missing key
            return SpecError(
                f"unknown key {typo[0]!r} in {where}",
                doc.location((*path, typo[0]), key=True),
                f"did you mean `{missing}`?",
            )
        return SpecError(f"{where} is missing the required key {missing!r}", loc, hint or f"add `{missing}:`")
    if v == "type":
        expected: Any = error.validator_value
        names = " or ".join(_TYPE_NAMES.get(t, t) for t in ([expected] if isinstance(expected, str) else expected))
        if isinstance(error.instance, str) and error.instance.lower() == ".nan" and "number" in names:
            return SpecError(f"{where} is .nan (not a number), which never compares", loc, NUMBER_HINT)
        return SpecError(f"{where} must be {names}, not {_typename(error.instance)}", loc, hint or f"write {names}")
    if v in ("enum", "const"):
        options: list[Any] = list(error.validator_value) if v == "enum" else [error.validator_value]  # type: ignore[arg-type]
        shown = ", ".join(str(o) for o in options)
        value = error.instance if isinstance(error.instance, str) and len(error.instance) < 60 else None
        if value is not None and secrets.redact(value) != value:  # it came from ${ENV}: never echo it
            value = None
        close = difflib.get_close_matches(value, [str(o) for o in options], n=1) if value else []
        fix = hint or (f"did you mean `{close[0]}`?" if close else f"use one of: {shown}")
        got = f" {value!r}" if value is not None else ""
        return SpecError(f"{where}{got} is not allowed; expected one of: {shown}", loc, fix)
    if v == "pattern":
        return SpecError(f"{where} is not in the expected form", loc, hint or f"match {error.validator_value}")
    if v == "format" and error.validator_value == DATE_FORMAT:
        cause = str(error.cause).split(" (", 1)[-1].rstrip(")") if error.cause else "no such day"
        return SpecError(f"{where}{_shown(error.instance)} is not a real calendar date ({cause})", loc,
                         "write a date that exists, as YYYY-MM-DD")
    if v == MAX_DURATION_KEYWORD:
        return SpecError(f"{where}{_shown(error.instance)} is longer than {error.validator_value}, the longest "
                         "allowed here", loc, f"write at most {error.validator_value}")
    if v in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        bound = {"minimum": "at least", "maximum": "at most", "exclusiveMinimum": "more than",
                 "exclusiveMaximum": "less than"}[str(v)]
        return SpecError(f"{where} must be {bound} {error.validator_value}", loc,
                         f"write a number {bound} {error.validator_value}")
    if v == "maxProperties" and isinstance(error.instance, dict):
        keys = ", ".join(str(k) for k in error.instance)
        return SpecError(f"{where} has {len(error.instance)} keys ({keys}) where at most {error.validator_value} "
                         "is allowed", loc, hint or "keep one")
    if v == "uniqueItems":
        return SpecError(f"{where} names an entry twice", loc, "keep each entry once")
    if v in ("minLength", "minItems", "minProperties"):
        return SpecError(f"{where} must not be empty", loc, hint or "give it a value")
    return SpecError(f"{where}: {error.validator} constraint failed", loc, hint or "see `gtmcheck schema`")


def _shown(value: Any) -> str:
    """`` 'value'`` for a message, or nothing when it is long or came from ``${ENV}`` (never echo a secret)."""
    if not isinstance(value, str) or len(value) > 40 or secrets.redact(value) != value:
        return ""
    return f" {value!r}"


def validate(doc: Document, schema: Mapping[str, Any]) -> None:
    """Raise every schema violation, in file order, each at its line and column.

    One violation is a ``SpecError``; several are one ``SpecErrors`` listing each (a file is fixed in one
    pass, not one error per run).

    Besides the schema, every number must be finite and within ±10^15, every ``format: date`` a real day
    and every duration within its ``x-max-duration`` (``limits``).
    """
    specs = [SpecError(f"{_where(path)} {problem}", doc.location(path), NUMBER_HINT)
             for path, problem in bad_numbers(doc.data)]
    validator = Validator(schema, format_checker=FORMATS)
    errors = [_leaf(e) for e in validator.iter_errors(doc.data)]
    if not errors and not specs:
        return
    specs += [spec for e in errors for spec in _to_spec_errors(e, doc)]
    specs.sort(key=lambda s: (s.location.line, s.location.column) if s.location else (0, 0))
    unique: dict[str, SpecError] = {}
    for spec in specs:  # ``rol:`` for ``role:`` is found as an unknown key and as a missing one: say it once
        unique.setdefault(spec.format(), spec)
    found = list(unique.values())
    raise found[0] if len(found) == 1 else SpecErrors(found)
