"""Serve API roots migrated from medallion at their old URLs (``/<root>/...`` → ``/taxii2/<root>/...``).

Plain ASGI middleware: only paths whose first segment is an API root marked
``legacy_path`` (and not one of the node's own first segments, such as ``api``)
are rewritten, so it never shadows another route.  The set of
names is read from the database at most every ``ttl`` seconds, in a worker thread.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from colsec.taxii.models import TaxiiApiRoot

__all__ = ["LegacyRootPaths"]


def _own_segments(app: Any) -> frozenset[str]:
    """First path segments of the node's own routes: a migrated root never shadows them."""
    segments = set()
    for route in getattr(app, "routes", []):
        first = str(getattr(route, "path", ""))[1:].split("/", 1)[0]
        if first and "{" not in first:
            segments.add(first)
    return frozenset(segments)


class LegacyRootPaths:
    def __init__(self, app: Any, ttl: float = 10.0) -> None:
        self.app = app
        self.ttl = ttl
        self._names: frozenset[str] = frozenset()
        self._loaded_at = -1e9

    def _load(self, database: Any) -> frozenset[str]:
        with database.unit_of_work(write=False) as db:
            return frozenset(db.execute(select(TaxiiApiRoot.name).where(TaxiiApiRoot.legacy_path)).scalars())

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            path: str = scope.get("path", "")
            first = path[1:].split("/", 1)[0]
            if first and first != "taxii2" and path.count("/") >= 2:
                database = getattr(getattr(scope.get("app"), "state", None), "database", None)
                if database is not None and time.monotonic() - self._loaded_at > self.ttl:
                    names = await run_in_threadpool(self._load, database)
                    self._names = names - _own_segments(scope.get("app"))
                    self._loaded_at = time.monotonic()
                if first in self._names:
                    new_path = "/taxii2" + path
                    scope = {**scope, "path": new_path, "raw_path": new_path.encode()}
        await self.app(scope, receive, send)
