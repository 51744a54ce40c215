"""UTM-CRM-POPULATES and UTM-CHANNEL-TRACE: one synthetic form submission per channel, read back.

With ``form:`` in a utm checklist, each channel the checklist reports on (``channels.expected``; else every
channel its active URLs land in) gets one submission whose page URL carries that channel's UTM parameters:
the first active campaign URL of the channel as written, else an allowed source/medium pair of the channel
with the campaign ``gtmcheck_trace``. ``UTM-CRM-POPULATES`` passes when, for every channel, the contact's
source, medium and campaign properties equal what was sent within ``trace.crm_lag``;
``UTM-CHANNEL-TRACE[<channel>]`` traces one channel end to end: the CRM, then (with ``trace.warehouse_lag``)
the warehouse row of the contact. Both create synthetic contacts: ``writes: true`` environments only.

    form: {portal_id: 4242, guid: 6f1f2a4c-0b7e-4c55-9d1e-2d2c8c0b1a01}
    trace:
      crm_lag: 1m                 # how long the form may take to reach the contact (default 1m)
      warehouse_lag: 15m          # how long the sync may take; without it the warehouse is not read
      properties: {utm_source: utm_source, utm_medium: utm_medium, utm_campaign: utm_campaign}
      warehouse: {table: contacts, key: email}   # columns named as the CRM properties
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlencode, urlsplit

from ...durations import SCHEMA as DURATION
from ...durations import duration_seconds
from ...errors import CheckFailed, Evidence
from ...synthetic import SYNTHETIC_DOMAIN
from ..base import CRM, WAREHOUSE, WRITES, Check
from .model import UtmSpec
from .trace import FormTarget, Probe, WarehouseTarget, read_crm, read_warehouse, sent_once

if TYPE_CHECKING:
    from ...context import RunContext
    from ...spec import Checklist

POPULATES_ID = "UTM-CRM-POPULATES"
TRACE_ID = "UTM-CHANNEL-TRACE"
UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign")
TRACE_CAMPAIGN = "gtmcheck_trace"
DEFAULT_CRM_LAG = "1m"

_IDENT = {"type": "string", "pattern": r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*){0,2}$",
          "x-hint": "write a plain identifier such as contacts or analytics.contacts"}
TRACE_SCHEMA: dict[str, Any] = {
    "form": {
        "type": "object",
        "required": ["portal_id", "guid"],
        "additionalProperties": False,
        "description": "The CRM form synthetic submissions go to (HubSpot's Forms API): UTM-CRM-POPULATES and "
        "UTM-CHANNEL-TRACE become automatic checks.",
        "properties": {
            "portal_id": {"type": ["integer", "string"], "description": "The HubSpot portal (account) id."},
            "guid": {"type": "string", "minLength": 1, "description": "The form's guid."},
            "send_utm_fields": {"type": "boolean",
                                "description": "Also submit the UTM parameters as form fields (what an embed's "
                                "hidden fields do); default false: only in the page URL."},
        },
    },
    "trace": {
        "type": "object",
        "additionalProperties": False,
        "description": "How a synthetic submission is read back.",
        "properties": {
            "crm_lag": {**DURATION, "x-max-duration": "1h",
                        "description": "How long the submission may take to reach the contact (default 1m)."},
            "warehouse_lag": {**DURATION, "description": "How long the CRM-to-warehouse sync may take; "
                              "without it the warehouse is not read."},
            "properties": {
                "type": "object",
                "additionalProperties": False,
                "description": "UTM parameter -> the contact property it must land in (default: the same name).",
                "properties": {k: {"type": "string", "minLength": 1} for k in UTM_KEYS},
            },
            "warehouse": {
                "type": "object",
                "additionalProperties": False,
                "description": "Where contacts land in the warehouse; the columns are named as the properties.",
                "properties": {"table": {**_IDENT, "description": "Default contacts."},
                               "key": {**_IDENT, "description": "The email column (default email)."}},
            },
        },
    },
}


@dataclass(frozen=True)
class TraceSettings:
    """The compiled ``form:`` and ``trace:`` of a utm checklist."""

    form: FormTarget
    send_utm_fields: bool
    crm_lag_s: float
    warehouse_lag_s: float | None
    properties: dict[str, str]
    warehouse: WarehouseTarget


def settings_of(data: dict[str, Any]) -> TraceSettings | None:
    """``None`` when the checklist names no form (the two items stay manual)."""
    form = data.get("form")
    if not isinstance(form, dict):
        return None
    trace = data.get("trace") or {}
    wh = trace.get("warehouse") or {}
    lag = trace.get("warehouse_lag")
    return TraceSettings(
        form=FormTarget(str(form["portal_id"]), str(form["guid"])),
        send_utm_fields=bool(form.get("send_utm_fields", False)),
        crm_lag_s=duration_seconds(str(trace.get("crm_lag") or DEFAULT_CRM_LAG)) or 0.0,
        warehouse_lag_s=duration_seconds(str(lag)) if lag else None,
        properties={k: str((trace.get("properties") or {}).get(k, k)) for k in UTM_KEYS},
        warehouse=WarehouseTarget(str(wh.get("table", "contacts")), str(wh.get("key", "email"))),
    )


def _utm(url: str) -> dict[str, str]:
    query = parse_qs(urlsplit(url.strip()).query)
    return {k: query[k][0] for k in UTM_KEYS if query.get(k)}


def channel_params(spec: UtmSpec) -> dict[str, tuple[str, dict[str, str]]]:
    """Channel -> (page URL, its UTM parameters), for each channel the checklist reports on."""
    from .rules import _pairs as pairs

    by_channel: dict[str, tuple[str, dict[str, str]]] = {}
    for entry in spec.urls:
        params = _utm(entry.url)
        if entry.active and "utm_source" in params and "utm_medium" in params:
            channel = spec.channels.classify(params["utm_source"], params["utm_medium"],
                                             params.get("utm_campaign", ""))
            by_channel.setdefault(channel, (entry.url.strip(), params))
    wanted = list(spec.expected) or list(by_channel)
    page = f"https://{SYNTHETIC_DOMAIN}/trace"
    out: dict[str, tuple[str, dict[str, str]]] = {}
    for channel in wanted:
        if channel in by_channel:
            out[channel] = by_channel[channel]
            continue
        for source, medium in pairs(spec):
            if spec.channels.classify(source, medium, TRACE_CAMPAIGN) == channel:
                params = {"utm_source": source, "utm_medium": medium, "utm_campaign": TRACE_CAMPAIGN}
                out[channel] = (f"{page}?{urlencode(params)}", params)
                break
    return out


def probes(spec: UtmSpec, settings: TraceSettings) -> list[Probe]:
    """One probe per channel: the page URL's UTM parameters must come out in the CRM and the warehouse."""
    out = []
    for channel, (url, params) in channel_params(spec).items():
        expected = {settings.properties[k]: v for k, v in params.items()}
        fields = dict(params) if settings.send_utm_fields else {}
        out.append(Probe(channel, url, fields, expected, expected))
    return out


