"""Where the hot TAXII reads run: an object by id on SQLite needs no worker thread, a page does.

On a loaded machine the thread hop's two wake-ups cost a GET by id more than its statements;
on SQLite it runs on the event loop when an idle read connection is at hand.  So it answers even
while every worker thread is taken, where a page (a worker-thread read) waits for one.  The caller
is still resolved from the database on every request: a revoked token fails at once.
"""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime
from typing import Any

import anyio.to_thread
import httpx
import pytest
from sqlalchemy import update

from colsec.accounts.models import ApiToken
from colsec.accounts.roles import SYSTEM
from colsec.db import Database
from colsec.stix.tlp import TLP
from colsec.store.service import import_objects
from colsec.taxii.service import create_collection
from taxii.stixdata import indicator

TAXII = "application/taxii+json;version=2.1"


def _collection(database: Database) -> tuple[str, str]:
    obj = indicator(7, tag="threads")
    with database.unit_of_work() as s:
        cid = create_collection(s, actor=SYSTEM, title="threads", can_read=["*"]).id
        import_objects(s, actor=SYSTEM, objects=[obj], collection_ids=[cid], default_tlp=TLP.GREEN)
    return cid, obj["id"]


def test_sqlite_object_by_id_answers_while_every_worker_thread_is_taken(
    database: Database, app: Any, make_account: Any
) -> None:
    if not database.sqlite:
        pytest.skip("PostgreSQL reads always take a worker thread (a round trip would stall the loop)")
    account = make_account()
    cid, oid = _collection(database)
    objects = f"/taxii2/root/collections/{cid}/objects/"
    headers = {**account.headers, "Accept": TAXII}

    async def scenario() -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://node") as client:
            assert (await client.get(f"{objects}{oid}/", headers=headers)).status_code == 200  # warm
            limiter = anyio.to_thread.current_default_thread_limiter()
            limiter.total_tokens = 1
            release = threading.Event()
            holder = asyncio.ensure_future(anyio.to_thread.run_sync(release.wait))
            await asyncio.sleep(0.05)
            try:
                one = await asyncio.wait_for(client.get(f"{objects}{oid}/", headers=headers), 5)
                assert one.status_code == 200
                assert one.json()["objects"][0]["id"] == oid
                page = asyncio.ensure_future(client.get(objects, headers=headers))
                await asyncio.sleep(0.3)
                assert not page.done()  # a page waits for a worker thread
            finally:
                release.set()
                await holder
            assert (await page).status_code == 200
            # Nothing about the caller is kept between requests: a revoked token fails at once.
            with database.unit_of_work() as s:
                s.execute(update(ApiToken).values(revoked_at=datetime.now(UTC)))
            assert (await client.get(f"{objects}{oid}/", headers=headers)).status_code == 401

    asyncio.run(scenario())
