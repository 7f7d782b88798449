"""The import unit, apart from the registry so the adapters the registry points at can name it."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from colsec.stix.tlp import TLP
from colsec.stix.validate import ObjectFacts

__all__ = ["ImportUnit"]


@dataclass
class ImportUnit:
    """Objects stored together or not at all, with the sharing facts the source gave them."""

    name: str
    objects: Iterable[Mapping[str, Any]]
    default_tlp: TLP | None = None
    sharing_group_name: str | None = None
    origin: str | None = None
    notes: list[str] = field(default_factory=list)
    # The facts of objects the parser built in a shape proven valid (None: the store validates each).
    facts_for: Callable[[Mapping[str, Any]], ObjectFacts | None] | None = None
