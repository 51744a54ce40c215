"""A circuit breaker per API client: a host that gives no answer is given up for the rest of the run.

Without it every request to a dead CRM went through its own retries (8 attempts, about 47 s each), and a run
of 12 CRM items took 11 minutes to error them all. Attempts without an answer (refused, DNS, connect or read
timeout) are counted across requests and threads; at ``trip_after`` in a row the breaker trips, and from
then on every request raises ``TransportError`` at once, saying why, without dialling. Any HTTP answer, even
a 5xx or a 429, resets the count: those are retried as before.

Only a retry can trip it (an attempt after the request's first), so a blip that fails the first attempt of
eight parallel requests at once does not give the host up: their retries, a backoff later, find it back.
"""

from __future__ import annotations

import threading

from .. import secrets
from ..errors import TransportError


class CircuitBreaker:
    """Counts attempts in a row without an answer; thread safe."""

    def __init__(self, vendor: str, trip_after: int) -> None:
        self.vendor = vendor
        self.trip_after = max(1, trip_after)
        self._lock = threading.Lock()
        self._no_answer = 0
        self._given_up: str | None = None

    @property
    def given_up(self) -> str | None:
        """Why the host is no longer dialled in this run (``None`` while it is)."""
        return self._given_up

    def check(self, method: str, path_or_url: str) -> None:
        """Raise ``TransportError`` without dialling once the breaker has tripped."""
        given_up = self._given_up
        if given_up is not None:
            raise TransportError(secrets.redact(f"{method} {path_or_url}: not sent: {given_up}"))

    def no_answer(self, host: str, reason: str, *, retry: bool) -> str | None:
        """Count an attempt without an answer; why the host is given up once the breaker trips, else ``None``.

        ``retry``: the attempt is not its request's first (only a retry can trip the breaker).
        """
        with self._lock:
            self._no_answer += 1
            if self._given_up is None and retry and self._no_answer >= self.trip_after:
                self._given_up = secrets.redact(
                    f"{self.vendor} at {host} gave no answer to {self._no_answer} connection attempts in a row "
                    f"(last: {reason}); not dialled again in this run")
            return self._given_up

    def answered(self) -> None:
        """The host answered (whatever the status): start counting again."""
        with self._lock:
            self._no_answer = 0
