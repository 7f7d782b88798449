"""An object's index terms, computed text by text with caches (``colsec.fulltext``), equal the
definition: every text joined by a space, lower-cased, split by the word regex, each word
stemmed by its own script, the rest kept.  Each object is read twice, so the second reading
comes from the caches of texts and stems."""

from __future__ import annotations

import itertools
import re
from pathlib import Path
from typing import Any

import orjson
import pytest
import snowballstemmer
from hypothesis import given, settings
from hypothesis import strategies as st

from colsec import fulltext
from colsec.formats.misp_import import iter_misp_units
from colsec.formats.stix_bundle import read_stix_file
from colsec.fulltext import (
    MAX_DOC_CHARS,
    MAX_TERM,
    _texts,
    document_terms,
    documents_terms,
    query_terms,
    text_terms,
    texts_terms,
)

_RUSSIAN = snowballstemmer.stemmer("russian")
_ENGLISH = snowballstemmer.stemmer("english")


def _reference(body: dict[str, Any]) -> str:
    texts, size = [], 0
    for text in _texts(body):
        if size >= MAX_DOC_CHARS:
            break
        texts.append(text[: MAX_DOC_CHARS - size])
        size += len(texts[-1])
    out = []
    for word in re.findall(r"[^\W_]+", " ".join(texts).lower()):
        term = word.replace("ё", "е")[:MAX_TERM]
        if re.fullmatch("[а-я]+", term):
            term = _RUSSIAN.stemWord(term)
        elif re.fullmatch("[a-z]+", term):
            term = _ENGLISH.stemWord(term)
        out.append(term)
    return " ".join(out)


_CRAFTED: list[dict[str, Any]] = [
    {"type": "malware", "name": "Ёжик в тумане", "description": "Фишинговые письма ёмкие; ΟΔΟΣ Σίσυφος"},
    {"type": "indicator", "name": "x", "pattern": "[domain-name:value = 'evil.example.com']",
     "labels": ["misp-type:domain", "misp-type:domain"], "description": "evil.example.com"},
    {"type": "domain-name", "value": "evil.example.com"},
    {"type": "file", "name": "setup_v2.exe", "hashes": {"MD5": "0" * 32, "SHA-256": "ab" * 32}},
    {"type": "note", "content": "слово" + "x" * 200 + " mixedкириллица 2026г. T1566.001"},
    {"type": "report", "name": "long", "description": "word " * 5_000, "labels": ["cut off"]},
    {"type": "attack-pattern", "name": "", "description": "a" * 300, "aliases": ["", "   ", "_"]},
    {"type": "identity", "name": "x" * (MAX_DOC_CHARS + 10), "roles": ["never read"]},
    {"type": "tool", "name": "nul\x00in a name", "description": "\x00"},
    {"type": "tool", "name": "  ", "description": "x\x00 \x00y", "aliases": ["\x00\x00"]},
    {"type": "campaign"},
    {"type": "tool", "name": "", "description": ""},
    {"type": "tool", "name": "Plain ASCII only, T1566.001 (Citation: Mandiant 2019)"},
    {"type": "tool", "name": "rapid7g20espionage" * 3, "description": "A_B-c d\te\nf 0x7F"},
]  # fmt: skip


def _check(objects: list[dict[str, Any]]) -> None:
    fulltext._TEXT_TERMS.clear()
    fulltext._STEMS.clear()
    expected = [_reference(obj) for obj in objects]
    for _ in range(2):
        for obj, terms in zip(objects, expected, strict=True):
            assert document_terms(obj) == terms, obj.get("id", obj)
    # A batch's texts read as one string (issue 20), in batches of several sizes, cold and warm.
    for size in (1, 3, 1000, len(objects)):
        fulltext._STEMS.clear()
        batches = [objects[i : i + size] for i in range(0, len(objects), size)]
        assert [t for batch in batches for t in documents_terms(batch)] == expected, size


def test_crafted_texts() -> None:
    _check(_CRAFTED)


def test_misp_event(shared_data: Path) -> None:
    event = orjson.loads((shared_data / "misp" / "events" / "pymisp_existing_event_sednit.json").read_bytes())
    objects = [o for unit in iter_misp_units(event) for o in unit.objects]
    assert len(objects) > 100
    _check(objects)


def test_attack(shared_data: Path) -> None:
    path = shared_data / "attack" / "enterprise-attack-18.1.stix21.json.gz"
    if not path.exists():
        pytest.skip("ATT&CK bundle absent from the shared data")
    _check(list(read_stix_file(path)))


