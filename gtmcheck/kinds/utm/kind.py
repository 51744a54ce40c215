"""The UTM taxonomy kind: the checklist is the one source of truth for campaign URLs.

Shape of a ``kind: utm`` checklist (besides the shared header and ``manual:``)::

    taxonomy:
      required: [utm_source, utm_medium, utm_campaign]
      case: lower                 # lower | any
      separator: "_"              # the one separator allowed inside values: "_" or "-"
      max_length: 100             # per value; a parameter may set its own max_length
      banned: [test, draft, tbd]  # words no value may contain (matched per word)
      parameters:                 # the utm_* parameters in use; any other utm_* is flagged
        utm_source: {allowed: [google, linkedin, newsletter]}
        utm_medium: {allowed: [cpc, paid_social, email]}
        utm_campaign: {pattern: "^fy[0-9]{2}q[1-4]_[a-z]+_[a-z0-9_]+$"}   # RE2, searched like JSON Schema
        utm_content: {}           # allowed, free
      combinations:               # source -> allowed mediums; sources not listed are unrestricted
        google: [cpc]
    channels:
      preset: ga4                 # ga4 (default) | none
      custom:                     # ordered, first match wins, tried before the preset
        - {channel: Webinars, when: {medium: {in: [webinar]}, source: {matches: "^(zoom|on24)$"}}}
      expected: [Paid Search, Paid Social, Email]
    urls:
      - {id: spring-launch, url: "https://www.acme.example/spring?utm_source=...", active: true}
    url_files:                    # paths relative to the checklist file
      - {path: campaign_urls.csv, url_column: url, id_column: campaign_id, active_column: active}
    resolve: {require_https: true, max_redirects: 10}
    form: {portal_id: 4242, guid: 6f1f2a4c-0b7e-4c55-9d1e-2d2c8c0b1a01}   # synthetic submissions go here
    trace: {crm_lag: 1m, warehouse_lag: 15m}                              # see channel_trace.py

Conditions in ``channels.custom[].when`` test ``source``, ``medium`` or ``campaign`` with ``equals``,
``in``, ``contains``, ``ends_with`` (all case-insensitive) or ``matches`` (an RE2 pattern).

Checks: ``UTM-TAXONOMY-DOCUMENTED`` (offline: the taxonomy is complete and no URL or taxonomy entry has
an error finding) and one ``UTM-URLS-RESOLVE[<id>]`` per active URL. With ``form:``, ``UTM-CRM-POPULATES``
and one ``UTM-CHANNEL-TRACE[<channel>]`` per channel send synthetic form submissions and read them back from
the CRM and the warehouse (channel_trace.py); without it they are attested under ``manual:``, as
UTM-REPORTING-SOURCE is.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from ...errors import CheckFailed, Evidence
from ...findings import Finding, Severity, summarize
from ...lintconfig import settle
from ..base import CRM, WEB, Check, KindBase, cached_spec
from .channel_trace import TRACE_SCHEMA, trace_checks
from .model import CACHE_KEY, UrlEntry, UtmSpec, compile_spec
from .observe import observe_utm
from .resolve import resolve
from .rules import lint_taxonomy
from .url_rules import lint_urls

if TYPE_CHECKING:
    from ...context import RunContext
    from ...spec import Checklist

PARAMS = (
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
    "utm_id",
    "utm_source_platform",
    "utm_creative_format",
    "utm_marketing_tactic",
)
_STRINGS: dict[str, Any] = {"type": "array", "items": {"type": "string", "minLength": 1}, "uniqueItems": True}
_PARAM: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "description": "What the parameter may hold; `{}` means present but free.",
    "properties": {
        "allowed": {
            **_STRINGS,
            "minItems": 1,
            "description": "The only values allowed (compared lower-cased).",
        },
        "pattern": {
            "type": "string",
            "minLength": 1,
            "description": "RE2 pattern values must match (searched).",
            "x-hint": "write a regular expression such as ^fy[0-9]{2}q[1-4]_[a-z]+$",
        },
        "max_length": {"type": "integer", "minimum": 1},
        "description": {"type": "string"},
    },
}
_CONDITION: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "minProperties": 1,
    "x-hint": "use equals, in, contains, ends_with or matches",
    "properties": {
        "equals": {"type": "string"},
        "in": _STRINGS,
        "contains": {"type": "string", "minLength": 1},
        "ends_with": {"type": "string", "minLength": 1},
        "matches": {
            "type": "string",
            "minLength": 1,
            "description": "RE2 pattern, case-insensitive, searched.",
        },
    },
}
_URL_ID: dict[str, Any] = {
    "type": "string",
    "minLength": 1,
    "pattern": r"^[A-Za-z0-9][A-Za-z0-9_.:/-]*$",
    "x-hint": "use letters, digits, '-', '_', '.', ':' or '/' (no spaces)",
}

SCHEMA: dict[str, Any] = {
    "taxonomy": {
        "type": "object",
        "additionalProperties": False,
        "description": "The UTM naming rules every campaign URL follows.",
        "properties": {
            "required": {
                **_STRINGS,
                "items": {"enum": list(PARAMS)},
                "description": "Parameters every URL must carry.",
            },
            "case": {"enum": ["lower", "any"], "description": "`lower`: names and values must be lowercase."},
            "separator": {
                "enum": ["_", "-"],
                "description": "The one separator allowed inside values.",
                "x-hint": 'write separator: "_" or separator: "-"',
            },
            "max_length": {"type": "integer", "minimum": 1, "description": "Longest value allowed."},
            "banned": {**_STRINGS, "description": "Placeholder words no value may contain."},
            "parameters": {
                "type": "object",
                "additionalProperties": False,
                "description": "The utm_* parameters in use; any other utm_* is flagged.",
                "properties": {p: _PARAM for p in PARAMS},
            },
            "combinations": {
                "type": "object",
                "description": "Source -> the mediums it may be used with.",
                "additionalProperties": {**_STRINGS, "x-hint": "list the mediums, e.g. google: [cpc]"},
            },
        },
    },
    "channels": {
        "type": "object",
        "additionalProperties": False,
        "description": "How source/medium pairs map to reporting channels.",
        "properties": {
            "preset": {"enum": ["ga4", "none"], "description": "Built-in grouping tried after `custom`."},
            "custom": {
                "type": "array",
                "description": "Ordered rules, first match wins.",
                "items": {
                    "type": "object",
                    "required": ["channel"],
                    "additionalProperties": False,
                    "properties": {
                        "channel": {"type": "string", "minLength": 1},
                        "when": {
                            "type": "object",
                            "additionalProperties": False,
                            "properties": {
                                "source": _CONDITION,
                                "medium": _CONDITION,
                                "campaign": _CONDITION,
                            },
                        },
                    },
                },
            },
            "expected": {**_STRINGS, "description": "Channels the team reports on; each must be reachable."},
        },
    },
    "urls": {
        "type": "array",
        "description": "Campaign URLs written in the checklist.",
        "items": {
            "type": "object",
            "required": ["id", "url"],
            "additionalProperties": False,
            "x-hint": "write each URL as {id: spring-launch, url: https://...}",
            "properties": {
                "id": _URL_ID,
                "url": {"type": "string"},
                "active": {"type": "boolean", "description": "Inactive URLs are linted but not fetched."},
                "note": {"type": "string"},
            },
        },
    },
    "url_files": {
        "type": "array",
        "description": "CSV files listing campaign URLs (paths relative to the checklist).",
        "items": {
            "type": "object",
            "required": ["path"],
            "additionalProperties": False,
            "properties": {
                "path": {"type": "string", "minLength": 1},
                "url_column": {"type": "string", "description": "Default `url`."},
                "id_column": {"type": "string", "description": "Default: ids are `<file stem>:<line>`."},
                "active_column": {"type": "string", "description": "true/yes/1/active means fetched."},
                "active": {"type": "boolean", "description": "Default for rows without an active column."},
            },
        },
    },
    "resolve": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "require_https": {"type": "boolean", "description": "Flag http:// URLs (default true)."},
            "max_redirects": {"type": "integer", "minimum": 0, "maximum": 30},
        },
    },
    **TRACE_SCHEMA,
}

TAXONOMY_ID = "UTM-TAXONOMY-DOCUMENTED"
RESOLVE_ID = "UTM-URLS-RESOLVE"
SHOWN_FINDINGS = 5


def spec_of(checklist: Checklist) -> UtmSpec:
    """The compiled spec, compiling on first use (``prepare`` normally did it at load time)."""
    return cached_spec(checklist, CACHE_KEY, compile_spec)


class UtmKind(KindBase):
    """UTM taxonomy: lint campaign URLs against the taxonomy, fetch active ones through their redirects."""

    name = "utm"
    schema: Mapping[str, Any] = SCHEMA

    def prepare(self, checklist: Checklist) -> None:
        checklist.cache[CACHE_KEY] = compile_spec(checklist)

    def lint(self, checklist: Checklist) -> Iterable[Finding]:
        spec = spec_of(checklist)
        yield from lint_taxonomy(checklist, spec)
        yield from lint_urls(spec)

    def observe(self, checklist: Checklist, ctx: RunContext) -> Mapping[str, Any]:
        """The CRM properties the traced UTM parameters land in, as the CRM describes them now."""
        return observe_utm(checklist, ctx)

    def observe_needs(self, checklist: Checklist) -> frozenset[str]:
        return frozenset({CRM})

    def checks(self, checklist: Checklist) -> Iterator[Check]:
        spec = spec_of(checklist)
        where = checklist.location(("taxonomy",), key=True) if spec.has_taxonomy else checklist.location(())
        yield Check(
            TAXONOMY_ID,
            lambda ctx: self._taxonomy_check(checklist, ctx),
            where,
            description="the taxonomy is complete and every URL follows it",
        )
        for entry in spec.urls:
            if entry.active:
                yield Check(
                    RESOLVE_ID,
                    _resolver(entry, spec.max_redirects),
                    entry.location(),
                    param=entry.id,
                    description=f"{entry.id} resolves and keeps its UTM parameters",
                    needs=frozenset({WEB}),
                )
        yield from trace_checks(checklist, spec)

    def _taxonomy_check(self, checklist: Checklist, ctx: RunContext | None = None) -> Evidence:
        spec = spec_of(checklist)
        tx = spec.taxonomy
        if not tx.documented:
            missing = [
                n for n in tx.required if (p := tx.params.get(n)) is None or (p.allowed is None and p.pattern is None)
            ]
            detail = (
                f"{', '.join(missing)} have no allowed values or pattern"
                if tx.required
                else "no required parameters are declared"
            )
            raise CheckFailed(
                f"the UTM taxonomy is incomplete: {detail}",
                expected="taxonomy.required, with allowed values or a pattern for each",
                received=detail,
            )
        # as `gtmcheck lint` counts them: gtmcheck.yml's `lint:` severities and the file's ignore comments
        findings, _ = settle(self.lint(checklist), checklist.doc, ctx.project.lint if ctx is not None else None)
        findings.sort(key=Finding.sort_key)
        errors = [f for f in findings if f.severity >= Severity.ERROR]
        counts = {"urls": len(spec.urls), "findings": len(findings), "errors": len(errors)}
        if errors:
            n_urls = len({(f.location.file, f.location.line) for f in errors if f.code.startswith("UTM1")})
            n_tax = sum(1 for f in errors if f.code.startswith("UTM2"))
            raise CheckFailed(
                f"the taxonomy is not followed: {len(errors)} error findings ({n_urls} URL lines, "
                f"{n_tax} in the taxonomy): {summarize(errors, SHOWN_FINDINGS)}",
                expected="no error findings (run `gtmcheck lint`)",
                received=f"{len(errors)} error findings",
                evidence=Evidence(
                    f"{len(errors)} error findings", {**counts, "first": [f.as_dict() for f in errors[:20]]}
                ),
            )
        return Evidence(
            f"{len(tx.required)} required parameters documented; {len(spec.urls)} URLs follow the taxonomy",
            counts,
        )


def _resolver(entry: UrlEntry, max_redirects: int) -> Any:
    url = entry.url.strip()

    def run(ctx: RunContext) -> Evidence:
        return resolve(ctx.web(), url, max_redirects)

    return run
