"""Fixtures of the operations tests."""

from __future__ import annotations

import pytest
from backup_world import PASSPHRASE


@pytest.fixture
def passphrase(monkeypatch) -> str:
    """The backup passphrase, given as a timer would: in REGIE_BACKUP_PASSPHRASE."""
    monkeypatch.setenv("REGIE_BACKUP_PASSPHRASE", PASSPHRASE)
    return PASSPHRASE
