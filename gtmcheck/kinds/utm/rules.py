"""UTM lint rules on the taxonomy itself (``UTM2xx``); the URL rules (``UTM1xx``) are in ``url_rules``.

Allowed values are judged by the URL linter's own conventions (case, separator, banned words, length), so
the taxonomy and the URLs built from it are held to the same rules.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from ...channels import UNASSIGNED
from ...findings import Finding, Rule, Severity, register
from .model import UtmSpec
from .url_rules import UrlLinter, show_value

if TYPE_CHECKING:
    from ...spec import Checklist

E = Severity.ERROR

UNASSIGNED_CHANNEL = register(
    "UTM201",
    "taxonomy.unassigned-channel",
    E,
    "An allowed source/medium pair lands in no channel.",
    "rename the medium to one the channel grouping recognises, or add a custom channel rule",
    "Anti-pattern: a medium such as `webinar` that GA4's default channel group puts in Unassigned. "
    "Best practice: every allowed pair maps to a channel someone reports on.",
)
UNREACHED_CHANNEL = register(
    "UTM202",
    "taxonomy.unreached-channel",
    E,
    "An expected channel is reached by no allowed pair.",
    "allow a source/medium pair that lands in it, or drop it from `channels.expected`",
    "Anti-pattern: reporting on Paid Social while no allowed medium can produce it. "
    "Best practice: each channel in `channels.expected` is reachable from the taxonomy.",
)
BAD_ALLOWED = register(
    "UTM203",
    "taxonomy.value-breaks-convention",
    E,
    "An allowed value breaks the taxonomy's own conventions.",
    "fix the allowed value so that URLs using it pass lint",
    "Anti-pattern: allowing `Paid Social` while requiring lowercase and `_`. "
    "Best practice: the allowed lists obey the case, separator, banned words and length rules.",
)
BAD_COMBINATION = register(
    "UTM204",
    "taxonomy.unknown-combination-value",
    E,
    "A combination names a value not in the allowed lists.",
    "add the value to the allowed list or fix the combination",
    "Anti-pattern: `combinations: {bing: [cpc]}` while bing is not an allowed source. "
    "Best practice: combinations only use allowed sources and mediums.",
)


def _allowed(spec: UtmSpec, name: str) -> list[str]:
    p = spec.taxonomy.params.get(name)
    return sorted(p.allowed) if p is not None and p.allowed is not None else []


def lint_taxonomy(checklist: Checklist, spec: UtmSpec) -> Iterator[Finding]:
    """Findings on the taxonomy itself: values breaking its conventions, dead combinations, lost channels."""
    data = checklist.data.get("taxonomy") or {}
    linter = UrlLinter(spec)
    for name, pspec in (data.get("parameters") or {}).items():
        for i, value in enumerate(pspec.get("allowed", [])):
            problems: list[tuple[Rule, str]] = []
            linter.conventions(name, value, problems, as_allowed=True)
            if any(ch.isspace() for ch in value):
                problems.append((BAD_ALLOWED, f"{name} value {show_value(value)} contains whitespace"))
            where = checklist.location(("taxonomy", "parameters", name, "allowed", i))
            for _rule, message in problems:
                yield BAD_ALLOWED.finding(where, f"allowed {message}")
    sources, mediums = set(_allowed(spec, "utm_source")), set(_allowed(spec, "utm_medium"))
    for src, meds in (data.get("combinations") or {}).items():
        if sources and src.lower() not in sources:
            yield BAD_COMBINATION.finding(
                checklist.location(("taxonomy", "combinations", src), key=True),
                f"combination source {src!r} is not an allowed utm_source",
            )
        for j, med in enumerate(meds):
            if mediums and med.lower() not in mediums:
                yield BAD_COMBINATION.finding(
                    checklist.location(("taxonomy", "combinations", src, j)),
                    f"combination medium {med!r} (for {src!r}) is not an allowed utm_medium",
                )
    yield from _lint_channels(checklist, spec, data)


def _pairs(spec: UtmSpec) -> list[tuple[str, str]]:
    """Every source/medium pair the taxonomy allows."""
    tx = spec.taxonomy
    sources, mediums = _allowed(spec, "utm_source"), _allowed(spec, "utm_medium")
    pairs: list[tuple[str, str]] = []
    for src, meds in tx.combinations.items():
        pairs += [(src, m) for m in sorted(meds)]
    free = [s for s in sources if s not in tx.combinations] or ([] if tx.combinations or sources else [""])
    pairs += [(s, m) for s in free for m in mediums]
    return list(dict.fromkeys(pairs))


def _lint_channels(checklist: Checklist, spec: UtmSpec, data: dict[str, object]) -> Iterator[Finding]:
    pairs = _pairs(spec)
    if not pairs:
        return
    reached: set[str] = set()
    lost: dict[str, list[str]] = {}
    for src, med in pairs:
        channel = spec.channels.classify(src, med)
        reached.add(channel)
        if channel == UNASSIGNED:
            lost.setdefault(med, []).append(src)
    preset = "GA4 default channel group" if spec.channels.preset == "ga4" else "the custom channel rules"
    medium_list = (data.get("parameters") or {}).get("utm_medium", {}).get("allowed", [])  # type: ignore[attr-defined]
    lowered = [str(m).lower() for m in medium_list]
    for med, srcs in lost.items():
        if med in lowered:
            where = checklist.location(("taxonomy", "parameters", "utm_medium", "allowed", lowered.index(med)))
        else:
            where = checklist.location(("taxonomy", "combinations"))
        named = [s for s in srcs if s]
        with_src = f" with utm_source {', '.join(repr(s) for s in named[:5])}" if named else ""
        more = f" and {len(named) - 5} more" if len(named) > 5 else ""
        yield UNASSIGNED_CHANNEL.finding(where, f"utm_medium {med!r}{with_src}{more} lands in Unassigned ({preset})")
    for i, channel in enumerate(spec.expected):
        if channel not in reached:
            known = spec.channels.channels()
            extra = "" if channel in known else f"; {channel!r} is not a channel of the {preset}"
            yield UNREACHED_CHANNEL.finding(
                checklist.location(("channels", "expected", i)),
                f"expected channel {channel!r} is reached by no allowed source/medium pair{extra}",
            )
