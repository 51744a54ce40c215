"""The attribution kind as a user meets it: a closed schema, ATTR1xx lint at the right lines, each ATTR-* check
passing and failing on a small DuckDB warehouse built here, and the demo's healthy and drifted outcomes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest
from warehouses import load_csv_tables

from gtmcheck import schemadoc
from gtmcheck.baseline import BaselineEntry, write_entry
from gtmcheck.bundled import DEMO_DIR
from gtmcheck.cli import main
from gtmcheck.context import RunContext
from gtmcheck.errors import CheckError, CheckFailed, Evidence
from gtmcheck.kinds import PendingKind, get_kind
from gtmcheck.kinds.attribution import AttributionKind
from gtmcheck.kinds.attribution.schema import SCHEMA
from gtmcheck.kinds.base import WAREHOUSE, Check
from gtmcheck.project import load_project
from gtmcheck.spec import load_checklist

HEADER = """\
kind: attribution
name: Attribution
owner: revops@acme.example
built_by: jane@acme.example
signoff: {by: pat@acme.example, role: cro, on: 2026-11-21}
"""
UTM = """\
kind: utm
name: UTM
owner: mops@acme.example
built_by: jane@acme.example
signoff: {by: lee@acme.example, role: head_of_marketing_ops, on: 2026-11-20}
channels:
  preset: ga4
  expected: [Paid Search, Paid Social, Email]
"""
MODEL = """\
model:
  name: position_based
  weights: {first: 0.4, middle: 0.2, last: 0.4}
rationale: First and last touch carry the story.
lookback: {days: 90}
conversions: {table: conversions, value: value}
touchpoints: {table: touchpoints, source: source, medium: medium}
attribution: {table: attribution}
"""
FULL = HEADER + MODEL + """\
channels: {utm: utm.gtm.yml, unassigned_max: 5%}
baseline: {go_live: 2026-12-01, max_shift: 5pp, per_channel: {Email: 50pp}}
board_view: {table: board}
review: {cadence: monthly, last: 2026-11-20}
manual:
  - {id: ATTR-BOARD-SIGNOFF, evidence: board minutes BRD-1, attested_by: pat@acme.example, on: 2026-11-21}
