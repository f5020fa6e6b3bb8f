"""The one error every adapter raises on bad input: it says where (file, line, field) and why."""

from __future__ import annotations


class IngestError(ValueError):
    """Bad input. Nothing of the file or request it came from has been written."""

    def __init__(self, why: str, *, source: str | None = None, line: int | None = None, field: str | None = None):
        self.why = why
        self.source = source
        self.line = line
        self.field = field
        super().__init__(self.describe())

    def describe(self) -> str:
        where = [
            x
            for x in (
                self.source,
                f"line {self.line}" if self.line else None,
                f"field {self.field!r}" if self.field else None,
            )
            if x
        ]
        return f"{', '.join(where)}: {self.why}" if where else self.why

    def as_dict(self) -> dict[str, object]:
        """The same detail for HTTP clients (a 4xx body)."""
        return {"error": self.why, "source": self.source, "line": self.line, "field": self.field}
