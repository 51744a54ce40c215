"""Routing conditions as sets of value classes, and a small solver over ordered, first-match-wins rules.

Each property's values are split into finitely many classes from the constants the rules mention: every
literal, "any other non-numeric value", every numeric threshold as a point, the open intervals between
thresholds, and "absent". Every condition except ``matches`` is then exactly a set of classes, so "some lead
matches rule i and no earlier rule" is decided exactly by a small search (negating a rule = one of its
conditions fails). ``matches`` (RE2) is opaque: it is over-approximated as "any value" in the search and
checked on the concrete example lead afterwards, so shadowing is only reported when it is proven.
"""

from __future__ import annotations

import bisect
import math
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from ...saferegex import SafeRegex

Value = str | float | int | bool
ClassKey = tuple[Any, ...]
Box = dict[str, frozenset[ClassKey]]
Lead = dict[str, Value]

ABSENT: ClassKey = ("absent",)
OTHER: ClassKey = ("other",)
SEARCH_BUDGET = 20_000
NUMERIC_OPS = ("gt", "gte", "lt", "lte")


@dataclass(frozen=True)
class Atom:
    """One test on one property: ``employees gte 1000``."""

    prop: str
    op: str  # equals in not_in gt gte lt lte matches exists in_list
    value: Any
    regex: SafeRegex | None = None
    _listed: frozenset[ClassKey] | None = field(default=None, compare=False, repr=False)

    def listed(self) -> frozenset[ClassKey]:
        """The classes of the values an ``in``/``not_in``/``in_list`` atom lists, built once per atom."""
        if self._listed is None:
            object.__setattr__(self, "_listed", frozenset(_literal(x) for x in self.value))
        assert self._listed is not None
        return self._listed


@dataclass
class Rule:
    """A routing rule as the solver sees it: an id, its conditions (all must hold) and who it assigns to."""

    id: str
    atoms: list[Atom]
    assign: str = ""

    @property
    def opaque(self) -> bool:
        return any(a.op == "matches" or (a.op == "in_list" and a.value is None) for a in self.atoms)


