"""Patterns read by their known head agree with the regex and the parser (issue 20).

A one-comparison pattern whose head (``[type:path``) the regex has read before is read by
slicing (``colsec.stix.pattern._HEADS``).  Whatever that slice accepts must be what the regex
and the full parser give, for every value and every head the regex registers, odd ones
included; anything else must fall through to them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from colsec.stix import pattern
from colsec.stix.pattern import PatternError, _known_head, _parsed_atoms, _simple_atoms

HEADS = [
    "[ipv4-addr:value",
    "[domain-name:value",
    "[file:hashes.'SHA-256'",
    "[file:hashes.''",
    "[file:hashes.'a.b'.c",
    "[url:value",
    "[email-message:to_refs[*].value",
    "[x-misp:a[*][*].b",
    "[file:name.true",
    "[true:value",
    "[file:hashes.'x = '",
    "[file:hashes.'a b'",
    "[a:b = 'c' AND d:e",
    "[file:name = 'x'] AND [file:name",
    "[network-traffic:dst_ref.value",
    "(file:name",
    "[file:name\n",
]
VALUES = st.text(alphabet="ab'\\ ]\n[=:AND.", max_size=10)


@contextmanager
def _fresh_heads() -> Iterator[dict[str, tuple[str, str]]]:
    saved = dict(pattern._HEADS)
    pattern._HEADS.clear()
    try:
        yield pattern._HEADS
    finally:
        pattern._HEADS.clear()
        pattern._HEADS.update(saved)


def _regex_only(text: str) -> tuple[pattern.Atom, ...] | None:
    """What the regex reads with no head known (it registers the head it reads)."""
    with _fresh_heads():
        return _simple_atoms(text)


def _parser(text: str) -> tuple[pattern.Atom, ...] | None:
    try:
        return _parsed_atoms(text)
    except PatternError:
        return None


@settings(max_examples=2000, deadline=None)
@given(
    st.sampled_from(HEADS),
    st.text(alphabet="ab'\\ ]=", max_size=4),
    VALUES,
    st.sampled_from(["']", "'", "']]", "' ]"]),
)
def test_a_known_head_reads_as_the_regex_and_the_parser(head: str, first: str, value: str, tail: str) -> None:
    with _fresh_heads() as heads:
        _simple_atoms(f"{head} = '{first}']")  # registers the head if the regex reads it so
        text = f"{head} = '{value}{tail}"
        fast = _known_head(text)
        if fast is not None:
            assert set(heads) == {head}
            assert fast == _regex_only(text)
            assert fast == _parser(text)
            assert type(fast[0]) is pattern.Atom and fast[0]._asdict() == _parsed_atoms(text)[0]._asdict()
        # validation answers a known head's text without reading it: the reader's verdict all the same
        assert _verdict(pattern.validate, text) == _verdict(pattern._inspect.__wrapped__, text)


def _verdict(check: object, text: str) -> bool:
    try:
        check(text)  # type: ignore[operator]
    except PatternError:
        return False
    return True


@pytest.mark.parametrize(
    ("known", "text"),
    [
        ("[file:hashes.'SHA-256' = 'ab']", "[file:hashes.'SHA-256' = 'it\\'s']"),
        ("[url:value = 'a']", "[url:value = ']"),  # the opening quote would close it
        ("[url:value = 'a']", "[url:value = 'a' AND url:value = 'b']"),
        ("[url:value = 'a']", "[url:value = 'a'] OR [url:value = 'b']"),
        ("[url:value = 'a']", "[url:value = 'a']\n"),
        ("[file:hashes.'a b' = 'x']", "[file:hashes.'a b' = 'y']"),  # a head with a space is never kept
    ],
)
def test_look_alikes_of_a_known_head_fall_through(known: str, text: str) -> None:
    with _fresh_heads():
        _simple_atoms(known)
        assert _known_head(text) is None
        assert _simple_atoms(text) == _regex_only(text)
        assert _verdict(pattern.validate, text) == _verdict(pattern._inspect.__wrapped__, text)


def test_common_heads_are_read_by_slicing() -> None:
    """Fails without the shortcut: the second pattern of each head is read by its head."""
    with _fresh_heads() as heads:
        for head in ("[ipv4-addr:value", "[domain-name:value", "[file:hashes.'SHA-256'", "[url:value"):
            assert _known_head(f"{head} = 'v1']") is None
            _simple_atoms(f"{head} = 'v1']")
            atoms = _known_head(f"{head} = 'v2']")
            assert atoms is not None and atoms == _parsed_atoms(f"{head} = 'v2']")
        assert len(heads) == 4
        empty = "[ipv4-addr:value = '']"
        assert _known_head(empty) == _parsed_atoms(empty)


def test_heads_are_bounded() -> None:
    with _fresh_heads() as heads:
        for i in range(pattern._MAX_HEADS + 10):
            _simple_atoms(f"[x-t{i}:value = 'v']")
        assert 0 < len(heads) <= pattern._MAX_HEADS
