"""The registry of check kinds: one package per kind (``kinds/utm/``, ``kinds/routing/``), each providing a ``Kind``.

A kind is added by writing its package (schema and model, lint rules, live checks) and naming its ``Kind``
in ``_registry`` below; kinds not built yet are ``PendingKind``s. The registry imports the kinds, never the
other way round: a kind package imports ``kinds.base`` only.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from ..dod import KINDS
from ..schema import checklist_schema
from .base import Check, Kind, KindBase, PendingKind

__all__ = ["Check", "Kind", "KindBase", "PendingKind", "all_kinds", "get_kind", "published_schema"]


@cache
def _registry() -> dict[str, Kind]:
    from .attribution import AttributionKind
    from .crm import CrmKind
    from .reconcile import ReconcileKind
    from .routing import RoutingKind
    from .utm import UtmKind
    from .webhooks import WebhooksKind

    built: list[Kind] = [UtmKind(), RoutingKind(), WebhooksKind(), ReconcileKind(), CrmKind(),
                        AttributionKind()]
    kinds: dict[str, Kind] = {k.name: k for k in built}
    for name in KINDS:
        kinds.setdefault(name, PendingKind(name))
    for kind in kinds.values():
        if not isinstance(kind, Kind):  # the Protocol is the contract; fail loudly at import
            raise TypeError(f"{kind!r} does not implement the Kind protocol")
    return kinds


def get_kind(name: str) -> Kind:
    return _registry()[name]


def all_kinds() -> dict[str, Kind]:
    return dict(_registry())


def published_schema() -> dict[str, Any]:
    """The combined checklist schema that ``gtmcheck schema`` prints."""
    return checklist_schema({k.name: (k.schema, k.closed) for k in _registry().values()})
