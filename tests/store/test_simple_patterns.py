"""The gate's shortcut for simple indicator patterns agrees with the full parser (issue 20).

Converters write ``[type:path = 'value' AND ...]`` for nearly every indicator; the
shortcut reads those without the parser.  Whatever it accepts must be a valid pattern
with exactly the atoms the parser gives, and anything else must reach the parser.
"""

from __future__ import annotations

import itertools
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from colsec.stix.pattern import _COMPARISON, Atom, PatternError, _parsed_atoms, _simple_atoms, validate

NAMES = st.sampled_from(
    [
        "file",
        "ipv4-addr",
        "network-traffic",
        "x-misp",
        "true",
        "false",
        "a",
        "name",
        "dst_ref",
        "_x",
        "AND",
        "Name",
    ]
)
STEPS = st.sampled_from(
    [
        ".value",
        ".name",
        ".dst_ref",
        "[*]",
        ".'SHA-256'",
        ".true",
        ".'true'",
        "[0]",
        ".'a\\'b'",
        ".''",
        "-x",
        ".9",
    ]
)
VALUES = st.text(alphabet="ab'\\ ]\n[=:AND", max_size=8).map(lambda v: f"'{v}'")
SEPARATORS = st.sampled_from([" AND ", " AND  ", " and ", " OR ", "AND", "] AND ["])


def _comparison(draw: st.DrawFn) -> str:
    steps = "".join(draw(st.lists(STEPS, max_size=3)))
    op = draw(st.sampled_from([" = ", " = ", "=", " == ", " != "]))
    return f"{draw(NAMES)}:{draw(NAMES)}{steps}{op}{draw(VALUES)}"


@st.composite
def patterns(draw: st.DrawFn) -> str:
    parts = [_comparison(draw)]
    for _ in range(draw(st.integers(0, 3))):
        parts.append(draw(SEPARATORS) + _comparison(draw))
    text = "[" + "".join(parts) + "]"
    return draw(st.sampled_from(["", " ", "("])) + text + draw(st.sampled_from(["", " ", "]"]))


@settings(max_examples=3000, deadline=None)
@given(patterns())
def test_what_the_shortcut_accepts_the_parser_accepts_with_the_same_atoms(text: str) -> None:
    fast = _simple_atoms(text)
    if fast is not None:
        assert fast == _parsed_atoms(text)  # raises PatternError if the parser refused it


@pytest.mark.parametrize(
    "text",
    [
        "[network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value = '198.51.100.7']",
        "[file:name = 'a.exe' AND file:hashes.'SHA-256' = '" + "ab" * 32 + "']",
        "[email-message:to_refs[*].value = 'x@example.org']",
        "[url:value = 'https://example.com/it\\'s']",
    ],
)
def test_converter_shapes_take_the_shortcut(text: str) -> None:
    assert _simple_atoms(text) is not None


@pytest.mark.parametrize(
    "text",
    [
        "[true:value = 'x']",  # 'true' is a literal, not a type: invalid, the parser says so
        "[file:name.false = 'x']",
        "[file:true[*][*] = '']",  # found by the property test: a keyword before more than one [*]
        "[file:name = 'x' AND]",
        "[file:name = 'x'",
        "[file:name = 'x\\']",
    ],
)
def test_invalid_look_alikes_are_refused_by_the_parser(text: str) -> None:
    assert _simple_atoms(text) is None
    with pytest.raises(PatternError):
        validate(text)


def test_quoted_value_reads_as_the_per_character_alternation_did() -> None:
    """The value part of the shortcut's regex was unrolled for speed; every short text over
    the characters that matter ends the quoted string at the same place as before."""
    before = re.compile(r"'(?:[^'\\]|\\'|\\\\)*'")
    after = re.compile(_COMPARISON.pattern.rsplit(" = ", 1)[1][1:-1])
    assert after.pattern != before.pattern
    for n in range(9):
        for chars in itertools.product("a'\\", repeat=n):
            text = "'" + "".join(chars)
            b, a = before.match(text), after.match(text)
            assert (b and b.group()) == (a and a.group()), text


@pytest.mark.parametrize(
    "text",
    [
        "[ipv4-addr:value = '198.51.100.7']",
        "[file:hashes.'SHA-256' = '" + "ab" * 32 + "']",
        "[url:value = 'https://example.com/it\\'s' AND file:name = 'a\\\\b']",
        "[file:name = '' AND file:hashes.'SHA-1' = 'x']",
    ],
)
def test_shortcut_atoms_are_atoms_field_for_field(text: str) -> None:
    """Equal tuples are not enough: the shortcut builds its atoms without Atom's constructor,
    and readers take them by field name, so each must be an Atom with the parser's fields."""
    fast, parsed = _simple_atoms(text), _parsed_atoms(text)
    assert fast is not None and type(fast) is tuple and len(fast) == len(parsed)
    for a, b in zip(fast, parsed, strict=True):
        assert type(a) is Atom
        assert (a.object_type, a.path, a.op, a.value) == (b.object_type, b.path, b.op, b.value)
        assert a._asdict() == b._asdict()
