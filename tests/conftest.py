from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fakes import FakeClock

from gtmcheck import secrets

REPO = Path(__file__).resolve().parent.parent


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
