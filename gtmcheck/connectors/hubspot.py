"""HubSpot CRM API v3 behind ``CrmConnector``: objects, search past the 10,000 cap, owners, properties.

Every call goes through one ``ApiClient`` (rate limited at HubSpot's published limits, retried on 429/5xx).
Search has its own limiter (about 5 requests per second per account) and answers at most 10,000 results
per query; past that, ``search`` partitions the query on a date property (``createdate`` by default) into
windows of at most 10,000, halving a window until it fits, and yields every record exactly once. Full
scans use the list endpoint, which has more throughput and no cap.

``hubspot_owner_id`` is also given as ``owner_id`` in ``Record.properties``, and ``owner_id`` in outgoing
properties, filters and sorts means ``hubspot_owner_id``, so kinds can use one name for both vendors.

Every body is read through an ``Answer`` (``answers.py``): an answer of another shape (a list where an object
belongs, no ``results``, an ``id`` that is an object) raises ``UnexpectedAnswer`` naming the endpoint and the
JSON path, never a ``KeyError``; a page without ``results`` is never read as "no records".
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any, Literal
from urllib.parse import quote

import httpx

from ..errors import ApiError
from .aggregation import Row, ScanCache, check_measure, fold_rows
from .answers import Answer, read_json
from .crm import (
    Filter,
    FilterGroup,
    GroupBy,
    HistoryEntry,
    Measure,
    ObjectType,
    Owner,
    Property,
    Record,
    to_epoch_ms,
)
from .http import ApiClient, RateLimiter, RetryPolicy, Sleep, hubspot_limits

DEFAULT_BASE_URL = "https://api.hubapi.com"
DEFAULT_FORMS_BASE_URL = "https://api.hsforms.com"  # HubSpot's Forms API lives on its own host
SEARCH_CAP = 10_000
SEARCH_PAGE = 200
LIST_PAGE = 100
BATCH_SIZE = 100
HISTORY_BATCH = 50  # records per batch read when ``propertiesWithHistory`` is asked (HubSpot's limit)
OWNER_ALIAS = "owner_id"
OWNER_PROPERTY = "hubspot_owner_id"
OWNER_ASSIGNED_PROPERTY = "hubspot_owner_assigneddate"  # set by HubSpot whenever the owner changes


def _name(prop: str) -> str:
    return OWNER_PROPERTY if prop == OWNER_ALIAS else prop


def filter_json(f: Filter) -> dict[str, Any]:
    """A ``Filter`` in HubSpot's search shape."""
    out: dict[str, Any] = {"propertyName": _name(f.property), "operator": f.operator}
    if f.operator in ("IN", "NOT_IN"):
        out["values"] = list(f.values) if f.values else ([f.value] if f.value is not None else [])
    elif f.operator not in ("HAS_PROPERTY", "NOT_HAS_PROPERTY"):
        if f.value is not None:
            out["value"] = f.value
        if f.operator == "BETWEEN" and f.high_value is not None:
            out["highValue"] = f.high_value
    return out


def record_from(data: Any, answer: Answer, path: str = "$") -> Record:
    """A HubSpot object JSON at ``path`` of ``answer`` as a ``Record`` (values as strings, ``owner_id`` added)."""
    data = answer.obj(data, path)
    raw = answer.sub(data, "properties", path)
    props: dict[str, str | None] = {str(k): answer.text(raw, k, f"{path}.properties") for k in raw}
    if OWNER_PROPERTY in props:
        props[OWNER_ALIAS] = props[OWNER_PROPERTY]
    return Record(
        id=answer.ident(data, "id", path),
        properties=props,
        created_at=answer.text(data, "createdAt", path),
        updated_at=answer.text(data, "updatedAt", path),
        archived=bool(data.get("archived", False)),
        owner_assigned_at=props.get(OWNER_ASSIGNED_PROPERTY) or None,
    )


