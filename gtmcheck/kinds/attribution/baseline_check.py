"""ATTR-BASELINE: a historical baseline saved before go-live, and after go-live no drift from it.

``observe`` (``Kind.observe``) gives what the baseline saves: ``credit_share`` (each channel's share of all
credit in the attribution table, computed by the warehouse) and ``settings`` (the model, the lookback and a
fingerprint of the UTM checklist's channel rules). The check reads the saved entry (``ctx.baseline``): none, or
one saved after ``baseline.go_live``, fails with the fix; after go-live (``ctx.today()`` later than it) each
channel whose share moved past its threshold (``max_shift``, ``per_channel``) and each changed setting is named.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from functools import partial
from typing import TYPE_CHECKING, Any

from ...errors import CheckError, CheckFailed, ConnectorError, Evidence
from ..base import WAREHOUSE, Check
from ..reconcile import warehouse_of
from .compiled import AttributionSpec
from .model_check import model_text
from .sql import credit_by_channel
from .utm_map import UtmProblem, load_utm

if TYPE_CHECKING:
    from ...context import RunContext
    from ..utm import UtmSpec

DOD_ID = "ATTR-BASELINE"
SHARE_DIGITS = 6
SAVE_FIX = "run `gtmcheck baseline save` on the signed-off stack before go-live and commit gtmcheck-baseline/"


def channel_rules_fingerprint(utm: UtmSpec) -> str:
    """A short hash of the UTM channel map (rules in order, the preset, the expected channels)."""
    rules = [{"channel": r.channel,
              "when": {f: {"equals": c.equals, "in": sorted(c.in_) if c.in_ is not None else None,
                           "contains": c.contains, "ends_with": c.ends_with,
                           "matches": c.matches.pattern if c.matches is not None else None}
                       for f, c in sorted(r.when.items())}} for r in utm.channels.custom]
    body = json.dumps({"rules": rules, "preset": utm.channels.preset, "expected": list(utm.expected)},
                      sort_keys=True)
    return "sha256:" + hashlib.sha256(body.encode()).hexdigest()[:16]


def settings_of(spec: AttributionSpec) -> dict[str, Any]:
    """The settings a share depends on: a change to one moves the shares without the stack changing."""
    utm = load_utm(spec) if spec.utm_path is not None else None
    return {
        "model": model_text(spec.model) if spec.model is not None else spec.data.get("model", {}).get("name"),
        "lookback": {"days": spec.lookback.days, "steps": spec.lookback.steps},
        "channel_rules": None if utm is None or isinstance(utm, UtmProblem) else channel_rules_fingerprint(utm),
    }


def observe(spec: AttributionSpec, ctx: RunContext) -> dict[str, Any]:
    """``{"credit_share": {channel: share}, "settings": {...}}``, read-only; ``{}`` without an attribution table."""
    if spec.attribution is None:
        return {}
    try:
        _, rows = warehouse_of(ctx).select(credit_by_channel(spec.attribution))
    except ConnectorError as exc:  # the Kind.observe contract: the stack could not be read
        raise CheckError(str(exc)) from exc
    shares = {str(r[0]): round(float(r[2] or 0.0), SHARE_DIGITS) for r in rows}
    observed: dict[str, Any] = dict(sorted(shares.items()))
    if spec.baseline is not None:  # a measured share: the generic diff (BASELINE-DRIFT) holds it to the threshold too
        observed = {channel: {"value": share, "tolerance_abs": round(spec.baseline.threshold(channel) / 100, 6)}
                    for channel, share in observed.items()}
    return {"credit_share": observed, "settings": settings_of(spec)}


def share_of(value: Any) -> float:
    """A saved share, plain (``0.12``) or measured (``{"value": 0.12, "tolerance_abs": 0.05}``)."""
    if isinstance(value, Mapping):
        value = value.get("value")
    return float(value or 0.0)


def _pp(share: float) -> str:
    return f"{share * 100:.1f}%"


def share_moves(spec: AttributionSpec, then: Mapping[str, Any], now: Mapping[str, Any]) -> list[str]:
    """Each channel whose share moved past its threshold, as ``Paid Video 12.0% -> 0.0% (-12.0pp, max 5pp)``."""
    assert spec.baseline is not None
    moves = []
    for channel in sorted(set(then) | set(now)):
        before, after = share_of(then.get(channel)), share_of(now.get(channel))
        shift = (after - before) * 100
        limit = spec.baseline.threshold(channel)
        if abs(shift) > limit + 1e-9:
            moves.append(f"{channel} {_pp(before)} -> {_pp(after)} ({shift:+.1f}pp, max {limit:g}pp)")
    return moves


def setting_changes(then: Mapping[str, Any], now: Mapping[str, Any]) -> list[str]:
    return [f"{key} changed: {then.get(key)!r} -> {now.get(key)!r}" for key in sorted(set(then) | set(now))
            if then.get(key) != now.get(key)]


def check_baseline(spec: AttributionSpec, ctx: RunContext) -> Evidence:
    """Pass on a baseline saved by go-live; after go-live, also on shares and settings held to it."""
    rules = spec.baseline
    assert rules is not None
    entry = ctx.baseline(spec.checklist)
    if entry is None:
        raise CheckFailed(f"no baseline is saved for this checklist; {SAVE_FIX}",
                          expected=f"a baseline saved on or before go-live ({rules.go_live.isoformat()})",
                          received="no baseline")
    saved = entry.observed
    if "credit_share" not in saved:
        raise CheckFailed("the saved baseline holds no credit shares (saved by an older gtmcheck, or without an "
                          f"attribution table); {SAVE_FIX}", expected="credit_share in the baseline",
                          received=", ".join(sorted(saved)) or "nothing observed")
    if entry.saved_on > rules.go_live:
        raise CheckFailed(f"the baseline was saved on {entry.saved_on.isoformat()}, after go-live "
                          f"({rules.go_live.isoformat()}): it is not a historical baseline",
                          expected=f"saved on or before {rules.go_live.isoformat()}",
                          received=f"saved on {entry.saved_on.isoformat()}")
    today = ctx.today()
    details: dict[str, Any] = {"saved_on": entry.saved_on.isoformat(), "go_live": rules.go_live.isoformat(),
                               "today": today.isoformat(), "baseline": saved}
    if today <= rules.go_live:
        return Evidence(f"baseline saved on {entry.saved_on.isoformat()}, before go-live on "
                        f"{rules.go_live.isoformat()} ({len(saved['credit_share'])} channels); drift is judged "
                        "after go-live", details)
    now = observe(spec, ctx)
    if not now:
        raise CheckError("the attribution table could not be observed")
    details["now"] = now
    moves = share_moves(spec, saved["credit_share"], now["credit_share"])
    changes = setting_changes(saved.get("settings") or {}, now["settings"])
    if moves or changes:
        raise CheckFailed(
            f"since the baseline of {entry.saved_on.isoformat()}: " + "; ".join(moves + changes),
            expected=f"every channel's credit share within {rules.max_shift:g}pp of the baseline (or its "
            "per_channel threshold) and the same model, lookback and channel rules",
            received=f"{len(moves)} channel(s) moved, {len(changes)} setting(s) changed",
            evidence=Evidence(f"{len(moves) + len(changes)} change(s) since go-live", details),
        )
    return Evidence(f"{len(now['credit_share'])} channels' credit shares within their thresholds of the baseline "
                    f"saved {entry.saved_on.isoformat()}; settings unchanged", details)


def baseline_checks(spec: AttributionSpec) -> Iterator[Check]:
    if spec.baseline is not None:
        yield Check(DOD_ID, partial(check_baseline, spec), spec.location("baseline"),
                    description="a baseline saved before go-live; after it, credit shares and settings held to it",
                    needs=frozenset({WAREHOUSE}))
