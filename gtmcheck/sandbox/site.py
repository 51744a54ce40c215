"""A tiny landing-page site for the sandbox: campaign URLs resolve against it instead of the internet.

A scenario file's ``site:`` section says which paths answer and how; the host is ignored, so every
campaign URL in a checklist hits the same site. Used as ``httpx.WSGITransport(app=load_site(path))``::

    site:
      pages:                      # 200 with a small HTML body (or the given status)
        - /spring
        - {path: /gone, status: 410}
      redirects:                  # status 301 (default), 302, 307 or 308
        - {from: /summer, to: /summer/, keep_query: true}
        - {from: /pricing, to: "https://www.acme.example/plans", status: 302, keep_query: false}

Any other path answers 404. That is all a UTM resolve check needs: pages, redirects that keep or drop the
query string, and missing pages.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import yamlfile
from ..errors import SpecError
from ..schema import validate

StartResponse = Callable[[str, list[tuple[str, str]]], Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

_PATH = {"type": "string", "pattern": "^/", "x-hint": "write a path starting with /, such as /spring"}
SITE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["site"],
    "properties": {
        "site": {
            "type": "object",
            "additionalProperties": False,
            "description": "The landing-page site campaign URLs resolve against (`web: {type: sandbox}`); the "
            "host is ignored, and any path not listed answers 404.",
            "properties": {
                "pages": {
                    "type": "array",
                    "default": [],
                    "description": "Paths that answer: a path (200), or `{path, status, title}`.",
                    "examples": [["/spring", {"path": "/gone", "status": 410}]],
                    "items": {
                        "anyOf": [
                            _PATH,
                            {
                                "type": "object",
                                "required": ["path"],
                                "additionalProperties": False,
                                "properties": {
                                    "path": {**_PATH, "description": "The page's path.", "examples": ["/gone"]},
                                    "status": {"type": "integer", "minimum": 200, "maximum": 599, "default": 200,
                                               "description": "The HTTP status it answers.", "examples": [410]},
                                    "title": {"type": "string", "x-default": "Landing page <path>",
                                              "description": "The page's HTML title.",
                                              "examples": ["Spring launch"]},
                                },
                            },
                        ]
                    },
                },
                "redirects": {
                    "type": "array",
                    "default": [],
                    "description": "Paths that redirect elsewhere.",
                    "items": {
                        "type": "object",
                        "required": ["from", "to"],
                        "additionalProperties": False,
                        "properties": {
                            "from": {**_PATH, "description": "The path that redirects.", "examples": ["/summer"]},
                            "to": {"type": "string", "minLength": 1,
                                   "description": "Where to: a path on this site, or a full URL.",
                                   "examples": ["/summer/"]},
                            "status": {"enum": [301, 302, 303, 307, 308], "default": 301,
                                       "description": "The redirect's HTTP status.", "examples": [302]},
                            "keep_query": {"type": "boolean", "default": True,
                                           "description": "`false` drops the query string, and with it the "
                                           "UTM parameters: the classic bug a resolve check catches.",
                                           "examples": [False]},
                        },
                    },
                },
            },
        }
    },
}

REASONS = {
    200: "OK",
    301: "Moved Permanently",
    302: "Found",
    303: "See Other",
    307: "Temporary Redirect",
    308: "Permanent Redirect",
    404: "Not Found",
    410: "Gone",
    500: "Internal Server Error",
}


@dataclass(frozen=True)
class Redirect:
    """One redirect rule; ``keep_query: false`` is the classic bug that loses UTM parameters."""

    to: str
    status: int = 301
    keep_query: bool = True


@dataclass(frozen=True)
class Site:
    """The WSGI app: pages by path, redirects by path, 404 for everything else."""

    pages: dict[str, tuple[int, str]]
    redirects: dict[str, Redirect]

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO") or "/"
        query = environ.get("QUERY_STRING", "")
        redirect = self.redirects.get(path)
        if redirect is not None:
            target = redirect.to
            if target.startswith("/"):
                host = environ.get("HTTP_HOST") or environ.get("SERVER_NAME", "localhost")
                target = f"{environ.get('wsgi.url_scheme', 'https')}://{host}{target}"
            if redirect.keep_query and query:
                target += ("&" if "?" in target else "?") + query
            return _respond(start_response, redirect.status, f"Moved to {target}", [("Location", target)])
        status, title = self.pages.get(path, (404, "Not found"))
        return _respond(start_response, status, title)


def _respond(
    start_response: StartResponse, status: int, title: str, headers: list[tuple[str, str]] | None = None
) -> list[bytes]:
    body = f"<!doctype html><title>{html.escape(title)}</title><h1>{html.escape(title)}</h1>\n".encode()
    start_response(
        f"{status} {REASONS.get(status, 'Status')}",
        [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(body))), *(headers or [])],
    )
    return [body]


def load_site(path: Path) -> WsgiApp:
    """Build the site from a scenario file's ``site:`` section; SpecError at the line if it is malformed."""
    doc = yamlfile.load(path)
    if not isinstance(doc.data, dict) or "site" not in doc.data:
        raise SpecError(
            "the scenario has no `site:` section",
            doc.location(()),
            "add `site:` with `pages:` and `redirects:` (see gtmcheck/sandbox/site.py)",
        )
    validate(doc, SITE_SCHEMA)
    raw = doc.data["site"] or {}
    pages: dict[str, tuple[int, str]] = {}
    for page in raw.get("pages", []):
        if isinstance(page, str):
            page = {"path": page}
        pages[page["path"]] = (
            int(page.get("status", 200)),
            page.get("title") or f"Landing page {page['path']}",
        )
    redirects = {
        r["from"]: Redirect(r["to"], int(r.get("status", 301)), bool(r.get("keep_query", True)))
        for r in raw.get("redirects", [])
    }
    return Site(pages, redirects)
