"""What the federation writes in the access log: every refusal of a signed message, every peer change, every
deletion asked or carried out, every witnessed head (and a rewritten one)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from regie.governance import audit
from regie.store import Store


@dataclass(frozen=True, slots=True)
class FederationEvent:
    """One decision of the federation about a peer: ``action`` (refused_request, peer_added, peer_suspended,
    delete_sent, delete_received, witnessed, ...), ``decision`` (allowed, refused), why, and details."""

    kind: ClassVar[str] = "federation"
    action: str
    peer: str  # the peer's id, or the URL or key id of an unknown caller
    decision: str
    reason: str
    actor: str = "regie"
    grant_id: str | None = None
    subject_id: str | None = None
    detail: dict = field(default_factory=dict)


def log(store: Store, event: FederationEvent, *, now: int | None = None) -> audit.LogEntry:
    return audit.append(store, event, now=now)  # type: ignore[arg-type] - a typed event of its own kind


def logged(store: Store, *, action: str | None = None) -> list[dict]:
    """The federation's entries of the access log (for pages and tests), oldest first."""
    return [e.entry for e in audit.entries(store, kind=FederationEvent.kind)
            if action is None or e.entry.get("action") == action]  # fmt: skip