class HubSpotConnector:
    """``CrmConnector`` over HubSpot's CRM API v3 (or anything that answers like it: the sandbox)."""

    vendor = "hubspot"

    def __init__(
        self,
        token: str | None,
        *,
        base_url: str = DEFAULT_BASE_URL,
        transport: httpx.BaseTransport | None = None,
        plan: str | None = None,
        retry: RetryPolicy | None = None,
        limiters: Mapping[str, RateLimiter] | None = None,
        timeout: float = 30.0,
        sleep: Sleep = time.sleep,
        forms_base_url: str | None = None,
    ) -> None:
        # the Forms API's host: api.hsforms.com for HubSpot itself, else the host that stands in for HubSpot
        self.forms_base_url = (forms_base_url or (DEFAULT_FORMS_BASE_URL if base_url.rstrip("/") == DEFAULT_BASE_URL
                                                  else base_url)).rstrip("/")
        self.http = ApiClient(
            base_url,
            vendor="hubspot",
            token=token,
            transport=transport,
            limiters=limiters if limiters is not None else hubspot_limits(plan),
            retry=retry,
            timeout=timeout,
            sleep=sleep,
        )
        self.scans = ScanCache()  # one scan per (object, filters, properties) for the connector's run

    def __repr__(self) -> str:
        return f"HubSpotConnector({self.http.base_url!r})"

    @property
    def given_up(self) -> str | None:
        """Why HubSpot is no longer dialled in this run (``None`` while it is): see ``ApiClient``."""
        return self.http.given_up

    def _call(self, method: str, path: str, **kwargs: Any) -> tuple[Any, Answer]:
        """One request's JSON body and the ``Answer`` that reads it."""
        return read_json("hubspot", self.http.request(method, path, **kwargs))

    def _page(self, method: str, path: str, **kwargs: Any) -> tuple[dict[str, Any], Answer]:
        """A page (an object with ``results``) and its ``Answer``."""
        body, answer = self._call(method, path, **kwargs)
        page = answer.obj(body)
        answer.objects(page, "results", "$")
        return page, answer

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> HubSpotConnector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- objects ---------------------------------------------------------------------------------------

    @staticmethod
    def _path(object_type: str, *rest: str) -> str:
        parts = [quote(object_type, safe=""), *(quote(p, safe="") for p in rest)]
        return "/crm/v3/objects/" + "/".join(parts)

    @staticmethod
    def _outgoing(properties: Mapping[str, str]) -> dict[str, str]:
        out = {_name(k): ("" if v is None else str(v)) for k, v in properties.items() if k != OWNER_PROPERTY}
        if OWNER_PROPERTY in properties:  # the explicit name wins over the alias
            out[OWNER_PROPERTY] = str(properties[OWNER_PROPERTY])
        return out

    @staticmethod
    def _props_param(properties: Sequence[str]) -> dict[str, str]:
        names = list(dict.fromkeys(_name(p) for p in properties))
        return {"properties": ",".join(names)} if names else {}

    def create(self, object_type: ObjectType, properties: Mapping[str, str], *,
               auto_assign: bool = True) -> Record:
        """POST ``/crm/v3/objects/{type}`` (201). HubSpot routes by workflow: ``auto_assign`` is ignored.

        A create is retried on 5xx like any call: a duplicate left by a write that did happen carries the
        run's tag and is archived with the other synthetic records.
        """
        body = {"properties": self._outgoing(properties)}
        return record_from(*self._call("POST", self._path(object_type), json=body))

    def get(self, object_type: ObjectType, record_id: str, properties: Sequence[str] = ()) -> Record:
        """GET ``/crm/v3/objects/{type}/{id}?properties=a,b`` (not search: search lags)."""
        names = list(properties)
        if any(_name(p) == OWNER_PROPERTY for p in names):
            names.append(OWNER_ASSIGNED_PROPERTY)  # fills ``Record.owner_assigned_at``: latency by HubSpot's clock
        return record_from(*self._call("GET", self._path(object_type, record_id), params=self._props_param(names)))

    def history(self, object_type: ObjectType, record_ids: Sequence[str],
                property: str) -> dict[str, list[HistoryEntry]]:
        """POST ``.../batch/read`` with ``propertiesWithHistory``, 50 ids a request; each list newest first.

        A 207 (some ids archived or unknown) still answers for the others; those ids are left out.
        """
        name = _name(property)
        ids = list(dict.fromkeys(str(i) for i in record_ids))
        out: dict[str, list[HistoryEntry]] = {}
        for start in range(0, len(ids), HISTORY_BATCH):
            body = {"inputs": [{"id": i} for i in ids[start:start + HISTORY_BATCH]], "properties": [name],
                    "propertiesWithHistory": [name]}
            page, answer = self._page("POST", self._path(object_type, "batch", "read"), json=body)
            for i, data in enumerate(page["results"]):
                path = f"$.results[{i}]"
                record_id = answer.ident(data, "id", path)
                histories = answer.sub(data, "propertiesWithHistory", path)
                where = f"{path}.propertiesWithHistory"
                entries = [HistoryEntry(answer.text(e, "value", f"{where}.{name}[{j}]"),
                                        answer.text(e, "timestamp", f"{where}.{name}[{j}]"),
                                        answer.text(e, "sourceType", f"{where}.{name}[{j}]"),
                                        answer.text(e, "sourceId", f"{where}.{name}[{j}]"))
                           for j, e in enumerate(answer.objects(histories, name, where, required=False))]
                entries.sort(key=lambda e: -(to_epoch_ms(e.timestamp) or 0))  # newest first, whatever the order
                out[record_id] = entries
        return out

    def update(self, object_type: ObjectType, record_id: str, properties: Mapping[str, str]) -> Record:
        """PATCH ``/crm/v3/objects/{type}/{id}``."""
        return record_from(*self._call("PATCH", self._path(object_type, record_id),
                                       json={"properties": self._outgoing(properties)}))

    def submit_form(self, portal_id: str, form_guid: str, fields: Mapping[str, str],
                    context: Mapping[str, str]) -> str:
        """POST a form submission as a visitor's browser would (Forms API v3); HubSpot's ``inlineMessage``.

        ``context`` carries ``pageUri`` (its UTM parameters are the visit's source), ``pageName``, ``hutk``.
        Not retried on 5xx: a second submission could be a second conversion.
        """
        url = (f"{self.forms_base_url}/submissions/v3/integration/submit/{quote(str(portal_id), safe='')}/"
               f"{quote(form_guid, safe='')}")
        body = {"fields": [{"objectTypeId": "0-1", "name": k, "value": v} for k, v in fields.items()],
                "context": dict(context)}
        data, answer = self._call("POST", url, json=body, idempotent=False)
        return answer.text(answer.obj(data), "inlineMessage", "$") or ""

    def archive(self, object_type: ObjectType, record_id: str) -> None:
        """DELETE ``/crm/v3/objects/{type}/{id}`` (204; restorable for 90 days). Never a GDPR delete."""
        self.http.request("DELETE", self._path(object_type, record_id))

    def archive_batch(self, object_type: ObjectType, record_ids: Sequence[str]) -> None:
        """POST ``.../batch/archive`` in chunks of 100 (204 each)."""
        ids = list(dict.fromkeys(str(i) for i in record_ids))
        for start in range(0, len(ids), BATCH_SIZE):
            chunk = ids[start:start + BATCH_SIZE]
            self.http.request("POST", self._path(object_type, "batch", "archive"),
                              json={"inputs": [{"id": i} for i in chunk]})

    def scan(self, object_type: ObjectType, properties: Sequence[str] = ()) -> Iterator[Record]:
        """Every record through ``GET /crm/v3/objects/{type}?limit=100&after=`` (no 10,000 cap)."""
        params: dict[str, Any] = {"limit": LIST_PAGE, **self._props_param(properties)}
        after: str | None = None
        while True:
            if after is not None:
                params["after"] = after
            page, answer = self._page("GET", self._path(object_type), params=params)
            for i, data in enumerate(page["results"]):
                yield record_from(data, answer, f"$.results[{i}]")
            after = _next_after(page, answer)
            if after is None:
                return

    # -- search ----------------------------------------------------------------------------------------

    def search(self, object_type: ObjectType, groups: Sequence[FilterGroup], properties: Sequence[str] = (),
               *, sort: str | None = None, date_property: str = "createdate") -> Iterator[Record]:
        """Every record matching the groups, partitioned on ``date_property`` past 10,000 results.

        ``sort`` is a property name, ``-name`` for descending; when the query is partitioned, the order
        holds within each date window and windows come oldest first.
        """
        base = [[filter_json(f) for f in group] for group in groups]
        names = list(dict.fromkeys(_name(p) for p in properties))
        if OWNER_PROPERTY in names and OWNER_ASSIGNED_PROPERTY not in names:
            names.append(OWNER_ASSIGNED_PROPERTY)  # fills ``Record.owner_assigned_at``, as ``get`` does
        sorts = []
        if sort:
            sorts = [{"propertyName": _name(sort.lstrip("-")),
                      "direction": "DESCENDING" if sort.startswith("-") else "ASCENDING"}]
        first = self._search_page(object_type, base, names, sorts)
        if _total(first) < SEARCH_CAP:  # at 10,000 the last page's ``after`` would be refused: split
            yield from self._search_rest(object_type, base, names, sorts, first)
            return
        seen: set[str] = set()
        date = _name(date_property)
        lo = self._edge(object_type, base, date, "ASCENDING")
        hi = self._edge(object_type, base, date, "DESCENDING")
        if lo is not None and hi is not None:
            for record in self._window(object_type, base, names, sorts, date, lo, hi + 1):
                if record.id not in seen:
                    seen.add(record.id)
                    yield record
        # records without a value for the date property fall outside every window
        undated = _and(base, [{"propertyName": date, "operator": "NOT_HAS_PROPERTY"}])
        page = self._search_page(object_type, undated, names, sorts)
        if _total(page) > SEARCH_CAP:
            raise ApiError(f"hubspot: more than {SEARCH_CAP} {object_type} match and have no {date}; search "
                           f"cannot page past {SEARCH_CAP}: partition on another date property")
        for record in self._search_rest(object_type, undated, names, sorts, page):
            if record.id not in seen:
                seen.add(record.id)
                yield record

    def _search_page(self, object_type: str, groups: list[list[dict[str, Any]]], properties: list[str],
                     sorts: list[dict[str, str]], after: str | None = None,
                     limit: int = SEARCH_PAGE) -> tuple[dict[str, Any], Answer]:
        body: dict[str, Any] = {"filterGroups": [{"filters": g} for g in groups], "properties": properties,
                                "limit": limit}
        if sorts:
            body["sorts"] = sorts
        if after is not None:
            body["after"] = after
        page, answer = self._page("POST", self._path(object_type, "search"), json=body, limiter="search")
        total = page.get("total")
        if total is not None and (isinstance(total, bool) or not isinstance(total, int)):
            raise answer.wrong("$.total", "a count (an integer)", total)
        return page, answer

    def _search_rest(self, object_type: str, groups: list[list[dict[str, Any]]], properties: list[str],
                     sorts: list[dict[str, str]], page: tuple[dict[str, Any], Answer]) -> Iterator[Record]:
        while True:
            body, answer = page
            for i, data in enumerate(body["results"]):
                yield record_from(data, answer, f"$.results[{i}]")
            after = _next_after(body, answer)
            if after is None:
                return
            page = self._search_page(object_type, groups, properties, sorts, after)

    def _edge(self, object_type: str, groups: list[list[dict[str, Any]]], date: str, direction: str) -> int | None:
        """The smallest (ASCENDING) or largest (DESCENDING) ``date`` among the matches, in epoch ms."""
        dated = _and(groups, [{"propertyName": date, "operator": "HAS_PROPERTY"}])
        page, answer = self._search_page(object_type, dated, [date], [{"propertyName": date, "direction": direction}],
                                         limit=1)
        for data in page["results"]:
            return to_epoch_ms(answer.text(answer.sub(data, "properties", "$.results[0]"), date,
                                           "$.results[0].properties"))
        return None

    def _window(self, object_type: str, groups: list[list[dict[str, Any]]], properties: list[str],
                sorts: list[dict[str, str]], date: str, lo: int, hi: int) -> Iterator[Record]:
        """Matches with ``lo <= date < hi`` (epoch ms), halving the window while its total reaches the cap."""
        windowed = _and(groups, [{"propertyName": date, "operator": "GTE", "value": str(lo)},
                                 {"propertyName": date, "operator": "LT", "value": str(hi)}])
        page = self._search_page(object_type, windowed, properties, sorts)
        if _total(page) < SEARCH_CAP:
            yield from self._search_rest(object_type, windowed, properties, sorts, page)
            return
        if hi - lo <= 1:
            raise ApiError(f"hubspot: more than {SEARCH_CAP} {object_type} share one {date} millisecond; "
                           f"partition on another date property")
        mid = (lo + hi) // 2
        yield from self._window(object_type, groups, properties, sorts, date, lo, mid)
        yield from self._window(object_type, groups, properties, sorts, date, mid, hi)

    # -- aggregates ------------------------------------------------------------------------------------

    def aggregate(self, object_type: ObjectType, filters: Sequence[Filter], measure: Measure,
                  group_by: GroupBy | None = None) -> dict[Any, Decimal | int]:
        """A count from the search ``total`` (one request); anything else folded from one shared scan.

        The scan asks for the measure's and the group's properties only, through search when there are
        filters (partitioned past the 10,000 cap, see ``search``) or the list endpoint when there are none;
        ``self.scans`` keeps its rows for every later call with the same object and filters that needs no
        other property.
        See ``aggregation`` for how amounts, empty values and date buckets are read.
        """
        check_measure(measure, group_by)
        groups = [list(filters)] if filters else []
        if measure.kind == "count" and measure.property is None and group_by is None:
            body, answer = self._search_page(object_type, [[filter_json(f) for f in g] for g in groups], [], [],
                                             limit=1)
            total = body.get("total")
            if total is None:
                raise answer.wrong("$.total", "a count (an integer)", total)
            return {None: int(total)}
        names = sorted({p for p in (measure.property, group_by.property if group_by else None) if p})
        key = (object_type, tuple(sorted(json.dumps(filter_json(f), sort_keys=True) for f in filters)))

        def scan() -> Iterator[Row]:
            records = self.search(object_type, groups, names) if groups else self.scan(object_type, names)
            for record in records:
                yield (record.id, *(record.properties.get(n) for n in names))

        rows = self.scans.rows(key, names, scan)
        return fold_rows(rows, names, measure, group_by, f"hubspot {object_type}")

    # -- owners and properties -------------------------------------------------------------------------

    def owners(self) -> list[Owner]:
        """Every owner, people and queues; archived owners (``archived=true``) come back inactive."""
        found: dict[str, Owner] = {}
        for archived in (False, True):
            after: str | None = None
            while True:
                params: dict[str, Any] = {"limit": LIST_PAGE, "archived": "true" if archived else "false"}
                if after:
                    params["after"] = after
                page, answer = self._page("GET", "/crm/v3/owners/", params=params)
                for i, data in enumerate(page["results"]):
                    owner = _owner(data, archived, answer, f"$.results[{i}]")
                    found.setdefault(owner.id, owner)
                after = _next_after(page, answer)
                if after is None:
                    break
        return list(found.values())

    def properties(self, object_type: ObjectType) -> list[Property]:
        """GET ``/crm/v3/properties/{type}``."""
        page, answer = self._page("GET", f"/crm/v3/properties/{quote(object_type, safe='')}")
        return [_property(p, answer, f"$.results[{i}]") for i, p in enumerate(page["results"])]


