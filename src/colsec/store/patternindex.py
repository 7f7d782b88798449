"""A batch's observable and search rows on SQLite in one pass, an indicator's both from one
reading of its pattern's head.

A bulk import's usual indicator is ``[type:path = 'value']`` with no other searchable text.  Its
head (``[type:path``, read by the pattern reader when it was validated: ``colsec.stix.pattern``)
gives once per import both the observable kind of its one atom and the head's search terms, so
the indicator's rows need only its value: the kind's normalised value for the observables index
and the value's words for the search index, those of a whole batch split and stemmed in one
pass (``colsec.fulltext.texts_terms``).  Every other object takes ``observable_rows`` and
``objects_terms`` one by one; the rows are theirs either way (tests/store/test_pattern_index.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from colsec.fulltext import document_terms, texts_terms
from colsec.stix.observables import extract as extract_observables
from colsec.stix.observables import normalise, pattern_path_kind
from colsec.stix.pattern import MAX_PATTERN_LENGTH, known_head
from colsec.store.textindex import PATTERN_ONLY, objects_terms

__all__ = ["index_rows"]

# A head's (observable kind, search terms); None: a head the fast reading leaves to the others.
# Bounded (cleared when full): heads come from outside.
_HEADS: dict[str, tuple[str | None, str] | None] = {}
_MAX_HEADS = 4096
_UNSEEN: Any = object()


def _head(head: str) -> tuple[str | None, str] | None:
    known = known_head(head)
    if known is None:  # not read by the pattern reader (yet): not cached, it may be later
        return None
    if "\\" in head or head.count("'") % 2:  # its quoted values run on into the value's
        record = None
    else:
        record = (pattern_path_kind(*known), document_terms({"pattern": head}))
    if len(_HEADS) >= _MAX_HEADS:
        _HEADS.clear()
    _HEADS[head] = record
    return record


def index_rows(
    inserted: Sequence[tuple[int, str, str]],
    docs: Sequence[tuple[int, Mapping[str, Any]]],
    given: Mapping[tuple[str, str], Sequence[tuple[str, str]]] | None = None,
) -> tuple[list[tuple[str, str, int, str]], list[tuple[int, str]]]:
    """``(observable_rows(inserted, docs, given), sqlite_index_rows(docs)[0])``: the observable
    rows (kind, value, seq, id) and the search rows (seq, terms) of the versions ``inserted``."""
    obs: list[tuple[str, str, int, str]] = []
    heads: list[str | None] = []  # a usual indicator's head terms, None for any other object
    values: list[str] = []  # the usual indicators' values, in order
    others: list[Mapping[str, Any]] = []
    for (seq, oid, modified), (_, body) in zip(inserted, docs, strict=True):
        pattern = body.get("pattern")
        record = value = None
        if (
            type(pattern) is str
            and len(pattern) <= MAX_PATTERN_LENGTH
            and body.get("type") == "indicator"
            and body.keys() <= PATTERN_ONLY
        ):
            at = pattern.find(" = '")
            if at > 0 and pattern[-2:] == "']" and len(pattern) >= at + 6:
                value = pattern[at + 4 : -2]
                if "'" not in value and "\\" not in value:
                    head = pattern[:at]
                    record = _HEADS.get(head, _UNSEEN)
                    if record is _UNSEEN:
                        record = _head(head)
        stated = given.get((oid, modified)) if given else None
        if record is None:
            heads.append(None)
            others.append(body)
            for kind, v in set(stated if stated is not None else extract_observables(body)):
                obs.append((kind, v, seq, oid))
            continue
        kind, head_terms = record
        heads.append(head_terms)
        values.append(value)  # type: ignore[arg-type]  # a str wherever record is set
        if stated is not None:
            for k, v in set(stated):
                obs.append((k, v, seq, oid))
        elif kind is not None and body.get("pattern_type") == "stix":
            norm = normalise(kind, value)
            if norm is not None:
                obs.append((norm[0], norm[1], seq, oid))
    value_terms = iter(texts_terms(values))
    other_terms = iter(objects_terms(others) if others else ())
    rows: list[tuple[int, str]] = []
    for (seq, _), terms in zip(docs, heads, strict=True):
        if terms is None:
            rows.append((seq, next(other_terms)))
        else:
            words = next(value_terms)
            rows.append((seq, f"{terms} {words}" if terms and words else terms or words))
    return obs, rows
