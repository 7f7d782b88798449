"""The bulk fast paths of validation and tokenising answer exactly as their references.

``validate_object`` accepts through ``_fast_facts`` and falls back to ``validate_ordered`` for
anything the fast path does not accept outright.  The fast path may decline a valid object (it
then costs one ordered check) but must never accept an object the ordered checks refuse, and
must return the same facts.  Exercised on ATT&CK Enterprise (every object) and on mutations of
a sample of its objects: each property deleted or replaced by values of the wrong shape.
"""

from __future__ import annotations

import copy
import random
import string
from pathlib import Path
from typing import Any

import pytest

from colsec.errors import StixValidationError
from colsec.formats.stix_bundle import read_stix_file
from colsec.fulltext import _WORD, _split
from colsec.stix.validate import _fast_facts, validate_object, validate_ordered

BAD_VALUES: list[Any] = [
    None, True, 0, -1, 101, 1.5, "", "x", "2021-02-30T00:00:00Z", "2020-02-29T23:59:60.5Z", "2021-01-01T00:00:00",
    "identity--c78cb6e5-0c4b-4611-8297-d1b8b55e40b5", "marking-definition--fa42a846-8d90-4e51-bc29-71d5b4802168",
    "malware--6a21e3a4-5ffe-4581-af9a-6a54c7536f44\n", "indicator--00000000-0000-4000-c000-000000000000",
    [], ["x"], [1], ["identity--c78cb6e5-0c4b-4611-8297-d1b8b55e40b5"], [{"source_name": 1}], [{"url": "x"}],
    {}, {"a": 1}, "[ipv4-addr:value = '1.2.3.4']", "[ipv4-addr:value = ", "1999-01-01T00:00:00Z",
]  # fmt: skip


def _outcome(fn: Any, obj: Any) -> Any:
    try:
        return fn(obj)
    except StixValidationError as exc:
        return ("error", exc.message, exc.object_id)


def _check(obj: Any) -> None:
    fast = _fast_facts(obj, True)
    ordered = _outcome(validate_ordered, obj)
    if fast is not None:
        assert fast == ordered, obj
    assert _outcome(validate_object, obj) == ordered


@pytest.fixture(scope="module")
def attack(shared_data: Path) -> list[dict[str, Any]]:
    return list(read_stix_file(shared_data / "attack" / "enterprise-attack-18.1.stix21.json.gz"))


def test_fast_path_accepts_attack_with_the_same_facts(attack: list[dict[str, Any]]) -> None:
    declined = 0
    for obj in attack:
        _check(obj)
        declined += _fast_facts(obj, True) is None
    assert declined == 0  # ATT&CK is valid STIX: the fast path decides all of it


def _mutations(obj: dict[str, Any], rng: random.Random) -> list[dict[str, Any]]:
    out = []
    for key in list(obj):
        gone = dict(obj)
        del gone[key]
        out.append(gone)
        for value in rng.sample(BAD_VALUES, 8):
            changed = copy.deepcopy(obj)
            changed[key] = value
            out.append(changed)
    for key in (
        "confidence",
        "labels",
        "revoked",
        "valid_until",
        "count",
        "number_observed",
        "is_family",
        "name",
    ):
        for value in rng.sample(BAD_VALUES, 6):
            out.append({**obj, key: value})
    return out


def test_fast_path_never_accepts_what_the_ordered_checks_refuse(attack: list[dict[str, Any]]) -> None:
    rng = random.Random(20)
    by_type: dict[str, list[dict[str, Any]]] = {}
    for obj in attack:
        by_type.setdefault(obj["type"], []).append(obj)
    sample = [o for objs in by_type.values() for o in rng.sample(objs, min(3, len(objs)))]
    sample += [
        {
            "type": "indicator", "spec_version": "2.1", "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
            "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
            "pattern": "[ipv4-addr:value = '10.0.0.1']", "pattern_type": "stix", "valid_from": "2026-01-01T00:00:00Z",
            "valid_until": "2027-01-01T00:00:00Z",
        },
        {
            "type": "sighting", "spec_version": "2.1", "id": "sighting--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
            "created": "2026-01-01T00:00:00Z", "modified": "2026-01-01T00:00:00Z", "count": 3,
            "sighting_of_ref": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
        },
        {"type": "ipv4-addr", "spec_version": "2.1", "id": "ipv4-addr--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
         "value": "10.0.0.1"},
        {"type": "x-custom-thing", "id": "x-custom-thing--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
         "spec_version": "2.1", "created": "2026-01-01T00:00:00Z"},
    ]  # fmt: skip
    checked = 0
    for obj in sample:
        _check(obj)
        for mutated in _mutations(obj, rng):
            _check(mutated)
            checked += 1
    assert checked > 5000


