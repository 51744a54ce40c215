"""Synthetic leads for a routing checklist: which leads to send down each branch, and who should get them.

Leads are built from the declared rules by the solver (``logic``): for each rule a lead that matches it
and no earlier rule, then variants covering every value its ``in``/``in_list`` conditions name (a territory
rebuilt without Spain is caught only by a Spanish lead), and for a round-robin rule at least two leads per pool
member. Hypothesis is the fallback search when a rule's patterns defeat the solver. Nothing here talks to a
CRM: a lead is a plan, ``live`` sends it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .logic import OTHER, Lead, Solver, Value, format_lead
from .probes import ISO_3166_ALPHA2, band_values, boundaries, is_country, outside_values

if TYPE_CHECKING:
    from .kind import RoutingSpec

MAX_BRANCH_LEADS = 24
OUTSIDE_LISTS = 2
WHY_ORDER = ("listed", "boundary", "outside", "band", "round-robin")

# The checklist's `leads:` key, in the kind's schema (docs/routing-reference.md is generated from it).
LEADS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "x-default": "max 24, boundaries, bands, 2 outside values per list",
    "description": "The leads each rule's check sends beyond one per listed value: both sides of every threshold, "
                   "a value in each company-size or revenue band, and values no rule lists, each expecting what "
                   "the declared rules give it. `gtmcheck lint` prints the resulting lead budget.",
    "examples": [{"max": 16, "boundaries": True, "bands": False, "outside_lists": 3}],
    "properties": {
        "max": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 24,
                "description": "At most this many leads per rule (listed values first, then boundaries, "
                               "outside values, bands; round-robin repeats come on top).", "examples": [16]},
        "boundaries": {"type": "boolean", "default": True,
                       "description": "Both sides of every numeric threshold (`gte: 1000`: 1000 and 999).",
                       "examples": [True]},
        "bands": {"type": "boolean", "default": True,
                  "description": "A value in each band the rule's range meets, for employees (1-10, 11-50, "
                                 "51-200, 201-500, 501-1000, 1001-5000, 5001-10000, 10000+) and revenue "
                                 "(<1M, 1-10M, 10-50M, 50-100M, 100M-1B, 1B+).", "examples": [True]},
        "outside_lists": {"type": "integer", "minimum": 0, "maximum": 300, "default": 2,
                          "description": "Per `in`/`in_list` condition whose values are known (a country: ISO "
                                         "3166 alpha-2; else the CRM property's options), this many values no "
                                         "rule lists, neighbours of the listed region first; 300 tries every "
                                         "one.", "examples": [3]},
    },
}


@dataclass(frozen=True)
class LeadOptions:
    """The checklist's ``leads:`` key: how many test-design leads each rule gets beyond its listed values."""

    max: int = MAX_BRANCH_LEADS  # per rule, every kind of lead counted (round robin repeats come on top)
    boundaries: bool = True  # both sides of every numeric threshold
    bands: bool = True  # a value in each employees / revenue band the rule's range meets
    outside_lists: int = OUTSIDE_LISTS  # per `in` condition with a known domain (country codes, CRM options)
TERRITORY_PROPS = ("country", "state", "region", "territory")
EMAIL_DOMAIN = "email_domain"


@dataclass(frozen=True)
class Expectation:
    """Who should own a lead, as the checklist declares it: a rule's or the fallback's assignment."""

    source: str  # a rule id, "fallback" or "existing_owner"
    assign: Mapping[str, Any] = field(default_factory=dict)  # {owner|queue|round_robin|owner_of}, as written

    @property
    def is_fallback(self) -> bool:
        return self.source == "fallback"

    @property
    def label(self) -> str:
        """``rule enterprise-emea`` / ``fallback`` / ``rule emea, round robin``."""
        if self.source in ("fallback", "existing_owner"):
            return self.source.replace("_", " ")
        extra = ", round robin" if "round_robin" in self.assign else ""
        return f"rule {self.source}{extra}"

    @property
    def emails(self) -> tuple[str, ...]:
        """The owners the assignment names (empty for ``owner_of`` and ``existing_owner``)."""
        for key in ("owner", "queue"):
            if key in self.assign:
                return (str(self.assign[key]).lower(),)
        return tuple(str(e).lower() for e in self.assign.get("round_robin", ()))