"""
TODAY = date(2026, 11, 27)
TOUCHES = [  # id, contact, channel, source, medium, at
    ("t1", "p1", "Paid Search", "google", "cpc", "2026-11-01T10:00:00Z"),
    ("t2", "p1", "Email", "newsletter", "email", "2026-11-10T10:00:00Z"),
    ("t3", "p1", "Paid Social", "linkedin", "paid_social", "2026-11-15T10:00:00Z"),
    ("t4", "p2", "Email", "newsletter", "email", "2026-11-18T10:00:00Z"),
]
CONVERSIONS = [("c1", "p1", "2026-11-20T00:00:00Z", 100.0), ("c2", "p2", "2026-11-21T00:00:00Z", 50.0),
               ("c3", "p3", "2026-11-22T00:00:00Z", 10.0)]
# position_based by hand: c1's three touches 0.4 / 0.2 / 0.4; c2's one touch takes it all; c3 has none
ATTRIBUTION = [("c1", "t1", "Paid Search", 0.4), ("c1", "t2", "Email", 0.2), ("c1", "t3", "Paid Social", 0.4),
               ("c2", "t4", "Email", 1.0), ("c3", None, "Unattributed", 1.0)]
BOARD = [("Paid Search", 0.4), ("Email", 1.2), ("Paid Social", 0.4), ("Unattributed", 1.0)]


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def warehouse(root: Path, *, touches: list[tuple[Any, ...]] = TOUCHES,
              attribution: list[tuple[Any, ...]] = ATTRIBUTION, board: list[tuple[Any, ...]] = BOARD) -> None:
    con = duckdb.connect(str(root / "wh.duckdb"))
    try:
        con.execute("create or replace table touchpoints (id varchar, contact_id varchar, channel varchar, "
                    "source varchar, medium varchar, occurred_at varchar)")
        con.executemany("insert into touchpoints values (?, ?, ?, ?, ?, ?)", touches)
        con.execute("create or replace table conversions (id varchar, contact_id varchar, converted_at varchar, "
                    "value double)")
        con.executemany("insert into conversions values (?, ?, ?, ?)", CONVERSIONS)
        con.execute("create or replace table attribution (conversion_id varchar, touchpoint_id varchar, "
                    "channel varchar, credit double)")
        con.executemany("insert into attribution values (?, ?, ?, ?)", attribution)
        con.execute("create or replace table board (channel varchar, credit double)")
        con.executemany("insert into board values (?, ?)", board)
    finally:
        con.close()


def stack(root: Path, text: str = FULL, **tables: Any) -> Path:
    """A project with a DuckDB warehouse, the utm checklist and ``text`` as checks/a.gtm.yml."""
    write(root / "gtmcheck.yml", 'version: 1\nenvironments:\n  local:\n    warehouse: {url: "duckdb:///wh.duckdb"}\n')
    write(root / "checks" / "utm.gtm.yml", UTM)
    warehouse(root, **tables)
    return write(root / "checks" / "a.gtm.yml", text)


def context(root: Path, today: date = TODAY) -> RunContext:
    project = load_project(root)
    ctx = RunContext(project=project, environment=project.environment("local"))
    ctx.today = lambda: today  # type: ignore[method-assign]  # the calendar the checks reason in
    return ctx


def checks(path: Path) -> dict[str, Check]:
    return {c.name: c for c in get_kind("attribution").checks(load_checklist(path))}


def run(path: Path, name: str, today: date = TODAY) -> Evidence:
    ctx = context(path.parent.parent, today)
    try:
        return checks(path)[name].run(ctx)
    finally:
        wh = ctx.cache.get("reconcile.warehouse")
        if wh is not None:
            wh.close()


def failure(path: Path, name: str, today: date = TODAY) -> CheckFailed:
    with pytest.raises(CheckFailed) as failed:
        run(path, name, today)
    return failed.value


def lint_json(capsys: pytest.CaptureFixture[str], *paths: Path) -> tuple[int, list[dict[str, Any]]]:
    code = main(["lint", *map(str, paths), "--format", "json"])
    return code, json.loads(capsys.readouterr().out)


# --- schema and lint -------------------------------------------------------------------------------------------


def test_attribution_is_a_built_kind_with_a_closed_published_schema(capsys: pytest.CaptureFixture[str]) -> None:
    kind = get_kind("attribution")
    assert isinstance(kind, AttributionKind) and not isinstance(kind, PendingKind)
    assert main(["schema", "--kind", "attribution"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["additionalProperties"] is False
    assert schema["properties"]["model"]["properties"]["name"]["enum"][0] == "first_touch"
    assert {"model", "rationale", "lookback", "conversions", "touchpoints", "attribution", "tolerance", "channels",
            "baseline", "board_view", "review"} <= set(schema["properties"])


def test_every_key_is_documented_and_the_reference_page_is_generated(repo: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    assert schemadoc.gaps({"type": "object", "properties": SCHEMA}) == []
    assert main(["schema", "--kind", "attribution", "--format", "markdown"]) == 0
    assert (repo / "docs" / "attribution-reference.md").read_text() == capsys.readouterr().out, (
        "docs/attribution-reference.md is stale: run `gtmcheck schema --kind attribution --format markdown > "
        "docs/attribution-reference.md`")


def test_a_typo_is_unusable_input_at_its_line_with_a_did_you_mean(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    path = stack(tmp_path, FULL.replace("review: {cadence: monthly", "review: {cadense: monthly"))
    code, found = lint_json(capsys, path)
    assert code == 2
    assert [(f["rule"], f["line"]) for f in found] == [("GTM001", 17)]
    assert found[0]["fix"] == "did you mean `cadence`?"
    write(path, FULL.replace("name: position_based", "name: u_shaped"))
    code, found = lint_json(capsys, path)
    assert (code, found[0]["line"], found[0]["column"]) == (2, 7, 9)
    assert found[0]["fix"] == "did you mean `w_shaped`?"


def test_the_demo_and_the_init_example_lint_clean(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, found = lint_json(capsys, repo / "checks" / "attribution.gtm.yml",
                            repo / "gtmcheck" / "templates" / "checks" / "attribution.gtm.yml")
    assert (code, found) == (0, [])


LINTED = [  # (what is changed, rule, line, column)
    (("first: 0.4, middle: 0.2, last: 0.4", "first: 0.4, middle: 0.2, last: 0.3"), "ATTR101", 8, 12),
    (("  name: position_based\n  weights: {first: 0.4, middle: 0.2, last: 0.4}",
      "  name: time_decay\n  half_life: 0d"), "ATTR102", 8, 14),
    (("rationale: First and last touch carry the story.\n", ""), "ATTR103", 6, 1),
    (("rationale: First and last touch carry the story.", "rationale: TBD"), "ATTR103", 9, 12),
    (("cadence: monthly", "cadence: quarterly"), "ATTR104", 17, 19),
    (("role: cro", "role: revops"), "ATTR105", 5, 1),
    (("attested_by: pat@acme.example", "attested_by: sam@acme.example"), "ATTR105", 19, 74),
    (("utm: utm.gtm.yml", "utm: a.gtm.yml"), "ATTR106", 14, 17),
    (("utm: utm.gtm.yml", "utm: nowhere.gtm.yml"), "ATTR106", 14, 17),
    (("  name: position_based\n  weights: {first: 0.4, middle: 0.2, last: 0.4}",
      "  name: external\n  vendor: Dreamdata\n  half_life: 7d"), "ATTR107", 9, 3),
    (("  weights: {first: 0.4, middle: 0.2, last: 0.4}", "  weights: {first: 0.4, middle: 0.2, last: 0.4}\n"
      "  half_life: 7d"), "ATTR108", 9, 3),
    (("attribution: {table: attribution}\n", ""), "ATTR109", 6, 1),
    (("board_view: {table: board}", "board_view: {sql: \"select channel, credit from board; drop table x\"}"),
     "ATTR110", 16, 19),
    (("attribution: {table: attribution}", "attribution: {table: attribution, unit: value}"), "ATTR111", 13, 41),
]


@pytest.mark.parametrize(("change", "rule", "line", "column"), LINTED, ids=[str(i) for i in range(len(LINTED))])
def test_each_lint_rule_points_at_the_line_to_fix(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                  change: tuple[str, str], rule: str | None, line: int,
                                                  column: int) -> None:
    text = FULL.replace(*change)
    if rule == "ATTR111":
        text = text.replace("conversions: {table: conversions, value: value}", "conversions: {table: conversions}")
    assert change[0] in FULL
    path = stack(tmp_path, text)
    code, found = lint_json(capsys, path)
    ours = [(f["rule"], f["line"], f["column"]) for f in found if f["rule"].startswith("ATTR")]
    if rule is None:
        assert (code, ours) == (0, [])
        return
    assert (rule, line, column) in ours, found
    finding = next(f for f in found if f["rule"] == rule)
    assert finding["fix"] and code == (1 if finding["severity"] == "error" else 0)


def test_w_shaped_without_milestones_is_a_warning(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = stack(tmp_path, FULL.replace("  name: position_based\n  weights: {first: 0.4, middle: 0.2, last: 0.4}",
                                        "  name: w_shaped"))
    code, found = lint_json(capsys, path)
    assert [(f["rule"], f["severity"], f["line"]) for f in found] == [("ATTR112", "warning", 10)]
    assert code == 0


def test_gtmcheck_rules_lists_the_attribution_rules(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules"]) == 0
    listed = capsys.readouterr().out
    assert all(f"ATTR{n}" in listed for n in range(101, 113))
    assert "attribution.weights-not-one" in listed and "attribution.cadence-longer-than-monthly" in listed


# --- the checks on a small warehouse ----------------------------------------------------------------------------


def test_the_checks_a_full_checklist_configures(tmp_path: Path) -> None:
    found = checks(stack(tmp_path))
    assert list(found) == ["ATTR-MODEL-DOCUMENTED", "ATTR-MODEL-DOCUMENTED[invariants]", "ATTR-CHANNELS-TRACKED",
                           "ATTR-BASELINE", "ATTR-BOARD-SIGNOFF", "ATTR-REVIEW-CADENCE"]
    assert found["ATTR-MODEL-DOCUMENTED"].needs == frozenset({WAREHOUSE})
    assert found["ATTR-REVIEW-CADENCE"].needs == frozenset()
    assert found["ATTR-BOARD-SIGNOFF"].reads_attestation


def test_the_model_recomputed_agrees_with_a_hand_made_table(tmp_path: Path) -> None:
    evidence = run(stack(tmp_path), "ATTR-MODEL-DOCUMENTED")
    assert evidence.summary == ("position_based (first 0.4, middle 0.2, last 0.4), lookback 90 days recomputed in "
                                "the warehouse agrees with attribution within 0.001 for every conversion "
                                "(4 channels credited)")


def test_a_credit_moved_names_the_conversion_and_its_channels(tmp_path: Path) -> None:
    moved = [("c1", "t1", "Paid Search", 0.5), *ATTRIBUTION[1:2], ("c1", "t3", "Paid Social", 0.3), *ATTRIBUTION[3:]]
    failed = failure(stack(tmp_path, attribution=moved), "ATTR-MODEL-DOCUMENTED")
    assert failed.message.startswith("attribution does not hold the declared position_based (first 0.4, middle 0.2, "
                                     "last 0.4), lookback 90 days: 1 conversion(s) differ by more than 0.001: c1 "
                                     "Paid Search: expected 0.4, attribution has 0.5; c1 Paid Social: expected 0.4, "
                                     "attribution has 0.3")
    assert [r["conversion_id"] for r in failed.evidence.details["conversions"]] == ["c1", "c1"]


def test_a_different_model_fails_where_the_tables_agree(tmp_path: Path) -> None:
    path = stack(tmp_path, FULL.replace("  name: position_based\n  weights: {first: 0.4, middle: 0.2, last: 0.4}",
                                        "  name: linear"))
    failed = failure(path, "ATTR-MODEL-DOCUMENTED")
    assert "declared linear" in failed.message and "c1 Email: expected 0.333333, attribution has 0.2" in \
        failed.message


def test_no_rationale_fails_the_model_item(tmp_path: Path) -> None:
    path = stack(tmp_path, FULL.replace("rationale: First and last touch carry the story.\n", ""))
    assert failure(path, "ATTR-MODEL-DOCUMENTED").message == ("the position_based model has no rationale: the DoD "
                                                              "asks for the model and why")


def test_an_external_model_is_held_to_the_invariants_only(tmp_path: Path) -> None:
    text = FULL.replace("  name: position_based\n  weights: {first: 0.4, middle: 0.2, last: 0.4}",
                        "  name: external\n  vendor: Dreamdata")
    skewed = [("c1", "t1", "Paid Search", 0.9), ("c1", "t3", "Paid Social", 0.1), *ATTRIBUTION[3:]]
    path = stack(tmp_path, text, attribution=skewed)
    assert run(path, "ATTR-MODEL-DOCUMENTED").summary.startswith("external model by Dreamdata, documented")
    assert run(path, "ATTR-MODEL-DOCUMENTED[invariants]").summary.startswith("attribution keeps every invariant")


def test_the_invariants_pass_and_report_the_unattributed_share(tmp_path: Path) -> None:
    evidence = run(stack(tmp_path), "ATTR-MODEL-DOCUMENTED[invariants]")
    assert evidence.summary == ("attribution keeps every invariant (sums, signs, window, no conversion dropped); "
                                "1 of 3 conversions only in the Unattributed bucket (33.3%)")


def test_each_broken_invariant_is_named(tmp_path: Path) -> None:
    broken = [*ATTRIBUTION[:3], ("c1", "t3", "Paid Social", 0.4),  # c1 counted twice for t3: sums to 1.4
              ("c2", "t4", "Email", 1.5), ("c2", "t1", "Paid Search", -0.5)]  # negative; t1 is p1's; c3 dropped
    failed = failure(stack(tmp_path, attribution=broken), "ATTR-MODEL-DOCUMENTED[invariants]")
    assert failed.message.startswith("attribution breaks 3 invariant(s): credits not summing to 1 (1): c1 sums to "
                                     "1.4, not 1; negative credits (1): c2 Paid Search: -0.5; ")
    assert "conversions dropped (no row, not even in the Unattributed bucket) (1): c3" in failed.message
    after = [*ATTRIBUTION[:3], ("c2", "t9", "Email", 1.0), ATTRIBUTION[4]]
    touches = [*TOUCHES, ("t9", "p2", "Email", "newsletter", "email", "2026-11-25T10:00:00Z")]
    failed = failure(stack(tmp_path, touches=touches, attribution=after), "ATTR-MODEL-DOCUMENTED[invariants]")
    assert "outside the window" in failed.message and "c2 touch t9 at 2026-11-25 10:00:00" in failed.message


def test_every_reported_channel_is_tracked_and_attributed(tmp_path: Path) -> None:
    evidence = run(stack(tmp_path), "ATTR-CHANNELS-TRACKED")
    assert evidence.summary == ("all 3 channels of utm.gtm.yml have touches and credit in the 90 days to "
                                "2026-11-27; Unassigned 0.0% of 4 touches (max 5%)")


def test_a_channel_without_recent_touches_is_named(tmp_path: Path) -> None:
    path = stack(tmp_path)
    failed = failure(path, "ATTR-CHANNELS-TRACKED", today=date(2027, 2, 5))  # t1 (Paid Search) is 96 days old
    assert failed.message == "Paid Search: no touches in the 90 days to 2027-02-05"
    assert failed.received == "missing: Paid Search; Unassigned 0.0%"


def test_a_channel_with_touches_but_no_credit_is_named(tmp_path: Path) -> None:
    no_social = [*ATTRIBUTION[:2], ("c1", "t3", "Email", 0.4), *ATTRIBUTION[3:]]
    failed = failure(stack(tmp_path, attribution=no_social), "ATTR-CHANNELS-TRACKED")
    assert failed.message == "Paid Social: touches in the 90 days to 2026-11-27 but no credit in attribution"


def test_untagged_touches_over_the_limit_fail(tmp_path: Path) -> None:
    untagged = [*TOUCHES, ("t5", "p4", "Paid Social", "", "", "2026-11-20T10:00:00Z")]  # the map says Unassigned
    failed = failure(stack(tmp_path, touches=untagged), "ATTR-CHANNELS-TRACKED")
    assert failed.message == "1 of 5 touches (20.0%) are Unassigned, over 5%"
    path = stack(tmp_path, FULL.replace("unassigned_max: 5%", "unassigned_max: 20%"), touches=untagged)
    assert run(path, "ATTR-CHANNELS-TRACKED").summary.endswith("Unassigned 20.0% of 5 touches (max 20%)")


def test_a_channels_utm_that_is_not_a_utm_checklist_cannot_be_verified(tmp_path: Path) -> None:
    path = stack(tmp_path, FULL.replace("utm: utm.gtm.yml", "utm: a.gtm.yml"))
    with pytest.raises(CheckError, match=r"'a.gtm.yml' is a `kind: attribution` checklist, not `kind: utm` "
                                         r"\(ATTR106 at .*a.gtm.yml:14:17\)"):
        run(path, "ATTR-CHANNELS-TRACKED")


def save_baseline(path: Path, saved_on: date, shares: dict[str, float], settings: dict[str, Any] | None = None) -> None:
    checklist = load_checklist(path)
    observed = {"credit_share": shares}
    if settings is not None:
        observed["settings"] = settings  # type: ignore[assignment]
    write_entry(path.parent.parent, BaselineEntry("checks/a.gtm.yml", "attribution", "Attribution", checklist.owner,
                                                  "local", f"{saved_on}T09:00:00Z", saved_on, observed))


def observed(path: Path) -> dict[str, Any]:
    ctx = context(path.parent.parent)
    try:
        return dict(get_kind("attribution").observe(load_checklist(path), ctx))
    finally:
        ctx.cache["reconcile.warehouse"].close()


def test_observe_gives_credit_shares_and_settings(tmp_path: Path) -> None:
    seen = observed(stack(tmp_path))
    # measured shares: BASELINE-DRIFT holds each to the checklist's threshold, as ATTR-BASELINE does
    assert {c: v["value"] for c, v in seen["credit_share"].items()} == {
        "Email": 0.4, "Paid Search": 0.133333, "Paid Social": 0.133333, "Unattributed": 0.333333}
    assert seen["credit_share"]["Email"]["tolerance_abs"] == 0.5  # per_channel: Email may move 50pp
    assert seen["credit_share"]["Paid Search"]["tolerance_abs"] == 0.05
    assert seen["settings"]["model"] == "position_based (first 0.4, middle 0.2, last 0.4)"
    assert seen["settings"]["lookback"] == {"days": 90, "steps": None}
    assert seen["settings"]["channel_rules"].startswith("sha256:")


def test_observe_says_when_the_table_cannot_be_read(tmp_path: Path) -> None:
    path = stack(tmp_path, FULL.replace("attribution: {table: attribution}", "attribution: {table: nowhere}"))
    with pytest.raises(CheckError, match="nowhere"):
        observed(path)


def test_no_baseline_fails_with_the_fix(tmp_path: Path) -> None:
    failed = failure(stack(tmp_path), "ATTR-BASELINE")
    assert failed.message == ("no baseline is saved for this checklist; run `gtmcheck baseline save` on the "
                              "signed-off stack before go-live and commit gtmcheck-baseline/")


def test_a_baseline_saved_before_go_live_passes_and_one_after_fails(tmp_path: Path) -> None:
    path = stack(tmp_path)
    seen = observed(path)
    save_baseline(path, date(2026, 11, 27), seen["credit_share"], seen["settings"])
    assert run(path, "ATTR-BASELINE").summary.startswith("baseline saved on 2026-11-27, before go-live on 2026-12-01")
    save_baseline(path, date(2026, 12, 2), seen["credit_share"], seen["settings"])
    assert failure(path, "ATTR-BASELINE").message == ("the baseline was saved on 2026-12-02, after go-live "
                                                      "(2026-12-01): it is not a historical baseline")


def test_after_go_live_each_moved_share_and_changed_setting_is_named(tmp_path: Path) -> None:
    path = stack(tmp_path)
    seen = observed(path)
    later = date(2027, 1, 15)
    save_baseline(path, date(2026, 11, 27), seen["credit_share"], seen["settings"])
    assert run(path, "ATTR-BASELINE", later).summary.startswith("4 channels' credit shares within their thresholds")
    shares = {**seen["credit_share"], "Paid Search": 0.25, "Email": 0.1}  # plain: older baselines; Email may move 50pp
    save_baseline(path, date(2026, 11, 27), shares, {**seen["settings"], "lookback": {"days": 30, "steps": None}})
    failed = failure(path, "ATTR-BASELINE", later)
    assert failed.message == ("since the baseline of 2026-11-27: Paid Search 25.0% -> 13.3% (-11.7pp, max 5pp); "
                              "lookback changed: {'days': 30, 'steps': None} -> {'days': 90, 'steps': None}")


def test_the_board_view_reconciles_and_is_signed_by_the_cro(tmp_path: Path) -> None:
    evidence = run(stack(tmp_path), "ATTR-BOARD-SIGNOFF")
    assert evidence.summary == ("board view (board) agrees with attribution per channel (3 credit (share)"
                                " agree between warehouse attribution and warehouse board, 4 groups "
                                "compared); signed off by pat@acme.example (cro) on 2026-11-21: board minutes BRD-1")


def test_a_board_view_that_does_not_add_up_fails_with_reconciles_message(tmp_path: Path) -> None:
    board = [("Paid Search", 0.4), ("Email", 1.0), ("Paid Social", 0.4), ("Unattributed", 1.0)]
    failed = failure(stack(tmp_path, board=board), "ATTR-BOARD-SIGNOFF")
    assert failed.message.startswith("the board view (board) does not add up to attribution per channel: expected "
                                     "3 credit (share) (warehouse attribution), received 2.8 (warehouse board), "
                                     "diff -0.2 (-6.7%); 1 of 4 groups differ, largest first: Email: expected 1.2, "
                                     "received 1")


def test_a_board_view_in_sql_is_read_only_and_reconciled(tmp_path: Path) -> None:
    sql = "board_view: {sql: \"select channel, sum(credit) as credit from attribution group by channel\"}"
    assert run(stack(tmp_path, FULL.replace("board_view: {table: board}", sql)), "ATTR-BOARD-SIGNOFF")
    unsafe = "board_view: {sql: \"delete from attribution\"}"
    with pytest.raises(CheckError, match=r"not a SELECT .*ATTR110 at .*a.gtm.yml:16:19"):
        run(stack(tmp_path, FULL.replace("board_view: {table: board}", unsafe)), "ATTR-BOARD-SIGNOFF")


def test_the_board_sign_off_must_be_the_cro_s(tmp_path: Path) -> None:
    path = stack(tmp_path, FULL.replace("attested_by: pat@acme.example", "attested_by: sam@acme.example"))
    assert failure(path, "ATTR-BOARD-SIGNOFF").message == ("ATTR-BOARD-SIGNOFF is attested by sam@acme.example, "
                                                           "who is not a cro or vp_revenue signer (pat@acme.example)")
    path = stack(tmp_path, FULL.split("manual:")[0])
    assert failure(path, "ATTR-BOARD-SIGNOFF").message.startswith("the board view is not signed off: attest "
                                                                  "ATTR-BOARD-SIGNOFF under `manual:`")


def test_a_stale_board_sign_off_no_longer_counts(tmp_path: Path) -> None:
    path = stack(tmp_path)
    write(tmp_path / "gtmcheck.yml", (tmp_path / "gtmcheck.yml").read_text()
          + "governance: {max_age: {attestation: 5d}}\n")  # governance ages attestations on the wall clock
    failed = failure(path, "ATTR-BOARD-SIGNOFF")
    assert "ATTR-BOARD-SIGNOFF attested on 2026-11-21 is stale" in failed.message


def test_the_review_cadence_passes_then_lapses(tmp_path: Path) -> None:
    path = stack(tmp_path)
    assert run(path, "ATTR-REVIEW-CADENCE").summary == ("reviewed monthly; last on 2026-11-20, 7 days ago (next due "
                                                        "within 24 days)")
    failed = failure(path, "ATTR-REVIEW-CADENCE", date(2027, 2, 26))
    assert failed.message == ("the review has lapsed: the last one was on 2026-11-20, 98 days before 2027-02-26; "
                              "monthly allows 31")
    path = stack(tmp_path, FULL.replace("cadence: monthly", "cadence: 45d"))
    assert "is longer than monthly" in failure(path, "ATTR-REVIEW-CADENCE").message


def test_checks_never_write_to_the_warehouse(tmp_path: Path) -> None:
    path = stack(tmp_path)
    before = (tmp_path / "wh.duckdb").read_bytes()
    for name in checks(path):
        try:
            run(path, name)
        except (CheckFailed, CheckError):
            pass
    assert (tmp_path / "wh.duckdb").read_bytes() == before


# --- the demo, end to end -------------------------------------------------------------------------------------


def demo_run(repo: Path, out: Path, env: str, cache: Path) -> tuple[int, dict[str, dict[str, Any]], str]:
    result = subprocess.run(
        [sys.executable, "-m", "gtmcheck.cli", "run", "--env", env, "checks/attribution.gtm.yml", "--report-dir",
         str(out)], cwd=repo, capture_output=True, text=True, timeout=300,
        env={**os.environ, "GTMCHECK_CACHE_DIR": str(cache)})
    output = result.stdout + result.stderr
    assert "Traceback" not in output
    report = json.loads((out / "report.json").read_text())
    return result.returncode, {i["id"]: i for c in report["checklists"] for i in c["items"]}, output


def test_the_healthy_demo_passes_every_item(repo: Path, tmp_path: Path) -> None:
    code, found, output = demo_run(repo, tmp_path / "out", "sandbox", tmp_path / "cache")
    assert code == 0, output
    assert {k: v["status"] for k, v in found.items()} == {
        "ATTR-MODEL-DOCUMENTED": "passed", "ATTR-MODEL-DOCUMENTED[invariants]": "passed",
        "ATTR-CHANNELS-TRACKED": "passed", "ATTR-BASELINE": "passed", "ATTR-BOARD-SIGNOFF": "passed",
        "ATTR-REVIEW-CADENCE": "passed", "BASELINE-DRIFT": "passed"}  # the committed baseline is tonight's stack
    assert "signed off by pat@acme.example (cro)" in found["ATTR-BOARD-SIGNOFF"]["evidence"]


def test_the_drifted_demo_fails_each_item_for_its_own_fault(repo: Path, tmp_path: Path) -> None:
    code, found, output = demo_run(repo, tmp_path / "out", "sandbox-drifted", tmp_path / "cache")
    assert code == 1, output
    channels = found["ATTR-CHANNELS-TRACKED"]
    assert channels["status"] == "failed" and channels["message"].startswith(
        "Paid Video: no touches in the 90 days to 2027-02-26")
    invariants = found["ATTR-MODEL-DOCUMENTED[invariants]"]
    assert invariants["status"] == "failed"
    assert invariants["message"].startswith("attribution breaks 1 invariant(s): credits not summing to 1 (1): d005 "
                                            "sums to 2, not 1")
    cadence = found["ATTR-REVIEW-CADENCE"]
    assert cadence["status"] == "failed" and "lapsed" in cadence["message"] and "2027-02-26" in cadence["message"]
    assert "d005" in found["ATTR-MODEL-DOCUMENTED"]["message"]  # the double count differs from the model too
    assert "Paid Video" in found["ATTR-BASELINE"]["message"]  # and moved Paid Video's share since the baseline
    assert found["ATTR-BOARD-SIGNOFF"]["status"] == "passed"  # the board view reads the same table



# --- the same checks on every warehouse of the matrix ---------------------------------------------------------


def test_the_demo_checks_pass_on_every_warehouse_of_the_matrix(repo: Path, tmp_path: Path,
                                                               warehouse_url: str) -> None:
    """DuckDB, PostgreSQL and Snowflake (fakesnow) each run the demo's model, invariants, channel and board
    queries over the healthy demo's tables, typed as the demo warehouse types them."""
    load_csv_tables(warehouse_url, DEMO_DIR / "data", ["conversions", "touchpoints", "attribution"])
    url = json.dumps(warehouse_url)
    write(tmp_path / "gtmcheck.yml", f"version: 1\nenvironments:\n  matrix:\n    warehouse: {{url: {url}}}\n")
    project = load_project(tmp_path)
    ctx = RunContext(project=project, environment=project.environment("matrix"))
    ctx.today = lambda: TODAY  # type: ignore[method-assign]
    found = checks(repo / "checks" / "attribution.gtm.yml")
    try:
        assert found["ATTR-MODEL-DOCUMENTED"].run(ctx).summary.endswith("for every conversion (9 channels credited)")
        assert "1 of 11 conversions only in the Unattributed bucket" in \
            found["ATTR-MODEL-DOCUMENTED[invariants]"].run(ctx).summary
        assert found["ATTR-CHANNELS-TRACKED"].run(ctx).summary.startswith("all 6 channels of utm.gtm.yml")
        assert "signed off by pat@acme.example (cro)" in found["ATTR-BOARD-SIGNOFF"].run(ctx).summary
    finally:
        ctx.cache["reconcile.warehouse"].close()
