"""STIX 2.0 objects of a medallion backend upgraded to 2.1: the reference validator accepts every one.

The 2.0 samples are the reference server's own (its test data before STIX 2.1) and the STIX 2.0
specification's examples; stix2-validator judges the result.  Regression test for issue 17.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from stix2validator import ValidationOptions, validate_string

from colsec.stix.upgrade import is_stix20, upgrade_to_21
from colsec.stix.validate import validate_object

STIX20: list[dict[str, Any]] = [
    {"type": "indicator", "id": "indicator--a932fcc6-e032-476c-826f-cb970a5a1ade",
     "created": "2014-05-08T09:00:00.000Z", "modified": "2014-05-08T09:00:00.000Z",
     "labels": ["file-hash-watchlist"], "name": "File hash for Poison Ivy variant",
     "pattern": "[file:hashes.'SHA-256' = 'ef537f25c895bfa782526529a9b63d97aa631564d5d789c2b765448c8635fb6c']",
     "valid_from": "2014-05-08T09:00:00.000000Z"},
    {"type": "malware", "id": "malware--fdd60b30-b67c-41e3-b0b9-f01faf20d111",
     "created": "2017-01-27T13:49:53.997Z", "modified": "2017-01-27T13:49:53.997Z",
     "labels": ["remote-access-trojan"], "name": "Poison Ivy", "description": "Poison Ivy"},
    {"type": "tool", "id": "tool--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
     "created": "2016-04-06T20:03:48.000Z", "modified": "2016-04-06T20:03:48.000Z",
     "labels": ["remote-access"], "name": "VNC"},
    {"type": "threat-actor", "id": "threat-actor--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
     "created": "2016-04-06T20:03:48.000Z", "modified": "2016-04-06T20:03:48.000Z",
     "labels": ["crime-syndicate"], "name": "Evil Org"},
    {"type": "report", "id": "report--84e4d88f-44ea-4bcd-bbf3-b2c1c320bcb3",
     "created": "2015-12-21T19:59:11.000Z", "modified": "2015-12-21T19:59:11.000Z",
     "labels": ["campaign"], "name": "The Black Vine Cyberespionage Group",
     "published": "2016-01-20T17:00:00.000Z",
     "object_refs": ["indicator--a932fcc6-e032-476c-826f-cb970a5a1ade"]},
    {"type": "relationship", "id": "relationship--2f9a9aa9-108a-4333-83e2-4fb25add0463",
     "created": "2014-05-08T09:00:00.000Z", "modified": "2014-05-08T09:00:00.000Z",
     "relationship_type": "indicates", "source_ref": "indicator--a932fcc6-e032-476c-826f-cb970a5a1ade",
     "target_ref": "malware--fdd60b30-b67c-41e3-b0b9-f01faf20d111"},
]  # fmt: skip


@pytest.mark.parametrize("old", STIX20, ids=[o["type"] for o in STIX20])
def test_upgraded_object_is_valid_stix21_and_keeps_identity(old: dict[str, Any]) -> None:
    assert is_stix20(old)
    new, changes = upgrade_to_21(old)
    assert changes[0] == "spec_version 2.1 added"
    assert (new["id"], new["created"], new["modified"]) == (old["id"], old["created"], old["modified"])
    validate_object(new)  # our own gate takes it
    result = validate_string(json.dumps(new), ValidationOptions(version="2.1", strict=False))
    errors = [str(e) for r in getattr(result, "object_results", [result]) for e in r.errors]
    assert result.is_valid, errors
    if "labels" in old and old["type"] != "relationship":
        assert "labels" not in new and any(c.startswith("labels moved to") for c in changes)


def test_stix21_objects_are_left_alone() -> None:
    current = {**STIX20[0], "spec_version": "2.1", "pattern_type": "stix"}
    assert not is_stix20(current)
    assert upgrade_to_21(current) == (current, [])
