"""UTM lint rules on campaign URLs (``UTM1xx``); the taxonomy rules (``UTM2xx``) are in ``rules``.

The URL linter is the hot path (100,000 URLs in well under two seconds): the query string is split by
hand, value-level verdicts are memoised per (parameter, raw value) because campaigns reuse values, and a
finding's file position is computed only when there is a finding.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote, urlsplit

from ...findings import Finding, Rule, Severity, register
from ...secrets import redact
from .model import UrlEntry, UtmSpec

E, W = Severity.ERROR, Severity.WARNING

UNPARSEABLE = register(
    "UTM101",
    "url.unparseable",
    E,
    "The campaign URL is not an absolute http(s) URL: no scheme, another scheme, no host, or unparseable.",
    "write an absolute http(s) URL such as https://www.acme.example/spring?utm_source=...",
    "Anti-pattern: a relative link, a missing scheme, a `javascript:`, `data:` or `file:` link or a pasted "
    "fragment in the URL list; such a URL is never fetched, so UTM-URLS-RESOLVE cannot verify it. "
    "Best practice: every campaign URL is absolute, with scheme and host, exactly as it is published.",
)
NOT_HTTPS = register(
    "UTM102",
    "url.not-https",
    E,
    "The campaign URL uses plain http.",
    "publish the https:// URL; the http -> https redirect is one more hop that can drop the query string",
    "Anti-pattern: http:// campaign links that rely on a redirect to https. "
    "Best practice: link the final https URL directly (set `resolve.require_https: false` to allow http).",
)
MISSING = register(
    "UTM103",
    "url.missing-parameter",
    E,
    "A required UTM parameter is missing or empty.",
    "add the parameter with a value from the taxonomy",
    "Anti-pattern: a campaign URL without utm_medium lands in (not set) and in GA4's Unassigned channel. "
    "Best practice: every URL carries every parameter listed under `taxonomy.required`.",
)
DUPLICATE = register(
    "UTM104",
    "url.duplicate-parameter",
    E,
    "A UTM parameter appears twice in one URL.",
    "keep one occurrence; tools disagree on which one wins",
    "Anti-pattern: `...&utm_source=google&utm_source=bing`, usually from appending UTMs to a URL that had "
    "them. Best practice: build the URL from scratch with one value per parameter.",
)
ENCODED_JUNK = register(
    "UTM105",
    "url.encoded-junk",
    E,
    "A UTM value holds encoded spaces, double encoding or invalid escapes.",
    "use the taxonomy's separator instead of spaces and encode each value once",
    "Anti-pattern: `spring%20launch`, `spring+launch`, `%2520` (encoded twice) or a stray `%`: reports show "
    "spaces, `%20` or garbage. Best practice: values are lowercase words joined by the taxonomy's separator.",
)
WHITESPACE = register(
    "UTM106",
    "url.whitespace",
    E,
    "The URL contains whitespace or control characters.",
    "remove the whitespace; copy URLs from the URL builder, not from a document",
    "Anti-pattern: a trailing space, tab or line break pasted with the URL breaks the link or the value. "
    "Best practice: URLs contain no whitespace at all.",
)
WRONG_CASE = register(
    "UTM107",
    "url.wrong-case",
    E,
    "A UTM parameter name or value is not lowercase.",
    "write it in lowercase; GA4 reports `LinkedIn` and `linkedin` as two sources",
    "Anti-pattern: `utm_source=LinkedIn` next to `utm_source=linkedin` splits one source into two rows. "
    "Best practice: lowercase everything (`taxonomy.case: lower`).",
)
MIXED_SEPARATORS = register(
    "UTM108",
    "url.mixed-separators",
    E,
    "A UTM value uses a separator other than the taxonomy's.",
    "use only the taxonomy's separator inside values",
    "Anti-pattern: `fy26q1-emea_launch` next to `fy26q1_emea_launch`: the same campaign under two names. "
    "Best practice: one separator (`taxonomy.separator`), used everywhere.",
)
UNKNOWN_VALUE = register(
    "UTM109",
    "url.unknown-value",
    E,
    "A UTM value is not in the parameter's allowed list.",
    "use an allowed value, or add the new value to the taxonomy first",
    "Anti-pattern: `utm_medium=paidsocial` invented on the spot. "
    "Best practice: sources and mediums come from `taxonomy.parameters.<name>.allowed`.",
)
BANNED_VALUE = register(
    "UTM110",
    "url.banned-value",
    E,
    "A UTM value is or contains a banned word.",
    "replace the placeholder with the real value",
    "Anti-pattern: `test`, `draft` or `tbd` left in a published link pollutes live reports. "
    "Best practice: list placeholders under `taxonomy.banned` and never publish them.",
)
TOO_LONG = register(
    "UTM111",
    "url.value-too-long",
    W,
    "A UTM value is longer than the taxonomy allows.",
    "shorten it; put detail in utm_content or utm_term",
    "Anti-pattern: a campaign name that is a sentence. Best practice: short, templated values (`taxonomy.max_length`).",
)
PATTERN = register(
    "UTM112",
    "url.pattern-mismatch",
    E,
    "A UTM value does not follow its naming template.",
    "name it after the template in `taxonomy.parameters.<name>.pattern`",
    "Anti-pattern: campaign names made up per launch (`SpringLaunch2026`). "
    "Best practice: a template such as `fy26q1_emea_launch`, written as a pattern.",
)
COMBINATION = register(
    "UTM113",
    "url.invalid-combination",
    E,
    "The source/medium pair is not an allowed combination.",
    "use a medium listed for this source under `taxonomy.combinations`",
    "Anti-pattern: `utm_source=newsletter&utm_medium=cpc` lands in the wrong channel. "
    "Best practice: declare which mediums each source may use.",
)
IN_FRAGMENT = register(
    "UTM114",
    "url.utm-after-fragment",
    E,
    "UTM parameters sit after `#`, where analytics never sees them.",
    "move the parameters before the `#`: https://host/path?utm_source=...#section",
    "Anti-pattern: `https://host/page#pricing?utm_source=x`: the fragment is never sent to the server "
    "and GA4 ignores it. Best practice: query string first, fragment last.",
)
DUPLICATE_ID = register(
    "UTM115",
    "url.duplicate-id",
    E,
    "Two campaign URLs share one id.",
    "give each URL its own id; ids name the resolve checks and report rows",
    "Anti-pattern: copy-pasted rows keeping the id. Best practice: unique, stable ids per campaign URL.",
)
UNKNOWN_PARAM = register(
    "UTM116",
    "url.unknown-parameter",
    W,
    "A utm_* parameter is not declared in the taxonomy.",
    "declare it under `taxonomy.parameters` or fix the typo",
    "Anti-pattern: `utm_souce`, `utm_campaing`: a typo silently loses the value. "
    "Best practice: every utm_* parameter in use is declared under `taxonomy.parameters`.",
)

_WS = re.compile(r"[\s\x00-\x1f\x7f]")
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
_DOUBLE = re.compile(r"%25[0-9A-Fa-f]{2}")
_ENC_CTRL = re.compile(r"%(?:[01][0-9A-Fa-f]|7[Ff])")
_TOKENS = re.compile(r"[-_.\s]+")

Issue = tuple[Rule, str, int]
PairInfo = tuple[str, str, list[tuple[Rule, str]]]
_UNSEEN: Any = object()
_SIMPLE_URL = re.compile(r"https?://[A-Za-z0-9](?:[A-Za-z0-9.-]*)(?::[0-9]{1,5})?(?:[/?#]|$)", re.IGNORECASE)


def show_value(value: str) -> str:
    """A value quoted for a message, redacted and then cut to 60 characters (never a secret's prefix)."""
    value = redact(value)
    return repr(value if len(value) <= 60 else value[:57] + "...")


def _ws_name(ch: str) -> str:
    return {" ": "a space", "\t": "a tab", "\n": "a line break", "\r": "a carriage return"}.get(
        ch, f"control character U+{ord(ch):04X}"
    )


class UrlLinter:
    """Lints campaign URLs against one taxonomy; keep one per lint run (it memoises values)."""

    def __init__(self, spec: UtmSpec) -> None:
        self.spec = spec
        tx = spec.taxonomy
        self.tx = tx
        self.lower = tx.case == "lower"
        self.other_sep = {"_": "-", "-": "_"}.get(tx.separator or "")
        self.memo: dict[tuple[str, str], list[tuple[Rule, str]]] = {}
        self.param_memo: dict[str, str] = {}
        self.pair_memo: dict[str, PairInfo | None] = {}
        self.combo_memo: dict[tuple[str, str], str] = {}
        medium = tx.params.get("utm_medium")
        self.known_mediums = medium.allowed if medium is not None else None
        # Escaped literals only, so stdlib ``re`` is safe here; a quick pre-filter before splitting into words.
        words = sorted(tx.banned, key=len, reverse=True)
        self.banned_rx = re.compile("|".join(map(re.escape, words))) if words else None
        self.require_https = spec.require_https

    def value_issues(self, name: str, raw: str) -> list[tuple[Rule, str]]:
        """Everything wrong with one parameter value, independent of the URL it sits in."""
        key = (name, raw)
        found = self.memo.get(key)
        if found is not None:
            return found
        out: list[tuple[Rule, str]] = []
        value = raw
        if "%" in raw or "+" in raw:
            if _BAD_ESCAPE.search(raw):
                out.append((ENCODED_JUNK, f"{name} value {show_value(raw)} holds an invalid percent escape"))
            elif _DOUBLE.search(raw):
                out.append((ENCODED_JUNK, f"{name} value {show_value(raw)} is encoded twice (%25..)"))
            elif "%20" in raw or "+" in raw:
                out.append((ENCODED_JUNK, f"{name} value {show_value(raw)} holds an encoded space (%20 or +)"))
            elif _ENC_CTRL.search(raw):
                out.append((ENCODED_JUNK, f"{name} value {show_value(raw)} holds an encoded control character"))
            if "%" in raw:
                value = unquote(raw)
        if value:
            self.conventions(name, value, out)
        self.memo[key] = out
        return out

    def conventions(self, name: str, value: str, out: list[tuple[Rule, str]], *, as_allowed: bool = False) -> None:
        """Case, separator, banned words, allowed list, pattern, length; ``as_allowed`` judges a list entry."""
        tx = self.tx
        lowered = value.lower()
        spec = tx.params.get(name)
        if self.lower and value != lowered:
            out.append((WRONG_CASE, f"{name} value {show_value(value)} is not lowercase"))
        allowed = spec.allowed if spec is not None else None
        if as_allowed:
            allowed = None
        explicitly_allowed = allowed is not None and lowered in allowed
        if not explicitly_allowed:
            if self.other_sep is not None and self.other_sep in value:
                out.append(
                    (
                        MIXED_SEPARATORS,
                        f"{name} value {show_value(value)} uses {self.other_sep!r}; "
                        f"the taxonomy's separator is {tx.separator!r}",
                    )
                )
            elif self.other_sep is None and "_" in value and "-" in value:
                out.append((MIXED_SEPARATORS, f"{name} value {show_value(value)} mixes '_' and '-'"))
        if self.banned_rx is not None and self.banned_rx.search(lowered):
            hit = tx.banned.intersection(_TOKENS.split(lowered))
            if hit:
                out.append((BANNED_VALUE, f"{name} value {show_value(value)} contains banned {sorted(hit)[0]!r}"))
        if allowed is not None and not explicitly_allowed:
            close = difflib.get_close_matches(lowered, allowed, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            out.append((UNKNOWN_VALUE, f"{name} value {show_value(value)} is not allowed{hint}"))
        if not as_allowed and spec is not None and spec.pattern is not None and not spec.pattern.search(value):
            out.append((PATTERN, f"{name} value {show_value(value)} does not match {spec.pattern.pattern!r}"))
        limit = spec.max_length if spec is not None and spec.max_length else tx.max_length
        if limit and len(value) > limit:
            out.append((TOO_LONG, f"{name} value is {len(value)} characters, over the limit of {limit}"))

    def lint(self, url: str) -> list[Issue]:
        """Issues of one URL as (rule, message, offset of the offending part within the URL)."""
        issues: list[Issue] = []
        m = _WS.search(url) if " " in url or not url.isprintable() else None
        if m is not None:
            what = _ws_name(m.group())
            issues.append((WHITESPACE, f"the URL contains {what} at character {m.start() + 1}", m.start()))
        problem = "" if _SIMPLE_URL.match(url) else _split_problem(url)
        if problem:
            issues.append((UNPARSEABLE, f"the URL {problem}; campaign URLs are absolute http(s) links", 0))
            return issues
        if self.require_https and url.lstrip()[:5].lower() == "http:":
            issues.append((NOT_HTTPS, "the URL uses http, not https", 0))
        tx = self.tx
        seen: dict[str, str] = {}
        where: dict[str, int] = {}
        end = len(url.rstrip()) if m is not None else len(url)
        qpos = url.find("?")
        fpos = url.find("#")
        if fpos != -1 and qpos > fpos:
            qpos = -1  # a "?" after "#" belongs to the fragment
        if qpos != -1:
            pos = qpos + 1
            query = url[pos : fpos if fpos != -1 else end]
            pair_memo = self.pair_memo
            for pair in query.split("&"):
                info = pair_memo.get(pair, _UNSEEN)
                if info is _UNSEEN:
                    info = pair_memo[pair] = self.pair_info(pair)
                if info is not None:
                    name, raw, found = info
                    if name in seen:
                        twice = f"{name} appears twice ({show_value(seen[name])} and {show_value(raw)})"
                        issues.append((DUPLICATE, twice, pos))
                    else:
                        seen[name] = raw
                        where[name] = pos
                    if found:
                        issues.extend([(rule, message, pos) for rule, message in found])
                pos += len(pair) + 1
        in_fragment: list[str] = []
        if fpos != -1:
            fragment = url[fpos + 1 :].lower()
            if "utm_" in fragment:
                in_fragment = [n for n in tx.required if n in fragment] or ["utm_*"]
                lost = f"{', '.join(in_fragment)} after '#' never reach analytics"
                issues.append((IN_FRAGMENT, lost, fpos + 1))
        for name in tx.required:
            if not seen.get(name) and name not in in_fragment:
                what = "is empty" if name in seen else "is missing"
                at = where[name] if name in seen else (qpos if qpos != -1 else end)
                issues.append((MISSING, f"required parameter {name} {what}", at))
        if tx.combinations and "utm_source" in seen and "utm_medium" in seen:
            key = (seen["utm_source"], seen["utm_medium"])
            combo = self.combo_memo.get(key)
            if combo is None:
                combo = self.combo_memo[key] = self.combination(*key)
            if combo:
                issues.append((COMBINATION, combo, where["utm_medium"]))
        return issues

    def pair_info(self, pair: str) -> PairInfo | None:
        """Name, raw value and value-level issues of one ``key=value`` pair; None when not utm_*."""
        if pair[:4].lower() != "utm_":
            return None
        key, _, raw = pair.partition("=")
        name = key.lower()
        found: list[tuple[Rule, str]] = []
        if key != name:
            found.append((WRONG_CASE, f"parameter name {key!r} is not lowercase"))
        if self.tx.declared and name not in self.tx.params:
            found.append((UNKNOWN_PARAM, self.unknown_param(name)))
        found += self.value_issues(name, raw)
        return name, raw, found

    def combination(self, raw_source: str, raw_medium: str) -> str:
        """The message when this source/medium pair is not an allowed combination, else ""."""
        source, medium = unquote(raw_source).lower(), unquote(raw_medium).lower()
        mediums = self.tx.combinations.get(source)
        judged = self.known_mediums is None or medium in self.known_mediums
        if not source or not medium or not judged or mediums is None or medium in mediums:
            return ""
        return (
            f"utm_medium {medium!r} is not allowed with utm_source {source!r} (allowed: {', '.join(sorted(mediums))})"
        )

    def unknown_param(self, name: str) -> str:
        """The message for an undeclared utm_* parameter, with a did-you-mean (memoised)."""
        message = self.param_memo.get(name)
        if message is None:
            close = difflib.get_close_matches(name, list(self.tx.params), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            message = self.param_memo[name] = f"{name} is not declared in the taxonomy{hint}"
        return message


def _split_problem(url: str) -> str:
    """Why ``url`` is not an absolute http(s) URL with a host, or "" when it is (no urlsplit: hot path)."""
    if _SIMPLE_URL.match(url):
        return ""
    text = url.strip()
    if not text:
        return "is empty"
    i = text.find("://")
    if i <= 0 or not text[:i].isalpha():
        scheme = text.partition(":")[0]
        if ":" in text and scheme.isalpha():
            if scheme.lower() in ("http", "https"):
                return "lacks the '//' after its scheme"
            return f"uses scheme {scheme.lower()!r}"
        return "has no scheme"
    scheme = text[:i].lower()
    if scheme not in ("http", "https"):
        return f"uses scheme {scheme!r}"
    rest = text[i + 3 :]
    cut = len(rest)
    for ch in "/?#":
        j = rest.find(ch)
        if j != -1 and j < cut:
            cut = j
    netloc = rest[:cut].rpartition("@")[2]
    if "[" in netloc or "]" in netloc:
        try:
            if not urlsplit(text).hostname:
                return "has no host"
        except ValueError as exc:
            return f"cannot be parsed: {exc}"
        return ""
    host, _, port = netloc.partition(":")
    if not host:
        return "has no host"
    if port and not port.isdigit():
        return f"has an invalid port {port!r}"
    return ""


def lint_urls(spec: UtmSpec) -> Iterator[Finding]:
    """Findings for every campaign URL, inline and from CSV files."""
    linter = UrlLinter(spec)
    ids: dict[str, UrlEntry] = {}
    for entry in spec.urls:
        for rule, message, offset in linter.lint(entry.url):
            yield rule.finding(entry.location(offset), f"{entry.id}: {message}")
        first = ids.setdefault(entry.id, entry)
        if first is not entry:
            where = first.id_location()
            yield DUPLICATE_ID.finding(entry.id_location(), f"url id {entry.id!r} is already used at {where}")
