"""Salesforce REST behind the ``CrmConnector`` interface.

Object types use HubSpot's names and map to sObjects: ``contacts`` -> ``Contact``, ``leads`` -> ``Lead``,
``companies`` -> ``Account``, ``deals`` -> ``Opportunity`` (``objects=`` overrides, e.g. contacts -> Lead for
an org that routes inbound leads as Leads). ``OwnerId`` is also returned as ``owner_id``, as HubSpot's
``hubspot_owner_id`` is, and values are strings.

Search and scan are SOQL (``GET query?q=``) following ``nextRecordsUrl`` while ``done`` is false; filter values
are typed from the object's describe (numbers, dates and booleans go in bare, strings quoted and escaped),
so no checklist value can change the shape of a query. Errors come from the one HTTP layer: the body is a list
``[{"message","errorCode","fields"}]``; ``REQUEST_LIMIT_EXCEEDED`` (the org's 24 h allowance) is
``RateLimited`` at once, never retried; ``DUPLICATES_DETECTED`` is ``DuplicateRecord``. The last
``Sforce-Limit-Info`` header seen is kept in ``limit_info`` (``{"api-usage": (10018, 100000)}``). Every body is
read through an ``Answer`` (``answers.py``): a query answer without ``records``, a row without an ``Id``, an
HTML login page raise ``UnexpectedAnswer`` naming the endpoint and the JSON path.

``base_url`` sends the requests to another host than ``instance_url`` (the sandbox on loopback, a proxy);
either is the host root, under which the API lives at ``/services/data/{api_version}/``.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx

from .. import secrets
from ..errors import ApiError, ConnectorError
from .aggregation import Partial, check_measure, result
from .answers import Answer, read_json
from .crm import Filter, FilterGroup, GroupBy, HistoryEntry, Measure, ObjectType, Owner, Property, Record
from .http import ApiClient, RateLimiter, RetryPolicy
from .soql_aggregates import aggregate_number, bucket_columns, bucket_from_row

__all__ = ["SOBJECTS", "SalesforceConnector", "soql_literal"]

SOBJECTS: dict[str, str] = {"contacts": "Contact", "leads": "Lead", "companies": "Account", "deals": "Opportunity"}
BATCH_DELETE = 200  # ids per composite DELETE
HISTORY_IDS = 200  # parent ids per field-history query (keeps the SOQL well under its length limit)
# the field-history object of each sObject, and its field naming the parent record
HISTORY_OBJECTS: dict[str, tuple[str, str]] = {
    "Contact": ("ContactHistory", "ContactId"), "Lead": ("LeadHistory", "LeadId"),
    "Account": ("AccountHistory", "AccountId"), "Opportunity": ("OpportunityFieldHistory", "OpportunityId"),
}
# HubSpot-style names checklists may use, and the Salesforce field they mean.
ALIASES: dict[str, str] = {
    "owner_id": "OwnerId", "hubspot_owner_id": "OwnerId", "id": "Id", "hs_object_id": "Id",
    "createdate": "CreatedDate", "lastmodifieddate": "LastModifiedDate", "hs_lastmodifieddate": "LastModifiedDate",
    "gtmcheck_run_id": "gtmcheck_run_id__c",  # the synthetic-record tag is a custom field in Salesforce
    "email": "Email",
}
_FIELD = re.compile(r"[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*")
_API_VERSION = re.compile(r"v\d+\.\d")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})")
NUMERIC_TYPES = frozenset({"double", "currency", "percent", "int", "long"})
_OPS = {"EQ": "=", "NEQ": "!=", "LT": "<", "LTE": "<=", "GT": ">", "GTE": ">="}
_SOQL_ESCAPES = {"\\": "\\\\", "'": "\\'", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f",
                 '"': '\\"'}


def _field(name: str) -> str:
    real = ALIASES.get(name, name)
    if not _FIELD.fullmatch(real):
        raise ConnectorError(f"salesforce: {name!r} is not a field name")
    return real


def soql_literal(value: str | None, field_type: str | None = None) -> str:
    """``value`` as a SOQL literal for a field of ``field_type`` (a describe type; ``None``: a string)."""
    if value is None:
        return "null"
    kind = (field_type or "string").lower()
    if kind in NUMERIC_TYPES:
        if not _NUMBER.fullmatch(value.strip()):
            raise ConnectorError(f"salesforce: {value!r} is not a number for a {kind} field")
        return value.strip()
    if kind == "boolean":
        if value.strip().lower() not in ("true", "false"):
            raise ConnectorError(f"salesforce: {value!r} is not true or false")
        return value.strip().lower()
    if kind in ("date", "datetime"):
        text = value.strip()
        if text.isdigit():  # HubSpot-style epoch milliseconds
            when = datetime.fromtimestamp(int(text) / 1000, tz=UTC)
            return when.date().isoformat() if kind == "date" else when.strftime("%Y-%m-%dT%H:%M:%SZ")
        if kind == "date" and _DATE.fullmatch(text[:10]) and (len(text) == 10 or "T" in text):
            return text[:10]
        if kind == "datetime" and _DATETIME.fullmatch(text):
            return text
        if kind == "datetime" and _DATE.fullmatch(text):
            return f"{text}T00:00:00Z"
        raise ConnectorError(f"salesforce: {value!r} is not a {kind} (YYYY-MM-DD or ISO 8601 with a zone)")
    return "'" + "".join(_SOQL_ESCAPES.get(c, c) for c in value) + "'"


def _like(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return "'%" + "".join(_SOQL_ESCAPES.get(c, c) if c != "\\" else c for c in escaped) + "%'"


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return str(int(value)) if value == value.to_integral_value() else str(value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, default=str, sort_keys=True)
    return str(value)


class SalesforceConnector:
    """A Salesforce org through its REST API (``CrmConnector``)."""

    vendor = "salesforce"

    def __init__(
        self,
        token: str,
        *,
        instance_url: str,
        api_version: str = "v62.0",
        base_url: str | None = None,
        transport: httpx.BaseTransport | None = None,
        retry: RetryPolicy | None = None,
        limiters: Mapping[str, RateLimiter] | None = None,
        timeout: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
        objects: Mapping[str, str] | None = None,
    ) -> None:
        if not _API_VERSION.fullmatch(api_version):
            raise ConnectorError(f"salesforce: api_version {api_version!r} should look like v62.0")
        secrets.register(token)
        self.instance_url = instance_url.rstrip("/")
        self.root = (base_url or instance_url).rstrip("/")
        self.api_version = api_version
        self.objects = {**SOBJECTS, **(objects or {})}
        self.limit_info: dict[str, tuple[int, int]] = {}
        self._describe: dict[str, dict[str, dict[str, Any]]] = {}
        self.client = ApiClient(
            f"{self.root}/services/data/{api_version}/", vendor="salesforce", token=token, transport=transport,
            limiters=limiters, retry=retry or RetryPolicy(), timeout=timeout, sleep=sleep,
        )

    def __repr__(self) -> str:
        return f"SalesforceConnector({secrets.redact(self.instance_url)!r}, {self.api_version})"

    # --- plumbing ---------------------------------------------------------------------------------------------

    def _sobject(self, object_type: str) -> str:
        try:
            return self.objects[object_type]
        except KeyError:
            raise ConnectorError(
                f"salesforce: unknown object type {object_type!r}; use one of: {', '.join(self.objects)}"
            ) from None

    def _send(self, method: str, path_or_url: str, **kwargs: Any) -> httpx.Response:
        response = self.client.request(method, path_or_url, **kwargs)
        self._read_limits(response)
        return response

    def _json(self, method: str, path_or_url: str, **kwargs: Any) -> tuple[Any, Answer]:
        """The JSON body (numbers as ``Decimal``) and the ``Answer`` that reads it."""
        return read_json("salesforce", self._send(method, path_or_url, **kwargs), parse_float=Decimal)

    def _read_limits(self, response: httpx.Response) -> None:
        header = response.headers.get("Sforce-Limit-Info")
        if not header:
            return
        for part in header.split(","):
            name, _, value = part.strip().partition("=")
            used, _, limit = value.partition("/")
            if used.strip().isdigit() and limit.strip().isdigit():
                self.limit_info[name.strip()] = (int(used), int(limit))

    @property
    def given_up(self) -> str | None:
        """Why the org is no longer dialled in this run (``None`` while it is): see ``ApiClient``."""
        return self.client.given_up

    @property
    def api_usage(self) -> tuple[int, int] | None:
        """``(used, limit)`` of the org's daily API allowance, from the last answer that said it."""
        return self.limit_info.get("api-usage")

    def _record(self, raw: Mapping[str, Any], answer: Answer, path: str) -> Record:
        record_id = answer.ident(raw, "Id", path)
        props: dict[str, str | None] = {k: _text(v) for k, v in raw.items() if k != "attributes"}
        if "OwnerId" in props:
            props["owner_id"] = props["OwnerId"]
        if "gtmcheck_run_id__c" in props:
            props["gtmcheck_run_id"] = props["gtmcheck_run_id__c"]
        if "Email" in props:
            props["email"] = props["Email"]
        return Record(
            id=record_id,
            properties=props,
            created_at=props.get("CreatedDate"),
            updated_at=props.get("LastModifiedDate"),
            archived=bool(raw.get("IsDeleted", False)),
        )

    def _fields(self, properties: Sequence[str]) -> list[str]:
        fields = ["Id", "OwnerId", "CreatedDate", "LastModifiedDate"]
        for name in properties:
            real = _field(name)
            if real not in fields:
                fields.append(real)
        return fields

    # --- SOQL -------------------------------------------------------------------------------------------------

    def query(self, soql: str) -> Iterator[dict[str, Any]]:
        """Every row of a SOQL query, following ``nextRecordsUrl`` while ``done`` is false."""
        for row, _answer, _path in self._rows(soql):
            yield row

    def _rows(self, soql: str) -> Iterator[tuple[dict[str, Any], Answer, str]]:
        """Every row of a query with the ``Answer`` and JSON path it came from."""
        body, answer = self._json("GET", "query", params={"q": soql})
        while True:
            page = answer.obj(body)
            for i, row in enumerate(answer.objects(page, "records", "$")):
                yield row, answer, f"$.records[{i}]"
            next_url = answer.text(page, "nextRecordsUrl", "$")
            done = page.get("done", True)
            if not isinstance(done, bool):
                raise answer.wrong("$.done", "true or false", done)
            if done or not next_url:
                return
            body, answer = self._json("GET", f"{self.root}{next_url}")

    def aggregate_soql(self, soql: str) -> list[dict[str, Any]]:
        """Rows of an aggregate query (``SELECT SUM(Amount) total ...``; unaliased columns are ``expr0``...).

        Numbers come back as ``Decimal``, so totals compare exactly with the warehouse's.
        """
        return [{k: v for k, v in row.items() if k != "attributes"} for row in self.query(soql)]

    def aggregate(self, object_type: ObjectType, filters: Sequence[Filter], measure: Measure,
                  group_by: GroupBy | None = None) -> dict[Any, Decimal | int]:
        """One aggregate SOQL query, no rows pulled: ``SELECT CALENDAR_YEAR(CloseDate) y, ... SUM(Amount) ...``.

        Filters go through ``where`` (typed, quoted literals). Date buckets use SOQL's date functions, in UTC
        (no ``convertTimezone``); weeks are summed from days into ISO weeks (Monday), since SOQL's
        ``WEEK_IN_YEAR`` counts from January 1st. An average is ``SUM``/``COUNT`` of the field, exact in
        ``Decimal``. A grouped aggregate answers at most 2,000 groups (Salesforce refuses more).
        """
        check_measure(measure, group_by)
        sobject = self._sobject(object_type)
        columns: list[str] = []
        grouping: list[str] = []
        if group_by is not None and group_by.bucket is not None:
            columns, grouping = bucket_columns(_field(group_by.property), group_by.bucket)
        elif group_by is not None:
            columns, grouping = [f"{_field(group_by.property)} g"], [_field(group_by.property)]
        target = _field(measure.property) if measure.property else None
        if measure.kind == "count":
            columns.append(f"COUNT({target or 'Id'})")
        else:
            columns += [f"SUM({target})", f"COUNT({target})"] if measure.kind == "avg" else [f"SUM({target})"]
        soql = f"SELECT {', '.join(columns)} FROM {sobject}"
        condition = self.where(object_type, [list(filters)] if filters else [])
        if condition:
            soql += f" WHERE {condition}"
        if grouping:
            soql += f" GROUP BY {', '.join(grouping)}"
        partials: dict[Any, Partial] = {}
        for row, answer, path in self._rows(soql):
            key: Any = None
            if group_by is not None:
                key = _text(row.get("g")) if group_by.bucket is None else bucket_from_row(row, group_by.bucket,
                                                                                         answer, path)
            first, second = aggregate_number(row, "expr0", answer, path), aggregate_number(row, "expr1", answer, path)
            partial = partials.setdefault(key, Partial())
            if measure.kind == "count":
                count = int(first or 0)
                partial.add(records=count, values=count)
            else:
                partial.add(values=int(second or 0), total=first)
        return result(partials, measure, group_by is not None)

    def _field_types(self, sobject: str) -> dict[str, dict[str, Any]]:
        if sobject not in self._describe:
            body, answer = self._json("GET", f"sobjects/{sobject}/describe/")
            fields = answer.objects(answer.obj(body), "fields", "$")
            self._describe[sobject] = {answer.ident(f, "name", f"$.fields[{i}]", "a field name (a string)"): f
                                       for i, f in enumerate(fields)}
        return self._describe[sobject]

    def _condition(self, sobject: str, flt: Filter) -> str:
        name = _field(flt.property)
        kind = self._field_types(sobject).get(name, {}).get("type")
        op = flt.operator
        if op in _OPS:
            return f"{name} {_OPS[op]} {soql_literal(flt.value, kind)}"
        if op == "BETWEEN":
            return f"({name} >= {soql_literal(flt.value, kind)} AND {name} <= {soql_literal(flt.high_value, kind)})"
        if op in ("IN", "NOT_IN"):
            values = flt.values or ((flt.value,) if flt.value is not None else ())
            if not values:
                return "Id = null" if op == "IN" else "Id != null"  # IN () matches nothing; NOT IN () everything
            listed = ", ".join(soql_literal(v, kind) for v in values)
            return f"{name} {'IN' if op == 'IN' else 'NOT IN'} ({listed})"
        if op == "HAS_PROPERTY":
            return f"{name} != null"
        if op == "NOT_HAS_PROPERTY":
            return f"{name} = null"
        if op in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
            like = f"{name} LIKE {_like(flt.value or '')}"
            return like if op == "CONTAINS_TOKEN" else f"(NOT {like})"
        raise ConnectorError(f"salesforce: unsupported filter operator {op!r}")

    def where(self, object_type: ObjectType, groups: Sequence[FilterGroup]) -> str:
        """The SOQL ``WHERE`` condition for filter groups (ANDed inside a group, groups ORed); '' for none."""
        sobject = self._sobject(object_type)
        parts = [" AND ".join(self._condition(sobject, f) for f in group) for group in groups if group]
        if not parts:
            return ""
        return parts[0] if len(parts) == 1 else " OR ".join(f"({p})" for p in parts)

    # --- CrmConnector -----------------------------------------------------------------------------------------

    def create(self, object_type: ObjectType, properties: Mapping[str, str], *, auto_assign: bool = True) -> Record:
        """Create a record; ``Sforce-Auto-Assign`` says whether the active assignment rule runs."""
        sobject = self._sobject(object_type)
        payload = {_field(k): v for k, v in properties.items()}
        body, answer = self._json("POST", f"sobjects/{sobject}/", json=payload, idempotent=False,
                                  headers={"Sforce-Auto-Assign": "TRUE" if auto_assign else "FALSE"})
        created = answer.obj(body)
        if created.get("success") is False:
            raise answer.error(f"{sobject} was not created: {created.get('errors')}")
        return self.get(object_type, answer.ident(created, "id", "$"))

    def get(self, object_type: ObjectType, record_id: str, properties: Sequence[str] = ()) -> Record:
        """One record by id; every field when ``properties`` is empty."""
        sobject = self._sobject(object_type)
        params = {"fields": ",".join(self._fields(properties))} if properties else None
        body, answer = self._json("GET", f"sobjects/{sobject}/{_record_id(record_id)}", params=params)
        return self._record(answer.obj(body), answer, "$")

    def history(self, object_type: ObjectType, record_ids: Sequence[str],
                property: str) -> dict[str, list[HistoryEntry]]:
        """The field history (``ContactHistory``, ``LeadHistory``...) of ``property``, newest first.

        Salesforce keeps a row per change (``NewValue``, ``CreatedDate``, ``CreatedById``) once field history
        tracking is on for the field; the first value of a record is not a change, so it is not there.
        """
        sobject = self._sobject(object_type)
        if sobject not in HISTORY_OBJECTS:
            raise ConnectorError(f"salesforce: {sobject} has no field history gtmcheck knows how to read")
        table, parent = HISTORY_OBJECTS[sobject]
        field = _field(property)
        ids = list(dict.fromkeys(_record_id(i) for i in record_ids))
        out: dict[str, list[HistoryEntry]] = {}
        for start in range(0, len(ids), HISTORY_IDS):
            listed = ", ".join(soql_literal(i) for i in ids[start:start + HISTORY_IDS])
            soql = (f"SELECT {parent}, NewValue, CreatedDate, CreatedById FROM {table} WHERE Field = "
                    f"{soql_literal(field)} AND {parent} IN ({listed}) ORDER BY CreatedDate DESC")
            for row, answer, path in self._rows(soql):
                entry = HistoryEntry(_text(row.get("NewValue")), answer.text(row, "CreatedDate", path), "USER",
                                     answer.text(row, "CreatedById", path))
                out.setdefault(answer.ident(row, parent, path), []).append(entry)
        return out

    def update(self, object_type: ObjectType, record_id: str, properties: Mapping[str, str]) -> Record:
        """``PATCH`` the fields (204), then read the record back."""
        sobject = self._sobject(object_type)
        self._send("PATCH", f"sobjects/{sobject}/{_record_id(record_id)}",
                   json={_field(k): v for k, v in properties.items()})
        return self.get(object_type, record_id)

    def archive(self, object_type: ObjectType, record_id: str) -> None:
        """``DELETE`` one record (to the recycle bin, never a GDPR delete)."""
        sobject = self._sobject(object_type)
        self._send("DELETE", f"sobjects/{sobject}/{_record_id(record_id)}")

    def archive_batch(self, object_type: ObjectType, record_ids: Sequence[str]) -> None:
        """Delete through ``DELETE composite/sobjects`` 200 ids at a time, ``allOrNone=false``.

        Ids that are already deleted count as done; any other failure raises after every batch was sent.
        """
        self._sobject(object_type)
        failures: list[str] = []
        ids = [_record_id(i) for i in record_ids]
        for start in range(0, len(ids), BATCH_DELETE):
            chunk = ids[start:start + BATCH_DELETE]
            body, answer = self._json("DELETE", "composite/sobjects",
                                      params={"ids": ",".join(chunk), "allOrNone": "false"})
            if not isinstance(body, list):
                raise answer.wrong("$", "a list of results", body)
            for i, item in enumerate(body):
                result = answer.obj(item, f"$[{i}]")
                if result.get("success"):
                    continue
                errors = [e for e in result.get("errors") or [] if isinstance(e, dict)]
                if any(e.get("statusCode") == "ENTITY_IS_DELETED" for e in errors):
                    continue
                detail = "; ".join(f"{e.get('statusCode')}: {e.get('message')}" for e in errors) or "failed"
                failures.append(f"{result.get('id')} ({detail})")
        if failures:
            raise ApiError(secrets.redact(
                f"salesforce: {len(failures)} of {len(ids)} records not deleted: {', '.join(failures[:5])}"
            ))

    def search(self, object_type: ObjectType, groups: Sequence[FilterGroup], properties: Sequence[str] = (),
               *, sort: str | None = None, date_property: str = "createdate") -> Iterator[Record]:
        """Every matching record through SOQL (a query locator has no result cap, so no partitioning)."""
        sobject = self._sobject(object_type)
        soql = f"SELECT {', '.join(self._fields(properties))} FROM {sobject}"
        condition = self.where(object_type, groups)
        if condition:
            soql += f" WHERE {condition}"
        if sort:
            descending = sort.startswith("-")
            soql += f" ORDER BY {_field(sort.lstrip('-'))} {'DESC' if descending else 'ASC'}"
        for row, answer, path in self._rows(soql):
            yield self._record(row, answer, path)

    def scan(self, object_type: ObjectType, properties: Sequence[str] = ()) -> Iterator[Record]:
        """Every record of a type (SOQL without a filter, in batches of up to 2,000)."""
        soql = f"SELECT {', '.join(self._fields(properties))} FROM {self._sobject(object_type)}"
        for row, answer, path in self._rows(soql):
            yield self._record(row, answer, path)

    def owners(self) -> list[Owner]:
        """Users (active or not) and Queues."""
        people = [
            Owner(id=a.ident(u, "Id", p), email=a.text(u, "Email", p), first_name=a.text(u, "FirstName", p),
                  last_name=a.text(u, "LastName", p), type="PERSON", active=bool(u.get("IsActive", True)))
            for u, a, p in self._rows("SELECT Id, Email, FirstName, LastName, IsActive FROM User")
        ]
        queues = [
            Owner(id=a.ident(g, "Id", p), email=a.text(g, "Email", p), first_name=a.text(g, "Name", p),
                  type="QUEUE")
            for g, a, p in self._rows("SELECT Id, Name, Email FROM Group WHERE Type = 'Queue'")
        ]
        return people + queues

    def properties(self, object_type: ObjectType) -> list[Property]:
        """The object's fields from ``describe``."""
        sobject = self._sobject(object_type)
        self._describe.pop(sobject, None)  # always fresh: a check of field mappings wants the org as it is now
        out = []
        for name, f in self._field_types(sobject).items():
            options = tuple(
                str(p.get("value")) for p in f.get("picklistValues") or []
                if isinstance(p, dict) and p.get("active", True)
            )
            out.append(Property(
                name=name, label=str(f.get("label") or name), type=str(f.get("type") or "string"),
                field_type=f.get("type"), options=options, hidden=False,
                calculated=bool(f.get("calculated", False)),
                vendor_defined=not bool(f.get("custom", name.endswith("__c"))),
            ))
        return out

    def close(self) -> None:
        """Release connections."""
        self.client.close()

    def __enter__(self) -> SalesforceConnector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_ID = re.compile(r"[A-Za-z0-9]{15}([A-Za-z0-9]{3})?")
def _record_id(record_id: str) -> str:
    if not _ID.fullmatch(record_id):
        raise ConnectorError(f"salesforce: {record_id!r} is not a Salesforce id (15 or 18 letters and digits)")
    return record_id
