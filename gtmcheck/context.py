"""What a running check may use: the environment, the run id, and HTTP through the right transport."""

from __future__ import annotations

import secrets as _random
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from .project import Environment, Project

USER_AGENT = "gtmcheck/0.1 (+https://gtmcheck.example)"


def new_run_id() -> str:
    """Sortable and unique: ``gtm-20261123T101500-3f9a1c``; tags every synthetic record of a run."""
    return f"gtm-{datetime.now(UTC):%Y%m%dT%H%M%S}-{_random.token_hex(3)}"


@dataclass
class RunContext:
    """Shared by every check of one run; owns the HTTP client so connections are reused."""

    project: Project
    environment: Environment
    run_id: str = field(default_factory=new_run_id)
    _web: httpx.Client | None = None
    _transport: httpx.BaseTransport | None = None

    def web_transport(self) -> httpx.BaseTransport | None:
        """The sandbox site when the environment has one, else ``None`` for the real internet."""
        if self._transport is None:
            scenario = self.environment.site_scenario()
            if scenario is not None:
                from .sandbox.site import load_site

                self._transport = httpx.WSGITransport(app=load_site(scenario))
        return self._transport

    def web(self) -> httpx.Client:
        """An HTTP client for campaign URLs: no redirect following (checks walk the chain themselves)."""
        if self._web is None:
            timeout = float((self.environment.web or {}).get("timeout", 10.0))
            kwargs: dict[str, Any] = {}
            transport = self.web_transport()
            if transport is not None:
                kwargs["transport"] = transport
            self._web = httpx.Client(
                follow_redirects=False,
                timeout=timeout,
                headers={"User-Agent": USER_AGENT},
                **kwargs,
            )
        return self._web

    def close(self) -> None:
        if self._web is not None:
            self._web.close()
            self._web = None
