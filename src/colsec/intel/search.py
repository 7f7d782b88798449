"""Search over the intelligence a reader may see: full text, observable values, filters and facets.

Full text goes through the stemmed index of latest versions (``colsec.fulltext``,
``search_doc``): FTS5 on SQLite, a GIN index over its stored ``tsvector('simple', ...)`` on PostgreSQL,
the same words on both, so both answer alike.  Every statement starts from
``visible_clause`` for the reader's organisation, so a match the reader may not see is never
returned nor counted in a facet.  A single token is also looked up as an observable value
(exact or prefix, the ``observable`` index) and the two result lists are merged.

Text results are newest first by ``seq`` (the store assigns ``seq`` and ``date_added`` in the
same order), which lets FTS5 walk its index backwards and stop after one page.  Filtered to
TLP:AMBER+STRICT or RED, where a reader sees only its own and named rows, a search starts
from those rows instead (``_readable_at``): a common word would otherwise be walked through
every other organisation's matches.  The first page and the facets share one walk.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    Subquery,
    and_,
    cast,
    column,
    false,
    func,
    literal,
    literal_column,
    or_,
    select,
    table,
    union,
    union_all,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from colsec.accounts.roles import Actor
from colsec.db import is_sqlite
from colsec.db_base import MAX_ID
from colsec.errors import InvalidInput
from colsec.fulltext import query_terms
from colsec.intel.search_facets import Facets, Sample, facets_of, row_value
from colsec.stix.ids import canonical_timestamp
from colsec.stix.tlp import TLP
from colsec.store.models import ObjectRecipient, Observable, SearchDoc, StixObject
from colsec.store.policy import Recipient, visible_clause
from colsec.store.queries import recipient_for_org
from colsec.store.views import display_name

__all__ = [
    "FACET_SAMPLE",
    "OBSERVABLE_KINDS",
    "Facets",
    "SearchPage",
    "SearchQuery",
    "fts_condition",
    "row_value",
    "search",
]

OBSERVABLE_KINDS = (
    "ipv4", "ipv6", "domain", "url", "email", "mac", "asn", "filename", "regkey", "mutex", "user-agent",
    "x509-serial", "md5", "sha1", "sha256", "sha512", "sha3-256", "sha3-512", "ssdeep", "tlsh",
)  # fmt: skip
MAX_VALUE_MATCHES = 5000  # object versions one value search considers (newest shown first)
FACET_SAMPLE = 500  # facets count the newest this many matches (said so on the page when reached)
DENSE_ROWS = 2000
MIN_PREFIX = 2  # a single letter as a prefix would match most of the index
_SEARCH_FTS = table("search_fts", column("rowid", Integer), column("terms"))


@dataclass
class SearchQuery:
    value: str = ""
    type: str = ""
    label: str = ""
    owner: int | None = None
    tlp: int | None = None
    since: date | None = None
    until: date | None = None
    relationships: bool = False  # relationship rows are hidden unless asked for (or their type chosen)

    def is_empty(self) -> bool:
        return not (self.value or self.type or self.label or self.owner is not None or self.tlp is not None
                    or self.since or self.until)  # fmt: skip


@dataclass
class SearchPage:
    rows: list[StixObject]
    more: bool
    next_cursor: str | None
    facets: Facets = field(default_factory=Facets)
    values: dict[int, str] = field(default_factory=dict)  # seq -> the value an indicator or SCO carries
    names: dict[int, str] = field(default_factory=dict)  # seq -> display name


def _cursor(text: str) -> tuple[str, int]:
    try:
        stamp, seq = text.rsplit("_", 1)
        number = int(seq)
        if not 0 <= number <= MAX_ID:
            raise ValueError
        return canonical_timestamp(stamp), number
    except (ValueError, TypeError):
        raise InvalidInput(f"invalid paging cursor {text!r}") from None


def _dense(db: Session, cond: ColumnElement[bool]) -> bool:
    """Whether ``cond`` matches more than DENSE_ROWS latest versions (bounded: stops counting there)."""
    probe = select(StixObject.seq).where(cond, StixObject.is_latest).limit(DENSE_ROWS + 1).subquery()
    return int(db.execute(select(func.count()).select_from(probe)).scalar_one()) > DENSE_ROWS


def fts_condition(db: Session, text: str) -> tuple[Any, ColumnElement[bool]] | None:
    """(table to join on ``seq``, match condition) for a text query, or None when it has no words.

    Every word must occur; words joined by punctuation (``T1566.001``, ``evil.example``) must
    occur in that order; the last word of each is matched as a prefix (from two letters on),
    so a word being typed and other word forms sharing the stem are found.
    """
    phrases = query_terms(text)
    if not phrases:
        return None
    if is_sqlite(db):
        parts = []
        for words in phrases:
            quoted = [f'"{w}"' for w in words]
            if len(words[-1]) >= MIN_PREFIX:
                quoted[-1] += "*"
            parts.append(" + ".join(quoted))
        expr = " AND ".join(parts)
        return _SEARCH_FTS, and_(_SEARCH_FTS.c.terms.op("MATCH")(expr))
    pg_parts = []
    for words in phrases:
        items = list(words)
        if len(items[-1]) >= MIN_PREFIX:
            items[-1] += ":*"
        pg_parts.append("(" + " <-> ".join(items) + ")")
    simple: ColumnElement[Any] = literal_column("'simple'::regconfig")
    tsv: ColumnElement[Any] = literal_column(
        "search_doc.tsv"
    )  # to_tsvector('simple', terms), stored (search_doc_tsv migration)
    cond = tsv.op("@@")(func.to_tsquery(simple, " & ".join(pg_parts)))
    return SearchDoc, and_(cond)


def _filtered(db: Session, viewer: Recipient, query: SearchQuery, *, text_mode: bool) -> Select[Any]:
    stmt = select(StixObject).where(StixObject.is_latest, visible_clause(viewer))
    # SQLite: a filter that matches many rows must not drive the plan: walking the (date_added, seq)
    # index newest-first finds a page at once, while the filter's own index would make the
    # database sort every match.  Rare values keep their index.  ``|| ''`` / ``+ 0`` hide it.
    # With text the full-text index drives, so the filters' indexes are always hidden there.
    hide_index = is_sqlite(db)
    if query.type:
        dense = hide_index and (text_mode or _dense(db, StixObject.type == query.type))
        stmt = stmt.where((StixObject.type.concat("") if dense else StixObject.type) == query.type)
    elif not query.relationships:
        stmt = stmt.where(StixObject.type.concat("") != "relationship")
    if query.owner is not None:
        dense = hide_index and (text_mode or _dense(db, StixObject.owner_org_id == query.owner))
        stmt = stmt.where((StixObject.owner_org_id + 0 if dense else StixObject.owner_org_id) == query.owner)
    if query.tlp is not None:
        stmt = stmt.where(StixObject.tlp == query.tlp)
    if query.label:
        stmt = stmt.where(_has_label(db, query.label.strip()))
    if query.since:
        stmt = stmt.where(StixObject.date_added >= query.since.isoformat())
    if query.until:
        stmt = stmt.where(StixObject.date_added < (query.until + timedelta(days=1)).isoformat())
    return stmt


def _has_label(db: Session, label: str) -> ColumnElement[bool]:
    """Whether a row's ``labels`` list holds exactly ``label`` (same answer on both engines).

    The label as JSON text is a cheap prefilter on both (bodies are compact orjson, so a holder
    contains it; ``LIKE`` only widens): walking rows newest first, only those containing it are
    parsed.  The exact test: on PostgreSQL containment over the labels, which the ``label_index``
    migration's GIN index answers (its expression and predicate written out literally so the
    planner matches them; a rare label is then found without a walk), on SQLite ``json_each``.
    """
    prefilter = StixObject.body.contains(orjson.dumps(label).decode())
    if not is_sqlite(db):
        labels = cast(StixObject.body, JSONB).op("->")(literal_column("'labels'"))
        # The index's predicate (``label_index_labelled``: only bodies naming labels are indexed).
        named = func.strpos(StixObject.body, literal_column("'\"labels\"'")) > literal_column("0")
        return and_(prefilter, named, labels.op("@>")(literal([label], JSONB)))
    each = func.json_each(StixObject.body, "$.labels").table_valued("value", "type")
    exact: Select[Any] = (
        select(literal_column("1")).select_from(each).where(each.c.type == "text", each.c.value == label)
    )
    return and_(prefilter, func.json_type(StixObject.body, "$.labels") == "array", exact.exists())


def _value_seqs(db: Session, value: str) -> list[int]:
    """Object versions stating this observable value exactly or as a prefix (index ranges)."""
    lowered = value.lower()
    kinds = Observable.kind.in_(OBSERVABLE_KINDS)
    # (kind, value) index: the exact value or a prefix, each an index range; every kind
    # is listed so the index applies (an OR of the two would scan the whole table).
    obs = union(
        select(Observable.object_seq).where(kinds, Observable.value == value),
        select(Observable.object_seq).where(
            kinds, Observable.value >= lowered, Observable.value < lowered + "\uffff"
        ),
    )
    return list(db.execute(obs.limit(MAX_VALUE_MATCHES)).scalars())


Candidate = tuple[Select[Any], Any]  # a statement and the column it is ordered and paged by


def _readable_at(viewer: Recipient, level: int | None) -> Subquery | None:
    """At a TLP only owners and named organisations read, the rows the reader could see: its own
    at that level and those naming it (the owner-TLP index and the recipients' index); else None.

    A superset that makes a search start small, not a decision: every statement still applies
    ``visible_clause``.  Without it a common word at TLP:RED walks every match and reads each row
    to refuse most of them (another organisation's RED), twice (page and facets).
    """
    if level is None or level < TLP.AMBER_STRICT:
        return None
    if viewer.org_id is None:  # no organisation reads these levels
        return select(StixObject.seq).where(false()).subquery("readable")
    own = select(StixObject.seq).where(StixObject.owner_org_id == viewer.org_id, StixObject.tlp == level)
    named = select(ObjectRecipient.object_seq).where(ObjectRecipient.organisation_id == viewer.org_id)
    return union_all(own, named).subquery("readable")


def _candidates(db: Session, viewer: Recipient, query: SearchQuery) -> tuple[list[Candidate], bool]:
    """The statements whose union is the result, each with its order key; and whether they are text searches.

    A text statement is ordered by the full-text table's own row id (equal to ``seq``): FTS5 then
    walks its index newest first and stops after a page instead of sorting every match.
    """
    value = query.value.strip()
    readable = _readable_at(viewer, query.tlp)
    if not value and readable is not None:
        # Newest first by seq, the same order as (date_added, seq): the few readable rows drive.
        return [
            (
                _filtered(db, viewer, query, text_mode=False).where(
                    StixObject.seq.in_(select(readable.c.seq))
                ),
                StixObject.seq,
            )
        ], False
    if not value:
        return [(_filtered(db, viewer, query, text_mode=False), None)], False
    if "--" in value and " " not in value:
        return [(_filtered(db, viewer, query, text_mode=False).where(StixObject.id == value), None)], False
    out: list[Candidate] = []
    fts = fts_condition(db, value)
    if fts is not None:
        target, cond = fts
        key = target.c.rowid if target is _SEARCH_FTS else SearchDoc.seq
        stmt = _filtered(db, viewer, query, text_mode=True).join(target, key == StixObject.seq).where(cond)
        if readable is not None:
            # The matches are walked only between the first and last readable row (a range the
            # full-text index seeks), each checked against the readable rows (a list built once)
            # before its row is read; ``+ 0`` keeps SQLite from handing FTS5 one lookup per listed row.
            lo, hi = db.execute(select(func.min(readable.c.seq), func.max(readable.c.seq))).one()
            if lo is None:  # nothing at this level is readable: no statement to run
                return [], True
            stmt = stmt.where(
                key >= lo, key <= hi, (key + 0 if target is _SEARCH_FTS else key).in_(select(readable.c.seq))
            )
        out.append((stmt, key))
    if " " not in value:
        # Resolve the value first (an index range), then fetch those rows: as one statement
        # the planner may walk every object and probe the subquery for each.
        seqs = _value_seqs(db, value)
        if seqs:
            out.append(
                (
                    _filtered(db, viewer, query, text_mode=False).where(StixObject.seq.in_(seqs)),
                    StixObject.seq,
                )
            )
    return out, True


def _ordered(stmt: Select[Any], key: Any) -> Select[Any]:
    if key is not None:
        return stmt.order_by(key.desc())
    return stmt.order_by(StixObject.date_added.desc(), StixObject.seq.desc())


def search(
    db: Session,
    *,
    actor: Actor,
    query: SearchQuery,
    cursor: str | None = None,
    limit: int = 25,
    facets: bool = True,
    now: datetime | None = None,
) -> SearchPage:
    """Latest visible versions matching the text and every filter, newest first, keyset-paged."""
    viewer = recipient_for_org(db, actor.org_id)
    candidates, text_mode = _candidates(db, viewer, query)
    after = _cursor(cursor) if cursor else None
    sample: Sample | None = None
    if facets and after is None and limit < FACET_SAMPLE:
        # One walk for both: the first page is the head of the facets' sample (the same statements
        # in the same order), read back by primary key; a sparse match is no longer walked twice.
        sample = _sample(db, candidates)
        order = sorted(
            sample[0].items(), key=lambda kv: (0, kv[0]) if text_mode else (kv[1][3], kv[0]), reverse=True
        )
        head = [seq for seq, _ in order[: limit + 1]]
        by_seq = {r.seq: r for r in db.execute(select(StixObject).where(StixObject.seq.in_(head))).scalars()}
        rows = [by_seq[seq] for seq in head]
    else:
        rows = _page_rows(db, candidates, after, limit, text_mode=text_mode)
    more = len(rows) > limit
    rows = rows[:limit]
    nxt = f"{rows[-1].date_added}_{rows[-1].seq}" if more and rows else None
    page = SearchPage(rows=rows, more=more, next_cursor=nxt)
    for row in rows:
        body = orjson.loads(row.body)
        page.names[row.seq] = display_name(body)
        shown = row_value(body)
        if shown:
            page.values[row.seq] = shown
    if facets:
        page.facets = facets_of(
            sample if sample is not None else _sample(db, candidates), now or datetime.now(UTC)
        )
    return page


def _page_rows(
    db: Session, candidates: list[Candidate], after: tuple[str, int] | None, limit: int, *, text_mode: bool
) -> list[StixObject]:
    """Up to ``limit`` + 1 rows after the cursor, newest first, from the union of the candidates."""
    rows_by_seq: dict[int, StixObject] = {}
    for stmt, key in candidates:
        if after is not None:
            stamp, seq = after
            stmt = stmt.where(
                key < seq
                if key is not None
                else or_(
                    StixObject.date_added < stamp, and_(StixObject.date_added == stamp, StixObject.seq < seq)
                )
            )
        for row in db.execute(_ordered(stmt, key).limit(limit + 1)).scalars():
            rows_by_seq[row.seq] = row
    return sorted(
        rows_by_seq.values(), key=lambda r: (0, r.seq) if text_mode else (r.date_added, r.seq), reverse=True
    )


def _sample(db: Session, candidates: list[Candidate]) -> Sample:
    """The newest FACET_SAMPLE matches of each candidate statement, and whether there were more."""
    sample: dict[int, tuple[str, int | None, int, str, str]] = {}
    capped = False
    for stmt, key in candidates:
        cols = _ordered(stmt, key).with_only_columns(
            StixObject.seq, StixObject.type, StixObject.owner_org_id, StixObject.tlp, StixObject.date_added,
            StixObject.body,
        )  # fmt: skip
        got = db.execute(cols.limit(FACET_SAMPLE + 1)).all()
        capped = capped or len(got) > FACET_SAMPLE
        for seq, typ, owner, tlp, added, body in got[:FACET_SAMPLE]:
            sample[seq] = (typ, owner, tlp, added, body)
    return sample, capped
