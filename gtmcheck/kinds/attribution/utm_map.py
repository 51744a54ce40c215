"""The UTM checklist ``channels.utm`` names: its channel map and expected channels, read, never copied.

ATTR-CHANNELS-TRACKED reports on the channels the UTM checklist reports on, so the attribution checklist points
at it instead of repeating the map: one source of truth (the utm kind's compiled ``UtmSpec``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ...errors import GtmcheckError, SpecError
from ..base import load_other_checklist
from ..utm import UtmSpec
from ..utm import spec_of as utm_spec_of

if TYPE_CHECKING:
    from .compiled import AttributionSpec

FIX = "point `channels.utm` at the utm checklist (`kind: utm`) whose `channels:` lists the expected channels"


UTM_CACHE_KEY = "attribution.utm"  # in the attribution checklist's cache: lint and every check read it


@dataclass(frozen=True)
class UtmProblem:
    """Why ``channels.utm`` cannot be used, said at its line."""

    message: str
    hint: str = FIX


def load_utm(spec: AttributionSpec) -> UtmSpec | UtmProblem:
    """The UTM checklist's compiled spec, or what is wrong with the file ``channels.utm`` names (read once)."""
    found: UtmSpec | UtmProblem | None = spec.checklist.cache.get(UTM_CACHE_KEY)
    if found is None:
        found = spec.checklist.cache[UTM_CACHE_KEY] = _load_utm(spec)
    return found


def _load_utm(spec: AttributionSpec) -> UtmSpec | UtmProblem:
    path = spec.utm_path
    if path is None:
        return UtmProblem("no `channels.utm` is given")
    written = spec.data["channels"]["utm"]
    if not path.is_file():
        return UtmProblem(f"`channels.utm` names {written!r}, which is not a file (looked at {path})")
    try:
        utm = load_other_checklist(path)
    except SpecError as exc:
        return UtmProblem(f"the utm checklist {written!r} does not load: {exc}")
    except GtmcheckError as exc:
        return UtmProblem(f"the utm checklist {written!r} cannot be read: {exc}")
    if utm.kind != "utm":
        return UtmProblem(f"{written!r} is a `kind: {utm.kind}` checklist, not `kind: utm`")
    compiled = utm_spec_of(utm)
    if not compiled.expected:
        return UtmProblem(f"the utm checklist {written!r} lists no `channels.expected`, so no channel is reported "
                          "on", "add `channels: {expected: [Paid Search, ...]}` to the utm checklist")
    return compiled
