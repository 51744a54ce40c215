from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy.dialects.postgresql  # noqa: F401  (see below)
from fakes import FakeClock
from warehouses import warehouse_url  # noqa: F401  (the dialect matrix, for every warehouse test)

from gtmcheck import secrets

REPO = Path(__file__).resolve().parent.parent

# The gtmcheck and pytest runs the tests start (subprocesses, pytester) must print what they print on a laptop:
# with CI or BUILD_NUMBER set, pytest stops shortening its summary lines, and a message counted in the output
# would appear twice.
for _name in ("CI", "BUILD_NUMBER"):
    os.environ.pop(_name, None)

# Loaded once here, before any pytester run: an in-process run forgets the modules it imported first, and the
# history store's DuckDB dialect (built on PostgreSQL's) imported again registers its SQL functions twice, which
# SQLAlchemy warns about (an error under filterwarnings).


@pytest.fixture(autouse=True)
def _forget_secrets() -> Iterator[None]:
    yield
    secrets.clear()


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def no_hang() -> Iterator[None]:
    """A read that blocks (a FIFO opened without O_NONBLOCK) fails the test after 10 s instead of hanging the suite."""

    def expire(signum: int, frame: object) -> None:
        raise TimeoutError("the read blocked: a FIFO was opened or read as a file")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(10)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
