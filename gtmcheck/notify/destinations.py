"""Where digests go: ``slack:URL``, ``webhook:URL``, ``github:OWNER/REPO``; each knows how to send one.

A webhook URL is a credential (whoever has it can post): it is registered with ``secrets`` the moment it is
parsed, and everything gtmcheck prints names it as ``slack:https://hooks.slack.com/***``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx

from .. import secrets
from ..errors import GtmcheckError
from .state import State

KINDS = ("slack", "webhook", "github")
GITHUB_API = "https://api.github.com"
GITHUB_API_ENV = "GTMCHECK_GITHUB_API_URL"  # tests and GitHub Enterprise; Actions' own GITHUB_API_URL is read too
GITHUB_LABEL = "gtmcheck"
TIMEOUT = 15.0
MIN_SECRET_PART = 8  # a path such as /hook is no secret (and masking "hook" would mangle "webhook")
_REPO = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")


class DestinationError(GtmcheckError):
    """A ``--to`` (or ``notify.to``) value that cannot be used."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(f"{message}. Fix: {hint}")
        self.message, self.hint = message, hint


class DeliveryFailed(GtmcheckError):
    """A destination did not take the digest (unreachable, or an answer other than 2xx)."""


@dataclass(frozen=True)
class Destination:
    kind: str
    target: str  # the URL, or OWNER/REPO

    @property
    def display(self) -> str:
        """How output names it: the scheme and host of a URL, never its path or query."""
        if self.kind == "github":
            return f"github:{self.target}"
        parts = urlsplit(self.target)
        rest = "/***" if (parts.path.strip("/") or parts.query) else ""
        return f"{self.kind}:{parts.scheme}://{parts.hostname or ''}{_port(parts)}{rest}"


def _port(parts: Any) -> str:
    try:
        return f":{parts.port}" if parts.port else ""
    except ValueError:
        return ""


def parse_destination(text: str) -> Destination:
    """``KIND:TARGET`` checked and, for URLs, its secret parts registered before anything can print them."""
    kind, sep, target = text.partition(":")
    if not sep or kind not in KINDS:
        if "://" in text:
            _register_url(text)
        raise DestinationError(f"{secrets.redact(_shown(text))!r} is not a destination",
                               "write slack:https://hooks.slack.com/..., webhook:https://... or github:OWNER/REPO")
    if kind == "github":
        if not _REPO.match(target):
            raise DestinationError(f"github:{target!r} is not OWNER/REPO", "write e.g. github:acme/gtm-alerts")
        return Destination(kind, target)
    _register_url(target)
    parts = urlsplit(target)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        shown = Destination(kind, target).display if parts.hostname else f"{kind}:***" if target else f"{kind}:"
        empty = " (empty: is its secret set?)" if not target.strip() else ""
        raise DestinationError(f"{shown} is not an http(s) URL{empty}",
                               f"write {kind}:https://host/path, from a secret: {kind}:${{{kind.upper()}_WEBHOOK_URL}}")
    return Destination(kind, target)


def _shown(text: str) -> str:
    return text if "://" not in text else text.split("://", 1)[0] + "://***"


def _register_url(url: str) -> None:
    """The whole URL, its path and query, and each query value are secrets (output shows ``host/***``)."""
    secrets.register(url)
    parts = urlsplit(url)
    tail = parts.path + (f"?{parts.query}" if parts.query else "")
    pieces = [tail.lstrip("/"), parts.path.strip("/"), *(v for _, v in parse_qsl(parts.query))]
    pieces += [p for p in parts.path.split("/") if len(p) >= MIN_SECRET_PART]  # each token-like segment
    for piece in pieces:
        if len(piece) >= MIN_SECRET_PART:
            secrets.register(piece)
    if parts.password:
        secrets.register(parts.password)


def post_json(client: httpx.Client, dest: Destination, url: str, body: dict[str, Any],
              headers: dict[str, str] | None = None, method: str = "POST") -> httpx.Response:
    """One request; anything but 2xx is ``DeliveryFailed`` naming the destination as displayed, never its URL."""
    try:
        response = client.request(method, url, json=body, headers=headers, timeout=TIMEOUT)
    except httpx.HTTPError as exc:
        raise DeliveryFailed(f"{dest.display}: not reachable ({type(exc).__name__})") from None
    if not 200 <= response.status_code < 300:
        raise DeliveryFailed(f"{dest.display}: answered HTTP {response.status_code} "
                             f"{secrets.redact(response.text[:200]).strip()}".rstrip())
    return response


class GitHubIssues:
    """One open issue per owner in a repository, its number remembered in the notify state.

    Created on the owner's first alert, commented on after, closed when the owner's last finding resolves.
    """

    def __init__(self, dest: Destination, state: State, api_url: str | None = None) -> None:
        token = os.environ.get("GITHUB_TOKEN", "")
        if not token:
            raise DestinationError(f"{dest.display} needs $GITHUB_TOKEN",
                                   "export GITHUB_TOKEN (in Actions: `env: {GITHUB_TOKEN: ${{ github.token }}}` "
                                   "with `permissions: {issues: write}`)")
        secrets.register(token)
        self.dest = dest
        self.state = state
        self.api = (api_url or os.environ.get(GITHUB_API_ENV) or os.environ.get("GITHUB_API_URL")
                    or GITHUB_API).rstrip("/")
        self.headers = {"Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json",
                        "X-GitHub-Api-Version": "2022-11-28"}

    def title(self, owner: str) -> str:
        return f"gtmcheck: open findings for {owner}"

    def send(self, client: httpx.Client, owner: str, body: str, close: bool) -> None:
        repo = self.dest.target
        known = self.state.issues.setdefault(repo, {})
        number = known.get(owner) or self._find(client, owner)
        if number is None:
            if close:
                return  # nothing open to tell about, and no issue to close
            answer = post_json(client, self.dest, f"{self.api}/repos/{repo}/issues",
                               {"title": self.title(owner), "body": body, "labels": [GITHUB_LABEL]}, self.headers)
            known[owner] = int(answer.json()["number"])
            return
        post_json(client, self.dest, f"{self.api}/repos/{repo}/issues/{number}/comments", {"body": body},
                  self.headers)
        if close:
            post_json(client, self.dest, f"{self.api}/repos/{repo}/issues/{number}",
                      {"state": "closed", "state_reason": "completed"}, self.headers, method="PATCH")
            known.pop(owner, None)
        else:
            known[owner] = number

    def _find(self, client: httpx.Client, owner: str) -> int | None:
        """The owner's open issue when the state was lost (a new cache): found by label and title."""
        try:
            answer = client.get(f"{self.api}/repos/{self.dest.target}/issues", headers=self.headers,
                                params={"state": "open", "labels": GITHUB_LABEL, "per_page": "100"}, timeout=TIMEOUT)
        except httpx.HTTPError:
            return None
        if answer.status_code != 200:
            return None
        for issue in answer.json() if isinstance(answer.json(), list) else []:
            if isinstance(issue, dict) and issue.get("title") == self.title(owner) and "pull_request" not in issue:
                return int(issue["number"])
        return None
