"""No secret in any output, in any spelling (issue 8): a hostile CRM echoes the token back every way it can.

A real HTTP server on a loopback port impersonates HubSpot's API and writes the caller's bearer token into
everything it answers: error messages, ``errors[].code``, ``correlationId``, ``category``, response headers, a
plain-text body where the token straddles the 200-character cut, and the token base64'd (plain and inside
``Basic`` credentials), percent-encoded, upper-cased, hex, JSON-escaped and as HTML entities. A project points
its ``hostile`` environment at it, with the token also in a checklist name and a campaign URL. Then ``gtmcheck
run`` (DEBUG log capture to the terminal and a file), ``lint --env`` (text, JSON, SARIF), ``cleanup`` and
``cleanup --dry-run`` run as a user runs them, and no output channel may hold any spelling of the token.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

TOKEN = "pat-na1-7c1e94d2-5b3a-4f60-8e27-a9d0c3b18f45"  # HubSpot private app token shape
SECRET_PART = TOKEN.removeprefix("pat-na1-")


def spellings(token: str) -> dict[str, str]:
    """Every way the server writes the token, and so every way the tests look for it."""
    raw = token.encode()
    return {
        "plain": token,
        "upper": token.upper(),
        "percent": "".join(f"%{b:02X}" for b in raw),
        "percent-lower": "".join(f"%{b:02x}" for b in raw),
        "base64": base64.b64encode(raw).decode(),
        "base64-urlsafe-unpadded": base64.urlsafe_b64encode(raw).decode().rstrip("="),
        "basic": base64.b64encode(b"app:" + raw).decode(),
        "base64-inside": base64.b64encode(b"x" + raw + b"yz").decode(),
        "hex": raw.hex(),
        "hex-upper": raw.hex().upper(),
        "json-escaped": "".join(f"\\u{ord(c):04x}" for c in token),
        "html-entities": "".join(f"&#{ord(c)};" for c in token),
    }


def leaks(text: str) -> list[str]:
    """The spellings of the token in ``text``: whole, a 12-character piece of its secret part, or encoded."""
    lowered = text.lower()
    found = [name for name, form in spellings(TOKEN).items() if form.lower() in lowered]
    if SECRET_PART[:12].lower() in lowered or SECRET_PART[-12:].lower() in lowered:
        found.append("piece")
    raw = TOKEN.encode()
    for start in range(3):  # base64 of the token inside longer base64 text, at each byte alignment
        chunk = raw[start:]
        if base64.b64encode(chunk[: len(chunk) // 3 * 3]).decode() in text:
            found.append(f"base64-core-{start}")
    return found


def echo_message(token: str) -> str:
    forms = spellings(token)
    return (f"The token {token} is not valid for this portal; we also saw {forms['upper']}, "
            f"{forms['percent']}, {forms['base64']}, {forms['base64-urlsafe-unpadded']}, Basic {forms['basic']}, "
            f"{forms['base64-inside']}, {forms['hex']}, {forms['json-escaped']} and {forms['html-entities']}")


def echo_error(token: str) -> dict[str, Any]:
    """HubSpot's error body with the token in every field."""
    return {"status": "error", "message": echo_message(token), "correlationId": token, "category": token.upper(),
            "errors": [{"message": f"invalid {spellings(token)['base64']}", "code": token,
                        "context": {"token": [token]}}]}


def straddling_body(token: str) -> str:
    """250 characters of text, the token straddling the 200-character cut (its first 24 characters before it)."""
    head = "Access denied for this request; " + "x" * (176 - 32)
    return (head + token + " " + "y" * 250)[:250]


OWNERS = ["anna@acme.example", "ben@acme.example", "carla@acme.example", "dev@acme.example"]


@dataclass
class Hostile:
    """The server's state: whether owners fail (for lint) and what it saw."""

    owners_fail: bool = False
    tokens_seen: set[str] = field(default_factory=set)
    paths: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    created: int = 0


