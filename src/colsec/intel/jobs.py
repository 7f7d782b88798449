"""Rebuilding every correlation of the node as a durable job (long on a large store)."""

from __future__ import annotations

from typing import Any

from colsec.intel.correlation import CorrelationConfig, rebuild
from colsec.intel.hooks import IntelConfig, benign_lookup
from colsec.jobs.runner import JobContext

__all__ = ["REBUILD_KIND", "run_rebuild"]

REBUILD_KIND = "correlation.rebuild"


def run_rebuild(ctx: JobContext, *, config: IntelConfig) -> dict[str, Any]:
    """One transaction: readers see the old correlations or the new ones, never half."""
    with ctx.database.unit_of_work() as s:
        stats = rebuild(s, config=CorrelationConfig(cap=config.cap, benign=benign_lookup(s, config)))
    return {
        "active": stats.active,
        "capped": stats.capped,
        "warninglisted": stats.warninglisted,
        "edges": stats.edges,
    }