def test_quoted_values_read_as_the_per_character_alternation_did() -> None:
    """The pattern-value regex was unrolled for speed; every short text over the characters that
    matter yields the same values as before."""
    before = re.compile(r"'((?:[^'\\]|\\.)*)'")
    assert fulltext._QUOTED.pattern != before.pattern
    for n in range(9):
        for chars in itertools.product("a'\\\n", repeat=n):
            text = "".join(chars)
            assert fulltext._QUOTED.findall(text) == before.findall(text), repr(text)


# Non-ASCII texts whose non-ASCII characters are no word characters (curly quotes, dashes, arrows,
# no-break spaces) are read by the ASCII translation with those characters as spaces
# (``fulltext._ascii_form``); texts with one that is, or lowers into one, by the regex.
_ADVERSARIAL = (
    "абвгдеёжзийклмнопрстуфхцчшщъыьэюяАБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯ"  # Russian, both cases, ё/Ё
    "ΣσςΑΟΔİıßẞǅǄﬁＡｚ１²ⅫⓐⒶ"  # final sigma, dotted İ, sharp s, titlecase, ligature, fullwidth, numbers
    "’‘“”–—…→➜®×≠\xa0\u202f\u2060\u200b\u200d\ufeff·•\u0301\u0307😀\ud800"  # separators, combining marks
    "aZqx09_-./:?=&%@#'\\ \t\n\x00"
)
_WORDS = st.sampled_from([
    "https://example.com/path?q=Фишинг&x=1#frag", "T1566.001", "a" * 70, "x" * 17 + "123", "ЁЛКИ-палки",
    "İstanbul", "STRASSE straße", "ΟΔΟΣ", "It’s “quoted” — ok → next", "Ünïcödé", "12e45abc", "\u00a0",
    "Running", "ПОДКЛЮЧЕНИЯ", "caf\u0065\u0301", "ǅemal", "\x00",
])  # fmt: skip
_TEXTS = st.lists(st.text(alphabet=_ADVERSARIAL, max_size=30) | _WORDS, max_size=6).map(" ".join)


def _reference_query(text: str) -> list[list[str]]:
    phrases = []
    for chunk in text.lower().split():
        words = _reference({"name": chunk}).split()
        if words:
            phrases.append(words)
    return phrases[:16]


@settings(max_examples=400, deadline=None)
@given(
    texts=st.lists(_TEXTS, min_size=1, max_size=6),
    cold=st.booleans(),
    group=st.sampled_from([1, 7, 40, fulltext._GROUP_CHARS]),
)
def test_adversarial_texts_equal_the_definition(texts: list[str], cold: bool, group: int) -> None:
    """Every way of reading texts (in a batch read a group at a time, object by object, alone, as
    a query) gives the definition's terms, whether the stems are known yet or not."""
    if cold:
        fulltext._STEMS.clear()
        fulltext._TEXT_TERMS.clear()
    bodies = [{"type": "note", "content": t, "labels": [t[::-1], "x"]} for t in texts]
    expected = [_reference(b) for b in bodies]
    defaults = fulltext._GROUP_CHARS, fulltext._VALUES_GROUP_CHARS
    fulltext._GROUP_CHARS = fulltext._VALUES_GROUP_CHARS = group
    try:
        assert documents_terms(bodies) == expected
        assert texts_terms(texts) == [_reference({"name": t}) for t in texts]
    finally:
        fulltext._GROUP_CHARS, fulltext._VALUES_GROUP_CHARS = defaults
    assert [document_terms(b) for b in bodies] == expected
    assert [text_terms(t) for t in texts] == [_reference({"name": t}) for t in texts]
    for t in texts:
        assert query_terms(t) == _reference_query(t)


def test_every_character_splits_words_as_the_regex() -> None:
    """Each code point between words, doubled and at the end: the words read (by ``_ascii_form``
    when it applies) are the regex's over the lowered text."""
    word = re.compile(r"[^\W_]+")
    fast = 0
    for code in range(0x80, 0x110000):
        char = chr(code)
        text = f"Ab{char}Cd x{char}{char}9 {char}"
        assert fulltext._split(text) == word.findall(text.lower()), hex(code)
        fast += fulltext._ascii_form(text) is not None
    assert fast > 10_000  # the fast reading is taken (symbols, punctuation, spaces)


@pytest.mark.parametrize(
    ("text", "ascii_form"),
    [
        ("It’s “quoted” — ok → next\xa0end", "It s  quoted    ok   next end"),
        ("Фишинг", None),
        ("café", None),
        ("ΟΔΟΣ’", None),
        ("İ", None),
        ("Ⓐb²", None),  # ² is a word character (a digit), Ⓐ is not
        ("Ⓐb", " b"),
        ("plain", "plain"),
    ],
)
def test_ascii_form(text: str, ascii_form: str | None) -> None:
    assert fulltext._ascii_form(text) == ascii_form