class HostileHandler(BaseHTTPRequestHandler):
    """Answers like HubSpot, with the caller's token in every answer."""

    state: Hostile

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - BaseHTTPRequestHandler's name
        pass

    def _token(self) -> str:
        auth = self.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ").strip() or TOKEN
        with self.state.lock:
            self.state.tokens_seen.add(token)
            self.state.paths.append(f"{self.command} {self.path}")
        return token

    def _send(self, status: int, body: Any, token: str, *, content_type: str = "application/json") -> None:
        data = (json.dumps(body) if content_type == "application/json" else str(body)).encode()
        forms = spellings(token)
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-Echo-Token", token)
        self.send_header("X-Echo-Upper", forms["upper"])
        self.send_header("X-Echo-Base64", forms["base64"])
        self.send_header("X-Echo-Hex", forms["hex"])
        self.send_header("X-Echo-Percent", forms["percent"])
        self.send_header("X-HubSpot-Correlation-Id", token)
        self.send_header("WWW-Authenticate", f"Basic realm=\"{token}\", credentials=\"{forms['basic']}\"")
        self.send_header("Set-Cookie", f"session={token}; HttpOnly")
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        token = self._token()
        path = self.path.split("?")[0]
        if path.rstrip("/") == "/crm/v3/owners":
            if self.state.owners_fail:
                self._send(401, echo_error(token), token)
                return
            owners = [{"id": str(i), "email": email, "firstName": token, "lastName": token.upper(),
                       "userId": i, "type": "PERSON", "teams": [], "archived": False}
                      for i, email in enumerate(OWNERS, 1)]
            owners.append({"id": "9", "email": "inbound-queue@acme.example", "firstName": "Inbound",
                           "lastName": "Queue", "userId": 9, "type": "QUEUE", "teams": [], "archived": False})
            self._send(200, {"results": owners}, token)
        elif path.startswith("/crm/v3/objects/"):
            self._send(400, straddling_body(token), token, content_type="text/plain")
        elif path.startswith("/landing"):
            self._send(404, echo_message(token), token, content_type="text/html")
        else:
            self._send(400, echo_error(token), token)

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        token = self._token()
        self._body()
        if self.path.endswith("/search"):
            self._send(403, straddling_body(token), token, content_type="text/plain")
        elif self.path.endswith("/batch/archive"):
            self._send(400, echo_error(token), token)
        elif self.path.rstrip("/").count("/") == 4:  # POST /crm/v3/objects/{type}: a create
            with self.state.lock:
                self.state.created += 1
                record_id = str(1000 + self.state.created)
            self._send(201, {"id": record_id, "properties": {"hs_object_id": record_id, "note": token},
                             "createdAt": "2026-11-26T00:00:00Z", "updatedAt": "2026-11-26T00:00:00Z",
                             "archived": False}, token)
        else:
            self._send(400, echo_error(token), token)

    def do_PATCH(self) -> None:  # noqa: N802 - http.server's name
        token = self._token()
        self._body()
        self._send(400, echo_error(token), token)

    do_DELETE = do_PATCH


@pytest.fixture
def hostile() -> Iterator[tuple[Hostile, str]]:
    state = Hostile()
    handler = type("Handler", (HostileHandler,), {"state": state})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


ROUTING = """\
kind: routing
name: "Inbound demo requests ${HOSTILE_TOKEN}"
owner: mops@acme.example
built_by: jane@acme.example
signoff: {by: lee@acme.example, role: head_of_marketing_ops, on: 2026-11-20}
object: contacts
rules:
  - id: emea
    when: {country: {in: [DE, FR]}}
    assign: {round_robin: [ben@acme.example, anna@acme.example]}
  - id: north-america
    when: {country: {in: [US]}}
    assign: {owner: carla@acme.example}
fallback: {queue: inbound-queue@acme.example}
edge_cases: {unmatched_territory: fallback, duplicate_contact: existing_owner}
sla: {assigned_within: 5m}
volume: {leads: 6}
"""