def _is_num(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _literal(v: Any) -> ClassKey:
    return ("num", float(v)) if _is_num(v) else ("lit", v)


@dataclass
class Universe:
    """The value classes of every property the rules mention."""

    classes: dict[str, frozenset[ClassKey]] = field(default_factory=dict)
    literals: dict[str, list[Any]] = field(default_factory=dict)
    thresholds: dict[str, list[float]] = field(default_factory=dict)
    _atom_sets: dict[int, tuple[Atom, frozenset[ClassKey] | None]] = field(default_factory=dict, repr=False)
    _ordered: dict[str, list[ClassKey]] = field(default_factory=dict, repr=False)
    _lowered: dict[str, frozenset[str]] = field(default_factory=dict, repr=False)

    @classmethod
    def of(cls, rules: list[Rule]) -> Universe:
        u = cls()
        seen: dict[str, set[Any]] = {}  # the literals per property, for a constant-time "already listed?"
        for rule in rules:
            for a in rule.atoms:
                lits = u.literals.setdefault(a.prop, [])
                known = seen.setdefault(a.prop, set())
                nums = u.thresholds.setdefault(a.prop, [])
                values: list[Any] = []
                if a.op in ("equals",):
                    values = [a.value]
                elif a.op in ("in", "not_in") or (a.op == "in_list" and a.value is not None):
                    values = list(a.value)
                elif a.op in NUMERIC_OPS:
                    nums.append(float(a.value))
                for v in values:
                    if _is_num(v):
                        nums.append(float(v))
                    elif (type(v), v) not in known:  # True and 1 are different literals, as in a list
                        known.add((type(v), v))
                        lits.append(v)
        for prop, lits in u.literals.items():
            ts = sorted(set(u.thresholds[prop]))
            u.thresholds[prop] = ts
            keys: list[ClassKey] = [ABSENT, OTHER, *(("lit", v) for v in lits)]
            bounds = [-math.inf, *ts, math.inf]
            keys += [("num", t) for t in ts]
            keys += [("iv", bounds[i], bounds[i + 1]) for i in range(len(bounds) - 1)]
            u.classes[prop] = frozenset(keys)
        return u

    def ordered(self, prop: str) -> list[ClassKey]:
        """The property's classes in the order example values are tried (numbers first on numeric ones)."""
        out = self._ordered.get(prop)
        if out is None:
            numeric = bool(self.thresholds.get(prop)) and not self.literals.get(prop)
            out = self._ordered[prop] = sorted(self.classes.get(prop, ()), key=lambda k: _class_order(k, numeric))
        return out

    def lowered(self, prop: str) -> frozenset[str]:
        """The property's literals in lower case: an invented "other" value must differ from all of them."""
        out = self._lowered.get(prop)
        if out is None:
            out = self._lowered[prop] = frozenset(str(v).lower() for v in self.literals.get(prop, []))
        return out

    def present(self, prop: str) -> frozenset[ClassKey]:
        return self.classes[prop] - {ABSENT}

    def atom_set(self, a: Atom) -> frozenset[ClassKey] | None:
        """The classes where ``a`` holds; None when the atom is opaque (``matches``, unknown list).

        Memoised per atom: the search asks about the same atoms of the same rules over and over.
        """
        hit = self._atom_sets.get(id(a))
        if hit is not None and hit[0] is a:
            return hit[1]
        out = self._atom_set(a)
        self._atom_sets[id(a)] = (a, out)  # the atom is kept, so its id cannot be reused by another
        return out

    def _atom_set(self, a: Atom) -> frozenset[ClassKey] | None:
        every = self.classes[a.prop]
        if a.op == "exists":
            return every - {ABSENT} if a.value else frozenset({ABSENT})
        if a.op == "equals":
            return frozenset({_literal(a.value)})
        if a.op == "in" or a.op == "in_list":
            if a.value is None:
                return None
            return frozenset(_literal(v) for v in a.value)
        if a.op == "not_in":
            return self.present(a.prop) - {_literal(v) for v in a.value}
        if a.op in NUMERIC_OPS:
            t = float(a.value)
            test: Callable[[float], bool] = {
                "gt": lambda x: x > t,
                "gte": lambda x: x >= t,
                "lt": lambda x: x < t,
                "lte": lambda x: x <= t,
            }[a.op]
            out = set()
            for k in every:
                if k[0] == "num" and test(k[1]):
                    out.add(k)
                elif k[0] == "iv":
                    lo, hi = k[1], k[2]
                    if math.isfinite(lo) and math.isfinite(hi):
                        mid = (lo + hi) / 2
                    else:
                        mid = hi - 1 if math.isfinite(hi) else lo + 1 if math.isfinite(lo) else 0.0
                    if test(mid):
                        out.add(k)
            return frozenset(out)
        return None  # matches

    def rule_box(self, rule: Rule) -> Box:
        """The classes ``rule`` accepts per property; opaque atoms are over-approximated as "anything"."""
        box: Box = {}
        for a in rule.atoms:
            s = self.atom_set(a)
            if s is None:
                s = self.present(a.prop)
            box[a.prop] = box.get(a.prop, self.classes[a.prop]) & s
        return box


def _empty(box: Box) -> bool:
    return any(not s for s in box.values())


class Solver:
    """Reachability, shadowing, overlap and unmatched leads over one ordered rule list."""

    def __init__(self, rules: list[Rule]) -> None:
        self.rules = rules
        self.u = Universe.of(rules)
        self.boxes = [self.u.rule_box(r) for r in rules]
        self.budget = SEARCH_BUDGET
        self.exhausted = False
        # per property and class, the rules (a bit each) whose box holds that class: a rule that does not test
        # the property holds every class. A box's rules are then a few big-integer ORs and ANDs, not n tests.
        everyone = (1 << len(rules)) - 1
        self._holders: dict[str, dict[ClassKey, int]] = {}
        for prop, classes in self.u.classes.items():
            free = everyone
            for i, b in enumerate(self.boxes):
                if prop in b:
                    free &= ~(1 << i)
            holders = dict.fromkeys(classes, free)
            for i, b in enumerate(self.boxes):
                for key in b.get(prop, ()):
                    holders[key] |= 1 << i
            self._holders[prop] = holders
        self._meets: list[int | None] = [None] * len(rules)
        self._leads: dict[int, Lead | None] = {}

    # --- which rules can share a lead ------------------------------------------------------------------

    def meeting(self, box: Box) -> int:
        """The rules (bit i for rule i) whose box shares a class on every property with ``box``."""
        out = (1 << len(self.rules)) - 1
        for prop, keys in box.items():
            holders = self._holders.get(prop)
            if holders is None:
                continue
            if len(keys) == len(holders):
                continue  # every class: no rule is ruled out
            any_of = 0
            for key in keys:
                any_of |= holders[key]
            out &= any_of
            if not out:
                break
        return out

    def meets(self, i: int) -> int:
        """The rules whose box shares some lead class with rule ``i``'s (its own bit included)."""
        known = self._meets[i]
        if known is None:
            known = self._meets[i] = self.meeting(self.boxes[i])
        return known

    def relevant(self, box: Box, avoid: list[int], mask: int | None = None) -> list[int]:
        """The rules of ``avoid`` that can take a lead in ``box``.

        A rule that shares no lead with ``box`` fails on every lead in it, so leaving it out changes no
        answer of the search, only spares the branching on it (which made long tables exhaust the budget).
        """
        m = self.meeting(box) if mask is None else mask
        if avoid == list(range(len(avoid))):  # the usual "every earlier rule": walk the mask's bits only
            m &= (1 << len(avoid)) - 1
            out = []
            while m:
                low = m & -m
                out.append(low.bit_length() - 1)
                m ^= low
            return out
        return [k for k in avoid if m >> k & 1]

    # --- the search ------------------------------------------------------------------------------------

    def escapes(self, box: Box, avoid: list[int]) -> Iterator[Box]:
        """Sub-boxes of ``box`` whose leads match none of the rules ``avoid`` (exact for non-opaque atoms).

        Depth-first with an explicit stack (no recursion limit on long rule lists) and a shared budget:
        when the budget runs out the search stops and ``exhausted`` says the answer is unknown.
        """
        stack: list[tuple[Box, int]] = [(box, 0)]
        while stack:
            cur, k = stack.pop()
            if _empty(cur):
                continue
            if k == len(avoid):
                yield cur
                continue
            self.budget -= 1
            if self.budget < 0:
                self.exhausted = True
                return
            rule = self.rules[avoid[k]]
            if not rule.atoms:
                continue  # a catch-all takes every lead
            if rule.opaque:  # it may or may not take the lead: keep it, the concrete lead is checked later
                stack.append((cur, k + 1))
                continue
            branches = []
            for a in rule.atoms:
                s = self.u.atom_set(a)
                assert s is not None
                have = cur.get(a.prop, self.u.classes[a.prop])
                branches.append(({**cur, a.prop: have - s}, k + 1))
            stack.extend(reversed(branches))

    # --- concrete leads --------------------------------------------------------------------------------

    def _candidates(self, prop: str, key: ClassKey, patterns: list[SafeRegex]) -> Iterator[Value | None]:
        if key == ABSENT:
            yield None
        elif key[0] == "lit":
            yield key[1]
        elif key[0] == "num":
            yield _nice(key[1])
        elif key[0] == "iv":
            yield _pick(key[1], key[2])
        else:
            lits = self.u.lowered(prop)
            extra = [c for p in patterns for c in pattern_candidates(p.pattern)]
            base = "other.example" if prop == "email_domain" else "other"
            for c in [*extra, base, f"{base}-1", "zz-unlisted"]:
                if c.lower() not in lits and not _numeric_text(c):
                    yield c

    def concretize(self, box: Box, want: Rule | None = None) -> Iterator[Lead]:
        """Leads inside ``box``; values for ``want``'s own patterns are chosen to satisfy them."""
        choices: list[tuple[str, list[Value | None]]] = []
        for prop in sorted(box):
            pats = [a.regex for a in (want.atoms if want else []) if a.prop == prop and a.regex is not None]
            own = [a for a in (want.atoms if want else []) if a.prop == prop]
            need_present = any(not (a.op == "exists" and not a.value) for a in own)
            vals: list[Value | None] = []
            seen: list[Value | None] = []
            keys = box[prop]
            for key in self.u.ordered(prop):  # the first four distinct values that fit, in class order
                if key not in keys or (key == ABSENT and need_present):
                    continue
                for v in self._candidates(prop, key, pats):
                    if v in seen:
                        continue
                    seen.append(v)
                    if not pats or (v is not None and all(p.search(str(v)) for p in pats)):
                        vals.append(v)
                if len(vals) >= 4:
                    break
            choices.append((prop, vals[:4]))
        yield from _product(choices, {})

    def matches(self, lead: Lead, rule: Rule) -> bool:
        return all(_holds(a, lead.get(a.prop)) for a in rule.atoms)

    def first_match(self, lead: Lead) -> int | None:
        """The first rule that takes ``lead``; only rules whose box holds the lead's classes are tested."""
        m = (1 << len(self.rules)) - 1
        for prop, holders in self._holders.items():
            m &= holders.get(self._class_of(prop, lead.get(prop)), m)
            if not m:
                return None
        while m:
            low = m & -m
            i = low.bit_length() - 1
            if self.matches(lead, self.rules[i]):
                return i
            m ^= low
        return None

    def _class_of(self, prop: str, v: Value | None) -> ClassKey:
        """The class of the universe ``v`` falls in (unknown values fall in no class: no rule is ruled out)."""
        if v is None:
            return ABSENT
        key = _literal(v)
        holders = self._holders[prop]
        if key in holders:
            return key
        if key[0] == "lit":
            return OTHER
        ts = self.u.thresholds.get(prop, [])
        at = bisect.bisect_left(ts, key[1])
        return ("iv", ts[at - 1] if at > 0 else -math.inf, ts[at] if at < len(ts) else math.inf)

    def example(self, box: Box, taker: int | None, want: Rule | None = None, tries: int = 50) -> Lead | None:
        """A concrete lead in one of ``box``'s escapes whose first matching rule is ``taker``."""
        before = self.relevant(box, list(range(taker if taker is not None else len(self.rules))))
        for sub in self.escapes(box, before):
            for lead in self.concretize(sub, want):
                if self.first_match(lead) == taker and (want is None or self.matches(lead, want)):
                    return lead
                tries -= 1
                if tries <= 0:
                    return None
        return None

    # --- questions the lint asks -----------------------------------------------------------------------

    def contradictory(self, i: int) -> bool:
        return _empty(self.boxes[i])

    def reachable(self, i: int) -> bool | None:
        """True with proof (an example exists), False when proven unreachable, None when unknown."""
        if self.contradictory(i):
            return False
        self.exhausted = False
        self.budget = SEARCH_BUDGET  # each rule's question gets the whole budget, however long the table
        found = next(self.escapes(self.boxes[i], self.relevant(self.boxes[i], list(range(i)), self.meets(i))), None)
        if found is None:
            return None if self.exhausted else False
        return True if self.example(self.boxes[i], i, self.rules[i]) is not None else None

    def shadowers(self, i: int) -> list[tuple[int, Lead | None]]:
        """The earlier rules that take leads of rule ``i``, each with an example lead it takes."""
        out: list[tuple[int, Lead | None]] = []
        mine = self.meets(i)
        for j in range(i):
            if not mine >> j & 1:
                continue  # no lead matches both
            both = {p: self.boxes[i].get(p, self.u.classes[p]) & self.boxes[j].get(p, self.u.classes[p])
                    for p in {*self.boxes[i], *self.boxes[j]}}
            if _empty(both) or next(self.escapes(both, self.relevant(both, list(range(j)), mine & self.meets(j))),
                                    None) is None:
                continue
            both_rule = Rule(f"{self.rules[i].id}&{self.rules[j].id}", [*self.rules[i].atoms, *self.rules[j].atoms])
            out.append((j, self.example(both, j, both_rule)))
        return out

    def overlap_example(self, i: int, j: int) -> Lead | None:
        both_rule = Rule("both", [*self.rules[i].atoms, *self.rules[j].atoms])
        box = self.u.rule_box(both_rule)
        if _empty(box):
            return None
        for lead in self.concretize(box, both_rule):
            if self.matches(lead, self.rules[i]) and self.matches(lead, self.rules[j]):
                return lead
        return None

    def unmatched_example(self) -> Lead | None:
        return self.example({}, None)

    def lead_for(self, i: int) -> Lead | None:
        """A lead that matches rule ``i`` and no earlier rule (the synthetic lead for the branch)."""
        if i not in self._leads:  # remembered: the edge-case planner asks for every rule's lead, rule after rule
            self._leads[i] = None if self.contradictory(i) else self.example(self.boxes[i], i, self.rules[i])
        lead = self._leads[i]
        return dict(lead) if lead is not None else None


def _holds(a: Atom, v: Value | None) -> bool:
    if a.op == "exists":
        return (v is not None) == bool(a.value)
    if v is None:
        return False
    if a.op == "equals":
        return _literal(v) == _literal(a.value)
    if a.op in ("in", "in_list"):
        return a.value is not None and _literal(v) in a.listed()
    if a.op == "not_in":
        return _literal(v) not in a.listed()
    if a.op in NUMERIC_OPS:
        if not _is_num(v):
            return False
        x, t = float(v), float(a.value)
        return {"gt": x > t, "gte": x >= t, "lt": x < t, "lte": x <= t}[a.op]
    if a.op == "matches":
        return a.regex is not None and a.regex.search(str(v))
    return False


def _product(choices: list[tuple[str, list[Value | None]]], acc: Lead) -> Iterator[Lead]:
    if not choices:
        yield dict(acc)
        return
    (prop, vals), rest = choices[0], choices[1:]
    for v in vals:
        nxt = dict(acc)
        if v is not None:
            nxt[prop] = v
        yield from _product(rest, nxt)


def _class_order(k: ClassKey, numeric: bool) -> tuple[int, float, str]:
    order = ("iv", "num", "lit", "other", "absent") if numeric else ("lit", "other", "iv", "num", "absent")
    first = k[1] if k[0] in ("num", "iv") and math.isfinite(k[1]) else -math.inf if k[0] == "iv" else 0.0
    return order.index(k[0]), first, repr(k[1:])


def _nice(x: float) -> int | float:
    return int(x) if float(x).is_integer() else x


def _pick(lo: float, hi: float) -> int | float:
    if math.isfinite(lo) and math.isfinite(hi):
        if math.floor(lo) + 1 < hi:
            mid = math.floor((lo + hi) / 2)
            return mid if lo < mid < hi else math.floor(lo) + 1
        return _nice((lo + hi) / 2)
    if math.isfinite(lo):
        return _nice(lo * 1.5 if lo >= 10 else math.floor(lo) + 1)
    if math.isfinite(hi):
        return _nice(math.ceil(hi) - 1)
    return 0


def _numeric_text(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True


_META = re.compile(r"\\[dDwWsSbB]|\[[^\]]*\]|[\^$.*+?(){}|\\]")


def pattern_candidates(pattern: str) -> list[str]:
    """Strings that may match ``pattern``, from its literal text: each alternative, then the whole."""
    body = pattern
    out: list[str] = []
    for alt in re.split(r"\|", body):
        text = _META.sub("", alt)
        if text and text not in out:
            out.append(text)
    whole = _META.sub("", body)
    if whole and whole not in out:
        out.append(whole)
    return out[:8]


def format_lead(lead: Mapping[str, Value]) -> str:
    def show(v: Value) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        return str(v)

    return "{" + ", ".join(f"{k}: {show(v)}" for k, v in lead.items()) + "}"
