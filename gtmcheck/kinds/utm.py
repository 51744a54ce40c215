"""UTM taxonomy kind (placeholder until the UTM helper lands)."""

from __future__ import annotations

from typing import Any

from . import KindBase


class UtmKind(KindBase):
    name = "utm"
    schema: dict[str, Any] = {"taxonomy": {"type": "object"}, "urls": {"type": "array"}}