@dataclass
class LeadPlan:
    """One synthetic lead to send: its label (unique in the run), its values, and who should get it."""

    label: str
    values: Lead
    expect: Expectation
    branch: str  # the rule id or "fallback" the lead exercises (volume statistics are per branch)
    why: str = "listed"  # listed | boundary | band | outside | round-robin: which test design chose it

    def describe(self) -> str:
        return format_lead(self.values)


def expectation_for(spec: RoutingSpec, target: str) -> Expectation:
    """The expectation for a rule id, ``fallback`` or ``existing_owner``."""
    if target == "fallback":
        return Expectation("fallback", spec.fallback_assign or {})
    if target == "existing_owner":
        return Expectation("existing_owner")
    for rule, assign in zip(spec.rules, spec.assignments, strict=True):
        if rule.id == target:
            return Expectation(rule.id, assign)
    raise KeyError(target)


class LeadPlanner:
    """Builds every lead a routing checklist needs from its compiled spec."""

    def __init__(self, spec: RoutingSpec, domains: Mapping[str, Sequence[str]] | None = None, *,
                 search: bool = True) -> None:
        """``domains``: every value a property can take, where known (the CRM property's options)."""
        self.spec = spec
        self.options: LeadOptions = spec.lead_options
        self.domains = {k.lower(): list(v) for k, v in (domains or {}).items() if v}
        self._outside: list[list[tuple[str, list[str]]]] | None = None
        self.solver = Solver(spec.rules)
        self._seen: dict[str, int] = {}
        self._representatives: dict[int, Lead | None] = {}
        self.search = search  # hypothesis's search for rules the solver cannot solve (off for lint's estimate)

    def _label(self, base: str) -> str:
        n = self._seen.get(base, 0) + 1
        self._seen[base] = n
        return f"{base}-{n}"

    def _plan(self, values: Lead, target: str, branch: str | None = None, label: str | None = None) -> LeadPlan:
        return LeadPlan(self._label(label or branch or target), values, expectation_for(self.spec, target),
                        branch or target)

    def representative(self, i: int) -> Lead | None:
        """A lead for rule ``i`` and no earlier rule: the solver's, else hypothesis's search (remembered)."""
        if i not in self._representatives:
            lead = self.solver.lead_for(i)
            if lead is None and self.search and self.spec.rules[i].opaque:
                lead = search_lead(self.solver, i)
            self._representatives[i] = None if lead is None else self.minimal(lead, i)
        found = self._representatives[i]
        return None if found is None else dict(found)

    def minimal(self, lead: Lead, taker: int | None) -> Lead:
        """``lead`` without the values that do not decide where it goes (shorter leads, clearer failures)."""
        out = dict(lead)
        for prop in list(out):
            trial = {k: v for k, v in out.items() if k != prop}
            if self.solver.first_match(trial) == taker:
                out = trial
        return out

    def branch(self, i: int, limit: int | None = None) -> list[LeadPlan]:
        """The leads that prove rule ``i``: listed values, thresholds, size bands, unlisted values, round robin.

        Every listed value; both sides of each threshold; a value per size band; values outside its lists (each
        expecting what the declared rules give it); a round robin sampled twice per member.
        """
        rule = self.spec.rules[i]
        base = self.representative(i)
        if base is None:
            return []
        opts = self.options
        cap = opts.max if limit is None else limit
        leads: list[Lead] = [base]
        for atom in rule.atoms:
            if atom.op in ("in", "in_list") and atom.value:
                for value in atom.value:
                    lead = {**base, atom.prop: value}
                    if lead not in leads and self.solver.first_match(lead) == i:
                        leads.append(lead)
        sendable = [lead for lead in leads if _sendable(lead)]
        if sendable:  # a customer list of real domains: test the reserved test accounts among them
            leads = sendable
        picked: list[tuple[Lead, str]] = [(lead, "listed") for lead in leads]
        if opts.boundaries:
            picked += self._boundary_leads(i, leads)
        if opts.outside_lists:
            picked += self._outside_leads(i, base)
        if opts.bands:
            picked += self._band_leads(i, base)
        unique: list[tuple[Lead, str]] = []
        for lead, why in picked:
            if all(lead != seen for seen, _ in unique):
                unique.append((lead, why))
        unique.sort(key=lambda p: WHY_ORDER.index(p[1]))  # a tight budget keeps the listed values first
        unique = unique[:max(cap, 1)]
        pool = self.spec.assignments[i].get("round_robin") or []
        own = [lead for lead, _ in unique if self.solver.first_match(lead) == i]
        k = 0
        while own and len(own) < 2 * len(pool):  # repeat covered values until every member can get two leads
            unique.append((dict(own[k]), "round-robin"))
            own.append(own[k])
            k += 1
        plans = []
        for lead, _why in unique:
            taker = self.solver.first_match(lead)
            target = "fallback" if taker is None else self.spec.rules[taker].id
            plan = self._plan(lead, target, branch=rule.id)
            plan.why = _why
            plans.append(plan)
        return plans

    def _expectable(self, lead: Lead) -> bool:
        """Whether the declared logic names an owner for ``lead`` a probe can expect (not an account owner)."""
        taker = self.solver.first_match(lead)
        if taker is None:
            return bool(self.spec.fallback_assign)
        return "owner_of" not in self.spec.assignments[taker]

    def _differs(self, lead: Lead, i: int) -> bool:
        """``lead``'s declared owners share none with rule ``i``'s: a misroute between them shows."""
        taker = self.solver.first_match(lead)
        target = "fallback" if taker is None else self.spec.rules[taker].id
        mine = set(expectation_for(self.spec, self.spec.rules[i].id).emails)
        return not (set(expectation_for(self.spec, target).emails) & mine)

    def _boundary_leads(self, i: int, variants: Sequence[Lead]) -> list[tuple[Lead, str]]:
        """Both sides of each threshold of rule ``i``, on the listed value whose other side goes elsewhere."""
        out: list[tuple[Lead, str]] = []
        for edge in boundaries(self.spec.rules[i].atoms):
            pairs = []
            for variant in variants:
                inside, outside = {**variant, edge.prop: edge.inside}, {**variant, edge.prop: edge.outside}
                if self.solver.first_match(inside) == i and self._expectable(outside) \
                        and self.solver.first_match(outside) != i:
                    pairs.append((not self._differs(outside, i), inside, outside))
            if pairs:
                _, inside, outside = min(pairs, key=lambda p: p[0])  # stable: the first that shows a misroute
                out += [(inside, "boundary"), (outside, "boundary")]
        return out

    def _band_leads(self, i: int, base: Lead) -> list[tuple[Lead, str]]:
        rule = self.spec.rules[i]
        out: list[tuple[Lead, str]] = []
        edges = {(b.prop, b.inside) for b in boundaries(rule.atoms)} if self.options.boundaries else set()
        for prop in dict.fromkeys(a.prop for a in rule.atoms):
            for value in band_values(prop, rule.atoms):
                if (prop, value) in edges:
                    continue  # a boundary lead already sends it
                lead = {**base, prop: value}
                if self.solver.first_match(lead) == i:
                    out.append((lead, "band"))
        return out

    def domain(self, prop: str) -> list[str] | None:
        """Every value ``prop`` can take, where known: the CRM's options, else ISO 3166 for a country."""
        if prop.lower() in self.domains:
            return self.domains[prop.lower()]
        return list(ISO_3166_ALPHA2) if is_country(prop) else None

    def _outside_leads(self, i: int, base: Lead) -> list[tuple[Lead, str]]:
        """Values no rule lists, on rule ``i``'s lead: each must go where the declared rules send it."""
        out: list[tuple[Lead, str]] = []
        for prop, values in self._outside_choice()[i]:
            for value in values:
                lead = {**base, prop: value}
                if self._expectable(lead):
                    out.append((lead, "outside"))
        return out

    def _outside_choice(self) -> list[list[tuple[str, list[str]]]]:
        """Per rule, the unlisted values each of its list conditions tries; rules share none while they can."""
        if self._outside is None:
            taken: dict[str, set[str]] = {}
            self._outside = []
            for rule in self.spec.rules:
                picks: list[tuple[str, list[str]]] = []
                for atom in rule.atoms:
                    domain = self.domain(atom.prop) if atom.op in ("in", "in_list") and atom.value else None
                    if not domain:
                        continue
                    declared = {str(v).upper() for v in self.solver.u.literals.get(atom.prop, [])}
                    used = taken.setdefault(atom.prop, set())
                    values = outside_values(atom.value, domain, declared, used, self.options.outside_lists)
                    used.update(values)
                    picks.append((atom.prop, values))
                self._outside.append(picks)
        return self._outside

    def fallback(self) -> LeadPlan | None:
        """A lead no rule matches, in an unlisted territory when the rules name one."""
        lead = self.territory_lead(None) or self.solver.unmatched_example()
        return None if lead is None else self._plan(self._keep_territory(lead, None), "fallback")

    def _keep_territory(self, lead: Lead, taker: int | None) -> Lead:
        """The minimal lead, but with its territory: an unlisted country is the point of these leads."""
        return {**self.minimal(lead, taker), **{k: v for k, v in lead.items() if k in TERRITORY_PROPS}}

    def territory_lead(self, taker: int | None) -> Lead | None:
        """A lead from a territory no rule lists, whose first matching rule is ``taker`` (``None``: no rule)."""
        props = [p for p in TERRITORY_PROPS if p in self.solver.u.classes]
        if not props:
            return None
        box = {p: frozenset({OTHER}) for p in props}
        if taker is not None:
            rule_box = self.solver.boxes[taker]
            box = {**rule_box, **{p: box[p] & rule_box.get(p, box[p]) for p in props}}
        return self.solver.example(box, taker, self.spec.rules[taker] if taker is not None else None)

    def unmatched_territory(self, target: str) -> LeadPlan | None:
        taker = None if target == "fallback" else self._index(target)
        if target == "existing_owner":
            return None
        lead = self.territory_lead(taker)
        if lead is None and taker is None:
            lead = self.solver.unmatched_example()
        if lead is None:
            return None
        return self._plan(self._keep_territory(lead, taker), target, label="unmatched-territory")

    def customer_domain_lead(self, target: str) -> LeadPlan | None:
        """A lead from an existing customer's domain that would otherwise go elsewhere (when such exists)."""
        i = self._customer_rule() if target in ("existing_owner", "fallback") else self._index(target)
        if i is None:
            return None
        base = self.representative(i)
        if base is None:
            return None
        for j in range(len(self.spec.rules)):
            other = self.solver.lead_for(j) if j != i else None
            if other is None:
                continue
            lead = {**other, **base}
            if self.solver.first_match(lead) == i and lead != base:
                base = lead
                break
        if target == "existing_owner":
            return LeadPlan(self._label("existing-customer-domain"), base,
                            expectation_for(self.spec, self.spec.rules[i].id), self.spec.rules[i].id)
        return self._plan(base, target, label="existing-customer-domain")

    def duplicate_pair(self) -> tuple[LeadPlan, Lead] | None:
        """A first lead, and the values of a second submission by the same person that would route elsewhere.

        The second submission keeps the first one's address, so its ``email_domain`` is dropped.
        """
        firsts = [i for i, a in enumerate(self.spec.assignments) if "owner" in a or "queue" in a]
        firsts += [i for i in range(len(self.spec.rules)) if i not in firsts]
        for i in firsts:
            first = self.solver.lead_for(i)
            if first is None:
                continue
            others = [self.solver.lead_for(j) for j in range(len(self.spec.rules)) if j != i]
            others.append(self.solver.unmatched_example())
            for second in others:
                if second is None:
                    continue
                second = {k: v for k, v in second.items() if k != EMAIL_DOMAIN}
                again = {**second, **{k: v for k, v in first.items() if k == EMAIL_DOMAIN}}  # same address
                if second and self.solver.first_match(again) != i:
                    return self._plan(first, self.spec.rules[i].id, label="duplicate-contact"), second
        return None

    def edge_case_gap(self, name: str, target: str) -> str | None:
        """Why no synthetic lead can exercise edge case ``name`` -> ``target``; ``None`` when one can.

        The lint (``ROUTE110``) and the live check ask the same question, so lint says before a run what the
        run could not test.
        """
        if name == "duplicate_contact":
            if self.duplicate_pair() is None:
                return ("no two rules route plain leads (without their email domain) to different places, so a "
                        "second submission of the same person has nowhere else to go")
            return None
        if name == "unmatched_territory":
            if target == "existing_owner":
                return "a lead from an unmatched territory is new: it has no existing owner"
            if self.unmatched_territory(target) is None:
                where = "no lead matches no rule" if target == "fallback" else f"rule {target} takes no lead"
                return f"no lead from an unlisted territory reaches {target}: {where}"
            return None
        if name == "existing_customer_domain":
            if target in ("existing_owner", "fallback") and self._customer_rule() is None:
                return ("no rule assigns `owner_of: account`, so no lead is recognisably from an existing "
                        "customer's domain")
            if self.customer_domain_lead(target) is None:
                rule = target if target not in ("existing_owner", "fallback") else \
                    self.spec.rules[self._customer_rule() or 0].id
                return f"no lead can reach rule {rule}: earlier rules take every lead it matches"
            return None
        return None

    def volume(self, n: int) -> list[LeadPlan]:
        """``n`` leads, round-robin over one representative lead per branch (every rule, then the fallback)."""
        branches: list[tuple[Lead, str]] = []
        for i, rule in enumerate(self.spec.rules):
            lead = self.representative(i)
            if lead is not None:
                branches.append((lead, rule.id))
        fallback = self.solver.unmatched_example()
        if fallback is not None and self.spec.fallback_assign:
            branches.append((fallback, "fallback"))
        if not branches:
            return []
        return [self._plan(dict(branches[k % len(branches)][0]), branches[k % len(branches)][1], label="volume")
                for k in range(n)]

    def _index(self, rule_id: str) -> int | None:
        return next((i for i, r in enumerate(self.spec.rules) if r.id == rule_id), None)

    def _customer_rule(self) -> int | None:
        return next((i for i, a in enumerate(self.spec.assignments) if "owner_of" in a), None)


