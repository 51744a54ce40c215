"""Build the demo's attribution tables in plain Python: ``python -m gtmcheck.demo.make_attribution``.

The attribution check compares a warehouse's attribution table with the declared model recomputed in SQL
(``kinds/attribution/sql.py``); for that comparison to mean anything the demo's table must come from an
independent implementation, and this is it: no SQL, no gtmcheck import, the model written out once more from
docs/attribution.md ("Models, exactly"). It writes, from ``data/deals.csv``, ``data/contacts.csv`` and
``data/touchpoints.csv``:

- ``data/conversions.csv``: the closed-won deals as conversions. A deal's contact is the company's contact
  created last on or before the close date (else the company's first contact); ``converted_at`` is the end
  of the close date, ``lead_created_at`` the end of the contact's creation date (empty when the contact was
  created after the close), ``opportunity_created_at`` the end of the deal's creation date, ``value`` its amount;
- ``data/attribution.csv``: position-based (0.4, 0.2, 0.4) over a 90-day lookback, shares per touch; a
  conversion with no touch in its window is one ``Unattributed`` row with no touch;
- ``data/drifted/touchpoints.csv``: the same touches three months on (``LATER_TOUCHES``), where Paid Video
  stopped being tagged from ``UNTAGGED_FROM``: those touches come as ``Unassigned`` with no source or medium;
- ``data/drifted/attribution.csv``: the same model over the drifted touches, with ``DOUBLE_COUNTED``'s rows
  written twice (its credits sum to 2), as a broken export would.

``--check`` writes nothing and exits 1 when a committed file differs from what the script makes (the tests
run it). Rerun the script after changing any of its inputs.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

__all__ = ["attribute", "conversions", "drifted_touches", "main", "outputs"]

DATA = Path(__file__).parent / "data"
LOOKBACK_DAYS = 90
WEIGHTS = (0.4, 0.2, 0.4)  # position-based: first, middle (spread), last
UNATTRIBUTED = "Unattributed"
UNTAGGED_CHANNEL = "Paid Video"
UNTAGGED_FROM = "2026-09-01"
DOUBLE_COUNTED = "d005"
TOUCH_COLUMNS = ["id", "contact_id", "channel", "source", "medium", "campaign", "occurred_at"]
# The drifted stack's touches after the healthy data ends (December 2026 to February 2027).
LATER_TOUCHES = [
    ["t0131", "p012", "Paid Search", "google", "cpc", "fy26q4_emea_launch", "2026-12-03T10:02:00Z"],
    ["t0132", "p024", "Paid Video", "youtube", "paid_video", "fy26q4_global_video_launch", "2026-12-09T13:30:00Z"],
    ["t0133", "p036", "Email", "newsletter", "email", "fy26q4_emea_nurture", "2026-12-15T08:45:00Z"],
    ["t0134", "p013", "Paid Social", "linkedin", "paid_social", "fy27q1_emea_launch", "2027-01-08T11:11:00Z"],
    ["t0135", "p025", "Referral", "g2.example", "referral", "(referral)", "2027-01-14T16:20:00Z"],
    ["t0136", "p038", "Paid Video", "youtube", "paid_video", "fy27q1_global_video_launch", "2027-01-20T09:05:00Z"],
    ["t0137", "p014", "Organic Social", "linkedin", "social", "(social)", "2027-01-27T14:40:00Z"],
    ["t0138", "p026", "Organic Search", "google", "organic", "(organic)", "2027-02-03T07:58:00Z"],
    ["t0139", "p040", "Direct", "(direct)", "(none)", "(direct)", "2027-02-09T19:12:00Z"],
    ["t0140", "p041", "Paid Video", "youtube", "paid_video", "fy27q1_global_video_launch", "2027-02-12T12:00:00Z"],
    ["t0141", "p042", "Email", "newsletter", "email", "fy27q1_emea_nurture", "2027-02-18T08:30:00Z"],
    ["t0142", "p043", "Paid Search", "google", "cpc", "fy27q1_emea_launch", "2027-02-22T15:25:00Z"],
]

Row = dict[str, str]


def _read(path: Path) -> list[Row]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _end_of(day: str) -> str:
    return f"{day}T23:59:59Z"


def _at(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def conversions(deals: list[Row], contacts: list[Row]) -> list[Row]:
    """The closed-won deals as conversions of the contact who bought (see the module's docstring)."""
    out = []
    for deal in deals:
        if deal["dealstage"] != "closedwon":
            continue
        staff = sorted((c for c in contacts if c["company_domain"] == deal["company_domain"]),
                       key=lambda c: (c["createdate"], c["id"]))
        known = [c for c in staff if c["createdate"] <= deal["closedate"]]
        buyer = known[-1] if known else staff[0]
        out.append({
            "id": deal["id"], "contact_id": buyer["id"], "converted_at": _end_of(deal["closedate"]),
            "value": deal["amount"],
            "lead_created_at": _end_of(buyer["createdate"]) if buyer["createdate"] <= deal["closedate"] else "",
            "opportunity_created_at": _end_of(deal["createdate"]),
        })
    return out


def _position_based(n: int) -> list[float]:
    first, middle, last = WEIGHTS
    if n == 1:
        return [1.0]
    if n == 2:
        return [first / (first + last), last / (first + last)]
    return [first] + [middle / (n - 2)] * (n - 2) + [last]


def _credit(value: float) -> str:
    return f"{value:.9f}".rstrip("0").rstrip(".")


def attribute(converted: list[Row], touches: list[Row]) -> list[Row]:
    """Position-based credits: touches of the same contact in the 90 days up to the conversion, by (time, id)."""
    by_contact: dict[str, list[Row]] = defaultdict(list)
    for touch in touches:
        by_contact[touch["contact_id"]].append(touch)
    out = []
    for conversion in converted:
        at = _at(conversion["converted_at"])
        window = sorted((t for t in by_contact[conversion["contact_id"]]
                         if at - timedelta(days=LOOKBACK_DAYS) < _at(t["occurred_at"]) <= at),
                        key=lambda t: (_at(t["occurred_at"]), t["id"]))
        if not window:
            out.append({"conversion_id": conversion["id"], "touchpoint_id": "", "channel": UNATTRIBUTED,
                        "credit": "1"})
            continue
        for touch, share in zip(window, _position_based(len(window)), strict=True):
            out.append({"conversion_id": conversion["id"], "touchpoint_id": touch["id"], "channel": touch["channel"],
                        "credit": _credit(share)})
    return out


def drifted_touches(touches: list[Row]) -> list[Row]:
    """The healthy touches and the later ones, Paid Video untagged from ``UNTAGGED_FROM`` on."""
    later = [dict(zip(TOUCH_COLUMNS, row, strict=True)) for row in LATER_TOUCHES]
    out = []
    for touch in [*touches, *later]:
        if touch["channel"] == UNTAGGED_CHANNEL and touch["occurred_at"] >= UNTAGGED_FROM:
            touch = {**touch, "channel": "Unassigned", "source": "", "medium": "", "campaign": ""}
        out.append(touch)
    return out


def _csv(rows: list[Row], columns: Sequence[str]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def outputs(data: Path = DATA) -> dict[Path, str]:
    """Every file the script writes, with its content."""
    converted = conversions(_read(data / "deals.csv"), _read(data / "contacts.csv"))
    touches = _read(data / "touchpoints.csv")
    drifted = drifted_touches(touches)
    broken = attribute(converted, drifted)
    broken += [row for row in broken if row["conversion_id"] == DOUBLE_COUNTED]
    broken.sort(key=lambda row: row["conversion_id"])
    attribution_columns = ["conversion_id", "touchpoint_id", "channel", "credit"]
    return {
        data / "conversions.csv": _csv(converted, list(converted[0])),
        data / "attribution.csv": _csv(attribute(converted, touches), attribution_columns),
        data / "drifted" / "touchpoints.csv": _csv(drifted, TOUCH_COLUMNS),
        data / "drifted" / "attribution.csv": _csv(broken, attribution_columns),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if a committed file differs")
    parser.add_argument("--data", type=Path, default=DATA, help="the demo's data folder")
    args = parser.parse_args(argv)
    stale = []
    for path, content in outputs(args.data).items():
        current = path.read_text(encoding="utf-8") if path.is_file() else None
        if current == content:
            continue
        stale.append(path)
        if not args.check:
            path.write_text(content, encoding="utf-8")
    for path in stale:
        print(f"{path}: {'differs from what make_attribution makes' if args.check else 'written'}")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
