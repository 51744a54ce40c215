"""User-supplied regular expressions, compiled on RE2 so that no pattern can hang a run.

Python's ``re`` backtracks: ``(a+)+$`` against a long string of ``a`` followed by ``b`` takes exponential
time, and a checklist is input we do not control. RE2 matches in time linear in the input, at the price of
refusing lookaround and backreferences; those are reported at the pattern's YAML line with a fix, never as
a traceback. Patterns are also bounded in length so that a pasted blob cannot eat memory.
"""

from __future__ import annotations

from typing import Any

import re2

from .errors import Location, SpecError

MAX_PATTERN_LENGTH = 1000
MAX_PROGRAM_BYTES = 8 << 20  # RE2's memory budget per pattern

_OPTIONS: Any = re2.Options()
_OPTIONS.log_errors = False  # RE2 would otherwise write parse errors to stderr itself
_OPTIONS.max_mem = MAX_PROGRAM_BYTES
_OPTIONS.never_capture = True  # only yes/no answers are needed; no capture bookkeeping
_OPTIONS_NOCASE: Any = re2.Options()
_OPTIONS_NOCASE.log_errors = False
_OPTIONS_NOCASE.max_mem = MAX_PROGRAM_BYTES
_OPTIONS_NOCASE.case_sensitive = False
_OPTIONS_NOCASE.never_capture = True

_UNSUPPORTED = (
    ("(?=", "lookahead `(?=...)`"),
    ("(?!", "negative lookahead `(?!...)`"),
    ("(?<=", "lookbehind `(?<=...)`"),
    ("(?<!", "negative lookbehind `(?<!...)`"),
    ("(?>", "atomic groups `(?>...)`"),
    ("(?P=", "named backreferences `(?P=name)`"),
)


# The public ``search`` builds Match objects and maps byte offsets back to characters in Python (~10 us a
# call); lint only needs a yes/no, so call the compiled program directly (~1.5 us) when it is there.
_LOW_LEVEL = hasattr(re2, "_Anchor") and hasattr(re2, "_NULL_SPAN")


class SafeRegex:
    """A compiled RE2 pattern with the two ways checklists use one: search and full match."""

    __slots__ = ("_low", "_rx", "pattern")

    def __init__(self, pattern: str, rx: Any) -> None:
        self.pattern = pattern
        self._rx = rx
        self._low: Any = getattr(rx, "_regexp", None) if _LOW_LEVEL else None

    def _test(self, text: str, anchor: Any) -> bool:
        data = text.encode("utf-8")
        return bool(self._low.Match(anchor, data, 0, len(data))[0] != re2._NULL_SPAN)

    def search(self, text: str) -> bool:
        """True when the pattern occurs anywhere in ``text`` (JSON Schema ``pattern`` semantics)."""
        if self._low is not None:
            return self._test(text, re2._Anchor.UNANCHORED)
        return self._rx.search(text) is not None

    def fullmatch(self, text: str) -> bool:
        """True when the whole of ``text`` matches."""
        if self._low is not None:
            return self._test(text, re2._Anchor.ANCHOR_BOTH)
        return self._rx.fullmatch(text) is not None

    def __repr__(self) -> str:
        return f"SafeRegex({self.pattern!r})"


def _unsupported(pattern: str) -> str | None:
    for token, what in _UNSUPPORTED:
        if token in pattern:
            return what
    i = pattern.find("\\")
    while i != -1 and i + 1 < len(pattern):
        nxt = pattern[i + 1]
        if nxt.isdigit() and nxt != "0":
            return f"backreferences `\\{nxt}`"
        if nxt == "k" and pattern[i + 2 : i + 3] in ("<", "{", "'"):
            return "named backreferences `\\k<name>`"
        i = pattern.find("\\", i + 2)
    return None


def compile_pattern(pattern: str, location: Location, *, what: str = "pattern", ignore_case: bool = False) -> SafeRegex:
    """Compile ``pattern`` on RE2 or raise a SpecError at ``location`` saying why and how to fix it."""
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise SpecError(
            f"{what} is {len(pattern):,} characters long, over the {MAX_PATTERN_LENGTH:,} limit",
            location,
            "shorten it; list allowed values with `allowed:` instead of one huge alternation",
        )
    bad = _unsupported(pattern)
    if bad is not None:
        raise SpecError(
            f"{what} {pattern!r} uses {bad}, which RE2 (linear-time matching) does not support",
            location,
            "rewrite it without lookaround or backreferences, e.g. list the allowed forms with `|`",
        )
    try:
        rx = re2.compile(pattern, _OPTIONS_NOCASE if ignore_case else _OPTIONS)
    except re2.error as exc:
        reason = exc.args[0].decode("utf-8", "replace") if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise SpecError(
            f"{what} {pattern!r} is not a valid regular expression: {reason}",
            location,
            "fix the syntax (RE2 dialect: no lookaround, no backreferences)",
        ) from None
    return SafeRegex(pattern, rx)