# --- hypothesis: the search fallback and the fuzz's lead strategy ---------------------------------------------


def lead_strategy(solver: Solver, seeds: Sequence[Lead] = ()) -> Any:
    """A hypothesis strategy of leads over the properties and values the rules mention.

    ``seeds`` (the branch leads) are drawn half of the time, so a small budget still visits every listed
    territory; the other half combines values freely.
    """
    from hypothesis import strategies as st

    free = _free_leads(solver)
    return st.one_of(st.sampled_from(list(seeds)), free) if seeds else free


def _free_leads(solver: Solver) -> Any:
    from hypothesis import strategies as st

    fields: dict[str, Any] = {}
    for prop in sorted(solver.u.classes):
        options: list[Any] = [st.none()]
        literals = [v for v in solver.u.literals.get(prop, []) if v is not None]
        if literals:
            options.append(st.sampled_from(literals))
        thresholds = solver.u.thresholds.get(prop, [])
        if thresholds:
            lo, hi = int(min(thresholds)) - 10, int(max(thresholds)) + 10
            options.append(st.sampled_from(sorted({int(t) for t in thresholds})))
            options.append(st.integers(min_value=min(lo, 0), max_value=max(hi, 1)))
        for rule in solver.rules:
            for atom in rule.atoms:
                if atom.prop == prop and atom.op == "matches" and atom.regex is not None:
                    options.append(_regex_strategy(atom.regex.pattern))
        if literals or not thresholds:  # a number-only property gets numbers, not "other"
            options.append(st.just("other.example" if prop == EMAIL_DOMAIN else "other"))
        fields[prop] = st.one_of(*options)
    return st.fixed_dictionaries(fields).map(lambda d: {k: v for k, v in d.items() if v is not None})


