"""A structural diff of two observations: what changed in the live stack since the baseline, one ``Drift`` each.

Observations (``Kind.observe``) are nested mappings of named sections whose leaves are scalars, lists of
scalars, or a *measured* number ``{"value": 428000, "tolerance_pct": 0.5, "tolerance_abs": 0}``. The diff knows
no kind; the shape decides:

- a key only on one side is added or removed (``was`` or ``is`` is ``None``);
- lists of scalars are sets of members: one drift names the members removed and added (order never drifts);
- a measured number drifts only past its tolerance: |is - was| > ``tolerance_abs`` and > ``tolerance_pct`` % of
  |was| (tonight's tolerance wins, so tightening the checklist applies at once);
- any other change of a scalar is a drift.

Paths are JSON pointers (``/properties/contacts.lead_source_detail/options``): keys with dots stay readable.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

MEASURED_KEYS = frozenset({"value", "tolerance_pct", "tolerance_abs"})
# The words a drift's line uses for a section's members: "property contacts.x", "option `webinar`".
SINGULAR = {"properties": "property", "options": "option", "totals": "total", "events": "event",
            "stages": "stage", "stages_seen": "stage", "versions_seen": "version", "duplicates": "duplicate rule",
            "owners": "owner", "teams": "team", "rules": "rule", "pipelines": "pipeline"}
SHOWN_MEMBERS = 10


@dataclass(frozen=True)
class Drift:
    """One change since the baseline, and who owns the checklist it breaks."""

    checklist: str  # the checklist file, relative to the project root
    kind: str
    name: str  # the checklist's name, for the line a person reads
    owner: str
    path: str  # JSON pointer into the observation
    was: Any
    is_: Any
    message: str  # "property contacts.lead_source_detail option `webinar` was removed; `webinars` added"

    def line(self) -> str:
        """The readable line: ``crm `Lead sources`: property ... option `webinar` was removed; `webinars` added``."""
        return f"{self.kind} `{self.name}`: {self.message}"

    def as_dict(self, since: str) -> dict[str, Any]:
        """What the notifier reads (``{"path", "was", "is", "since", "owner", "message"}``)."""
        return {"path": self.path, "was": self.was, "is": self.is_, "since": since, "owner": self.owner,
                "message": self.line()}


def pointer(parts: Sequence[str]) -> str:
    """A JSON pointer (RFC 6901) of ``parts``."""
    return "".join("/" + p.replace("~", "~0").replace("/", "~1") for p in parts)


def is_measured(value: Any) -> bool:
    """A number with the tolerance its kind declared: ``{"value": 1, "tolerance_pct": 0.5}``."""
    return (isinstance(value, Mapping) and "value" in value and set(value) <= MEASURED_KEYS
            and _number(value["value"]) is not None)


def diff_observations(was: Mapping[str, Any], now: Mapping[str, Any]) -> list[tuple[tuple[str, ...], Any, Any, str]]:
    """Every change from ``was`` to ``now``: ``(path parts, was, is, what changed)``, in path order."""
    return sorted(_walk((), was, now), key=lambda change: change[0])


def drifts(was: Mapping[str, Any], now: Mapping[str, Any], *, checklist: str, kind: str, name: str,
           owner: str) -> list[Drift]:
    """The ``Drift`` records of one checklist."""
    return [Drift(checklist, kind, name, owner, pointer(parts), old, new, what)
            for parts, old, new, what in diff_observations(was, now)]


def _walk(parts: tuple[str, ...], was: Any, now: Any) -> Iterator[tuple[tuple[str, ...], Any, Any, str]]:
    if is_measured(was) and is_measured(now):
        change = _measured_change(was, now)
        if change:
            yield parts, was["value"], now["value"], f"{_where(parts)} {change}"
        return
    if isinstance(was, Mapping) and isinstance(now, Mapping) and not is_measured(was) and not is_measured(now):
        for key in sorted(set(was) | set(now)):
            here = (*parts, str(key))
            if key not in now:
                yield here, was[key], None, f"{_where(here)} was removed (was {_show(was[key])})"
            elif key not in was:
                yield here, None, now[key], f"{_where(here)} is new: {_show(now[key])}"
            else:
                yield from _walk(here, was[key], now[key])
        return
    if _is_list(was) and _is_list(now):
        removed = [m for m in _members(was) if m not in _members(now)]
        added = [m for m in _members(now) if m not in _members(was)]
        if removed or added:
            yield parts, _sorted(was), _sorted(now), _list_change(parts, removed, added)
        return
    if _same(was, now):
        return
    yield parts, _plain(was), _plain(now), f"{_where(parts)} was {_show(was)}, is {_show(now)}"


def _measured_change(was: Mapping[str, Any], now: Mapping[str, Any]) -> str:
    """How a measured number moved, or ``""`` when it stayed within tolerance."""
    old, new = _number(was["value"]), _number(now["value"])
    assert old is not None and new is not None  # is_measured said so
    diff = new - old
    pct = _number(now.get("tolerance_pct", was.get("tolerance_pct")))
    absolute = _number(now.get("tolerance_abs", was.get("tolerance_abs"))) or Decimal(0)
    if abs(diff) <= absolute or (pct is not None and abs(diff) <= abs(old) * pct / 100):
        return ""
    share = f", {_fmt(diff / old * 100, signed=True, places=1)}%" if old else ""
    tolerance = [t for t in (f"{_fmt(absolute)}" if absolute else "", f"{_fmt(pct)}%" if pct else "") if t]
    within = f"; tolerance {' or '.join(tolerance)}" if tolerance else ""
    return f"was {_fmt(old)}, is {_fmt(new)} ({_fmt(diff, signed=True)}{share}{within})"


def _list_change(parts: tuple[str, ...], removed: list[Any], added: list[Any]) -> str:
    """``property contacts.x option `webinar` was removed; `webinars` added``."""
    member = SINGULAR.get(parts[-1], parts[-1]) if parts else "member"
    owner = _where(parts[:-1])
    lead = f"{owner} {member}".strip()
    out = []
    if removed:
        out.append(f"{_members_text(removed)} {'was' if len(removed) == 1 else 'were'} removed")
    if added:
        out.append(f"{_members_text(added)} added")
    return f"{lead} {'; '.join(out)}"


def _where(parts: Sequence[str]) -> str:
    """``property contacts.lead_source_detail type`` for ``/properties/contacts.lead_source_detail/type``."""
    words: list[str] = []
    for i, part in enumerate(parts):
        if i % 2 == 0 and part in SINGULAR and i + 1 < len(parts):
            words.append(SINGULAR[part])
        else:
            words.append(part)
    return " ".join(words)


def _members_text(members: Sequence[Any]) -> str:
    shown = ", ".join(f"`{m}`" for m in members[:SHOWN_MEMBERS])
    return shown + (f" and {len(members) - SHOWN_MEMBERS} more" if len(members) > SHOWN_MEMBERS else "")


def _is_list(value: Any) -> bool:
    return isinstance(value, list) and all(not isinstance(m, (Mapping, list)) for m in value)


def _members(value: list[Any]) -> list[Any]:
    return list(dict.fromkeys(_sorted(value)))


def _sorted(value: list[Any]) -> list[Any]:
    return sorted(value, key=lambda m: (type(m).__name__, str(m)))


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _same(was: Any, now: Any) -> bool:
    if is_measured(was) or is_measured(now):  # a number that gained or lost its tolerance: compare the values
        return _number(_plain(was)) == _number(_plain(now)) is not None
    return bool(was == now and type(was) is type(now))


def _plain(value: Any) -> Any:
    return value["value"] if is_measured(value) else value


def _show(value: Any) -> str:
    value = _plain(value)
    if isinstance(value, Mapping):
        inner = ", ".join(f"{k}: {_show(v)}" for k, v in sorted(value.items()))
        return "{" + inner + "}"
    if isinstance(value, list):
        return "[" + ", ".join(str(m) for m in _sorted(value)) + "]"
    if value is None:
        return "nothing"
    return f"`{value}`"


def _fmt(value: Decimal, *, signed: bool = False, places: int | None = None) -> str:
    if places is not None:
        value = value.quantize(Decimal(1).scaleb(-places))
    text = format(value.normalize() if value == value.to_integral() else value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if signed and value > 0:
        text = "+" + text
    return text
