"""Full-text terms of a STIX object and of a search query: one normaliser for both backends.

Stemming happens here, in Python (Snowball, Russian and English), not in the database:
SQLite's FTS5 has no Russian stemmer, and PostgreSQL's ``to_tsvector`` needs one language per
document while an alliance's objects mix both (a Russian description of ``T1566``).  Each
word is stemmed by its own script, the stems are stored as plain text (``search_doc.terms``)
and the databases only index words: FTS5 over that column on SQLite, a GIN index of
``to_tsvector('simple', terms)`` on PostgreSQL.  Both therefore answer a query identically.

This module sits in the base layer so the migration that backfills the index uses it too.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import Any

import snowballstemmer

__all__ = ["MAX_DOC_CHARS", "document_terms", "query_terms", "stem"]

MAX_DOC_CHARS = 20_000  # text read per object: ATT&CK descriptions fit, a pasted report is cut
MAX_TERM = 60
_WORD = re.compile(r"[^\W_]+")
_CYRILLIC = re.compile(r"^[а-я]+$")
_LATIN = re.compile(r"^[a-z]+$")
_QUOTED = re.compile(r"'((?:[^'\\]|\\.)*)'")

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
    return snowballstemmer.stemmer("russian"), snowballstemmer.stemmer("english")


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """One lower-case word to its index term: Cyrillic and Latin words stemmed, others kept."""
    word = word.replace("ё", "е")[:MAX_TERM]
    russian, english = _stemmers()
    if _CYRILLIC.match(word):
        return str(russian.stemWord(word))
    if _LATIN.match(word):
        return str(english.stemWord(word))
    return word


def _texts(body: Mapping[str, Any]) -> Iterator[str]:
    for key in _TEXT_KEYS:
        value = body.get(key)
        if isinstance(value, str):
            yield value
        elif isinstance(value, list):
            yield from (v for v in value if isinstance(v, str))
    pattern = body.get("pattern")
    if isinstance(pattern, str):  # the values an indicator matches, without the path syntax
        yield from (m.replace("\\'", "'") for m in _QUOTED.findall(pattern))
    hashes = body.get("hashes")
    if isinstance(hashes, Mapping):
        yield from (v for v in hashes.values() if isinstance(v, str))
    for ref in body.get("external_references") or ():
        if isinstance(ref, Mapping) and isinstance(ref.get("external_id"), str):
            yield ref["external_id"]
    for phase in body.get("kill_chain_phases") or ():
        if isinstance(phase, Mapping) and isinstance(phase.get("phase_name"), str):
            yield phase["phase_name"]


def _words(text: str) -> list[str]:
    return [stem(w) for w in _WORD.findall(text.lower())]


def document_terms(body: Mapping[str, Any]) -> str:
    """The stemmed words of an object's searchable text, space-separated, in reading order."""
    out: list[str] = []
    size = 0
    for text in _texts(body):
        if size >= MAX_DOC_CHARS:
            break
        text = text[: MAX_DOC_CHARS - size]
        size += len(text)
        out.extend(_words(text))
    return " ".join(out)


def query_terms(text: str) -> list[list[str]]:
    """A query as phrases of stems: words joined by punctuation (``T1566.001``) stay one phrase."""
    phrases = []
    for chunk in text.lower().split():
        words = _words(chunk)
        if words:
            phrases.append(words)
    return phrases[:16]
