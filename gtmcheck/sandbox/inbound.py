"""Real-looking inbound leads: contacts created in the hours before the sandbox loads, already routed.

A nightly audit of production looks at the leads people submitted in the last day, not at synthetic ones, so
the demo needs some. Scenario section (one of the two forms)::

    inbound: {file: inbound.csv}              # columns become properties; `ago` (e.g. 3h) is how long
                                                   # before load the lead came in; `id` becomes `source_id`
    inbound: {leads: 40, seed: 3, within: 20h}     # generated: countries and sizes across every territory

Each lead is created ``ago`` before the real clock at load and routed by the scenario's own ``routing:``
workflow (``routing.Router``, the code path of a contact created through the API), its owner set
``routing.delay_ms`` after creation, with ``hubspot_owner_assigneddate`` and the owner's property history as
HubSpot keeps them. The leads carry no gtmcheck tag: they are the portal's own.
"""

from __future__ import annotations

import csv
import io
import random
from pathlib import Path
from typing import Any

from ..durations import SCHEMA as DURATION_SCHEMA
from ..durations import duration_seconds
from ..errors import SpecError, UnreadableFile
from ..safefile import read_text_capped

__all__ = ["INBOUND_SCHEMA", "InboundLead", "inbound_leads"]

MAX_INBOUND_BYTES = 16 * 1024 * 1024
DEFAULT_WITHIN = "20h"
_COUNTRIES = ("DE", "FR", "GB", "NL", "ES", "IT", "US", "CA", "JP", "AU", "SG", "BR")
_SIZES = (40, 180, 650, 1000, 1500, 4200)

INBOUND_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "x-default": "none: every contact is from the CSVs (created long ago)",
    "description": "Inbound leads created in the hours before the sandbox loads (relative to the real clock) and "
    "routed by `routing:` at load, as a nightly audit of real leads sees them: from a CSV (`file`, with an "
    "`ago` column) or generated (`leads`, `seed`, `within`).",
    "examples": [{"file": "inbound.csv"}, {"leads": 40, "seed": 3, "within": "20h"}],
    "properties": {
        "file": {"type": "string", "minLength": 1, "x-default": "generated leads",
                 "description": "A CSV relative to the scenario file: columns become contact properties, `id` "
                 "becomes `source_id`, and `ago` (a duration such as 3h) is how long before load the lead came in.",
                 "examples": ["inbound.csv"]},
        "leads": {"type": "integer", "minimum": 0, "maximum": 100_000, "default": 0,
                  "description": "How many leads to generate (without `file`).", "examples": [40]},
        "seed": {"type": "integer", "default": 0, "description": "The random seed of generated leads.",
                 "examples": [3]},
        "within": {**DURATION_SCHEMA, "default": DEFAULT_WITHIN,
                   "description": "Generated leads came in during this long before load.", "examples": ["20h"]},
    },
}


class InboundLead:
    """One lead to load: its properties and how many seconds before load it was created."""

    __slots__ = ("ago_s", "properties")

    def __init__(self, properties: dict[str, str], ago_s: float) -> None:
        self.properties = properties
        self.ago_s = ago_s


def inbound_leads(spec: dict[str, Any], base: Path, where: Any) -> list[InboundLead]:
    """The leads a scenario's ``inbound:`` section declares; a SpecError at its line when the file is unusable."""
    if not spec:
        return []
    if spec.get("file"):
        return _from_file(str(spec["file"]), base, where)
    return _generated(int(spec.get("leads", 0)), int(spec.get("seed", 0)), str(spec.get("within", DEFAULT_WITHIN)))


def _from_file(rel: str, base: Path, where: Any) -> list[InboundLead]:
    try:
        text = read_text_capped(base / rel, MAX_INBOUND_BYTES, expect="a .csv file")
    except UnreadableFile as exc:
        raise SpecError(f"inbound.file {rel!r} {exc.problem}", where("inbound", "file"),
                        exc.hint or "give a CSV path relative to the scenario file") from None
    leads = []
    for row_no, row in enumerate(csv.DictReader(io.StringIO(text, newline="")), start=2):
        if None in row or None in row.values():
            raise SpecError(f"{rel} line {row_no}: wrong number of columns", where("inbound", "file"),
                            "fix the CSV row")
        ago = duration_seconds(str(row.pop("ago", "") or "").strip())
        if ago is None:
            raise SpecError(f"{rel} line {row_no}: `ago` is not a duration", where("inbound", "file"),
                            "give each lead an `ago` such as 45m or 3h")
        props = {("source_id" if k == "id" else k): v for k, v in row.items() if v != ""}
        leads.append(InboundLead(props, ago))
    return leads


def _generated(count: int, seed: int, within: str) -> list[InboundLead]:
    rng = random.Random(seed)
    span = duration_seconds(within) or 0.0
    leads = []
    for i in range(count):
        n = i + 1
        props = {"source_id": f"in{n:05d}", "email": f"lead.{n}@inbound-{n}.example", "firstname": "Lead",
                 "lastname": str(n), "country": rng.choice(_COUNTRIES), "employees": str(rng.choice(_SIZES))}
        leads.append(InboundLead(props, rng.uniform(60.0, max(60.0, span))))
    return leads