def _regex_strategy(pattern: str) -> Any:
    from hypothesis import strategies as st

    try:
        return st.from_regex(pattern, fullmatch=False, alphabet=st.characters(min_codepoint=32, max_codepoint=126))
    except Exception:  # noqa: BLE001 - an RE2 pattern Python's re cannot read: no strategy from it
        return st.nothing()


def search_lead(solver: Solver, i: int, max_examples: int = 500) -> Lead | None:
    """Hypothesis's search for a lead whose first matching rule is ``i`` (``None``: none found, or no hypothesis)."""
    try:
        from hypothesis import HealthCheck, Phase, find, settings
        from hypothesis.errors import NoSuchExample
    except ImportError:
        return None
    try:
        found: Lead = find(
            lead_strategy(solver),
            lambda lead: solver.first_match(lead) == i,
            settings=settings(max_examples=max_examples, database=None, derandomize=True, deadline=None,
                              phases=[Phase.generate], suppress_health_check=list(HealthCheck)),
        )
    except NoSuchExample:
        return None
    return found


def _sendable(lead: Lead) -> bool:
    """Whether a synthetic lead may be created: its email domain, if it names one, is reserved."""
    from ...synthetic import is_reserved_domain

    domain = lead.get(EMAIL_DOMAIN)
    return domain is None or is_reserved_domain(str(domain))


def crm_properties(values: Mapping[str, Value], drop: Sequence[str] = (EMAIL_DOMAIN,)) -> dict[str, str]:
    """A lead's values as CRM property strings (numbers without a trailing ``.0``, booleans as true/false)."""
    out: dict[str, str] = {}
    for key, value in values.items():
        if key in drop:
            continue
        if isinstance(value, bool):
            out[key] = "true" if value else "false"
        elif isinstance(value, float) and value.is_integer():
            out[key] = str(int(value))
        else:
            out[key] = str(value)
    return out