def test_ascii_split_finds_the_regex_words(attack: list[dict[str, Any]]) -> None:
    rng = random.Random(7)
    texts = [o.get("description", "") for o in attack[:3000]]  # lowered by the translation itself
    texts += ["".join(rng.choice(string.printable + "_") for _ in range(200)) for _ in range(2000)]
    texts += ["", "   ", "a_b", "T1566.001", "ПРИВЕТ мир_x", "straße", "x\x00y\x7fz"]
    for text in texts:
        assert _split(text) == _WORD.findall(text.lower()), text


_IND: dict[str, Any] = {
    "type": "indicator", "spec_version": "2.1", "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
    "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
    "pattern": "[ipv4-addr:value = '10.0.0.1']", "pattern_type": "stix", "valid_from": "2026-01-01T00:00:00Z",
}  # fmt: skip
_CRAFTED: list[dict[str, Any]] = [
    {"valid_until": "2026-01-01T00:00:00.000000Z"},  # equal to valid_from once canonical: refused
    {"valid_until": "2026-01-01T00:00:00.0000001Z"},  # later only past microseconds: still equal
    {"valid_until": "2026-01-01T00:00:00.000001Z"},
    {"valid_until": "2026-02-29T00:00:00Z"}, {"valid_until": "2028-02-29T00:00:00Z"},
    {"valid_from": "2026-01-01T00:00:60Z", "valid_until": "2026-01-01T00:01:00Z"},
    {"pattern_type": ""}, {"pattern_type": 1}, {"pattern_type": "sigma", "pattern": "not stix at all"},
    {"pattern": ""}, {"pattern": ["[x:y = 'z']"]}, {"pattern": "[file:name.true = 'x']"},
    {"pattern": "[file:true[*][*] = '']"}, {"pattern": "[file:name.'true' = 'x']"},
    {"pattern": "[file:trueish = 'x']"}, {"pattern": "[file:name.false = 'x']"}, {"pattern": "[false:value = 'x']"}, {"pattern": "[file:name = 'it\\'s']"},
    {"pattern": "[file:name = 'x'] AND [file:size = 1]"}, {"pattern": "[file:name = 'x' AND ]"},
    {"id": "indicator--8E2E2D2B-17D4-4CBF-938F-98EE46B3CD3F"}, {"id": "malware--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"},
    {"id": "indicator--8e2e2d2b-17d4-4cbf-738f-98ee46b3cd3f"}, {"type": "Indicator"}, {"type": "x-"},
    {"spec_version": "2.0"}, {"spec_version": None}, {"modified": "2025-12-31T23:59:59.999Z"},
    {"created": "2026-01-01T00:00:00.0001Z", "modified": "2026-01-01T00:00:00Z"},
    {"created_by_ref": "malware--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"},
    {"created_by_ref": "identity--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"},
    {"object_marking_refs": ["identity--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"]}, {"object_marking_refs": ()},
    {"labels": ["a", 1]}, {"labels": ("a",)}, {"labels": []}, {"confidence": 100}, {"confidence": True},
    {"confidence": 100.0}, {"external_references": [{"source_name": "x"}, {"source_name": None}]},
    {"external_references": [{"source_name": "x"}], "labels": ["a"], "confidence": 0},
    {"revoked": 0}, {"revoked": True}, {"object_refs": ["note--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", "x"]},
    {"object_refs": "note--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"}, {"source_ref": 5},
    {"first_seen": 20260101}, {"first_seen": []}, {"last_seen": "2026-13-01T00:00:00Z"}, {"x_custom": {"created": 1}},
]  # fmt: skip


def test_crafted_indicators_get_the_ordered_verdict() -> None:
    """Edges of the fast path's own indicator, timestamp and key-dispatch code, one change each and deletions."""
    accepted = 0
    for change in _CRAFTED:
        obj = {**_IND, **change}
        _check(obj)
        accepted += _fast_facts(obj, True) is not None
        for key in change:
            if key in _IND:
                _check({k: v for k, v in obj.items() if k != key})
    sco = {"type": "url", "id": "url--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", "value": "http://x"}
    for change in ({}, {"spec_version": "2.1"}, {"modified": "x"}, {"created": "2026-01-01T00:00:00Z"}):
        _check({**sco, **change})
    assert 10 < accepted < len(_CRAFTED) - 20  # both verdicts are exercised
