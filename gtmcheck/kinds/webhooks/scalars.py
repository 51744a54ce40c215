"""Scalar strategies for the payload generator: numbers within bounds, strings by format and by pattern."""

from __future__ import annotations

import math
import re
import string
from collections.abc import Callable
from datetime import UTC, datetime
from fractions import Fraction
from typing import Any

from hypothesis import strategies as st

from ...errors import Location, SpecError
from ...saferegex import compile_pattern

NESTED_QUANTIFIER = re.compile(r"\((?:[^()\\]|\\.)*[+*}](?:[^()\\]|\\.)*\)[+*{]")


class Unsupported(Exception):
    """The schema uses something the generator does not handle; ``reason`` says what and where."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


def number_strategy(node: dict[str, Any], *, integer: bool) -> st.SearchStrategy[Any]:
    """Integers (and, for ``number``, floats) inside the node's bounds; draft 4 boolean exclusives understood."""
    low, low_open = _bound(node, "minimum")
    high, high_open = _bound(node, "maximum")
    step = node.get("multipleOf")
    int_low = None if low is None else math.floor(low) + 1 if low_open and low == math.floor(low) else math.ceil(low)
    int_high = None if high is None else (math.ceil(high) - 1 if high_open and high == math.ceil(high)
                                          else math.floor(high))
    if step is not None:
        ratio = Fraction(str(step))  # exact for the decimal a schema writes (0.01, not 0.01000000000000000020816)
        k_low = None if low is None else math.ceil(Fraction(str(low)) / ratio)
        k_high = None if high is None else math.floor(Fraction(str(high)) / ratio)
        whole = ratio.denominator == 1
        multiples = st.integers(min_value=k_low, max_value=k_high).map(
            lambda k: int(k * ratio) if whole else float(k * ratio))
        return multiples.filter(lambda v: not integer or float(v).is_integer())
    if int_low is not None and int_high is not None and int_low > int_high:
        ints: st.SearchStrategy[Any] = st.nothing()
    else:
        ints = st.integers(min_value=int_low, max_value=int_high)
    if integer:
        return ints
    floats = st.floats(min_value=low, max_value=high, exclude_min=low_open and low is not None,
                       exclude_max=high_open and high is not None, allow_nan=False, allow_infinity=False)
    return st.one_of(ints, floats)


def _bound(node: dict[str, Any], side: str) -> tuple[float | None, bool]:
    """(bound, exclusive) for ``minimum`` or ``maximum``: the tighter of the inclusive and exclusive keywords."""
    exclusive_word = "exclusive" + side[0].upper() + side[1:]
    inclusive, exclusive = node.get(side), node.get(exclusive_word)
    if isinstance(exclusive, bool):  # draft 4: a flag on minimum/maximum
        return inclusive, bool(exclusive) and inclusive is not None
    if exclusive is None:
        return inclusive, False
    if inclusive is None:
        return exclusive, True
    tighter_exclusive = exclusive >= inclusive if side == "minimum" else exclusive <= inclusive
    return (exclusive, True) if tighter_exclusive else (inclusive, False)


def checked_pattern(pattern: str, where: str) -> None:
    """Refuse a pattern the validator could choke on: RE2's refusals, and nested quantifiers that backtrack."""
    try:
        compile_pattern(pattern, Location(where or "/"))
    except SpecError as exc:
        raise Unsupported(f"pattern {pattern!r} at {where or '/'}: {exc.message}") from None
    if NESTED_QUANTIFIER.search(pattern):
        raise Unsupported(f"pattern {pattern!r} at {where or '/'} nests quantifiers, which can backtrack "
                          "exponentially in the validator")


def pattern_predicate(pattern: str, where: str) -> Callable[[str], bool]:
    """Whether a string matches ``pattern`` anywhere (JSON Schema's ``pattern``), for filtering."""
    checked_pattern(pattern, where)
    rx = re.compile(pattern)
    return lambda s: rx.search(s) is not None


def pattern_strategy(pattern: str, where: str) -> st.SearchStrategy[str]:
    """Strings matching ``pattern`` as JSON Schema means it (anywhere in the string); whole matches too."""
    checked_pattern(pattern, where)
    try:
        return st.one_of(st.from_regex(pattern, fullmatch=True), st.from_regex(pattern, fullmatch=False))
    except Exception as exc:  # noqa: BLE001 - sre_parse's many errors: a pattern hypothesis cannot read
        raise Unsupported(f"pattern {pattern!r} at {where or '/'} cannot be generated from ({exc})") from None


def _rfc3339(moment: datetime) -> str:
    fraction = f".{moment.microsecond // 1000:03d}" if moment.microsecond >= 1000 else ""
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + fraction + "Z"


_LABEL = st.text(alphabet=string.ascii_lowercase + string.digits, min_size=1, max_size=10)
_HOST = st.builds(lambda a, b: f"{a}.{b}.example", _LABEL, _LABEL)
FORMATS: dict[str, st.SearchStrategy[str]] = {
    "date-time": st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2100, 1, 1)).map(
        lambda d: _rfc3339(d.replace(tzinfo=UTC))),
    "date": st.dates(min_value=datetime(1000, 1, 1).date()).map(lambda d: d.isoformat()),
    "time": st.times().map(lambda t: t.strftime("%H:%M:%S") + "Z"),
    "email": st.builds(lambda local, host: f"{local}@{host}", _LABEL, _HOST),
    "idn-email": st.builds(lambda local, host: f"{local}@{host}", _LABEL, _HOST),
    "hostname": _HOST,
    "idn-hostname": _HOST,
    "uri": st.builds(lambda host, path: f"https://{host}/{path}", _HOST, _LABEL),
    "uri-reference": st.builds(lambda path: f"/{path}", _LABEL),
    "uuid": st.uuids().map(str),
    "ipv4": st.ip_addresses(v=4).map(str),
    "ipv6": st.ip_addresses(v=6).map(str),
}
