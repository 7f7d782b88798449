"""Crisis response over the JSON API: thin routes onto ``colsec.crisis.service``.

Routes that change state take the request's session (``colsec.web.deps.DbDep``, which
commits when the route returns); the e-mails and webhook events they cause are outbox rows
in it, delivered by the outbox's workers.
"""

from __future__ import annotations

import asyncio
import logging

from fastapi import APIRouter, Depends, FastAPI
from starlette.concurrency import run_in_threadpool

from colsec.crisis.ticker import TICK_SECONDS, tick
from colsec.web.api.crisis import alerts, incidents, requests
from colsec.web.api.crisis._common import people_only

__all__ = ["TICK_SECONDS", "install", "router"]

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1/crisis", tags=["crisis"], dependencies=[Depends(people_only)])
router.include_router(incidents.router)
router.include_router(requests.router)
router.include_router(alerts.router)


def install(app: FastAPI) -> None:
    """Mount the router; a node that owns its database also runs the crisis ticker.

    The ticker closes consultations at their deadline and sends reminders every
    ``TICK_SECONDS`` in a worker thread.  An app built around an injected database (tests,
    embedding) calls ``tick`` itself.
    """
    app.include_router(router)
    if not app.state.node.owns_database:
        return

    async def loop() -> None:
        while True:
            await asyncio.sleep(TICK_SECONDS)
            try:
                await run_in_threadpool(tick, app.state.database, app.state.settings)
            except Exception:  # one failed tick must not stop the next
                log.exception("crisis ticker failed")

    async def start(app: FastAPI) -> None:
        app.state.crisis_ticker = asyncio.create_task(loop())

    async def stop(app: FastAPI) -> None:
        task = getattr(app.state, "crisis_ticker", None)
        if task is not None:
            task.cancel()

    app.state.startup_hooks.append(start)
    app.state.shutdown_hooks.append(stop)
