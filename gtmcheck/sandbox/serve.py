"""``gtmcheck sandbox serve``: the sandbox CRM on a loopback port, so curl and other tools can talk to it.

A threaded ``wsgiref`` server (standard library only). Webhook deliveries go out through a real httpx client,
to loopback addresses only; anything else is recorded as refused and never sent. The same server answers as
the scenario's webhook receiver (``receiver.py``) on the path of ``webhooks.url``; with no ``url`` the
deliveries go to that receiver, ``http://HOST:PORT/webhooks/hubspot``. The creation events of the loaded
records are sent once the server listens.
"""

from __future__ import annotations

import ipaddress
import socketserver
import sys
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import httpx

from .. import secrets
from .hubspot import HubSpotSandbox
from .receiver import Receiver, receiver_for
from .scenario import Scenario

DEFAULT_PORT = 8765
RECEIVER_PATH = "/webhooks/hubspot"  # where the served receiver answers when the scenario names no `url`


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
    """A ``deliver`` callable for webhooks: POST with httpx, to loopback URLs only.

    Returns ``(status, reason)``: the reason is the ``error`` of a JSON refusal (the sandbox receiver's), or
    ``"refused: ..."`` / ``"error: ..."`` with no status when nothing was sent or nothing answered.
    """
    client = httpx.Client(timeout=timeout, follow_redirects=False)

    def deliver(url: str, headers: dict[str, str], body: bytes) -> tuple[int, str] | str:
        host = urlsplit(url).hostname or ""
        if not is_loopback(host):
            return "refused: not a loopback address"
        response = client.post(url, headers=headers, content=body)
        reason = ""
        if response.status_code >= 300:
            try:
                answer = response.json()
                reason = str(answer.get("error") or answer.get("message") or "") if isinstance(answer, dict) else ""
            except ValueError:
                reason = response.text[:200]
        return response.status_code, secrets.redact(reason)

    return deliver


class ServedApp:
    """The sandbox CRM, with the scenario's webhook receiver answering POSTs on ``receiver_path``."""

    def __init__(self, crm: HubSpotSandbox, receiver: Receiver, receiver_path: str) -> None:
        self.crm = crm
        self.receiver = receiver
        self.receiver_path = receiver_path.rstrip("/") or "/"

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = (environ.get("PATH_INFO") or "/").rstrip("/") or "/"
        if path == self.receiver_path and environ.get("REQUEST_METHOD", "GET").upper() == "POST":
            return self.receiver(environ, start_response)
        return self.crm(environ, start_response)


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
    url = app.scenario.webhooks.get("url")
    served = ServedApp(app, receiver_for(app.scenario), urlsplit(str(url)).path if url else RECEIVER_PATH)
    with make_server(host, port, served, server_class=ThreadingWSGIServer, handler_class=_QuietHandler) as server:
        actual = server.server_address[1]
        shown = f"[{host}]" if ":" in host else host
        if not url:
            app.outbox.url = f"http://{shown}:{actual}{RECEIVER_PATH}"
        print(f"Sandbox HubSpot API on http://{shown}:{actual}{banner}", flush=True)
        if app.outbox.events:
            print(f"Webhooks to {app.outbox.url}; receiver on {served.receiver_path}; delivery log: "
                  f"GET http://{shown}:{actual}/gtmcheck/sandbox/v1/webhooks/deliveries", flush=True)
        threading.Thread(target=app.flush_webhooks, name="webhooks-at-start", daemon=True).start()
        server.serve_forever()
