"""A value with a final newline is not the value: identifiers, types, timestamps, e-mail domains.

Python's ``$`` also matches before a final newline, so ``indicator--…\\n`` passed as an
identifier and ``x@exa\\n.org`` as an e-mail address (a header injection in a notification).
"""

from __future__ import annotations

from typing import Any

import pytest

from colsec.accounts.email import normalise_email
from colsec.errors import InvalidInput
from colsec.stix import ids
from colsec.stix.validate import validate_object

UUID = "8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"


def _indicator(**changes: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--{UUID}",
        "created": "2024-01-01T00:00:00Z",
        "modified": "2024-01-01T00:00:00Z",
        "pattern": "[ipv4-addr:value = '192.0.2.1']",
        "pattern_type": "stix",
        "valid_from": "2024-01-01T00:00:00Z",
    }
    obj.update(changes)
    return obj


def test_the_plain_indicator_is_valid() -> None:
    assert validate_object(_indicator()).id == f"indicator--{UUID}"


@pytest.mark.parametrize(
    "changes",
    [
        {"id": f"indicator--{UUID}\n"},
        {"created_by_ref": f"identity--{UUID}\n"},
        {"object_marking_refs": [f"marking-definition--{UUID}\n"]},
        {"created": "2024-01-01T00:00:00Z\n"},
        {"modified": "2024-01-01T00:00:00Z\n"},
        {"valid_from": "2024-01-01T00:00:00Z\n"},
    ],
    ids=["id", "created_by_ref", "marking_ref", "created", "modified", "valid_from"],
)
def test_a_final_newline_is_refused(changes: dict[str, Any]) -> None:
    with pytest.raises(InvalidInput):
        validate_object(_indicator(**changes))


def test_the_patterns_end_at_the_end() -> None:
    assert ids.ID_RE.match(f"indicator--{UUID}")
    assert not ids.ID_RE.match(f"indicator--{UUID}\n")
    assert ids.TYPE_RE.match("indicator") and not ids.TYPE_RE.match("indicator\n")
    assert ids.TIMESTAMP_RE.match("2024-01-01T00:00:00Z")
    assert not ids.TIMESTAMP_RE.match("2024-01-01T00:00:00Z\n")
    assert not ids.ID_UUID_RE.match(f"indicator--{UUID}\n", len("indicator--"))


def test_an_email_domain_label_with_a_newline_is_refused() -> None:
    assert normalise_email("analyst@cert.example.org") == "analyst@cert.example.org"
    with pytest.raises(InvalidInput, match="domain"):
        normalise_email("analyst@exa\n.org")
    with pytest.raises(InvalidInput, match="before @"):
        normalise_email("analyst\n@example.org")
