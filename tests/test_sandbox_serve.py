"""`gtmcheck sandbox serve` answers the documented HubSpot endpoints on loopback (curl when available)."""

from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

DEMO = Path(__file__).resolve().parent.parent / "gtmcheck" / "demo"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(url: str) -> tuple[int, dict[str, object]]:
    curl = shutil.which("curl")
    if curl:
        out = subprocess.run([curl, "-s", "-m", "5", "-H", "Authorization: Bearer any-token", "-w", "\n%{http_code}",
                              url], capture_output=True, text=True, timeout=10)
        body, _, code = out.stdout.rpartition("\n")
        return int(code or 0), json.loads(body) if body else {}
    r = httpx.get(url, headers={"Authorization": "Bearer any-token"}, timeout=5)
    return r.status_code, r.json()


@pytest.fixture
def server() -> object:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "gtmcheck.cli", "sandbox", "serve", "--port", str(port),
         "--scenario", str(DEMO / "healthy.yml"), "--no-rate-limit"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(base + "/crm/v3/owners/", timeout=1)
                break
            except httpx.TransportError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"sandbox did not start: {proc.communicate(timeout=5)}") from None
                time.sleep(0.1)
        yield base, proc
    finally:
        stop(proc)


def stop(proc: subprocess.Popen[str], before_close: Callable[[], None] | None = None) -> None:
    """SIGINT, then a kill if the child does not go; then close its pipes (an open one is a ResourceWarning).

    ``before_close`` runs between the two, e.g. to let a reader thread reach the end of the pipe.
    """
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
    if before_close is not None:
        before_close()
    for stream in (proc.stdin, proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()


def test_serve_answers_owners_like_hubspot(server: tuple[str, subprocess.Popen[str]]) -> None:
    base, proc = server
    code, body = get(base + "/crm/v3/owners/?limit=2")
    assert code == 200
    results = body["results"]
    assert isinstance(results, list) and len(results) == 2
    assert set(results[0]) >= {"id", "email", "firstName", "lastName", "userId", "type", "teams", "archived"}
    assert body["paging"]["next"]["after"]  # type: ignore[index]
    unauthorized = httpx.get(base + "/crm/v3/owners/", timeout=5)
    assert unauthorized.status_code == 401 and unauthorized.json()["status"] == "error"
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert f"Sandbox HubSpot API on {base}" in out and "token: any" in out


def test_serve_refuses_a_public_host() -> None:
    proc = subprocess.run([sys.executable, "-m", "gtmcheck.cli", "sandbox", "serve", "--host", "0.0.0.0"],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2 and "loopback" in proc.stderr
