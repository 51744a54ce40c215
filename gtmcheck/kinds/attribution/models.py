"""What an attribution check reads and recomputes: the model, the two source tables, the window, the result.

Plain frozen dataclasses with no warehouse or pytest in sight, so the checks, the SQL builders (``sql.py``),
the demo's generator and the tests share one description. docs/attribution.md, "Models, exactly", defines each
model's credits; ``position_weights`` and ``w_weights`` are normalised to sum 1 where they are used.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["MODELS", "UNITS", "AttributionModel", "AttributionTable", "Conversions", "Lookback", "Touchpoints"]

MODELS = ("first_touch", "last_touch", "last_non_direct", "linear", "time_decay", "position_based", "w_shaped",
          "external")
UNITS = ("share", "value")


@dataclass(frozen=True)
class AttributionModel:
    """A model by name with the parameters of the models that take any (the others ignore them)."""

    name: str
    half_life_days: float = 7.0  # time_decay: weight 2^(-age_days/half_life), normalised
    position_weights: tuple[float, float, float] = (0.4, 0.2, 0.4)  # position_based: first, middle (spread), last
    w_weights: tuple[float, float, float, float] = (0.3, 0.3, 0.3, 0.1)  # w_shaped: first, lead, opportunity, rest
    direct_channels: tuple[str, ...] = ("Direct",)  # last_non_direct skips these unless all are direct

    def __post_init__(self) -> None:
        if self.name not in MODELS:
            raise ValueError(f"unknown attribution model {self.name!r}; one of {', '.join(MODELS)}")
        if not self.half_life_days > 0:
            raise ValueError("half_life_days must be greater than 0")
        for label, weights in (("position_weights", self.position_weights), ("w_weights", self.w_weights)):
            if any(w < 0 for w in weights) or sum(weights) <= 0:
                raise ValueError(f"{label} must be non-negative with a positive sum")


@dataclass(frozen=True)
class Touchpoints:
    """The touchpoints table: one row per marketing touch of a person (``key``), with its channel and time."""

    table: str
    id: str = "id"
    key: str = "contact_id"
    channel: str = "channel"
    at: str = "occurred_at"
    where: str | None = None


@dataclass(frozen=True)
class Conversions:
    """What converts: a warehouse table (closed-won deals are ``table: deals, where: "dealstage = 'closedwon'"``).

    ``value`` is needed for an attribution table in ``unit: value``; ``lead_created_at`` and
    ``opportunity_created_at`` give W-shaped its middle roles (missing: those weights are left out).
    """

    table: str
    id: str = "id"
    key: str = "contact_id"
    at: str = "converted_at"
    value: str | None = None
    where: str | None = None
    lead_created_at: str | None = None
    opportunity_created_at: str | None = None


@dataclass(frozen=True)
class Lookback:
    """The window before a conversion whose touches count: ``days`` back, then only the latest ``steps``."""

    days: int = 90
    steps: int | None = None

    def __post_init__(self) -> None:
        if self.days < 1:
            raise ValueError("lookback days must be at least 1")
        if self.steps is not None and self.steps < 1:
            raise ValueError("lookback steps must be at least 1")


@dataclass(frozen=True)
class AttributionTable:
    """The table the reports read: credit per conversion and touch (or channel), in shares or in value.

    A conversion with no touch is expected as one row in the explicit bucket: ``channel`` = ``unattributed``
    (and ``touch`` NULL) with all its credit.
    """

    table: str
    conversion: str = "conversion_id"
    touch: str | None = "touchpoint_id"
    channel: str = "channel"
    credit: str = "credit"
    unit: str = "share"  # share (sums to 1) | value (sums to the conversion's value)
    unattributed: str = "Unattributed"  # the explicit bucket's channel name (touch is NULL)

    def __post_init__(self) -> None:
        if self.unit not in UNITS:
            raise ValueError(f"unit must be one of {', '.join(UNITS)}, not {self.unit!r}")
