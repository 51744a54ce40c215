"""Which reporting channel a source/medium/campaign lands in: GA4's default channel group, or a custom one.

A UTM taxonomy is only useful if every allowed source/medium pair lands in a channel someone reports on;
a medium such as ``paid-social`` with ``utm_source=linkedin.com`` can quietly fall into GA4's
"Unassigned". ``classify`` implements the GA4 default channel group as Google publishes it (first match
wins, case-insensitive), with Google's source categories shipped in ``data/`` (see its README for the
attribution); docs/channels.md compares it with Google's table clause by clause. ``ChannelMap`` puts a
team's own ordered rules in front of the preset.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources

from .saferegex import SafeRegex

UNASSIGNED = "Unassigned"

GA4_CHANNELS: tuple[str, ...] = (
    "Direct",
    "Cross-network",
    "Paid Shopping",
    "Paid Search",
    "Paid Social",
    "Paid Video",
    "Display",
    "Paid Other",
    "Organic Shopping",
    "Organic Social",
    "Organic Video",
    "Organic Search",
    "Referral",
    "Email",
    "Affiliates",
    "Audio",
    "SMS",
    "Mobile Push Notifications",
    UNASSIGNED,
)

# Google's own regexes (trusted, fixed): stdlib ``re`` is fine for them.
_PAID = re.compile(r"^(.*cp.*|ppc|retargeting|paid.*)$")
_SHOPPING_CAMPAIGN = re.compile(r"^(.*(([^a-df-z]|^)shop|shopping).*)$")
_VIDEO_MEDIUM = re.compile(r"^(.*video.*)$")
_DISPLAY = frozenset({"display", "banner", "expandable", "interstitial", "cpm"})
_SOCIAL_MEDIUM = frozenset({"social", "social-network", "social-media", "sm", "social network", "social media"})
_REFERRAL = frozenset({"referral", "app", "link"})
_EMAIL = frozenset({"email", "e-mail", "e_mail", "e mail"})
PUSH_SOURCE = "firebase"  # Firebase Cloud Messaging campaigns: Mobile Push whatever the medium says


@cache
def source_categories() -> Mapping[str, str]:
    """Lower-cased source -> SEARCH | SOCIAL | SHOPPING | VIDEO, from the shipped CSV."""
    text = resources.files("gtmcheck").joinpath("data/ga4_source_categories.csv").read_text("utf-8")
    out: dict[str, str] = {}
    for row in csv.DictReader(io.StringIO(text)):
        out[row["source"].strip().lower()] = row["source_category"].removeprefix("SOURCE_CATEGORY_")
    return out


def classify(source: str, medium: str, campaign: str = "") -> str:
    """The GA4 default channel group of one session's source, medium and campaign."""
    s, m, c = source.strip().lower(), medium.strip().lower(), campaign.strip().lower()
    category = source_categories().get(s, "")
    paid = _PAID.match(m) is not None
    shopping = category == "SHOPPING" or _SHOPPING_CAMPAIGN.match(c) is not None
    if s == "(direct)" and m in ("(not set)", "(none)"):
        return "Direct"
    if "cross-network" in c:
        return "Cross-network"
    if paid:
        if shopping:
            return "Paid Shopping"
        if category == "SEARCH":
            return "Paid Search"
        if category == "SOCIAL":
            return "Paid Social"
        if category == "VIDEO":
            return "Paid Video"
    if m in _DISPLAY:
        return "Display"
    if paid:
        return "Paid Other"
    if shopping:
        return "Organic Shopping"
    if category == "SOCIAL" or m in _SOCIAL_MEDIUM:
        return "Organic Social"
    if category == "VIDEO" or _VIDEO_MEDIUM.match(m):
        return "Organic Video"
    if category == "SEARCH" or m == "organic":
        return "Organic Search"
    if m in _REFERRAL:
        return "Referral"
    if s in _EMAIL or m in _EMAIL:
        return "Email"
    if m == "affiliate":
        return "Affiliates"
    if m == "audio":
        return "Audio"
    if s == "sms" or m == "sms":
        return "SMS"
    if m.endswith("push") or "mobile" in m or "notification" in m or s == PUSH_SOURCE:
        return "Mobile Push Notifications"
    return UNASSIGNED


@dataclass(frozen=True)
class Condition:
    """One field test of a custom rule; every set test must hold (values compared lower-cased)."""

    equals: str | None = None
    in_: frozenset[str] | None = None
    contains: str | None = None
    ends_with: str | None = None
    matches: SafeRegex | None = None

    def test(self, value: str) -> bool:
        v = value.lower()
        if self.equals is not None and v != self.equals:
            return False
        if self.in_ is not None and v not in self.in_:
            return False
        if self.contains is not None and self.contains not in v:
            return False
        if self.ends_with is not None and not v.endswith(self.ends_with):
            return False
        return not (self.matches is not None and not self.matches.search(value))


@dataclass(frozen=True)
class ChannelRule:
    """``{channel: Paid Social, when: {medium: {in: [paid_social]}}}``: all conditions must hold."""

    channel: str
    when: Mapping[str, Condition]

    def test(self, source: str, medium: str, campaign: str) -> bool:
        fields = {"source": source, "medium": medium, "campaign": campaign}
        return all(cond.test(fields[name]) for name, cond in self.when.items())


@dataclass(frozen=True)
class ChannelMap:
    """A team's channel grouping: its own ordered rules first (first match wins), then the preset, if any."""

    custom: Sequence[ChannelRule] = ()
    preset: str | None = "ga4"

    def classify(self, source: str, medium: str, campaign: str = "") -> str:
        for rule in self.custom:
            if rule.test(source, medium, campaign):
                return rule.channel
        if self.preset == "ga4":
            return classify(source, medium, campaign)
        return UNASSIGNED

    def channels(self) -> list[str]:
        """Every channel this map can produce, custom ones first."""
        names = [r.channel for r in self.custom]
        if self.preset == "ga4":
            names += list(GA4_CHANNELS)
        return list(dict.fromkeys(names))