def _and(groups: list[list[dict[str, Any]]], extra: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Add ``extra`` filters to every group (to none-given groups: one group of just ``extra``)."""
    return [[*g, *extra] for g in groups] if groups else [list(extra)]


def _total(page: tuple[dict[str, Any], Answer]) -> int:
    return int(page[0].get("total") or 0)


def _next_after(page: Mapping[str, Any], answer: Answer) -> str | None:
    paging = answer.sub(page, "paging", "$")
    after = answer.text(answer.sub(paging, "next", "$.paging"), "after", "$.paging.next")
    return after or None


def _owner(data: Mapping[str, Any], archived: bool, answer: Answer, path: str) -> Owner:
    teams = tuple(str(t.get("name") or t.get("id")) for t in answer.objects(data, "teams", path, required=False))
    kind: Literal["PERSON", "QUEUE"] = "QUEUE" if str(data.get("type", "PERSON")).upper() == "QUEUE" else "PERSON"
    return Owner(
        id=answer.ident(data, "id", path),
        email=answer.text(data, "email", path),
        first_name=answer.text(data, "firstName", path),
        last_name=answer.text(data, "lastName", path),
        type=kind,
        active=not (archived or bool(data.get("archived", False))),
        teams=teams,
    )


def _property(data: Mapping[str, Any], answer: Answer, path: str) -> Property:
    name = answer.ident(data, "name", path, "a property name (a string)")
    options = tuple(str(o.get("value")) for o in answer.objects(data, "options", path, required=False))
    return Property(
        name=name,
        label=str(data.get("label") or name),
        type=str(data.get("type") or "string"),
        field_type=answer.text(data, "fieldType", path),
        options=options,
        hidden=bool(data.get("hidden", False)),
        calculated=bool(data.get("calculated", False)),
        vendor_defined=bool(data.get("hubspotDefined", False)),
    )
