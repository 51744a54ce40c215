"""GA4 default channel group: one example per channel, rule order, case-insensitivity, custom maps."""

from __future__ import annotations

import pytest

from gtmcheck.channels import GA4_CHANNELS, UNASSIGNED, ChannelMap, ChannelRule, Condition, classify, source_categories
from gtmcheck.errors import Location
from gtmcheck.saferegex import compile_pattern

EXAMPLES = [
    ("(direct)", "(none)", "", "Direct"),
    ("(direct)", "(not set)", "", "Direct"),
    ("google", "cpc", "fy26q1_cross-network_pmax", "Cross-network"),
    ("google", "cpc", "fy26q1_shopping_feed", "Paid Shopping"),
    ("amazon", "cpc", "", "Paid Shopping"),
    ("igshopping", "paid", "", "Paid Shopping"),
    ("google", "cpc", "", "Paid Search"),
    ("bing", "ppc", "", "Paid Search"),
    ("linkedin", "paid_social", "", "Paid Social"),
    ("facebook", "retargeting", "", "Paid Social"),
    ("youtube", "paid_video", "", "Paid Video"),
    ("newsletter", "display", "", "Display"),
    ("adnetwork", "cpm", "", "Display"),
    ("adnetwork", "banner", "", "Display"),
    ("newsletter", "cpc", "", "Paid Other"),
    ("capterra", "paid-listing", "", "Paid Other"),
    ("shopify", "referral", "", "Organic Shopping"),
    ("partner", "referral", "spring_shop_sale", "Organic Shopping"),
    ("linkedin", "social", "", "Organic Social"),
    ("mastodon.example", "social-network", "", "Organic Social"),
    ("anything", "sm", "", "Organic Social"),
    ("vimeo", "referral", "", "Organic Video"),
    ("webinar_host", "video_embed", "", "Organic Video"),
    ("duckduckgo", "referral", "", "Organic Search"),
    ("unknown-engine", "organic", "", "Organic Search"),
    ("g2", "referral", "", "Referral"),
    ("partner", "app", "", "Referral"),
    ("partner", "link", "", "Referral"),
    ("newsletter", "email", "", "Email"),
    ("e-mail", "(none)", "", "Email"),
    ("hubspot", "e_mail", "", "Email"),
    ("impact", "affiliate", "", "Affiliates"),
    ("spotify_ads", "audio", "", "Audio"),
    ("sms", "text", "", "SMS"),
    ("twilio", "sms", "", "SMS"),
    ("app", "web_push", "", "Mobile Push Notifications"),
    ("app", "mobile_banner", "", "Mobile Push Notifications"),
    ("app", "notification", "", "Mobile Push Notifications"),
    ("zoom", "webinar", "", UNASSIGNED),
    ("", "", "", UNASSIGNED),
]


@pytest.mark.parametrize(("source", "medium", "campaign", "channel"), EXAMPLES)
def test_ga4_examples(source: str, medium: str, campaign: str, channel: str) -> None:
    assert classify(source, medium, campaign) == channel


def test_every_channel_has_an_example() -> None:
    assert {e[3] for e in EXAMPLES} == set(GA4_CHANNELS)


def test_case_insensitive() -> None:
    assert classify("LinkedIn", "Paid_Social") == "Paid Social"
    assert classify("GOOGLE", "CPC") == "Paid Search"


def test_first_match_wins() -> None:
    # cpm is both Display and "paid" by the regex: Display is checked first, but a search site wins before both.
    assert classify("google", "cpm") == "Paid Search"
    assert classify("somewhere", "cpm") == "Display"
    # email source with a social medium: Organic Social comes before Email.
    assert classify("email", "social") == "Organic Social"


def test_source_categories_are_loaded() -> None:
    cats = source_categories()
    assert len(cats) > 800
    assert cats["google"] == "SEARCH" and cats["linkedin"] == "SOCIAL" and cats["youtube"] == "VIDEO"


def test_custom_rules_come_first_then_preset() -> None:
    where = Location("x.gtm.yml", 3, 1)
    rule = ChannelRule(
        "Webinars",
        {
            "medium": Condition(in_=frozenset({"webinar"})),
            "source": Condition(matches=compile_pattern("^(zoom|on24)$", where, ignore_case=True)),
        },
    )
    mapping = ChannelMap(custom=(rule,))
    assert mapping.classify("Zoom", "webinar") == "Webinars"
    assert mapping.classify("gotowebinar", "webinar") == UNASSIGNED
    assert mapping.classify("google", "cpc") == "Paid Search"
    assert ChannelMap(custom=(rule,), preset=None).classify("google", "cpc") == UNASSIGNED
    assert mapping.channels()[0] == "Webinars"


def test_condition_operators() -> None:
    assert Condition(equals="cpc").test("CPC")
    assert Condition(contains="social").test("paid_social")
    assert Condition(ends_with="push").test("web_push")
    assert not Condition(ends_with="push").test("pushy")


@pytest.mark.parametrize(
    ("source", "medium", "channel"),
    [
        ("firebase", "(none)", "Mobile Push Notifications"),  # Google: "OR Source exactly matches firebase"
        ("firebase", "fcm", "Mobile Push Notifications"),
        ("Firebase", "campaign", "Mobile Push Notifications"),  # case-insensitive, like every clause
        ("firebase", "cpc", "Paid Other"),  # earlier clauses still win: first match
        ("firebase", "email", "Email"),
        ("firebase.example", "fcm", UNASSIGNED),  # exactly firebase, not a prefix
    ],
)
def test_mobile_push_includes_the_firebase_source(source: str, medium: str, channel: str) -> None:
    assert classify(source, medium) == channel
