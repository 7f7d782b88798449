"""Deterministic STIX indicators for federation tests (documentation IP ranges only)."""

from __future__ import annotations

import uuid
from typing import Any

from colsec.stix.tlp import TLP, marking_id

NS = uuid.UUID("5d1f3c0a-1b7e-4e59-9c55-0c1f6b0e7a11")


def indicator(
    n: int, *, tlp: TLP = TLP.GREEN, tag: str = "t", modified: str = "2026-01-01T00:00:00.000Z", **extra: Any
) -> dict[str, Any]:
    ip = f"198.51.{(n // 250) % 250}.{n % 250 + 1}"
    obj = {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--{uuid.uuid5(NS, f'{tag}-{n}')}",
        "created": "2026-01-01T00:00:00.000Z",
        "modified": modified,
        "name": f"test indicator {tag} {n}",
        "pattern": f"[ipv4-addr:value = '{ip}']",
        "pattern_type": "stix",
        "valid_from": "2026-01-01T00:00:00Z",
        "object_marking_refs": [marking_id(tlp)],
    }
    obj.update(extra)
    return obj


def indicators(count: int, *, tlp: TLP = TLP.GREEN, tag: str = "t", start: int = 0) -> list[dict[str, Any]]:
    return [indicator(i, tlp=tlp, tag=tag) for i in range(start, start + count)]
