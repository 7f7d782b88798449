"""Documented, deliberate differences from stix2-matcher, each with its reason.

1. NOT EXISTS: part of STIX 2.1 patterning; stix2-matcher has no EXISTS handler, so a positive
   EXISTS happens to work there but NOT EXISTS is read as EXISTS (inverted result).
2. ISSUBSET / ISSUPERSET on IPv6: the spec allows both families; stix2-matcher parses IPv4 only.
3. /0 blocks: a valid CIDR prefix; stix2-matcher refuses prefix lengths below 1.
4. A data value that is not a timestamp compared with t'...': no match (the value is simply not
   equal or ordered); stix2-matcher raises an exception for the whole match.
5. LIKE's % spans newlines ("any sequence of characters"); stix2-matcher's translation stops at one.
6. Hash names and values: the engine (not the evaluator) normalises hash algorithm spellings and
   hex case, and domain-name case, so 'SHA256' / 'sha-256' and 'ABC...' find 'abc...'.
"""

from __future__ import annotations

from typing import Any

import pytest
from stix2matcher.matcher import MatcherException
from stix2matcher.matcher import match as reference_match

from colsec.match.evaluate import find_binding
from colsec.match.observed import observations_from_stix
from colsec.stix.pattern_parse import parse_pattern


def bundle(*scos: dict[str, Any], first: str = "2024-01-01T00:00:00Z") -> list[dict[str, Any]]:
    objs = [{**o, "id": o.get("id", f"{o['type']}--{i}")} for i, o in enumerate(scos)]
    od = {
        "type": "observed-data",
        "id": "observed-data--1",
        "first_observed": first,
        "last_observed": first,
        "number_observed": 1,
        "object_refs": [o["id"] for o in objs],
    }
    return [od, *objs]


def ours(pattern: str, objects: list[dict[str, Any]]) -> bool:
    return find_binding(parse_pattern(pattern), observations_from_stix(objects)) is not None


def reference(pattern: str, objects: list[dict[str, Any]]) -> bool | str:
    try:
        return bool(
            reference_match(
                pattern, [{"type": "bundle", "id": "bundle--1", "objects": objects}], stix_version="2.1"
            )
        )
    except (MatcherException, IndexError, Exception) as exc:  # the reference fails outright
        return type(exc).__name__


def test_exists_is_supported() -> None:
    objs = bundle({"type": "file", "name": "a.exe"})
    assert ours("[EXISTS file:name]", objs) is True
    assert ours("[NOT EXISTS file:size]", objs) is True
    assert ours("[EXISTS file:size]", objs) is False
    assert ours("[NOT EXISTS file:name]", objs) is False
    assert reference("[EXISTS file:name]", objs) is True  # agrees
    assert reference("[NOT EXISTS file:size]", objs) is False  # the reference ignores NOT
    assert reference("[NOT EXISTS file:name]", objs) is True


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        ("[ipv6-addr:value ISSUBSET '2001:db8::/32']", "2001:db8::7", True),
        ("[ipv6-addr:value ISSUBSET '2001:db8::/32']", "2001:db9::7", False),
        ("[ipv6-addr:value ISSUPERSET '2001:db8::7']", "2001:db8::/48", True),
    ],
)
def test_ipv6_blocks(pattern: str, value: str, expected: bool) -> None:
    objs = bundle({"type": "ipv6-addr", "value": value})
    assert ours(pattern, objs) is expected
    assert reference(pattern, objs) is not expected or expected is False


def test_zero_prefix_block() -> None:
    objs = bundle({"type": "ipv4-addr", "value": "203.0.113.9"})
    assert ours("[ipv4-addr:value ISSUBSET '0.0.0.0/0']", objs) is True
    assert reference("[ipv4-addr:value ISSUBSET '0.0.0.0/0']", objs) != True  # noqa: E712


def test_non_timestamp_data_is_no_match_not_an_error() -> None:
    objs = bundle({"type": "x-thing", "when": "yesterday"})
    assert ours("[x-thing:when = t'2024-01-01T00:00:00Z']", objs) is False
    assert ours("[x-thing:when != t'2024-01-01T00:00:00Z']", objs) is True
    assert isinstance(reference("[x-thing:when = t'2024-01-01T00:00:00Z']", objs), str)


def test_like_percent_spans_newlines() -> None:
    objs = bundle({"type": "x-thing", "s": "first line\nsecond line"})
    assert ours("[x-thing:s LIKE 'first%line']", objs) is True
    assert reference("[x-thing:s LIKE 'first%line']", objs) is False


def test_everything_else_in_these_objects_agrees() -> None:
    """The differences above are narrow: neighbouring patterns agree."""
    objs = bundle({"type": "ipv4-addr", "value": "10.1.2.3"}, {"type": "x-thing", "s": "one line"})
    for p in [
        "[ipv4-addr:value ISSUBSET '10.0.0.0/8']",
        "[ipv4-addr:value ISSUBSET '11.0.0.0/8']",
        "[x-thing:s LIKE 'one%']",
        "[x-thing:s MATCHES '^one']",
    ]:
        assert ours(p, objs) is reference(p, objs), p
