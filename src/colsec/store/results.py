"""What an import reports back: counts, the refused objects (a bounded list), the new versions.

Apart from the write gate (``colsec.store.service``) so the rows written beside each new
version (``colsec.store.companions``) can count into it too.
"""

from __future__ import annotations

from array import array
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

__all__ = ["MAX_REPORTED_ERRORS", "ImportResult", "add_error", "twice"]

MAX_REPORTED_ERRORS = 200


@dataclass
class ImportResult:
    received: int = 0
    inserted: int = 0
    unchanged: int = 0
    by_type: Counter[str] = field(default_factory=Counter)
    errors: list[dict[str, str]] = field(default_factory=list)
    inserted_ids: list[str] = field(default_factory=list)
    inserted_seqs: list[int] = field(default_factory=list)
    follow_up_jobs: list[str] = field(default_factory=list)  # jobs finishing derived data (PostImportStep)
    # While batches are stored, the new seqs as 8-byte integers (a list of 700,000 ints is ~29 MB,
    # held through the end of a large unit); ``settle`` moves them into ``inserted_seqs``.
    pending_seqs: array[int] = field(default_factory=lambda: array("q"), repr=False)

    def settle(self) -> None:
        self.inserted_seqs.extend(self.pending_seqs)
        self.pending_seqs = array("q")

    def to_dict(self) -> dict[str, Any]:
        return {
            "received": self.received,
            "inserted": self.inserted,
            "unchanged": self.unchanged,
            "by_type": dict(self.by_type),
            "errors": self.errors,
        }


def twice(object_id: str) -> str:
    return f"{object_id}: appears twice with the same 'modified' and different content"


def add_error(result: ImportResult, object_id: str | None, message: str) -> None:
    """Record a refused object; past MAX_REPORTED_ERRORS only the count in the message grows."""
    if len(result.errors) < MAX_REPORTED_ERRORS:
        result.errors.append({"id": object_id or "", "message": message})
