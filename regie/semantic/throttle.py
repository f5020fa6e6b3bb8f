"""Per-client throttling of the public endpoints that cost CPU (SPARQL): a token bucket per client address,
in memory (a restart refills every bucket: nothing personal is kept, only addresses for a minute)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field


@dataclass
class Throttle:
    """``per_minute`` requests a minute per client, with bursts up to ``burst``."""

    per_minute: int
    burst: int = 10
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def allow(self, client: str, now: float | None = None) -> float:
        """0 when ``client`` may go on now, else the seconds to wait (a ``Retry-After``)."""
        t = time.monotonic() if now is None else now
        rate = self.per_minute / 60.0
        with self._lock:
            tokens, last = self._buckets.get(client, (float(self.burst), t))
            tokens = min(float(self.burst), tokens + (t - last) * rate)
            if tokens >= 1:
                self._buckets[client] = (tokens - 1, t)
                if len(self._buckets) > 10_000:  # forget the full buckets of clients gone quiet
                    full = [k for k, (n, _) in self._buckets.items() if n >= self.burst - 1]
                    for k in full[:5_000]:
                        del self._buckets[k]
                return 0.0
            self._buckets[client] = (tokens, t)
            return (1 - tokens) / rate if rate > 0 else 60.0
