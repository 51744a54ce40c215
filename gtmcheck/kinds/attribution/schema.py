"""The JSON Schema fragment of ``kind: attribution``: the model and the tables every ATTR-* check reads.

Closed everywhere, so a typo such as ``half_lfe:`` is an error at its line with a did-you-mean. What the schema
cannot say (weights that do not sum to 1, a cadence longer than monthly, `external` with recompute-only keys)
is a lint rule (``lint.py``) with its own ATTR1xx code. docs/attribution.md explains every key.
"""

from __future__ import annotations

from typing import Any

from ...schema import DATE
from .models import MODELS, UNITS

IDENTIFIER = r"^[A-Za-z_][A-Za-z0-9_$]{0,127}(\.[A-Za-z_][A-Za-z0-9_$]{0,127}){0,2}$"
PERCENT = r"^(100|[0-9]{1,2})(\.[0-9]{1,3})?%$"  # 5%, 0.5%
POINTS = r"^(100|[0-9]{1,2})(\.[0-9]{1,3})?pp$"  # 5pp: percentage points of a share
HALF_LIFE = r"^[0-9]{1,5}(h|d)$"  # 7d, 36h (0d is lint ATTR102)
CADENCES = ("weekly", "biweekly", "monthly", "quarterly", "yearly")
CADENCE = r"^(weekly|biweekly|monthly|quarterly|yearly|[1-9][0-9]{0,3}d)$"


def _doc(schema: dict[str, Any], description: str, example: Any, default: str) -> dict[str, Any]:
    return {**schema, "description": description, "examples": [example], "x-default": default}


def _column(description: str, example: str, default: str) -> dict[str, Any]:
    return _doc({"type": "string", "pattern": IDENTIFIER, "x-hint": "write a plain column name such as id"},
                description, example, default)


def _table(description: str, example: str) -> dict[str, Any]:
    return _doc({"type": "string", "pattern": IDENTIFIER, "x-hint": "write a table name (or schema.table)"},
                description, example, "required")


_WHERE = _doc({"type": "string", "minLength": 1}, "A SQL condition over the table's columns (no ';', '--' or '/*').",
              "dealstage = 'closedwon'", "every row")
_WEIGHT: dict[str, Any] = {"type": "number", "minimum": 0, "maximum": 1}

WEIGHTS: dict[str, Any] = _doc({
    "type": "object",
    "additionalProperties": False,
    "minProperties": 1,
    "properties": {
        "first": _doc(_WEIGHT, "The first touch's share (position_based, w_shaped).", 0.4, "0.4 (w_shaped 0.3)"),
        "middle": _doc(_WEIGHT, "position_based: spread equally over the touches between first and last.", 0.2,
                       "0.2"),
        "last": _doc(_WEIGHT, "position_based: the last touch's share.", 0.4, "0.4"),
        "lead": _doc(_WEIGHT, "w_shaped: the lead-creation touch's share.", 0.3, "0.3"),
        "opportunity": _doc(_WEIGHT, "w_shaped: the opportunity-creation touch's share.", 0.3, "0.3"),
        "rest": _doc(_WEIGHT, "w_shaped: spread over the touches that hold no role.", 0.1, "0.1"),
    },
}, "The role weights; they must sum to 1 (lint ATTR101). position_based: first, middle, last; w_shaped: first, "
   "lead, opportunity, rest.", {"first": 0.4, "middle": 0.2, "last": 0.4}, "the model's published weights")

MODEL: dict[str, Any] = _doc({
    "type": "object",
    "required": ["name"],
    "additionalProperties": False,
    "x-hint": "write {name: position_based, weights: {first: 0.4, middle: 0.2, last: 0.4}}",
    "properties": {
        "name": _doc({"enum": list(MODELS)}, "The model the attribution table is built with; `external` when a "
                     "vendor computes it and only the invariants can be checked.", "position_based", "required"),
        "weights": WEIGHTS,
        "half_life": _doc({"type": "string", "pattern": HALF_LIFE, "x-hint": "write a half-life such as 7d or 36h"},
                          "time_decay: a touch this much older than the conversion gets half the weight.", "7d",
                          "7d"),
        "direct_channels": _doc({"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1}},
                                "last_non_direct: the channels skipped unless every touch is one.", ["Direct"],
                                "[Direct]"),
        "vendor": _doc({"type": "string", "minLength": 1}, "external: who computes the model (named in reports).",
                       "Dreamdata", "none"),
    },
}, "The declared model (ATTR-MODEL-DOCUMENTED recomputes it in the warehouse).",
    {"name": "position_based", "weights": {"first": 0.4, "middle": 0.2, "last": 0.4}},
    "none: ATTR-MODEL-DOCUMENTED is attested under manual: or not configured")

LOOKBACK: dict[str, Any] = _doc({
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "days": _doc({"type": "integer", "minimum": 1, "maximum": 3650}, "Touches up to this many days before a "
                     "conversion count (one exactly `days` before does not).", 90, "90"),
        "steps": _doc({"type": "integer", "minimum": 1, "maximum": 1000}, "Only the latest N of those touches "
                      "count.", 10, "every touch in the window"),
    },
}, "The window of touches a conversion may credit; ATTR-CHANNELS-TRACKED looks back as many days from today.",
    {"days": 90, "steps": 10}, "{days: 90}")

