"""The intel domain's durable jobs: rebuilding every correlation of the node (long on a large
store), and the post-import work of an import too large to do it in its own transaction."""

from __future__ import annotations

from typing import Any

from colsec.intel.correlation import CorrelationConfig, rebuild
from colsec.intel.hooks import AFTER_IMPORT_KIND, CHUNK, IntelConfig, benign_lookup, on_slice
from colsec.jobs.runner import JobContext

__all__ = ["AFTER_IMPORT_KIND", "REBUILD_KIND", "run_after_import", "run_rebuild"]

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


def run_after_import(ctx: JobContext, *, config: IntelConfig) -> dict[str, Any]:
    """The post-import work of a large import (``colsec.intel.hooks``): its slices in order, each
    committed on its own, so no transaction holds a whole event's correlation and scores."""
    seqs = [seq for lo, hi in ctx.payload["runs"] for seq in range(int(lo), int(hi) + 1)]
    for i in range(0, len(seqs), CHUNK):
        with ctx.database.unit_of_work() as s:
            on_slice(s, seqs[i : i + CHUNK], config)
        ctx.report(min(i + CHUNK, len(seqs)), len(seqs))
    return {"versions": len(seqs)}
