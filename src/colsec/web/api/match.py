"""Submit a batch of telemetry for matching: POST the lines, get alerts back, sightings stored."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool

from colsec.accounts.roles import Actor, Role
from colsec.errors import InvalidInput
from colsec.formats.service import refuse_binary
from colsec.formats.stix_bundle import gunzip_upload
from colsec.match.readers import TELEMETRY_TEXT, ReaderFormat
from colsec.match.selection import mode_from_options
from colsec.match.service import match_lines
from colsec.web.deps import DbDep, get_settings, require_role

router = APIRouter(prefix="/api/v1/match", tags=["match"])
Matcher = Annotated[Actor, Depends(require_role(Role.ANALYST, Role.COORDINATOR))]
MAX_ALERTS_RETURNED = 1_000


@router.post("")
async def submit_batch(
    request: Request,
    db: DbDep,
    actor: Matcher,
    format: Annotated[
        str | None, Query(description="eve, zeek-json, zeek-tsv, windows, cef, syslog, json")
    ] = None,
    sightings: bool = True,
    retro: Annotated[
        bool, Query(description="every non-revoked indicator, whatever its validity or decay")
    ] = False,
    at: Annotated[str | None, Query(description="the indicators in force at this time")] = None,
) -> dict[str, Any]:
    mode, when = mode_from_options(retro=retro, at=at)
    fmt = None
    if format:
        try:
            fmt = ReaderFormat(format)
        except ValueError:
            raise InvalidInput(
                f"unknown format {format!r}; choose from {', '.join(f.value for f in ReaderFormat)}"
            ) from None
    if fmt is ReaderFormat.CSV:
        raise InvalidInput("CSV needs a field mapping: use the command line (colsec match --mapping)")
    # A .gz body is taken as the CLI takes a .gz file, under the import's caps.
    limit = get_settings(request).max_decompressed_bytes
    raw = gunzip_upload(await request.body(), source="request body", limit=limit)
    refuse_binary(raw, TELEMETRY_TEXT)
    body = raw.decode("utf-8", errors="replace")
    run = await run_in_threadpool(
        match_lines,
        db,
        actor=actor,
        lines=body.splitlines(keepends=True),
        fmt=fmt,
        record_sightings=sightings,
        mode=mode,
        at=when,
    )
    excluded = run.compile.excluded
    return {
        "events": run.stats.events,
        "malformed": run.stats.malformed,
        "malformed_examples": run.stats.examples,
        "indicators": run.compile.loaded,
        "mode": mode.value,
        "excluded": {
            **(excluded.to_json() if excluded is not None else {}),
            "warninglisted": {
                "count": run.compile.warninglisted,
                "ids": run.compile.warninglisted_ids[:100],
            },
        },
        "compile": {
            "inactive": run.compile.inactive,
            "invalid": run.compile.invalid,
            "warninglisted": run.compile.warninglisted,
            "errors": run.compile.errors,
        },
        "alerts_total": len(run.alerts),
        "alerts": [a.to_json() for a in run.alerts[:MAX_ALERTS_RETURNED]],
        "sightings": [s["id"] for s in run.sightings],
        "seconds": round(run.seconds, 3),
    }
