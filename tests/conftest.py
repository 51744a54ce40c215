from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakes import FakeClock

from gtmcheck import secrets

REPO = Path(__file__).resolve().parent.parent

# The gtmcheck and pytest runs the tests start (subprocesses, pytester) must print what they print on a laptop:
# with CI or BUILD_NUMBER set, pytest stops shortening its summary lines, and a message counted in the output
# would appear twice.
for _name in ("CI", "BUILD_NUMBER"):
    os.environ.pop(_name, None)


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
