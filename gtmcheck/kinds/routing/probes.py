"""Test-design values for a rule's leads: threshold boundaries, size bands, values outside the lists.

A lead per listed value passes a CRM whose threshold moved (``gte 1000`` rebuilt as ``gt 1000`` or as 1100),
that carved a band out of a branch, or that routes an unlisted territory the checklist leaves to the fallback.
These values are what a QA engineer adds: nothing here knows a CRM, ``leads`` turns them into leads.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .logic import NUMERIC_OPS, Atom

EMPLOYEE_PROPS = ("employees", "numberofemployees", "number_of_employees", "company_size", "numemployees")
REVENUE_PROPS = ("annualrevenue", "annual_revenue", "revenue", "arr")
COUNTRY_PROPS = ("country", "country_code", "countrycode", "hs_country_code")
# Upper bounds of the bands (inclusive; the last band is open): employees 1-10, 11-50, ... 10000+.
EMPLOYEE_BANDS = (10, 50, 200, 500, 1000, 5000, 10000)
# Revenue <1M, 1-10M, 10-50M, 50-100M, 100M-1B, 1B+.
REVENUE_BANDS = (1e6, 1e7, 5e7, 1e8, 1e9)

# Markets by region, biggest first: a territory usually drifts by a neighbour joining it (Portugal into EMEA,
# Mexico into North America), so unlisted countries of the region a rule covers are tried first.
REGIONS = (
    "GB DE FR NL ES IT IE CH SE BE PL AT DK NO FI PT LU CZ IL AE SA TR ZA GR HU RO SK SI HR BG EE LV LT IS CY MT "
    "EG NG KE MA UA RS QA KW",
    "US CA MX",
    "BR AR CL CO PE UY EC CR PA DO GT BO PY VE",
    "JP AU SG NZ IN CN HK TW KR ID MY TH PH VN PK BD LK",
)
ISO_3166_ALPHA2 = (
    "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY "
    "BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK "
    "FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR "
    "IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK "
    "ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM "
    "PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF "
    "TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW"
).split()


@dataclass(frozen=True)
class Boundary:
    """The two values either side of one threshold: ``inside`` satisfies the condition, ``outside`` does not."""

    prop: str
    inside: float | int
    outside: float | int


def _num(x: float) -> float | int:
    return int(x) if float(x).is_integer() else round(x, 6)


def boundaries(atoms: Iterable[Atom]) -> list[Boundary]:
    """Both sides of every numeric threshold: for ``gte 1000`` 1000 and 999, for ``lt 50`` 49 and 50."""
    out: list[Boundary] = []
    for a in atoms:
        if a.op not in NUMERIC_OPS:
            continue
        t = float(a.value)
        step = 1.0 if t.is_integer() else 0.01
        inside, outside = {"gte": (t, t - step), "gt": (t + step, t), "lte": (t, t + step),
                           "lt": (t - step, t)}[a.op]
        out.append(Boundary(a.prop, _num(inside), _num(outside)))
    return out


def bands_of(prop: str) -> Sequence[float] | None:
    name = prop.lower()
    if name in EMPLOYEE_PROPS:
        return EMPLOYEE_BANDS
    if name in REVENUE_PROPS:
        return REVENUE_BANDS
    return None


def band_values(prop: str, atoms: Iterable[Atom]) -> list[float | int]:
    """One value in each size band the rule's range on ``prop`` meets (the middle of the overlap).

    A carve-out the CRM has and the checklist does not (employees 2000-3000 routed elsewhere) sits inside some
    band; a value per band makes hitting it likely without a lead per number.
    """
    edges = bands_of(prop)
    if edges is None:
        return []
    lo, hi = -math.inf, math.inf
    for a in atoms:
        if a.prop != prop or a.op not in NUMERIC_OPS:
            continue
        t = float(a.value)
        if a.op in ("gt", "gte"):
            lo = max(lo, t)
        else:
            hi = min(hi, t)
    floor = 1.0 if edges is EMPLOYEE_BANDS else 0.0
    bounds = [floor, *edges, math.inf]
    out: list[float | int] = []
    for b_lo, b_hi in zip(bounds, bounds[1:], strict=False):
        start, end = max(lo, b_lo), min(hi, b_hi)
        if start > end:
            continue
        if math.isinf(end):
            value = start * 2.5 if start > 0 else 10 * (edges[-1] or 1)
        else:
            value = (start + end) / 2
        value = float(round(value)) if abs(value) >= 10 else value
        if lo <= value <= hi and _num(value) not in out:
            out.append(_num(value))
    return out


def is_country(prop: str) -> bool:
    return prop.lower() in COUNTRY_PROPS


def outside_values(listed: Sequence[object], domain: Sequence[str], declared: set[str], taken: set[str],
                   count: int) -> list[str]:
    """Up to ``count`` values of ``domain`` no rule lists, those of the listed values' region first.

    Values in ``taken`` (earlier rules' choices) come last, so rules of one region try different neighbours.
    """
    upper = {str(v).upper() for v in listed}
    ordered: list[str] = []
    if set(domain) <= set(ISO_3166_ALPHA2):
        by_overlap = sorted(REGIONS, key=lambda r: -len(upper & set(r.split())))
        for region in by_overlap:
            if upper & set(region.split()):
                ordered += region.split()
    ordered += list(domain)
    seen: set[str] = set()
    fresh = []
    for v in ordered:
        if v in seen or v.upper() in declared or v not in domain:
            continue
        seen.add(v)
        fresh.append(v)
    fresh.sort(key=lambda v: v in taken)  # stable: the region order stays within each half
    return fresh[:count]
