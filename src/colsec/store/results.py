"""What an import reports back: counts, the refused objects (a bounded list), the new versions.

Apart from the write gate (``colsec.store.service``) so the rows written beside each new
version (``colsec.store.companions``) can count into it too.
"""

from __future__ import annotations

from array import array
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from colsec.stix.ids import canonical_timestamp

__all__ = ["MAX_REPORTED_ERRORS", "ImportResult", "add_error", "raw_version", "twice", "version_key_of"]

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


def add_error(result: ImportResult, object_id: str | None, message: str, version: object = "") -> None:
    """Record a refused object and its version ('modified', else 'created'; '' without one).

    Past MAX_REPORTED_ERRORS only the count in the message grows.  The version tells apart
    two versions of one id in the same unit, one stored and one refused (TAXII status).
    """
    if len(result.errors) < MAX_REPORTED_ERRORS:
        ver = version if isinstance(version, str) else ""
        result.errors.append({"id": object_id or "", "version": ver, "message": message})


def version_key_of(version: object) -> str:
    """A version as errors carry it: canonical when it is a STIX timestamp, else as given ('' if none)."""
    if not isinstance(version, str):
        return ""
    try:
        return canonical_timestamp(version)
    except ValueError:
        return version


def raw_version(obj: object) -> str:
    """The version an item names itself ('modified', else 'created'), canonical when valid."""
    if not isinstance(obj, Mapping):
        return ""
    return version_key_of(obj.get("modified") or obj.get("created"))
