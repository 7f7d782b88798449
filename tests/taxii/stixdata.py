"""Deterministic STIX 2.1 objects for TAXII tests (documentation addresses only)."""

from __future__ import annotations

import uuid
from typing import Any

from colsec.stix.tlp import TLP, marking_id

NS = uuid.UUID("a3c52a55-0f8e-4d6a-8f0e-7f3e1d9b2c40")


def indicator(
    n: int, *, tag: str = "t", tlp: TLP = TLP.GREEN, modified: str = "2026-01-01T00:00:00.000Z"
) -> dict[str, Any]:
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--{uuid.uuid5(NS, f'{tag}-{n}')}",
        "created": "2026-01-01T00:00:00.000Z",
        "modified": modified,
        "name": f"indicator {tag} {n}",
        "pattern": f"[ipv4-addr:value = '203.0.{(n // 250) % 250}.{n % 250 + 1}']",
        "pattern_type": "stix",
        "valid_from": "2026-01-01T00:00:00Z",
        "object_marking_refs": [marking_id(tlp)],
    }


def indicators(count: int, *, tag: str = "t", tlp: TLP = TLP.GREEN, start: int = 0) -> list[dict[str, Any]]:
    return [indicator(i, tag=tag, tlp=tlp) for i in range(start, start + count)]
