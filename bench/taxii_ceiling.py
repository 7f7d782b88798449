"""The raw ceiling of ``bench/taxii.py``: a minimal Starlette keyset-paging app over colsec's own rows.

No ORM, no policy, no sessions: one driver connection, one query per request over the same
``stix_object`` rows (the collection's ``(date_added, seq)`` keyset, the same index), the stored bodies
concatenated into the same envelope bytes, and one fixed Basic credential compared in memory.
It tells how fast this machine can answer the same client loops at all, so colsec's figure is
read as a share of it.  Started by ``bench/taxii.py`` as
``uvicorn taxii_ceiling:app --app-dir bench`` with ``CEILING_DATABASE_URL`` (a SQLAlchemy-style
``sqlite:///`` or ``postgresql+psycopg://`` URL, ``?options=-csearch_path=...`` kept) and
``CEILING_AUTH`` (the ``Authorization`` header value it accepts).
"""

from __future__ import annotations

import os
import sqlite3
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

TAXII = "application/taxii+json;version=2.1"
URL = os.environ.get("CEILING_DATABASE_URL", "")
AUTH = os.environ.get("CEILING_AUTH", "")

if URL.startswith("sqlite"):
    _conn: Any = sqlite3.connect(URL.removeprefix("sqlite:///"), check_same_thread=False)
    _conn.execute("PRAGMA cache_size=-65536")
    _conn.execute("PRAGMA mmap_size=268435456")
    P = "?"
    NOT_INDEXED = "+"  # SQLite plans without statistics: a named id is found by its index, not the walk
else:
    import psycopg

    _conn = psycopg.connect(URL.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)
    P = "%s"
    NOT_INDEXED = ""

# Membership as colsec reads it: the collection's members in their own (date_added, seq) order,
# each version read by its key.
PAGE = (
    "SELECT m.date_added, s.seq, s.body FROM collection_object m JOIN stix_object s ON s.seq = m.object_seq "
    f"WHERE m.collection_id = {P} AND s.is_latest AND (m.date_added, m.object_seq) > ({P}, {P}) "
    f"ORDER BY m.date_added, m.object_seq LIMIT {P}"
)  # the row value is a range on the (collection_id, date_added, object_seq) index
FIRST = (
    "SELECT m.date_added, s.seq, s.body FROM collection_object m JOIN stix_object s ON s.seq = m.object_seq "
    f"WHERE m.collection_id = {P} AND s.is_latest ORDER BY m.date_added, m.object_seq LIMIT {P}"
)
BY_ID = (
    "SELECT m.date_added, s.body FROM stix_object s JOIN collection_object m ON m.object_seq = s.seq "
    f"WHERE s.id = {P} AND s.is_latest AND {NOT_INDEXED}m.collection_id = {P}"
)


def _refused(request: Request) -> Response | None:
    if request.headers.get("authorization") != AUTH:
        return Response(b'{"title":"unauthorised"}', status_code=401, media_type=TAXII)
    return None


async def objects(request: Request) -> Response:
    refused = _refused(request)
    if refused is not None:
        return refused
    cid = request.path_params["cid"]
    limit = int(request.query_params.get("limit", "1000"))
    nxt = request.query_params.get("next")
    if nxt:
        date_added, _, seq = nxt.rpartition("_")
        rows = _conn.execute(PAGE, (cid, date_added, int(seq), limit + 1)).fetchall()
    else:
        rows = _conn.execute(FIRST, (cid, limit + 1)).fetchall()
    more = len(rows) > limit
    rows = rows[:limit]
    head = b'{"more":' + (b"true" if more else b"false")
    if more:
        head += b',"next":' + orjson.dumps(f"{rows[-1][0]}_{rows[-1][1]}")
    body = head + b',"objects":[' + ",".join(r[2] for r in rows).encode() + b"]}"
    headers = {"X-TAXII-Date-Added-First": rows[0][0], "X-TAXII-Date-Added-Last": rows[-1][0]} if rows else {}
    return Response(body, media_type=TAXII, headers=headers)


async def one(request: Request) -> Response:
    refused = _refused(request)
    if refused is not None:
        return refused
    row = _conn.execute(BY_ID, (request.path_params["oid"], request.path_params["cid"])).fetchone()
    if row is None:
        return Response(b'{"title":"not found"}', status_code=404, media_type=TAXII)
    body = b'{"more":false,"objects":[' + row[1].encode() + b"]}"
    headers = {"X-TAXII-Date-Added-First": row[0], "X-TAXII-Date-Added-Last": row[0]}
    return Response(body, media_type=TAXII, headers=headers)


async def collection(request: Request) -> Response:
    refused = _refused(request)
    if refused is not None:
        return refused
    body = {"id": request.path_params["cid"], "title": "ceiling", "can_read": True, "can_write": False,
            "media_types": ["application/stix+json;version=2.1"]}  # fmt: skip
    return Response(orjson.dumps(body), media_type=TAXII)


async def healthz(request: Request) -> Response:
    return Response(b"ok")


app = Starlette(
    routes=[
        Route("/healthz", healthz),
        Route("/collections/{cid}/", collection),
        Route("/collections/{cid}/objects/", objects),
        Route("/collections/{cid}/objects/{oid}/", one),
    ]
)
