"""Reading a vendor's answer only once it has the shape the connector expects.

A proxy's login page, a 200 with an empty body, a list where an object belongs, an ``id`` that is an
object: each raises ``UnexpectedAnswer`` naming the endpoint, the JSON path and what was there (redacted,
on one line, cut short), instead of a ``KeyError`` deep in a connector that the run would show as a bug
in gtmcheck. Connectors read every body through ``read_json`` and an ``Answer``; one place, one wording.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx

from .. import secrets
from ..errors import UnexpectedAnswer

SNIPPET_CHARS = 120
_ABSENT: Any = object()


def snippet(text: str, limit: int = SNIPPET_CHARS) -> str:
    """``text`` redacted, on one line, cut to ``limit`` characters (redacted first: no half secret shows)."""
    flat = " ".join(secrets.redact(text).split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def kind_of(value: Any) -> str:
    """``a list``, ``an object``, ``null``...: how a JSON value is named in a message."""
    if value is _ABSENT:
        return "nothing"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float | Decimal):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _shown(value: Any) -> str:
    if value is _ABSENT:
        return ""
    return ": " + snippet(json.dumps(value, default=str, ensure_ascii=False))


@dataclass(frozen=True)
class Answer:
    """One answer of an endpoint, read with its JSON paths checked; every mistake is an ``UnexpectedAnswer``."""

    vendor: str
    method: str
    url: str  # redacted
    status: int
    empty: bool = False

    @classmethod
    def of(cls, vendor: str, response: httpx.Response) -> Answer:
        return cls(vendor, response.request.method, secrets.redact(str(response.request.url)),
                   response.status_code, not response.content)

    def error(self, what: str, path: str | None = None) -> UnexpectedAnswer:
        """An ``UnexpectedAnswer`` for this endpoint saying ``what`` was wrong."""
        error = UnexpectedAnswer(secrets.redact(f"{self.vendor}: {what}"), status=self.status, method=self.method,
                                 url=self.url)
        error.path = path
        return error

    def wrong(self, path: str, expected: str, value: Any) -> UnexpectedAnswer:
        if path == "$" and self.empty:
            return self.error(f"the answer is empty where {expected} belongs", path)
        return self.error(f"the answer has {kind_of(value)} at {path} where {expected} belongs{_shown(value)}", path)

    def obj(self, value: Any, path: str = "$") -> dict[str, Any]:
        """``value`` when it is a JSON object."""
        if not isinstance(value, dict):
            raise self.wrong(path, "an object", value)
        return value

    def get(self, parent: Mapping[str, Any], key: str, path: str) -> Any:
        """``parent[key]``, which must be there (``None`` included)."""
        if key not in parent:
            raise self.wrong(f"{path}.{key}", "a value", _ABSENT)
        return parent[key]

    def sub(self, parent: Mapping[str, Any], key: str, path: str) -> dict[str, Any]:
        """An optional object under ``key``: missing or null is ``{}``."""
        value = parent.get(key)
        return {} if value is None else self.obj(value, f"{path}.{key}")

    def objects(self, parent: Mapping[str, Any], key: str, path: str, *, required: bool = True) -> list[dict[str, Any]]:
        """A list of objects under ``key``; missing is an error when ``required`` (``{}`` is not "no results")."""
        value = parent.get(key, _ABSENT)
        if value is _ABSENT or value is None:
            if not required:
                return []
            raise self.wrong(f"{path}.{key}", "a list", value)
        if not isinstance(value, list):
            raise self.wrong(f"{path}.{key}", "a list", value)
        return [self.obj(item, f"{path}.{key}[{i}]") for i, item in enumerate(value)]

    def ident(self, parent: Mapping[str, Any], key: str, path: str, expected: str = "an id (a string)") -> str:
        """A record id (or another required name): a non-empty string or an integer."""
        value = parent.get(key, _ABSENT)
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        if not isinstance(value, str) or not value:
            raise self.wrong(f"{path}.{key}", expected, value)
        return value

    def text(self, parent: Mapping[str, Any], key: str, path: str) -> str | None:
        """An optional scalar as a string (``None`` when missing or null); an object or list is an error."""
        value = parent.get(key)
        if value is None:
            return None
        if isinstance(value, dict | list):
            raise self.wrong(f"{path}.{key}", "a string", value)
        return str(value)


def redirect_error(vendor: str, response: httpx.Response, method: str, url: str) -> UnexpectedAnswer:
    """A 3xx from an API, naming where it points (redacted): a proxy, single sign-on or a wrong base URL."""
    location = response.headers.get("Location")
    where = f"redirect to {snippet(location)!r}" if location else "redirect without a Location header"
    body = f"; body: {snippet(response.text)!r}" if response.content and not location else ""
    return UnexpectedAnswer(secrets.redact(
        f"{vendor}: answered with a {where} where an API answer belongs{body}; check the base URL and any proxy "
        "or single sign-on in front of the API"), status=response.status_code, method=method, url=url)


def read_json(vendor: str, response: httpx.Response,
              parse_float: Callable[[str], Any] | None = None) -> tuple[Any, Answer]:
    """The JSON body of ``response`` (``None`` when empty) and its ``Answer``; a non-JSON body is an error."""
    answer = Answer.of(vendor, response)
    if not response.content:
        return None, answer
    try:
        return json.loads(response.content, parse_float=parse_float), answer
    except (ValueError, UnicodeDecodeError):
        kind = response.headers.get("Content-Type", "no Content-Type").split(";")[0].strip()
        raise answer.error(f"the answer is not JSON ({kind}): {snippet(response.text)!r}") from None
