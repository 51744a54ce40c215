"""The closed JSON Schema fragment of a ``kind: webhooks`` checklist (published by ``gtmcheck schema``).

Every key has a description, a default and an example (``schemadoc.gaps`` checks it), so the generated
reference page and an editor's autocompletion say the same as docs/webhooks.md.
"""

from __future__ import annotations

from typing import Any

SCHEMES = ("hubspot-v1", "hubspot-v2", "hubspot-v3", "hmac-sha256")
MAX_SAMPLE_ROWS = 100_000
DEFAULT_SAMPLE_ROWS = 1000
IDENTIFIER = r"^[A-Za-z_][A-Za-z0-9_$\-]{0,127}(\.[A-Za-z_][A-Za-z0-9_$\-]{0,127}){0,2}$"

POINTER: dict[str, Any] = {
    "type": "string",
    "pattern": r"^(/([^~]|~[01])*)+$",
    "x-hint": "write a JSON pointer such as /event or /properties/version (~1 for '/', ~0 for '~')",
}
VERSION: dict[str, Any] = {
    "type": "string",
    "minLength": 1,
    "pattern": r"^[^/\\\s]+$",
    "x-hint": 'quote the version: "2.0" (YAML reads 2.10 as the number 2.1)',
}
ENVELOPE: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "description": "JSON pointers to where a payload names its event and its version.",
    "x-default": "{event: /event, version: /version}",
    "examples": [{"event": "/event", "version": "/version"}],
    "properties": {
        "event": {**POINTER, "description": "Where a payload names its event.", "x-default": "/event",
                  "examples": ["/subscriptionType"]},
        "version": {**POINTER, "description": "Where a payload names its version; a payload without one "
                    "claims the event's `sender` version.", "x-default": "/version", "examples": ["/version"]},
    },
}

