"""The compiled form of an attribution checklist: the sql module's dataclasses plus the checks' own settings.

Built once by ``AttributionKind.prepare`` and kept in ``checklist.cache``. Only what the schema has already
validated reaches here, so compiling never fails on types; what is unusable although well-typed (weights with a
zero sum, a `channels.utm` file that is not there) is left to lint (ATTR1xx) and to the check, which says so at
the line.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...errors import Location
from ...yamlfile import JsonPath
from .models import AttributionModel, AttributionTable, Conversions, Lookback, Touchpoints

if TYPE_CHECKING:
    from ...spec import Checklist

CACHE_KEY = "attribution"
DEFAULT_TOLERANCE = 0.001
DEFAULT_UNASSIGNED_MAX = 5.0  # percent of touches
DEFAULT_MAX_SHIFT = 5.0  # percentage points of credit share
CADENCE_DAYS = {"weekly": 7, "biweekly": 14, "monthly": 31, "quarterly": 92, "yearly": 366}
MONTHLY_DAYS = CADENCE_DAYS["monthly"]
RECOMPUTE_KEYS = ("weights", "half_life", "direct_channels")  # what `external` cannot use
POSITION_ROLES = ("first", "middle", "last")
W_ROLES = ("first", "lead", "opportunity", "rest")


@dataclass(frozen=True)
class BoardView:
    """The board's view: a table summed per channel, or one SELECT returning channel and credit."""

    table: str | None
    sql: str | None
    channel: str
    credit: str
    where: str | None


@dataclass(frozen=True)
class Review:
    cadence: str
    cadence_days: int
    last: date


@dataclass(frozen=True)
class BaselineRules:
    go_live: date
    max_shift: float  # percentage points
    per_channel: dict[str, float]

    def threshold(self, channel: str) -> float:
        return self.per_channel.get(channel, self.max_shift)


@dataclass(frozen=True)
class AttributionSpec:
    """Everything the ATTR-* checks read; ``None`` where the checklist leaves a section out."""

    checklist: Checklist
    model: AttributionModel | None
    vendor: str | None
    rationale: str | None
    lookback: Lookback
    conversions: Conversions | None
    touchpoints: Touchpoints | None
    attribution: AttributionTable | None
    tolerance: float
    utm_path: Path | None
    unassigned_max: float  # percent
    baseline: BaselineRules | None
    board_view: BoardView | None
    review: Review | None

    def location(self, *path: str | int, key: bool = False) -> Location:
        return self.checklist.location(tuple(path), key=key)

    def at(self, path: JsonPath, *, key: bool = False) -> Location:
        return self.checklist.location(path, key=key)

    @property
    def data(self) -> dict[str, Any]:
        return self.checklist.data


def percent(text: str) -> float:
    """``5%`` -> 5.0 (the schema's pattern has been checked)."""
    return float(text.rstrip("%"))


def points(text: str) -> float:
    """``5pp`` -> 5.0 percentage points."""
    return float(text[:-2])


def half_life_days(text: str) -> float:
    """``7d`` -> 7.0, ``36h`` -> 1.5."""
    return float(text[:-1]) / (24.0 if text.endswith("h") else 1.0)


def cadence_days(text: str) -> int:
    """The longest gap a cadence allows, in days: monthly is 31 (a month is never longer)."""
    return CADENCE_DAYS[text] if text in CADENCE_DAYS else int(text[:-1])


def _weights(raw: dict[str, Any], roles: tuple[str, ...], default: tuple[float, ...]) -> tuple[float, ...]:
    return tuple(float(raw.get(role, d)) for role, d in zip(roles, default, strict=True))


def model_of(raw: dict[str, Any]) -> AttributionModel | None:
    """The ``AttributionModel``, or ``None`` when its weights are unusable (all zero: lint ATTR101 says so)."""
    name = raw["name"]
    weights = raw.get("weights") or {}
    base = AttributionModel(name)
    kwargs: dict[str, Any] = {}
    if name == "position_based":
        kwargs["position_weights"] = _weights(weights, POSITION_ROLES, base.position_weights)
    if name == "w_shaped":
        kwargs["w_weights"] = _weights(weights, W_ROLES, base.w_weights)
    if "half_life" in raw:
        kwargs["half_life_days"] = half_life_days(raw["half_life"])
    if "direct_channels" in raw:
        kwargs["direct_channels"] = tuple(raw["direct_channels"])
    try:
        return AttributionModel(name, **kwargs)
    except ValueError:
        return None


def compile_spec(checklist: Checklist) -> AttributionSpec:
    """Compile a validated attribution checklist."""
    data = checklist.data
    raw_model = data.get("model")
    lookback_raw = data.get("lookback") or {}
    conv = data.get("conversions")
    tp = data.get("touchpoints")
    attr = data.get("attribution")
    channels = data.get("channels") or {}
    base = data.get("baseline")
    board = data.get("board_view")
    review = data.get("review")
    rationale = data.get("rationale")
    return AttributionSpec(
        checklist=checklist,
        model=model_of(raw_model) if raw_model else None,
        vendor=raw_model.get("vendor") if raw_model else None,
        rationale=rationale.strip() or None if isinstance(rationale, str) else None,
        lookback=Lookback(days=int(lookback_raw.get("days", 90)), steps=lookback_raw.get("steps")),
        conversions=Conversions(**conv) if conv else None,
        touchpoints=Touchpoints(**{k: v for k, v in tp.items() if k not in ("source", "medium", "campaign")})
        if tp else None,
        attribution=AttributionTable(**attr) if attr else None,
        tolerance=float(data.get("tolerance", DEFAULT_TOLERANCE)),
        utm_path=(checklist.path.parent / channels["utm"]) if channels.get("utm") else None,
        unassigned_max=percent(channels["unassigned_max"]) if "unassigned_max" in channels
        else DEFAULT_UNASSIGNED_MAX,
        baseline=BaselineRules(
            go_live=date.fromisoformat(base["go_live"]),
            max_shift=points(base["max_shift"]) if "max_shift" in base else DEFAULT_MAX_SHIFT,
            per_channel={k: points(v) for k, v in (base.get("per_channel") or {}).items()},
        ) if base else None,
        board_view=BoardView(table=board.get("table"), sql=board.get("sql"), channel=board.get("channel", "channel"),
                             credit=board.get("credit", "credit"), where=board.get("where")) if board else None,
        review=Review(cadence=review["cadence"], cadence_days=cadence_days(review["cadence"]),
                      last=date.fromisoformat(review["last"])) if review else None,
    )


def utm_columns(checklist: Checklist) -> tuple[str | None, str | None, str | None]:
    """The touchpoints' ``source``, ``medium`` and ``campaign`` columns, when the checklist names them."""
    tp = checklist.data.get("touchpoints") or {}
    return tp.get("source"), tp.get("medium"), tp.get("campaign")
