"""Captured payloads from a checklist's ``samples:`` sources, each named so a person can find it again.

Files give ``file:line`` (a JSON array names each element's line, NDJSON each line), the sandbox delivery
log gives ``delivery <id>[<n>]`` (a HubSpot delivery body is a JSON array of events), a warehouse table gives
``<table> <key>=<value>``. Reads are bounded: files by size (``safefile``), tables and the log by ``limit``.
"""

from __future__ import annotations

import bisect
import importlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...errors import CheckError, ConfigError, UnreadableFile, WarehouseError, relpath
from ...safefile import read_text_capped
from .model import SampleSource, WebhooksSpec, expand_files

if TYPE_CHECKING:
    from ...context import RunContext

MAX_SAMPLE_FILE_BYTES = 64 * 1024 * 1024
DELIVERIES_MODULE = "gtmcheck.connectors.deliveries"
TOO_DEEP = "nests deeper than JSON is read here (a recursion limit). Fix: flatten the payload"
_DECODER = json.JSONDecoder()


@dataclass(frozen=True)
class Sample:
    """One payload, or why a piece of a source is no payload at all (``problem``)."""

    name: str
    payload: Any = None
    problem: str = ""
    note: str = ""  # what the receiver answered, when the source knows (the sandbox's delivery log)


def read_samples(spec: WebhooksSpec, source: SampleSource, ctx: RunContext) -> list[Sample]:
    """The source's payloads, read once per run (the samples and compatibility checks share them)."""
    key = f"webhooks.samples:{spec.checklist.path}:{source.index}"
    cached = ctx.cache.get(key)
    if cached is None:
        if source.kind == "files":
            cached = [s for path in expand_files(spec.base, source.files) for s in file_samples(path)]
        elif source.kind == "delivery_log":
            cached = delivery_samples(ctx, source.limit)
        else:
            cached = table_samples(ctx, source)
        ctx.cache[key] = cached
    return list(cached)


def file_samples(path: Path) -> list[Sample]:
    """One payload, a JSON array of payloads, or NDJSON; each named ``file:line``."""
    name = relpath(path)
    try:
        text = read_text_capped(path, MAX_SAMPLE_FILE_BYTES, expect="a .json or .ndjson sample file")
    except UnreadableFile as exc:
        return [Sample(name, problem=f"{exc.problem}. Fix: {exc.hint}")]
    lines = _line_starts(text)
    start = len(text) - len(text.lstrip())
    if start == len(text):
        return [Sample(name, problem="is empty. Fix: save one payload, a JSON array or one payload per line")]
    try:
        whole = json.loads(text)
    except json.JSONDecodeError:
        return list(_ndjson(name, text))
    except RecursionError:
        return [Sample(name, problem=TOO_DEEP)]
    if not isinstance(whole, list):
        return [Sample(f"{name}:{bisect.bisect_right(lines, start)}", whole)]
    return [Sample(f"{name}:{bisect.bisect_right(lines, offset)}", value)
            for offset, value in _array_elements(text, start)]


def _line_starts(text: str) -> list[int]:
    starts = [0]
    index = text.find("\n")
    while index != -1:
        starts.append(index + 1)
        index = text.find("\n", index + 1)
    return starts


def _array_elements(text: str, start: int) -> Iterator[tuple[int, Any]]:
    """(offset, value) of each element of the JSON array at ``start`` (the text is known to parse)."""
    pos = start + 1
    while True:
        while text[pos] in " \t\r\n,":
            pos += 1
        if text[pos] == "]":
            return
        value, end = _DECODER.raw_decode(text, pos)
        yield pos, value
        pos = end


def _ndjson(name: str, text: str) -> Iterator[Sample]:
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield Sample(f"{name}:{number}", json.loads(line))
        except RecursionError:
            yield Sample(f"{name}:{number}", problem=TOO_DEEP)
        except json.JSONDecodeError as exc:
            yield Sample(f"{name}:{number}", problem=f"is not JSON ({exc.msg} at column {exc.colno}). Fix: "
                         "save one payload, a JSON array, or one JSON payload per line")


def delivery_samples(ctx: RunContext, limit: int) -> list[Sample]:
    """Each event of each delivery in the sandbox's log, newest deliveries last."""
    try:  # by name: the sandbox's reader (connectors/deliveries.py) is built beside this kind
        deliveries_module = importlib.import_module(DELIVERIES_MODULE)
    except ModuleNotFoundError:
        raise CheckError("this gtmcheck has no sandbox delivery log reader (gtmcheck.connectors.deliveries); "
                         "use `files:` or `table:` samples") from None
    try:
        deliveries = deliveries_module.read_deliveries(ctx.environment, limit=limit)
    except ConfigError as exc:
        raise CheckError(str(exc)) from None
    samples: list[Sample] = []
    for delivery in deliveries:
        name = f"delivery {delivery.id}"
        status = delivery.receiver_status
        note = "" if status is None or 200 <= status < 300 else \
            f"the receiver answered {status}" + (f": {delivery.receiver_reason}" if delivery.receiver_reason else "")
        try:
            body = json.loads(delivery.body)
        except json.JSONDecodeError as exc:
            samples.append(Sample(name, problem=f"has a body that is not JSON ({exc.msg})"))
            continue
        except RecursionError:
            samples.append(Sample(name, problem=TOO_DEEP))
            continue
        if isinstance(body, list):
            samples += [Sample(f"{name}[{n}]", event, note=note) for n, event in enumerate(body)]
        else:
            samples.append(Sample(name, body, note=note))
    return samples


def table_samples(ctx: RunContext, source: SampleSource) -> list[Sample]:
    """Rows of ``source.table`` in key order, at most ``limit``, the payload parsed when it is JSON text."""
    from ...connectors.warehouse import Warehouse

    try:
        with Warehouse.for_environment(ctx.environment) as warehouse:
            rows = warehouse.rows(source.table, [source.key, source.payload], where=source.where,
                                  order_by=source.key, limit=source.limit)
    except (ConfigError, WarehouseError) as exc:
        raise CheckError(str(exc)) from None
    samples = []
    for key, raw in rows:
        name = f"{source.table} {source.key}={key}"
        samples.append(_parse_cell(name, raw))
    return samples


def _parse_cell(name: str, raw: Any) -> Sample:
    if isinstance(raw, (bytes, bytearray, memoryview)):
        try:
            raw = bytes(raw).decode("utf-8")
        except UnicodeDecodeError:
            return Sample(name, problem="holds bytes that are not UTF-8 text")
    if isinstance(raw, str):
        try:
            return Sample(name, json.loads(raw))
        except RecursionError:
            return Sample(name, problem=TOO_DEEP)
        except json.JSONDecodeError as exc:
            return Sample(name, problem=f"holds text that is not JSON ({exc.msg} at column {exc.colno})")
    if raw is None:
        return Sample(name, problem="has no payload (NULL)")
    return Sample(name, raw)  # a native JSON column: already a dict or list
