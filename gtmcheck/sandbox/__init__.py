"""The embedded GTM stack: a HubSpot-compatible CRM and a landing-page site, both WSGI apps.

``hubspot_transport(scenario_path)`` gives an ``httpx`` transport over the sandbox CRM of that scenario (one
app per path, cached, so every client of a run sees the same records); the HubSpot connector talks to it as it
talks to api.hubapi.com. ``gtmcheck sandbox serve`` serves the same app on loopback.
``receiver_transport(scenario_path)`` is the scenario's webhook receiver (``receiver.py``): the one the sandbox's
own deliveries reach, so a probe through it shares their replay memory.
"""

from __future__ import annotations

import threading
from datetime import date
from pathlib import Path
from typing import Any

import httpx

from .hubspot import HubSpotSandbox
from .receiver import Receiver, receiver_for_path
from .scenario import Scenario

__all__ = ["HubSpotSandbox", "Receiver", "Scenario", "hubspot_transport", "receiver_transport", "sandbox_app",
           "scenario_today"]

_APPS: dict[tuple[Path, tuple[tuple[str, Any], ...]], HubSpotSandbox] = {}
_LOCK = threading.Lock()


def sandbox_app(scenario_path: Path, **overrides: Any) -> HubSpotSandbox:
    """The sandbox CRM for a scenario file, built once per (path, overrides) and then reused."""
    key = (Path(scenario_path).resolve(), tuple(sorted((k, repr(v)) for k, v in overrides.items())))
    with _LOCK:
        app = _APPS.get(key)
        if app is None:
            app = HubSpotSandbox(Scenario.load(key[0]), **overrides)
            _APPS[key] = app
        return app


def hubspot_transport(scenario_path: Path, **overrides: Any) -> httpx.BaseTransport:
    """An httpx transport that answers as HubSpot's API, from the sandbox of ``scenario_path``."""
    return httpx.WSGITransport(app=sandbox_app(scenario_path, **overrides))


def receiver_transport(scenario_path: Path) -> httpx.BaseTransport:
    """An httpx transport to the webhook receiver of ``scenario_path`` (POST on any path; see receiver.py)."""
    return httpx.WSGITransport(app=receiver_for_path(scenario_path))


def scenario_today(scenario_path: Path) -> date | None:
    """The scenario's ``clock.today`` (its calendar date), else ``None`` for the real date."""
    return sandbox_app(scenario_path).scenario.today
