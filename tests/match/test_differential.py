"""Our evaluator against stix2-matcher on generated patterns and observed-data sets.

Documented spec-level differences are kept out of the generators and each
has its own test in test_semantics.py: EXISTS (the reference has no support),
IPv6 and /0 CIDR blocks (the reference handles IPv4 only and refuses /0),
invalid timestamps in data (the reference raises, we treat as no match), and
LIKE across newlines (our ``%`` spans newlines, as the spec says).
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stix2matcher.matcher import MatcherException
from stix2matcher.matcher import match as reference_match

from colsec.match.evaluate import find_binding
from colsec.match.observed import observations_from_stix
from colsec.stix.pattern_parse import parse_pattern

from .strategies import observation_expression, observed_data_sets


def reference(pattern: str, objects: list[dict[str, Any]]) -> bool | None:
    bundle = {"type": "bundle", "id": "bundle--1", "objects": objects}
    try:
        return bool(reference_match(pattern, [bundle], stix_version="2.1"))
    except MatcherException:
        return None


def ours(pattern: str, objects: list[dict[str, Any]]) -> bool:
    return find_binding(parse_pattern(pattern), observations_from_stix(objects)) is not None


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pattern=observation_expression(), objects=observed_data_sets())
def test_agrees_with_stix2_matcher(pattern: str, objects: list[dict[str, Any]]) -> None:
    expected = reference(pattern, objects)
    if expected is None:
        return  # the reference refused the data (e.g. a non-timestamp string compared to t'...')
    assert ours(pattern, objects) is expected, pattern


@pytest.mark.parametrize(
    "pattern",
    [
        "[ipv4-addr:value = '10.0.0.1'] REPEATS 2 TIMES",
        "[ipv4-addr:value = '10.0.0.1'] FOLLOWEDBY [domain-name:value = 'good.test']",
        "([ipv4-addr:value = '10.0.0.1'] AND [domain-name:value = 'good.test']) WITHIN 1 SECONDS",
        "[network-traffic:src_ref.value ISSUBSET '10.0.0.0/8' AND network-traffic:dst_port = 80]",
        "[ipv4-addr:value = '10.0.0.1'] START t'2024-01-01T00:00:00Z' STOP t'2024-01-01T00:00:01Z'",
    ],
)
def test_known_cases(pattern: str) -> None:
    objects: list[dict[str, Any]] = [
        {
            "type": "observed-data",
            "id": "observed-data--a",
            "first_observed": "2024-01-01T00:00:00Z",
            "last_observed": "2024-01-01T00:00:00Z",
            "number_observed": 2,
            "object_refs": ["ipv4-addr--1", "network-traffic--1"],
        },
        {"type": "ipv4-addr", "id": "ipv4-addr--1", "value": "10.0.0.1"},
        {"type": "network-traffic", "id": "network-traffic--1", "src_ref": "ipv4-addr--1", "dst_port": 80},
        {
            "type": "observed-data",
            "id": "observed-data--b",
            "first_observed": "2024-01-01T00:00:05Z",
            "last_observed": "2024-01-01T00:00:05Z",
            "number_observed": 1,
            "object_refs": ["domain-name--1"],
        },
        {"type": "domain-name", "id": "domain-name--1", "value": "good.test"},
    ]
    assert ours(pattern, objects) is reference(pattern, objects)


@given(st.data())
@settings(max_examples=50, deadline=None)
def test_generated_patterns_parse_like_reference(data: st.DataObject) -> None:
    from stix2patterns.v21.pattern import Pattern

    text = data.draw(observation_expression())
    Pattern(text)  # the reference grammar accepts it ...
    parse_pattern(text)  # ... and so do we
