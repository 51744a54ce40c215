"""Connectors to the systems a checklist verifies: CRMs (HubSpot, Salesforce, the sandbox) and warehouses.

``crm_for(environment)`` builds the CRM connector an environment's ``crm:`` block asks for::

    crm: {type: hubspot, token: "${HUBSPOT_TOKEN}", plan: starter, base_url: "https://api.hubapi.com",
          forms_base_url: "https://api.hsforms.com"}    # the Forms API's host (default: api.hsforms.com)
    crm: {type: salesforce, token: "${SF_TOKEN}", instance_url: "https://acme.my.salesforce.com"}
    crm: {type: sandbox, scenario: my/scenario.yml}     # no scenario: the bundled demo (gtmcheck/demo/healthy.yml)

``search_lag_for(environment)`` says how long the CRM's search takes to see a write (``search_lag: 20s`` in
the ``crm:`` block overrides it): cleanup waits that long before it trusts a search for leftovers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx

from ..errors import ConfigError

if TYPE_CHECKING:
    from ..project import Environment
    from .crm import CrmConnector
    from .http import RetryPolicy

SANDBOX_TOKEN = "gtmcheck-sandbox-token"  # the sandbox takes any bearer token unless its scenario names one
SANDBOX_BASE_URL = "https://api.hubapi.com"  # never dialled: the in-process transport answers
SEARCH_LAG_S = {"hubspot": 10.0, "salesforce": 0.0}  # HubSpot's search index trails writes by seconds


def _token(environment: Environment) -> str:
    token = environment.crm.get("token")
    if not token:
        kind = environment.crm.get("type")
        hint = "${HUBSPOT_TOKEN}" if kind == "hubspot" else "${SALESFORCE_TOKEN}"
        raise ConfigError(
            f"environment {environment.name!r}: a {kind} CRM needs an API token; add `token: \"{hint}\"` "
            f"under environments.{environment.name}.crm in gtmcheck.yml"
        )
    return str(token)


def search_lag_for(environment: Environment) -> float:
    """Seconds until the CRM's search reflects a write: configured, the sandbox scenario's, or the vendor's."""
    crm = environment.crm
    if crm.get("search_lag"):
        from ..durations import parse_duration
        from ..errors import Location

        return parse_duration(str(crm["search_lag"]), Location(str(environment.root / "gtmcheck.yml")))
    path = environment.sandbox_scenario()
    if path is not None:
        from ..sandbox import sandbox_app

        # the run's own sandbox (built once per path)
        return float(sandbox_app(path).knobs.get("search_lag_ms", 0)) / 1000 if path.is_file() else 0.0
    return SEARCH_LAG_S.get(str(crm.get("type")), 10.0)


def crm_for(environment: Environment, *, transport: httpx.BaseTransport | None = None,
            retry: RetryPolicy | None = None) -> CrmConnector:
    """The CRM connector for ``environment``.

    ``transport`` replaces the network (tests); ``retry`` the retry policy (fewer attempts when interactive).
    """
    crm = environment.crm
    kind = crm.get("type")
    options: dict[str, Any] = {"retry": retry} if retry is not None else {}
    if kind == "hubspot":
        from .hubspot import HubSpotConnector

        if crm.get("base_url"):
            options["base_url"] = str(crm["base_url"])
        if crm.get("forms_base_url"):
            options["forms_base_url"] = str(crm["forms_base_url"])
        return HubSpotConnector(_token(environment), transport=transport, plan=crm.get("plan"), **options)
    if kind == "salesforce":
        from .salesforce import SalesforceConnector

        instance_url = crm.get("instance_url")
        if not instance_url:
            raise ConfigError(
                f"environment {environment.name!r}: a salesforce CRM needs `instance_url:` (such as "
                f"https://acme.my.salesforce.com) under environments.{environment.name}.crm in gtmcheck.yml"
            )
        if crm.get("api_version"):
            options["api_version"] = str(crm["api_version"])
        connector: CrmConnector = SalesforceConnector(
            _token(environment), instance_url=str(instance_url), base_url=crm.get("base_url"),
            transport=transport, **options,
        )
        return connector
    if kind == "sandbox":
        from .hubspot import HubSpotConnector

        if transport is None:
            path = environment.sandbox_scenario()
            if path is None or not path.is_file():
                raise ConfigError(f"environment {environment.name!r}: sandbox scenario {path} does not exist")
            try:
                from ..sandbox import hubspot_transport
            except ImportError as exc:
                raise ConfigError(f"the sandbox CRM is not available in this build of gtmcheck ({exc})") from None
            transport = hubspot_transport(path)
        return HubSpotConnector(str(crm.get("token") or SANDBOX_TOKEN), base_url=str(crm.get("base_url")
                                or SANDBOX_BASE_URL), transport=transport, plan=crm.get("plan"), **options)
    raise ConfigError(
        f"environment {environment.name!r}: unknown CRM type {kind!r}; use hubspot, salesforce or sandbox"
    )


__all__ = ["crm_for", "search_lag_for"]