CONVERSIONS: dict[str, Any] = _doc({
    "type": "object",
    "required": ["table"],
    "additionalProperties": False,
    "properties": {
        "table": _table("The warehouse table of conversions (closed-won deals, signed contracts).", "conversions"),
        "id": _column("The conversion's id, as the attribution table names it.", "id", "id"),
        "key": _column("The person (or account) the touches are matched on.", "contact_id", "contact_id"),
        "at": _column("When it converted (timestamp or ISO text, UTC).", "converted_at", "converted_at"),
        "value": _column("Its value; needed when the attribution table credits value.", "value", "none"),
        "where": _WHERE,
        "lead_created_at": _column("w_shaped: when the lead was created (its role's touch is the latest before).",
                                   "lead_created_at", "none: the lead role is left out"),
        "opportunity_created_at": _column("w_shaped: when the opportunity was created.", "opportunity_created_at",
                                          "none: the opportunity role is left out"),
    },
}, "What converts: a warehouse table.", {"table": "conversions", "value": "value"},
    "none: the model cannot be recomputed")

TOUCHPOINTS: dict[str, Any] = _doc({
    "type": "object",
    "required": ["table"],
    "additionalProperties": False,
    "properties": {
        "table": _table("The warehouse table of marketing touches, one row per touch.", "touchpoints"),
        "id": _column("The touch's id, as the attribution table names it.", "id", "id"),
        "key": _column("The person (or account) the touch belongs to.", "contact_id", "contact_id"),
        "channel": _column("The touch's channel, as the UTM checklist's channel map names them.", "channel",
                           "channel"),
        "at": _column("When it happened (timestamp or ISO text, UTC).", "occurred_at", "occurred_at"),
        "where": _WHERE,
        "source": _column("utm_source; with `medium`, ATTR-CHANNELS-TRACKED also classifies touches through the "
                          "UTM channel map.", "source", "none: only `channel` is read"),
        "medium": _column("utm_medium, classified with `source`.", "medium", "none: only `channel` is read"),
        "campaign": _column("utm_campaign, for channel rules that read the campaign.", "campaign", "none"),
    },
}, "The touches a conversion may credit.", {"table": "touchpoints", "source": "source", "medium": "medium"},
    "none: the model cannot be recomputed")

ATTRIBUTION: dict[str, Any] = _doc({
    "type": "object",
    "required": ["table"],
    "additionalProperties": False,
    "properties": {
        "table": _table("The table the attribution reports read.", "attribution"),
        "conversion": _column("The conversion each row credits.", "conversion_id", "conversion_id"),
        "touch": _doc({"type": ["string", "null"], "pattern": IDENTIFIER}, "The touch each row credits; null when "
                      "the table is per channel only (no window check then).", "touchpoint_id", "touchpoint_id"),
        "channel": _column("The credited channel.", "channel", "channel"),
        "credit": _column("The credit.", "credit", "credit"),
        "unit": _doc({"enum": list(UNITS)}, "`share`: each conversion's credits sum to 1; `value`: to its value.",
                     "share", "share"),
        "unattributed": _doc({"type": "string", "minLength": 1}, "The channel name of the explicit bucket for "
                             "conversions with no touch.", "Unattributed", "Unattributed"),
    },
}, "The attribution table the reports read, checked against the model and the invariants.",
    {"table": "attribution", "unit": "share"}, "none: nothing to check")

