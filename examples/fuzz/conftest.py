"""Fixtures for the fuzz example: one cut server and one httpx client per test, not per example."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from cutserver import CutServer


@pytest.fixture
def cut_server() -> Iterator[CutServer]:
    server = CutServer()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5.0) as client:
        yield client
