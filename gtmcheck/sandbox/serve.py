"""``gtmcheck sandbox serve``: the sandbox CRM on a loopback port, so curl and other tools can talk to it.

A threaded ``wsgiref`` server (standard library only). Webhook deliveries go out through a real httpx client,
to loopback addresses only; anything else is recorded as refused and never sent.
"""

from __future__ import annotations

import ipaddress
import socketserver
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import httpx

from .. import secrets
from .hubspot import HubSpotSandbox
from .scenario import Scenario

DEFAULT_PORT = 8765


class ThreadingWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    """One thread per request; the sandbox app holds its own lock."""

    daemon_threads = True
    allow_reuse_address = True


class _QuietHandler(WSGIRequestHandler):
    """Request lines on stderr, redacted; no reverse DNS lookups."""

    def address_string(self) -> str:
        return str(self.client_address[0])

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002  (wsgiref's signature)
        sys.stderr.write(secrets.redact(f"{self.address_string()} - {format % args}") + "\n")


def is_loopback(host: str) -> bool:
    """True for localhost and loopback IP addresses."""
    if host in ("localhost", ""):
        return host == "localhost"
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def loopback_deliverer(timeout: float = 5.0) -> Any:
    """A ``deliver`` callable for webhooks: POST with httpx, to loopback URLs only; returns the status."""
    client = httpx.Client(timeout=timeout, follow_redirects=False)

    def deliver(url: str, headers: dict[str, str], body: bytes) -> int | str:
        host = urlsplit(url).hostname or ""
        if not is_loopback(host):
            return "refused: not a loopback address"
        return client.post(url, headers=headers, content=body).status_code

    return deliver


def default_scenario() -> Path:
    """The ``sandbox`` environment's scenario in the project file, else the bundled demo's healthy one."""
    from ..bundled import demo_scenario
    from ..project import load_project

    project = load_project()
    if "sandbox" in project.environment_names:
        env = project.environment("sandbox")
        if env.crm.get("scenario"):
            return env.path(str(env.crm["scenario"]))
    return demo_scenario()


def build(scenario_path: Path, *, fault_rate: float | None = None, latency_ms: float | None = None,
          rate_limit: bool = True) -> HubSpotSandbox:
    """The sandbox app for serving, with command-line overrides of the scenario's knobs."""
    overrides: dict[str, Any] = {}
    if fault_rate is not None:
        overrides["fault_rate"] = fault_rate
    if latency_ms is not None:
        overrides["latency_ms"] = latency_ms
    if not rate_limit:
        overrides["rate_limit"] = False
    return HubSpotSandbox(Scenario.load(scenario_path), deliver=loopback_deliverer(), **overrides)


def serve(app: HubSpotSandbox, host: str, port: int, *, banner: str = "") -> None:
    """Serve until interrupted (KeyboardInterrupt propagates to the caller after the socket is closed)."""
    with make_server(host, port, app, server_class=ThreadingWSGIServer, handler_class=_QuietHandler) as server:
        actual = server.server_address[1]
        shown = f"[{host}]" if ":" in host else host
        print(f"Sandbox HubSpot API on http://{shown}:{actual}{banner}", flush=True)
        server.serve_forever()
