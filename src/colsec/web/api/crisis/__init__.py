"""Crisis response over the JSON API: thin routes onto ``colsec.crisis.service``.

Routes that change state run their own unit of work (``_common.run_unit``); the e-mails
and webhook events they cause are outbox rows in it, delivered by the outbox's workers.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Depends, FastAPI

from colsec.crisis.ticker import TICK_SECONDS
from colsec.web.api.crisis import alerts, incidents, replay, requests
from colsec.web.api.crisis._common import people_only

__all__ = ["TICK_SECONDS", "install", "router"]

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1/crisis", tags=["crisis"], dependencies=[Depends(people_only)])
router.include_router(incidents.router)
router.include_router(requests.router)
router.include_router(alerts.router)
router.include_router(replay.router)


def install(app: FastAPI) -> None:
    """Mount the router.  Deadlines are ticked by the periodic ``crisis.tick`` job (``colsec.job_wiring``)."""
    app.include_router(router)
