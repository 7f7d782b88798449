"""The link rows of a batch (``textindex.link_rows``), made object by object, equal the definition:
the distinct (named id, seq) pairs of every relationship and sighting, refs of at most 120
characters.  Planted: a relationship from an object to itself (one row, not two), a sighting, a
ref too long and refs that are not strings."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from colsec.formats.stix_bundle import read_stix_file
from colsec.store.textindex import LINK_KEYS, link_rows

_SELF = "malware--00000000-0000-4000-8000-000000000001"
_PLANTED: list[dict[str, Any]] = [
    {"type": "relationship", "source_ref": _SELF, "target_ref": _SELF, "relationship_type": "variant-of"},
    {"type": "sighting", "sighting_of_ref": "indicator--00000000-0000-4000-8000-000000000002",
     "where_sighted_refs": ["identity--00000000-0000-4000-8000-000000000003"]},
    {"type": "relationship", "source_ref": "x--" + "a" * 200, "target_ref": _SELF},
    {"type": "relationship", "source_ref": ["not", "a", "ref"], "target_ref": None},
    {"type": "malware", "source_ref": _SELF},  # not a link, whatever it names
]  # fmt: skip


def _reference(versions: Sequence[tuple[int, Mapping[str, Any]]]) -> list[tuple[str, int]]:
    return sorted(
        {
            (body[k], seq)
            for seq, body in versions
            if body.get("type") in ("relationship", "sighting")
            for k in LINK_KEYS
            if isinstance(body.get(k), str) and len(body[k]) <= 120
        }
    )


def _check(objects: list[dict[str, Any]]) -> None:
    versions = list(enumerate(objects, start=1))
    rows = link_rows(versions)
    assert len(rows) == len(set(rows))  # the primary key (ref_id, seq) takes each once
    assert sorted(rows) == _reference(versions)


def test_planted() -> None:
    _check(_PLANTED)
    assert link_rows([(7, _PLANTED[0])]) == [(_SELF, 7)]


def test_attack_with_planted(shared_data: Path) -> None:
    path = shared_data / "attack" / "enterprise-attack-18.1.stix21.json.gz"
    if not path.exists():
        pytest.skip("ATT&CK bundle absent from the shared data")
    _check([*read_stix_file(path), *_PLANTED])
