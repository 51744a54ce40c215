"""Every exception gtmcheck raises, in one place.

    GtmcheckError                 anything gtmcheck raises on purpose
    ├── SpecError                 a checklist or project file is unusable (exit 2); carries file:line:column
    │   ├── SpecErrors            several such problems in one file, each at its own line
    │   └── EnvVarError           a ``${VAR}`` has no value in the environment
    ├── ConfigError               a usable file asks for something that cannot be had (unknown environment)
    ├── UnreadableFile            a named file is not a readable regular file (FIFO, device, loop, too big)
    ├── CheckFailed               a DoD item was verified and is not done (expected vs received)
    ├── CheckError                a DoD item could not be verified (network, CRM down): status ``error``
    ├── NotConfigured             a DoD item has no way of being verified in this checklist
    ├── HistoryError              the run history cannot be read or appended (never fails a run)
    └── ConnectorError            a vendor API or the warehouse did not give what was asked
        ├── ApiError              an HTTP answer that is an error (status, vendor code, correlation id)
        │   ├── RateLimited       429 / REQUEST_LIMIT_EXCEEDED still failing after the retries
        │   ├── NotFound          404: the record or endpoint does not exist
        │   ├── DuplicateRecord   the CRM refused a duplicate (Salesforce DUPLICATES_DETECTED)
        │   └── UnexpectedAnswer  a 3xx, a non-JSON body or JSON of the wrong shape where an API answer belongs
        ├── TransportError        no answer at all (connect error, timeout) after the retries, or the CRM
        │                         stopped being dialled after a few connections in a row got no answer
        └── WarehouseError        the warehouse refused a query or could not be reached

User errors are printed at the CLI edge as one line plus a fix hint; check outcomes are shown by the
pytest plugin's ``repr_failure``. Neither shows a Python traceback unless asked.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import secrets


class GtmcheckError(Exception):
    """Base class of every error gtmcheck raises on purpose."""


@dataclass(frozen=True)
class Location:
    """A place in a file, 1-based, as editors and CI annotations count."""

    file: str
    line: int = 1
    column: int = 1

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


class SpecError(GtmcheckError):
    """A checklist or project file cannot be used as written.

    The message says what is wrong; ``hint`` says how to fix it. ``str()`` gives the one-line
    ``file:line:column: message (hint)`` form that the CLI and pytest collection print.
    """

    def __init__(self, message: str, location: Location | None = None, hint: str = "") -> None:
        self.message = message
        self.location = location
        self.hint = hint
        super().__init__(self.format())

    def format(self) -> str:
        where = f"{self.location}: " if self.location else ""
        fix = f" Fix: {self.hint}" if self.hint else ""
        return f"{where}{self.message.rstrip('.')}.{fix}"

    @property
    def errors(self) -> list[SpecError]:
        """Every problem this error stands for, each at its line (one, except for ``SpecErrors``)."""
        return [self]


class SpecErrors(SpecError):
    """Every schema problem of one file, in file order, so that one fix-and-rerun fixes them all.

    It reads as its first error (``message``, ``location``, ``hint``), so code that shows one error still
    works; ``str()`` and ``format()`` give one ``file:line:column: message. Fix: hint`` line per error.
    """

    def __init__(self, errors: list[SpecError]) -> None:
        if not errors:
            raise ValueError("SpecErrors needs at least one error")
        self._errors = [e for err in errors for e in err.errors]
        first = self._errors[0]
        super().__init__(first.message, first.location, first.hint)

    @property
    def errors(self) -> list[SpecError]:
        return list(self._errors)

    def format(self) -> str:
        return "\n".join(error.format() for error in self._errors)


class EnvVarError(SpecError):
    """A ``${VAR}`` reference names a variable that is not set. The value is never shown."""


class ConfigError(GtmcheckError):
    """A valid file asks for something that does not exist (an unknown environment, a missing file)."""


class UnreadableFile(GtmcheckError):
    """A file a user named cannot be read (``safefile``): missing, a folder, a FIFO, a device, too big.

    Also a symlink loop, or text that is not UTF-8. The message has no path: the caller says which file,
    and where.
    """

    def __init__(self, problem: str, hint: str) -> None:
        self.problem = problem
        self.hint = hint
        super().__init__(f"{problem}. Fix: {hint}")


@dataclass
class Evidence:
    """What a check saw, kept for the report: a short summary plus details for the record."""

    summary: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    def as_text(self) -> str:
        return self.summary


class CheckFailed(GtmcheckError):
    """A DoD item was checked and is not done."""

    def __init__(
        self,
        message: str,
        *,
        expected: str | None = None,
        received: str | None = None,
        evidence: Evidence | None = None,
    ) -> None:
        self.message = message
        self.expected = expected
        self.received = received
        self.evidence = evidence or Evidence()
        super().__init__(message)


class CheckError(GtmcheckError):
    """A DoD item could not be verified: the system under test did not answer as needed."""

    def __init__(self, message: str, *, evidence: Evidence | None = None) -> None:
        self.message = message
        self.evidence = evidence or Evidence()
        super().__init__(message)


class NotConfigured(GtmcheckError):
    """A DoD item is neither verified by the checklist nor attested: it counts as not done."""


def relpath(path: Path | str) -> str:
    """Show a path relative to the working directory when it is below it, as pytest does."""
    p = Path(path)
    try:
        resolved = p.resolve()
    except (OSError, RuntimeError):  # a symlink loop: name it as written, never a traceback
        resolved = Path(os.path.abspath(p))
    try:
        return str(resolved.relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(p)


class ConnectorError(GtmcheckError):
    """A vendor API or the warehouse did not give what was asked. Messages never carry secrets."""


class ApiError(ConnectorError):
    """An HTTP error answer from a vendor API. Every field the vendor wrote is redacted here, once."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        correlation_id: str | None = None,
        method: str | None = None,
        url: str | None = None,
    ) -> None:
        message = secrets.redact(message)
        code, correlation_id, url = (None if text is None else secrets.redact(text)
                                     for text in (code, correlation_id, url))
        self.message = message
        self.status = status
        self.code = code
        self.correlation_id = correlation_id
        self.method = method
        self.url = url
        where = f"{method} {url}: " if method and url else ""
        extra = ", ".join(
            x for x in (f"HTTP {status}" if status else "", code or "", f"correlationId {correlation_id}"
                        if correlation_id else "") if x
        )
        super().__init__(f"{where}{message}" + (f" ({extra})" if extra else ""))


class RateLimited(ApiError):
    """The vendor kept refusing for rate limits after every retry."""


class NotFound(ApiError):
    """The record or endpoint does not exist."""


class DuplicateRecord(ApiError):
    """The CRM refused to create a duplicate; ``existing_id`` is the record it matched, when it says."""

    existing_id: str | None = None


class UnexpectedAnswer(ApiError):
    """An answer the connector cannot read: a redirect, a login page, JSON of another shape.

    Not a bug in gtmcheck and not a verdict on the CRM's data: the item could not be verified. ``path`` is
    the JSON path that had the wrong type (``$.results[3].id``), when the body was JSON.
    """

    path: str | None = None


class TransportError(ConnectorError):
    """No answer at all: connection refused, DNS, timeout, after the retries (or the CRM is no longer dialled)."""


class WarehouseError(ConnectorError):
    """The warehouse refused a query or could not be reached."""


class HistoryError(GtmcheckError):
    """The run history cannot be read or written: a warning at the end of a run, exit 2 for ``gtmcheck history``."""
