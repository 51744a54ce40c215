"""UTM-URLS-RESOLVE: a campaign URL answers 2xx and its UTM parameters survive every redirect.

The redirect chain is walked by hand (the client never follows redirects) so that each hop is on record
and the message can say which hop dropped what. A URL that cannot be reached is the defect under test, so
after one retry it is a failure, not an error. A campaign URL that is not an absolute http(s) URL
(``javascript:``, ``data:``, ``file:``, no scheme) is never dialled: the item could not be verified (an
error, not a failure), and lint rule UTM101 flags the line. Headers are never echoed; URLs pass through
``redact``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urljoin, urlsplit

import httpx

from ...errors import CheckError, CheckFailed, Evidence
from ...secrets import redact
from .url_rules import UNPARSEABLE, _split_problem

REDIRECTS = frozenset({301, 302, 303, 307, 308})
SHOWN_URL_CHARS = 100  # a data: URL can be megabytes long


def utm_params(url: str) -> dict[str, str]:
    """The first value of each utm_* parameter in ``url``'s query string (decoded)."""
    out: dict[str, str] = {}
    try:
        query = urlsplit(url).query
    except ValueError:
        return out
    for key, value in parse_qsl(query, keep_blank_values=True):
        if key.lower().startswith("utm_"):
            out.setdefault(key.lower(), value)
    return out


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _hops(chain: list[dict[str, Any]]) -> str:
    """``301 -> 200`` for the record."""
    return " -> ".join(str(hop["status"]) for hop in chain)


def _get(client: httpx.Client, url: str) -> tuple[int, str | None]:
    """Status and Location of one GET, with one retry on a network failure; the body is not read."""
    last: Exception | None = None
    for _attempt in range(2):
        try:
            with client.stream("GET", url) as response:
                return response.status_code, response.headers.get("location")
        except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
            raise CheckFailed(f"{redact(url)} is not a fetchable URL: {exc}") from None
        except httpx.TransportError as exc:
            last = exc
    reason = str(last) or type(last).__name__
    raise CheckFailed(
        f"{redact(url)} does not resolve: {redact(reason)} (after one retry)",
        expected="a 2xx answer",
        received=type(last).__name__,
        evidence=Evidence(f"does not resolve: {type(last).__name__}", {"url": redact(url)}),
    )


def _shown(url: str) -> str:
    text = redact(url)
    return repr(text if len(text) <= SHOWN_URL_CHARS else text[: SHOWN_URL_CHARS - 3] + "...")


def resolve(client: httpx.Client, url: str, max_redirects: int = 10) -> Evidence:
    """Walk ``url``'s redirects; pass on a 2xx final answer that kept every UTM parameter and value."""
    problem = _split_problem(url)
    if problem:
        raise CheckError(
            f"the campaign URL {_shown(url)} {problem}, so it is not fetched; only absolute http(s) URLs can "
            f"be checked (lint {UNPARSEABLE.code}). Fix: publish and list the https:// URL",
            evidence=Evidence(f"not fetched: the URL {problem}", {"url": _shown(url)}),
        )
    chain: list[dict[str, Any]] = []
    current = url
    while True:
        status, location = _get(client, current)
        chain.append({"url": redact(current), "status": status})
        if status not in REDIRECTS or not location:
            break
        if len(chain) > max_redirects:
            raise CheckFailed(
                f"{redact(url)} redirects more than {max_redirects} times",
                expected=f"at most {max_redirects} redirects",
                received=f"{len(chain)} hops",
                evidence=Evidence("too many redirects", {"chain": chain}),
            )
        current = urljoin(current, location)
    hops = len(chain) - 1
    final = chain[-1]
    details: dict[str, Any] = {"chain": chain, "final_url": redact(current)}
    if not 200 <= status < 300:
        raise CheckFailed(
            f"{redact(url)}: final status {status} "
            + (f"after {_plural(hops, 'redirect')}" if hops else "(no redirects)")
            + (f" (at {final['url']})" if hops else ""),
            expected="2xx",
            received=str(status),
            evidence=Evidence(f"final status {status}", details),
        )
    sent, kept = utm_params(url), utm_params(current)
    dropped = [k for k in sent if k not in kept]
    changed = [k for k in sent if k in kept and kept[k] != sent[k]]
    if dropped or changed:
        parts = []
        if dropped:
            parts.append(f"dropped {', '.join(dropped)}")
        if changed:
            parts.append("changed " + ", ".join(f"{k} ({sent[k]!r} -> {kept[k]!r})" for k in changed))
        raise CheckFailed(
            f"{redact(url)} redirected to {redact(current)} which {' and '.join(parts)}",
            expected=", ".join(f"{k}={v}" for k, v in sent.items()),
            received=", ".join(f"{k}={v}" for k, v in kept.items()) or "no UTM parameters",
            evidence=Evidence(f"{_hops(chain)} {redact(current)}; UTM parameters lost", details),
        )
    details["kept"] = list(sent)
    return Evidence(f"{status} after {_plural(hops, 'redirect')}; {_plural(len(sent), 'UTM parameter')} kept", details)
