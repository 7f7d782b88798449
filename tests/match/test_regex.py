"""MATCHES and LIKE run on RE2 only: linear time on hostile patterns; RE2's differences from `re`."""

from __future__ import annotations

import time

import pytest

from colsec.match.engine import IndicatorRecord, MatchEngine
from colsec.match.evaluate import find_binding
from colsec.match.observed import observations_from_stix
from colsec.match.regex import MAX_REGEX_LENGTH, RegexError, compile_like, compile_regex, like_to_regex
from colsec.stix.pattern_parse import parse_pattern


def test_catastrophic_patterns_stay_linear() -> None:
    text = "a" * 50_000 + "b"
    start = time.perf_counter()
    assert compile_regex("^(a+)+$").search(text) is None
    assert compile_like("%a%a%a%a%a%a%a%a%c").search(text) is None
    assert time.perf_counter() - start < 1.0  # Python's re needs minutes here


def test_hostile_like_in_an_indicator_is_cheap() -> None:
    engine = MatchEngine()
    engine.load([IndicatorRecord("indicator--redos", "[url:value LIKE '%a%a%a%a%a%a%a%a%a%b']")])
    from colsec.match.events import Event

    ev = Event(0, {"0": {"type": "url", "value": "a" * 20_000}})
    start = time.perf_counter()
    assert engine.match([ev]) == []
    assert time.perf_counter() - start < 1.0


@pytest.mark.parametrize(
    "regex",
    [r"(a)\1", r"a(?=b)", r"(?<=a)b", "x" * (MAX_REGEX_LENGTH + 1)],
    ids=["backreference", "lookahead", "lookbehind", "too-long"],
)
def test_unsupported_constructs_are_refused(regex: str) -> None:
    with pytest.raises(RegexError):
        compile_regex(regex)
    engine = MatchEngine()
    report = engine.load([IndicatorRecord("indicator--x", f"[url:value MATCHES '{regex}']")])
    assert report.invalid == 1 and report.loaded == 0


def test_re2_differences_from_python_re() -> None:
    # \d and \w are ASCII only in RE2 (Python's re is Unicode-aware on str)
    assert compile_regex(r"^\d+$").search("٣٤") is None
    assert compile_regex(r"^\w+$").search("héllo") is None
    # $ matches only at the very end (Python's re also matches before a final newline)
    assert compile_regex(r"abc$").search("abc\n") is None
    # \Z does not exist in RE2: \z is the end of text
    with pytest.raises(RegexError):
        compile_regex(r"abc\Z")
    assert compile_regex(r"abc\z").search("abc") is not None


def test_like_translation() -> None:
    assert like_to_regex("a%b_c.") == r"(?s)^a.*b.c\x2e$"
    objs = [
        {
            "type": "observed-data",
            "id": "observed-data--1",
            "first_observed": "2024-01-01T00:00:00Z",
            "last_observed": "2024-01-01T00:00:00Z",
            "number_observed": 1,
            "object_refs": ["url--1"],
        },
        {"type": "url", "id": "url--1", "value": "http://x.example/a(b)*c"},
    ]
    obs = observations_from_stix(objs)
    assert find_binding(parse_pattern("[url:value LIKE 'http://%/a(b)*c']"), obs) is not None
    assert find_binding(parse_pattern("[url:value LIKE 'http://%/a(b)c']"), obs) is None
