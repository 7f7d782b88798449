"""A batch's observable and search rows read in one pass (``colsec.store.patternindex``), an
indicator's both from its pattern's head, equal those of ``observable_rows`` and
``sqlite_index_rows``: whatever the head, the value, the other keys, the pattern type, the
observables a producer stated, and whether the pattern reader knows the head yet."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from colsec.stix.pattern import PatternError, comparison_atoms
from colsec.store import patternindex
from colsec.store.companions import observable_rows
from colsec.store.patternindex import index_rows
from colsec.store.textindex import sqlite_index_rows

HEADS = [
    "[ipv4-addr:value", "[ipv6-addr:value", "[domain-name:value", "[url:value", "[file:hashes.'SHA-256'",
    "[file:hashes.MD5", "[file:name", "[email-addr:value", "[network-traffic:dst_ref.value", "[x-misp:value",
    "[file:hashes.'SHA-256' = 'ab' AND file:name", "[x:'a' AND y:'b", "[x:a'b", "[x:'a\\'b'", "[",
    "[email-addr:value = 'a@example.org'] OR [url:value", "[process:name", "[Файл:имя", "[true:value",
]  # fmt: skip
VALUES = st.text(alphabet="abcXYZ019.-_/:@ 'ёЖжщ\\=]\x00", max_size=40) | st.sampled_from(
    ["10.0.0.1", "010.0.0.1", "10.0.0.0/8", "::1", "Host7.Example.COM.", "http://files.example.net/7.bin",
     "0" * 64, "", " ", "Running services", "bücher.example"]
)  # fmt: skip
EXTRA = st.dictionaries(
    st.sampled_from(["name", "description", "labels", "confidence", "lang", "x_colsec_sharing_group"]),
    st.sampled_from(["Phishing mail", ["malicious-activity"], 80, "malware"]),
    max_size=2,
)
OTHERS: list[dict[str, Any]] = [
    {"type": "ipv4-addr", "id": "ipv4-addr--2b5bc4de-0fbd-4e5b-9f3a-6a5a5b8b1d2e", "value": "198.51.100.7"},
    {"type": "vulnerability", "id": "vulnerability--0a9bd1a8-8f3b-4ad7-8ad3-1d1b9f3e6a1b", "name": "cve-2024-1"},
    {"type": "relationship", "id": "relationship--5c1a2b9e-3d4f-4a6b-8c7d-9e0f1a2b3c4d",
     "relationship_type": "indicates", "source_ref": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
     "target_ref": "malware--6a21e3a4-5ffe-4581-af9a-6a54c7536f44", "description": "Runs the dropper"},
]  # fmt: skip


def _indicator(i: int, pattern: Any, pattern_type: str = "stix", **extra: Any) -> dict[str, Any]:
    return {
        "type": "indicator", "spec_version": "2.1", "id": f"indicator--8e2e2d2b-17d4-4cbf-938f-{i:012x}",
        "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z", "pattern": pattern,
        "pattern_type": pattern_type, "valid_from": "2026-01-01T00:00:00Z",
        "object_marking_refs": ["marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487"], **extra,
    }  # fmt: skip


def _read(pattern: Any) -> None:
    """What validation does to the pattern reader first: it learns the heads it reads."""
    try:
        comparison_atoms(pattern)
    except (PatternError, TypeError):
        pass


def _check(bodies: list[dict[str, Any]], stated: dict[int, tuple[tuple[str, str], ...]]) -> None:
    inserted = [(seq, b.get("id", f"x--{seq}"), b.get("modified", "")) for seq, b in enumerate(bodies, 1)]
    docs = [(seq, b) for seq, b in enumerate(bodies, 1)]
    given = {(oid, modified): stated[seq] for seq, oid, modified in inserted if seq in stated}
    expected = (observable_rows(inserted, docs, given), sqlite_index_rows(docs)[0])
    assert index_rows(inserted, docs, given) == expected
    assert index_rows(inserted, docs, given) == expected  # the heads' records from their cache


@settings(max_examples=500, deadline=None)
@given(
    items=st.lists(
        st.tuples(
            st.sampled_from(HEADS) | st.text(alphabet="[]:.'\\ =abAB-", max_size=20),
            VALUES,
            st.sampled_from(["{h} = '{v}']", "{h} = '{v}'", "{h} = {v}]", "{h} = '{v}'] "]),
            st.sampled_from(["stix", "stix", "sigma"]),
            st.sampled_from(["indicator", "indicator", "malware"]),
            EXTRA,
            st.booleans(),  # whether the pattern reader has read it first
            st.booleans(),  # whether its producer stated its observables
        ),
        max_size=12,
    ),
    others=st.lists(st.sampled_from(OTHERS), max_size=3),
)
def test_rows_equal_the_one_by_one_rows(items: list[Any], others: list[dict[str, Any]]) -> None:
    bodies: list[dict[str, Any]] = []
    stated: dict[int, tuple[tuple[str, str], ...]] = {}
    for i, (head, value, shape, ptype, kind, extra, read, states) in enumerate(items):
        pattern = shape.format(h=head, v=value)
        if read:
            _read(pattern)
        bodies.append(_indicator(i, pattern, ptype, **extra) | {"type": kind})
        if states:
            stated[len(bodies)] = (("domain", "stated.example"), ("ipv4", "192.0.2.1"))
    bodies += [dict(o) for o in others]
    _check(bodies, stated)


@pytest.mark.parametrize(
    "pattern",
    [
        None, 7, "", "'] = ']", "[a:b = '" + "x" * 17_000 + "']", "[url:value = 'a\\']", "[url:value = 'a\\b c']",
        "[x:'a = 'b']", "[x:a\\'b = 'c']", "[file:hashes.'SHA-256' = 'ab\\']", "[ipv4-addr:value = ']",
    ],
)  # fmt: skip
def test_odd_patterns(pattern: Any) -> None:
    _read(pattern)
    _check([_indicator(1, pattern), _indicator(2, "[ipv4-addr:value = '10.0.0.1']")], {})


def test_each_head_is_read_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Any] = []
    real = patternindex.document_terms
    monkeypatch.setattr(patternindex, "document_terms", lambda body: calls.append(body) or real(body))
    patternindex._HEADS.clear()
    bodies = [_indicator(i, f"[file:hashes.'SHA-256' = '{i:064x}']") for i in range(50)]
    bodies += [_indicator(i, f"[domain-name:value = 'host{i}.example.com']") for i in range(50, 100)]
    for body in bodies:
        _read(body["pattern"])
    _check(bodies, {})
    assert calls == [{"pattern": "[file:hashes.'SHA-256'"}, {"pattern": "[domain-name:value"}]