def trace_checks(checklist: Checklist, spec: UtmSpec) -> Iterator[Check]:
    """The two items' checks, when the checklist names a form."""
    settings = settings_of(checklist.data)
    if settings is None:
        return
    planned = probes(spec, settings)
    key = f"utm.trace:{checklist.path}"
    needs = frozenset({CRM, WRITES} | ({WAREHOUSE} if settings.warehouse_lag_s is not None else set()))
    where = checklist.location(("form",), key=True)

    def populates(ctx: RunContext) -> Evidence:
        if not planned:
            raise CheckFailed("the checklist reports on no channel, so no test lead can be sent",
                              expected="channels.expected, or active campaign URLs", received="no channel")
        sent = sent_once(ctx, key, settings.form, planned)
        misses, details = [], {}
        for channel, s in sent.items():
            rb = read_crm(ctx, s, settings.crm_lag_s)
            details[channel] = {"contact": s.contact_id, "crm": rb.values, "waited_s": round(rb.waited_s, 3)}
            misses += [f"{channel}: contact {s.contact_id}: {m}" for m in rb.misses]
        if misses:
            raise CheckFailed(f"{len(misses)} UTM values did not land in the CRM: {'; '.join(misses)}",
                              expected="each channel's utm_source, utm_medium and utm_campaign on its contact",
                              received="; ".join(misses),
                              evidence=Evidence(f"{len(misses)} UTM values missing in the CRM", details))
        return Evidence(f"{len(sent)} channels: source, medium and campaign populate in the CRM", details)

    yield Check(POPULATES_ID, populates, where, needs=needs,
                description="source, medium and campaign of a form submission land in the CRM")
    expected = list(spec.expected)
    for probe in planned:
        at = (checklist.location(("channels", "expected", expected.index(probe.label)))
              if probe.label in expected else where)
        yield Check(TRACE_ID, _tracer(key, settings, planned, probe.label), at, param=probe.label, needs=needs,
                    description=f"a test lead of {probe.label} traced from the form to the CRM and the warehouse")
    for channel in [c for c in expected if c not in {p.label for p in planned}]:
        yield Check(TRACE_ID, _unreachable(channel), checklist.location(("channels", "expected",
                                                                         expected.index(channel))),
                    param=channel, description=f"no source/medium pair of the taxonomy lands in {channel}")


def _unreachable(channel: str) -> Any:
    def run(ctx: RunContext) -> Evidence:
        raise CheckFailed(f"{channel}: no campaign URL and no allowed source/medium pair lands in this channel, "
                          "so no test lead can be sent", expected=f"a way to reach {channel}",
                          received="none")
    return run


def _tracer(key: str, settings: TraceSettings, planned: list[Probe], channel: str) -> Any:
    def run(ctx: RunContext) -> Evidence:
        sent = sent_once(ctx, key, settings.form, planned)[channel]
        crm = read_crm(ctx, sent, settings.crm_lag_s)
        details: dict[str, Any] = {"channel": channel, "contact": sent.contact_id, "page_url": sent.probe.page_url,
                                   "crm": crm.values}
        misses = [f"CRM: {m}" for m in crm.misses]
        if not misses and settings.warehouse_lag_s is not None:
            wh = read_warehouse(ctx, sent, settings.warehouse, settings.warehouse_lag_s)
            details["warehouse"] = wh.values
            misses = [f"warehouse: {m}" for m in wh.misses]
        if misses:
            raise CheckFailed(f"{channel}: contact {sent.contact_id}: {'; '.join(misses)}",
                              expected=", ".join(f"{k}={v}" for k, v in sent.probe.crm.items()),
                              received="; ".join(misses),
                              evidence=Evidence(f"{channel}: contact {sent.contact_id} not traced", details))
        return Evidence(f"{channel}: contact {sent.contact_id} traced to the CRM"
                        + (" and the warehouse" if settings.warehouse_lag_s is not None else ""), details)
    return run