UTM = """\
kind: utm
name: Campaign URLs
owner: mops@acme.example
built_by: jane@acme.example
signoff: {by: lee@acme.example, role: head_of_marketing_ops, on: 2026-11-20}
taxonomy:
  required: [utm_source, utm_medium, utm_campaign]
  case: lower
  parameters:
    utm_source: {}
    utm_medium: {}
    utm_campaign: {}
    utm_content: {}
urls:
  - id: partner-link
    url: "BASE/landing?utm_source=partner&utm_medium=referral&utm_campaign=launch&utm_content=Ref-${HOSTILE_TOKEN}"
"""


def project(tmp_path: Path, base: str) -> Path:
    root = tmp_path / "repo"
    (root / "checks").mkdir(parents=True)
    (root / "gtmcheck.yml").write_text(
        "version: 1\nenvironments:\n  hostile:\n"
        f"    crm: {{type: hubspot, token: \"${{HOSTILE_TOKEN}}\", base_url: \"{base}\", search_lag: 100ms}}\n"
        "    web: {type: live, timeout: 5}\n"
        "    writes: true\n"
        "default_environment: hostile\n"
    )
    (root / "checks" / "routing.gtm.yml").write_text(ROUTING)
    (root / "checks" / "utm.gtm.yml").write_text(UTM.replace("BASE", base))
    return root


def gtmcheck(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HOSTILE_TOKEN": TOKEN, "PYTHONUNBUFFERED": "1"}
    return subprocess.run([sys.executable, "-m", "gtmcheck.cli", *args], cwd=root, capture_output=True, text=True,
                          timeout=240, env=env)


def test_a_crm_echoing_the_token_every_way_leaks_it_nowhere(hostile: tuple[Hostile, str], tmp_path: Path) -> None:
    state, base = hostile
    root = project(tmp_path, base)
    outputs: dict[str, str] = {}

    run = gtmcheck(root, "run", "--report-dir", "out", "--", "-o", "log_cli=true", "--log-cli-level=DEBUG",
                   "--log-file", str(root / "debug.log"), "--log-file-level=DEBUG", "-o", "junit_logging=all")
    outputs["run"] = run.stdout + run.stderr
    assert run.returncode == 1, outputs["run"]  # checks error: the CRM refused everything after the creates
    for name in ("report.json", "report.md", "report.html", "junit.xml"):
        outputs[name] = (root / "out" / name).read_text()
    outputs["debug.log"] = (root / "debug.log").read_text()
    assert "gtmcheck cleanup: cleanup of run" in outputs["run"]  # the archive failed: the vendor's error is shown
    assert state.created > 0

    state.owners_fail = True
    for fmt in ("text", "json", "sarif"):
        lint = gtmcheck(root, "lint", "--env", "hostile", "--format", fmt)
        outputs[f"lint {fmt}"] = lint.stdout + lint.stderr
        assert "owner checks skipped" in lint.stderr, outputs[f"lint {fmt}"]
    lint_file = gtmcheck(root, "lint", "--env", "hostile", "--format", "sarif", "-o", "lint.sarif")
    outputs["lint -o"] = lint_file.stdout + lint_file.stderr + (root / "lint.sarif").read_text()
    for args in (("cleanup",), ("cleanup", "--dry-run")):
        result = gtmcheck(root, *args)
        outputs[" ".join(args)] = result.stdout + result.stderr
        assert result.returncode == 2, outputs[" ".join(args)]  # the search answered 403

    assert state.tokens_seen == {TOKEN}  # every command really sent the token and got it echoed
    assert "Traceback" not in outputs["run"] + outputs["cleanup"] + outputs["lint text"]
    found = {channel: leaks(text) for channel, text in outputs.items()}
    assert {channel: forms for channel, forms in found.items() if forms} == {}
    # the echoes were there and were masked, not lost: the channels show the masks in their place
    assert "***" in outputs["cleanup"] and "***" in outputs["report.json"] and "***" in outputs["debug.log"]
    assert f"POST {base}/crm/v3/objects/contacts/search" in outputs["cleanup"]  # not masking what is no secret
    assert "X-Echo-Token" in outputs["debug.log"] or "x-echo-token" in outputs["debug.log"].lower()