CHANNELS: dict[str, Any] = _doc({
    "type": "object",
    "required": ["utm"],
    "additionalProperties": False,
    "properties": {
        "utm": _doc({"type": "string", "minLength": 1}, "The utm checklist (path relative to this file) whose "
                    "`channels:` map and `expected:` channels are the channels reported on.", "utm.gtm.yml",
                    "required"),
        "unassigned_max": _doc({"type": "string", "pattern": PERCENT, "x-hint": "write a percentage such as 5%"},
                               "The largest share of touches in the window that may be Unassigned.", "5%", "5%"),
    },
}, "ATTR-CHANNELS-TRACKED: every reported channel has touches and credit.", {"utm": "utm.gtm.yml",
                                                                               "unassigned_max": "5%"},
    "none: ATTR-CHANNELS-TRACKED is attested or not configured")

_SHIFT = {"type": "string", "pattern": POINTS, "x-hint": "write percentage points such as 5pp"}
BASELINE: dict[str, Any] = _doc({
    "type": "object",
    "required": ["go_live"],
    "additionalProperties": False,
    "properties": {
        "go_live": _doc(DATE, "The go-live date: the baseline must be saved on or before it; after it, shares are "
                        "held to the baseline.", "2026-12-01", "required"),
        "max_shift": _doc(_SHIFT, "How far a channel's share of credit may move from the baseline.", "5pp", "5pp"),
        "per_channel": _doc({"type": "object", "additionalProperties": _doc(
            _SHIFT, "That channel's own threshold.", "10pp", "max_shift"), "x-key-name": "channel",
            "x-key-example": "Paid Video"}, "Thresholds for single channels (a small channel moves more).",
            {"Paid Video": "10pp"}, "max_shift for every channel"),
    },
}, "ATTR-BASELINE: a baseline saved before go-live, and no drift from it after.",
    {"go_live": "2026-12-01", "max_shift": "5pp"}, "none: ATTR-BASELINE is attested or not configured")

BOARD_VIEW: dict[str, Any] = _doc({
    "type": "object",
    "additionalProperties": False,
    "minProperties": 1,
    "properties": {
        "table": _doc({"type": "string", "pattern": IDENTIFIER}, "The table (or view) the board deck reads.",
                      "board_attribution", "none: give `table` or `sql`"),
        "sql": _doc({"type": "string", "minLength": 1}, "One SELECT returning the board's channel and credit "
                    "(one row per channel).", "select channel, sum(credit) as credit from attribution group by 1",
                    "none: give `table` or `sql`"),
        "channel": _column("The board view's channel column (`table:`).", "channel", "channel"),
        "credit": _column("The board view's credit column (`table:`), summed per channel.", "credit", "credit"),
        "where": _WHERE,
    },
}, "ATTR-BOARD-SIGNOFF: the view the board reads; its per-channel totals must agree with the attribution table.",
    {"table": "board_attribution", "channel": "channel", "credit": "credit"},
    "none: ATTR-BOARD-SIGNOFF is the manual attestation alone")

REVIEW: dict[str, Any] = _doc({
    "type": "object",
    "required": ["cadence", "last"],
    "additionalProperties": False,
    "properties": {
        "cadence": _doc({"type": "string", "pattern": CADENCE,
                         "x-hint": f"write one of {', '.join(CADENCES)} or a number of days such as 30d"},
                        "How often the model is reviewed: monthly or more often (the DoD).", "monthly", "required"),
        "last": _doc(DATE, "The date of the last review.", "2026-11-20", "required"),
        "notes": _doc({"type": "string", "minLength": 1}, "Where the review is recorded.",
                      "RevOps calendar, first Monday", "none"),
    },
}, "ATTR-REVIEW-CADENCE: the agreed cadence and the last review.", {"cadence": "monthly", "last": "2026-11-20"},
    "none: ATTR-REVIEW-CADENCE is attested or not configured")

SCHEMA: dict[str, Any] = {
    "model": MODEL,
    "rationale": _doc({"type": "string"}, "Why this model: the sales cycle, the channels, what the board asks "
                      "(ATTR-MODEL-DOCUMENTED fails without it).",
                      "Long cycles with many touches: first and last touch carry the story.", "none (lint ATTR103)"),
    "lookback": LOOKBACK,
    "conversions": CONVERSIONS,
    "touchpoints": TOUCHPOINTS,
    "attribution": ATTRIBUTION,
    "tolerance": _doc({"type": "number", "minimum": 0}, "How far a credit (in the table's unit) may "
                      "differ from the recomputed one.", 0.001, "0.001"),
    "channels": CHANNELS,
    "baseline": BASELINE,
    "board_view": BOARD_VIEW,
    "review": REVIEW,
}
