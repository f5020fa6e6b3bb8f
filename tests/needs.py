"""What a test needs from the machine (import it by name: ``from needs import service_missing``; a module
of its own, since ``conftest`` is ambiguous when several folders have one)."""

from __future__ import annotations

import os

import pytest


def service_missing(reason: str) -> None:
    """Skip (developer machine) or fail (CI) when a service a test needs is not there."""
    if os.environ.get("REGIE_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{reason} (REGIE_REQUIRE_SERVICES=1: services are required)", pytrace=False)
    pytest.skip(reason)
