"""The registry of check kinds: one module per kind, each providing a ``Kind``."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from functools import cache, cached_property
from typing import TYPE_CHECKING, Any

from ..dod import KINDS
from ..errors import SpecError
from ..schema import HEADER, checklist_schema, kind_schema
from .base import Check, Kind

if TYPE_CHECKING:
    from ..findings import Finding
    from ..spec import Checklist

__all__ = ["Check", "Kind", "KindBase", "PendingKind", "all_kinds", "get_kind", "published_schema"]


class KindBase:
    """Shared plumbing for kinds: the validation schema built from the kind's fragment."""

    name: str = ""
    schema: Mapping[str, Any] = {}
    closed: bool = True

    @cached_property
    def validation_schema(self) -> Mapping[str, Any]:
        return kind_schema(self.name, self.schema, closed=self.closed)

    def prepare(self, checklist: Checklist) -> None:
        return None

    def lint(self, checklist: Checklist) -> Iterable[Finding]:
        return ()

    def checks(self, checklist: Checklist) -> Iterable[Check]:
        return ()


class PendingKind(KindBase):
    """A kind whose automated checks are not built yet: its DoD items are attested or not configured.

    Its keys are not validated yet (the kind's issue defines them), so checklists written today keep
    loading when it lands.
    """

    closed = False

    def __init__(self, name: str) -> None:
        self.name = name

    def prepare(self, checklist: Checklist) -> None:
        """Open keys, but not typos of the shared header: ``signof:`` must not silently mean no sign-off."""
        header = sorted(HEADER)
        for key in checklist.data:
            if key in HEADER:
                continue
            close = difflib.get_close_matches(key, header, n=1, cutoff=0.75)
            if close:
                raise SpecError(
                    f"unknown key {key!r}", checklist.location((key,), key=True), f"did you mean `{close[0]}`?"
                )


@cache
def _registry() -> dict[str, Kind]:
    from .routing import RoutingKind
    from .utm import UtmKind

    built: list[Kind] = [UtmKind(), RoutingKind()]
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
