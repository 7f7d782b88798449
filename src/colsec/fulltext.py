"""Full-text terms of a STIX object and of a search query: one normaliser for both backends.

Stemming happens here, in Python (Snowball, Russian and English), not in the database:
SQLite's FTS5 has no Russian stemmer, and PostgreSQL's ``to_tsvector`` needs one language per
document while an alliance's objects mix both (a Russian description of ``T1566``).  Each
word is stemmed by its own script, the stems are stored as plain text (``search_doc.terms``)
and the databases only index words: FTS5 over that column on SQLite, a GIN index of
``to_tsvector('simple', terms)`` on PostgreSQL (stored beside the terms: ``search_doc_tsv``
migration).  Both therefore answer a query identically.
``snowballstemmer`` hands out PyStemmer's C build of the same algorithms when it is installed
(a runtime dependency: the same stems, ten times faster than the pure-Python port).

This module sits in the base layer so the migration that backfills the index uses it too.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from itertools import accumulate
from typing import Any

import snowballstemmer

__all__ = [
    "MAX_DOC_CHARS",
    "document_terms",
    "documents_terms",
    "query_terms",
    "stem",
    "text_terms",
    "texts_terms",
]

MAX_DOC_CHARS = 20_000  # text read per object: ATT&CK descriptions fit, a pasted report is cut
MAX_TERM = 60
_WORD = re.compile(r"[^\W_]+")
_CYRILLIC = re.compile(r"^[а-я]+$")
_LATIN = re.compile(r"^[a-z]+$")
# A quoted pattern value, unrolled (runs of plain characters, then escapes): an alternation per
# character cost an indicator more than the rest of its terms.
_QUOTED = re.compile(r"'([^'\\]*(?:\\.[^'\\]*)*)'")

# Properties whose text a reader searches for; external ids, values and hashes included.
_TEXT_KEYS = (
    "name", "value", "display_name", "description", "abstract", "content", "explanation", "opinion",
    "labels", "aliases", "x_mitre_aliases", "x_mitre_shortname", "x_mitre_platforms", "malware_types",
    "threat_actor_types", "indicator_types", "tool_types", "infrastructure_types", "report_types",
    "roles", "goals", "sectors", "country", "region", "city", "identity_class", "context",
    "relationship_type", "path", "subject", "account_login", "user_id", "key", "number", "serial_number",
)  # fmt: skip


@lru_cache(maxsize=1)
def _stemmers() -> tuple[Any, Any]:
    stemmers = snowballstemmer.stemmer("russian"), snowballstemmer.stemmer("english")
    for stemmer in stemmers:
        # PyStemmer's own cache of 10,000 words: ``_STEMS`` holds each word already, and past that
        # size its purges cost more than the stemming (ATT&CK's 14,500 English words: 2-3x).
        if hasattr(stemmer, "maxCacheSize"):
            stemmer.maxCacheSize = 0
    return stemmers


# Each distinct word is stemmed once per process: an import's text repeats a small vocabulary
# (ATT&CK: 1.6 million words, 22,000 distinct).  Bounded: cleared when full.  Words kept as they
# are (digits, other scripts) are kept here too when short (``T1566``, ``2019``: they recur), so a
# text of known words maps in one C-level pass; long ones (hashes, host names) are often unique.
class _Stems(dict[str, str]):
    """Word to term; a word not held yet is stemmed (and held if kept), so a text's words map
    through ``__getitem__`` in one C-level pass that calls back only for those."""

    def __missing__(self, word: str) -> str:
        return _stem(word)


_STEMS = _Stems()
_MAX_STEMS = 500_000
_MAX_KEPT_WORD = 16


def _stem(word: str) -> str:
    term = word.replace("ё", "е")[:MAX_TERM]
    if not term.isalpha():  # digits in it (an address, a hash): neither alphabet's word, kept as is
        if len(word) > _MAX_KEPT_WORD:
            return term
    else:
        russian, english = _stemmers()
        if _CYRILLIC.match(term):
            term = str(russian.stemWord(term))
        elif _LATIN.match(term):
            term = str(english.stemWord(term))
        elif len(word) > _MAX_KEPT_WORD:
            return term
    if len(_STEMS) >= _MAX_STEMS:
        _STEMS.clear()
    _STEMS[word] = term
    return term


def stem(word: str) -> str:
    """One lower-case word to its index term: Cyrillic and Latin words stemmed, others kept."""
    return _STEMS[word]


_TEXT_ORDER = {key: i for i, key in enumerate(_TEXT_KEYS)}
_OTHER_KEYS = frozenset({"pattern", "hashes", "external_references", "kill_chain_phases"})


def _texts(body: Mapping[str, Any]) -> list[str]:
    # The object's own keys picked by set lookups (a few per object), not 35 gets per object;
    # still read in _TEXT_KEYS order, so the terms' order is the same.  A list, not a generator:
    # an object's few texts cost a resumption each.
    keys = _TEXT_ORDER.keys() & body.keys()
    texts: list[str] = []
    for key in sorted(keys, key=_TEXT_ORDER.__getitem__) if len(keys) > 1 else keys:
        value = body[key]
        if isinstance(value, str):
            texts.append(value)
        elif isinstance(value, list):
            texts += [v for v in value if isinstance(v, str)]
    if _OTHER_KEYS.isdisjoint(body.keys()):
        return texts
    pattern = body.get("pattern")
    if isinstance(pattern, str):  # the values an indicator matches, without the path syntax
        texts += [m.replace("\\'", "'") for m in _QUOTED.findall(pattern)]
    # ``type(x) is dict`` first: parsed JSON is plain dicts, and the ABC check costs a call each.
    hashes = body.get("hashes")
    if type(hashes) is dict or isinstance(hashes, Mapping):
        texts += [v for v in hashes.values() if isinstance(v, str)]
    for ref in body.get("external_references") or ():
        if (type(ref) is dict or isinstance(ref, Mapping)) and isinstance(ref.get("external_id"), str):
            texts.append(ref["external_id"])
    for phase in body.get("kill_chain_phases") or ():
        if (type(phase) is dict or isinstance(phase, Mapping)) and isinstance(phase.get("phase_name"), str):
            texts.append(phase["phase_name"])
    return texts


# Word characters are the alphanumerics (``[^\W_]``); on ASCII text that is [a-z0-9] after lowering,
# and a byte translation (lowering and breaking in one pass) plus split finds the same words as
# the regex over the lowered text at three times its speed.
_ASCII_BREAKS = bytes(ord(chr(b).lower()) if b < 128 and chr(b).isalnum() else 32 for b in range(256))


def _split(text: str) -> list[str]:
    """The lower-cased words of ``text``."""
    plain = text if text.isascii() else _ascii_form(text)
    if plain is not None:
        return plain.encode("ascii").translate(_ASCII_BREAKS).decode("ascii").split()
    return _WORD.findall(text.lower())


_NON_ASCII = re.compile(r"[^\x00-\x7f]")


def _ascii_form(text: str) -> str | None:
    """``text`` with each non-ASCII character a space, when none of them is a word character or
    lowers into one (curly quotes, dashes, arrows, no-break spaces: most non-ASCII text in
    ATT&CK): the same words as the regex over the lowered text, read by the ASCII translation.
    None when one is (Cyrillic, accented letters): the regex reads that text.  Lowering is per
    character but for the final sigma, itself a word character, so the check is per character."""
    for char in set(_NON_ASCII.findall(text)):
        if _WORD.search(char.lower()) or _WORD.match(char):
            return None
    return _NON_ASCII.sub(" ", text)


def _words(text: str) -> list[str]:
    return list(map(_STEMS.__getitem__, _split(text)))  # one C-level pass; a word not seen yet is stemmed


def _joined_terms(text: str) -> str:
    """``" ".join(_words(text))``: the stems joined straight from the lookups (no list of them)."""
    return " ".join(map(_STEMS.__getitem__, _split(text)))


# The terms of each text an import has recently indexed: a value recurs across its objects
# (an indicator's pattern and its observable; a MISP event's labels on every observed-data), so
# a repeat costs one lookup.  Bounded (cleared when full) and for short texts only: long ones
# (descriptions) rarely recur.
_TEXT_TERMS: dict[str, str] = {}
_MAX_TEXTS = 8_192
_MAX_CACHED_TEXT = 256


def _text_terms(text: str) -> str:
    terms = _TEXT_TERMS.get(text)
    if terms is None:
        terms = _joined_terms(text)
        if len(text) <= _MAX_CACHED_TEXT:
            if len(_TEXT_TERMS) >= _MAX_TEXTS:
                _TEXT_TERMS.clear()
            _TEXT_TERMS[text] = terms
    return terms


def text_terms(text: str) -> str:
    """The terms of one text no longer than ``MAX_DOC_CHARS``: ``document_terms`` of an object
    holding only it."""
    return _text_terms(text)


def _document_texts(body: Mapping[str, Any]) -> list[str]:
    """The texts of ``body`` that are read, cut to ``MAX_DOC_CHARS`` in all."""
    texts = _texts(body)
    if sum(map(len, texts)) <= MAX_DOC_CHARS:
        return texts
    cut: list[str] = []
    size = 0
    for text in texts:
        if size >= MAX_DOC_CHARS:
            break
        cut.append(text[: MAX_DOC_CHARS - size])
        size += len(cut[-1])
    return cut


def document_terms(body: Mapping[str, Any]) -> str:
    """The stemmed words of an object's searchable text, space-separated, in reading order.

    Each text is split apart and the terms joined by a space: the same terms as splitting the
    texts joined by a space, since a space separates words as the end of a text does.
    """
    return " ".join(filter(None, map(_text_terms, _document_texts(body))))


# Between two objects' texts in a group's one string: a character no text there holds (checked),
# kept a word by the translation and stemmed to itself, so the group's terms split back by it.
_MARK = "\x00"
_BATCH_BREAKS = _MARK.encode("ascii") + _ASCII_BREAKS[1:]


def documents_terms(bodies: Sequence[Mapping[str, Any]]) -> list[str]:
    """``[document_terms(b) for b in bodies]``: the objects' ASCII texts (or read as ASCII) a group
    at a time as one string, split, its words looked up (a new one stemmed) and the stems joined,
    one C-level pass each, not four calls and a cache lookup per text.  An object with other texts
    (Cyrillic, accented letters, or holding the mark) is read text by text."""
    texts = [" ".join(_document_texts(body)) for body in bodies]
    return _batch_terms(texts, lambda i: document_terms(bodies[i]), _GROUP_CHARS)


def texts_terms(texts: Sequence[str]) -> list[str]:
    """``[text_terms(t) for t in texts]``, read as ``documents_terms`` reads objects: not a cache
    lookup and four calls per text (a bulk import's indicator values: each one new)."""
    return _batch_terms(texts, lambda i: _text_terms(texts[i]), _VALUES_GROUP_CHARS)


def _batch_terms(texts: Sequence[str], one: Callable[[int], str], group_chars: int) -> list[str]:
    """The terms of each of ``texts``: the ASCII ones (or read as ASCII: ``_ascii_form``) without
    the mark by ``_group_terms``, about ``group_chars`` of text at a time; the others as
    ``one(i)`` gives them."""
    out: list[str | None] = []
    joined: list[str] = []
    for i, text in enumerate(texts):
        if text.isascii() and _MARK not in text:
            joined.append(text)
            out.append(None)
            continue
        plain = None if text.isascii() else _ascii_form(text)
        if plain is not None and _MARK not in plain:
            joined.append(plain)
            out.append(None)
        else:
            out.append(one(i))
    if not joined:
        return out  # type: ignore[return-value]  # no None in it
    # Each group ends with the text that brings it to ``group_chars``, found by bisection over the
    # running sizes (no count kept per text: a batch of short values paid it per value).
    if sum(map(len, joined)) <= group_chars:
        parts = iter(_group_terms(joined))
    else:
        ends = list(accumulate(map(len, joined)))
        terms: list[str] = []
        start = 0
        while start < len(joined):
            end = bisect_left(ends, (ends[start - 1] if start else 0) + group_chars, lo=start) + 1
            terms += _group_terms(joined[start:end])
            start = end
        parts = iter(terms)
    return [next(parts).strip(" ") if t is None else t for t in out]


# Text read as one string at a time: a group's string, words and stems stay in the processor's
# cache.  ATT&CK in groups of about 8,000 characters (30 objects): its terms in about a third
# less time than in one string per batch of 1,000 objects (250,000 characters); 1,000 to 16,000
# measured alike.
_GROUP_CHARS = 8_192
# A bulk import's indicator values (a word or a few each, most of them new: their stemming costs
# more than their reading) measured slower in such groups (a twentieth): a batch's values, some
# 30,000 characters, stay one group.
_VALUES_GROUP_CHARS = 65_536


def _group_terms(texts: list[str]) -> list[str]:
    """The terms of each of ``texts`` (ASCII, without the mark), a space either side: one string
    split, its words looked up (a new one stemmed) and the stems joined, one C-level pass each."""
    words = f" {_MARK} ".join(texts).encode("ascii").translate(_BATCH_BREAKS).decode("ascii").split()
    return " ".join(map(_STEMS.__getitem__, words)).split(_MARK)  # the mark's term is itself


def query_terms(text: str) -> list[list[str]]:
    """A query as phrases of stems: words joined by punctuation (``T1566.001``) stay one phrase."""
    phrases = []
    for chunk in text.lower().split():
        words = _words(chunk)
        if words:
            phrases.append(words)
    return phrases[:16]