SCHEMA: dict[str, Any] = {
    "schemas": {
        "description": "Where the versioned payload schemas are, relative to the checklist: a folder of "
        "`<event>/<version>.json`, or a list of files and globs whose `$id` ends in `/<event>/<version>.json`.",
        "x-default": "none (required when `events` is set)",
        "examples": ["webhooks/schemas"],
        "oneOf": [
            {"type": "string", "minLength": 1},
            {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1}},
        ],
        "x-hint": "name a folder (schemas: webhooks/schemas) or list files (schemas: [schemas/*.json])",
    },
    "envelope": ENVELOPE,
    "events": {
        "type": "array",
        "minItems": 1,
        "description": "The events sent, each with the version the sender emits and the receiver validates.",
        "x-default": "no events",
        "examples": [[{"event": "account.updated", "sender": "2.0", "receiver": "2.0", "retired": ["1.0"]}]],
        "items": {
            "type": "object",
            "required": ["event", "sender", "receiver"],
            "additionalProperties": False,
            "x-hint": 'write each event as {event: account.updated, sender: "2.0", receiver: "2.0"}',
            "properties": {
                "event": {"type": "string", "minLength": 1, "pattern": r"^[^/\\\s]+$",
                          "description": "The event's name, as payloads and the schema folder name it.",
                          "x-default": "required", "examples": ["account.updated"]},
                "sender": {**VERSION, "description": "The version the sender emits.", "x-default": "required",
                           "examples": ["2.0"]},
                "receiver": {**VERSION, "description": "The version the receiver validates against.",
                             "x-default": "required", "examples": ["2.0"]},
                "retired": {"type": "array", "items": VERSION, "uniqueItems": True,
                            "description": "Versions the sender must no longer emit; a sample claiming one is "
                            "a finding.", "x-default": "none", "examples": [["1.0"]]},
                "envelope": {**ENVELOPE, "description": "This event's own pointers (keys not given are the "
                             "checklist's `envelope`).", "examples": [{"event": "/subscriptionType"}]},
            },
        },
    },
    "samples": {
        "type": "array",
        "description": "Where captured payloads come from; each source is checked on its own.",
        "x-default": "no samples",
        "examples": [[{"files": "webhooks/samples/*.json"}, {"delivery_log": "sandbox"}]],
        "items": {
            "type": "object",
            "additionalProperties": False,
            "minProperties": 1,
            "x-hint": "write {files: samples/*.json}, {delivery_log: sandbox} or {table: raw_webhooks, "
            "payload: body, key: id}",
            "description": "One source: `files`, `delivery_log` or `table` (with `payload` and `key`).",
            "examples": [{"table": "raw_webhooks", "payload": "body", "key": "id", "limit": 1000}],
            "properties": {
                "files": {
                    "description": "Files or globs relative to the checklist: one payload, a JSON array of "
                    "payloads, or one payload per line (NDJSON).",
                    "x-default": "none",
                    "examples": ["webhooks/samples/*.json"],
                    "oneOf": [
                        {"type": "string", "minLength": 1},
                        {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1}},
                    ],
                },
                "delivery_log": {"enum": ["sandbox"], "description": "The sandbox's log of deliveries (each "
                                 "delivery body is a JSON array of events).", "x-default": "none",
                                 "examples": ["sandbox"]},
                "table": {"type": "string", "pattern": IDENTIFIER, "description": "A warehouse table where raw "
                          "payloads land.", "x-default": "none", "examples": ["raw_webhooks"],
                          "x-hint": "name a table as table, schema.table or db.schema.table"},
                "payload": {"type": "string", "pattern": IDENTIFIER, "description": "The table's column "
                            "holding the payload (JSON text or a native JSON column).", "x-default": "payload",
                            "examples": ["body"]},
                "key": {"type": "string", "pattern": IDENTIFIER, "description": "The column that names a row "
                        "in messages; rows are read in its order.", "x-default": "id", "examples": ["id"]},
                "where": {"type": "string", "minLength": 1, "description": "A SQL filter over the table "
                          "(no `;`, `--` or `/*`).", "x-default": "all rows",
                          "examples": ["received_at > now() - interval 1 day"]},
                "limit": {"type": "integer", "minimum": 1, "maximum": MAX_SAMPLE_ROWS,
                          "description": "At most this many payloads are read from a table or the delivery "
                          "log.", "default": DEFAULT_SAMPLE_ROWS, "examples": [1000]},
            },
        },
    },
    "receiver": {
        "type": "object",
        "required": ["url", "signing"],
        "additionalProperties": False,
        "description": "A live endpoint whose signature checking is tested (only where `writes: true`).",
        "x-default": "none",
        "examples": [{"url": "https://hooks.acme.example/webhooks/hubspot",
                      "signing": {"scheme": "hubspot-v3", "secret": "${WEBHOOK_SECRET}"}}],
        "properties": {
            "url": {"type": "string", "pattern": r"^(https?://|\$\{)", "description": "Where deliveries are posted "
                    "(`${VAR}` or `${VAR:-default}` allowed).",
                    "x-default": "required", "examples": ["https://hooks.acme.example/webhooks/hubspot"],
                    "x-hint": "write the receiver's http(s) URL"},
            "signing": {
                "type": "object",
                "required": ["scheme", "secret"],
                "additionalProperties": False,
                "description": "How deliveries are signed.",
                "x-default": "required",
                "examples": [{"scheme": "hubspot-v3", "secret": "${WEBHOOK_SECRET}"}],
                "properties": {
                    "scheme": {"enum": list(SCHEMES), "description": "The signature scheme.",
                               "x-default": "required", "examples": ["hubspot-v3"]},
                    "secret": {"type": "string", "minLength": 1, "description": "The shared secret; write "
                               "`${ENV_VAR}`, never the value.", "x-default": "required",
                               "examples": ["${WEBHOOK_SECRET}"]},
                    "header": {"type": "string", "minLength": 1, "description": "hmac-sha256: the header "
                               "carrying the signature.", "x-default": "none (required for hmac-sha256)",
                               "examples": ["X-Signature"]},
                    "timestamp_header": {"type": "string", "minLength": 1, "description": "hmac-sha256: the "
                                         "header carrying the timestamp.",
                                         "x-default": "none: no timestamp is signed (no stale probe)",
                                         "examples": ["X-Timestamp"]},
                    "encoding": {"enum": ["hex", "base64"], "description": "hmac-sha256: how the signature is "
                                 "written.", "default": "hex", "examples": ["base64"]},
                    "message": {"type": "string", "minLength": 1, "description": "hmac-sha256: what is signed; "
                                "placeholders `{timestamp}`, `{body}`, `{url}`, `{method}`.",
                                "x-default": '"{timestamp}.{body}" ("{body}" without a timestamp_header)',
                                "examples": ["{timestamp}.{body}"]},
                },
            },
        },
    },
    "enum_additions": {
        "enum": ["compatible", "breaking"],
        "description": "Whether a new enum value breaks the receiver (`breaking`: a strict receiver), as "
        "`gtmcheck webhooks diff --enum-additions`.",
        "default": "compatible",
        "examples": ["compatible"],
    },
}
