"""``colsec export`` (alias ``colsec formats export``): one command for every export format.

STIX goes to one bundle file (or stdout), streamed from the store; the other formats
write their files into a folder.  Sensor formats (suricata, zeek, values) carry the
indicators matching would use, or every non-revoked one with ``--all``.
"""

from __future__ import annotations

import sys
import uuid
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.orm import Session

from colsec.cli.acting import AsOption, OrgOption, acting_for
from colsec.cli.common import console, fail, get_settings, open_session

__all__ = ["export_cmd"]


def export_cmd(
    fmt: Annotated[
        str, typer.Option("--format", help="stix, misp, misp-feed, suricata, zeek, csv, values")
    ] = "stix",
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", help="STIX: the bundle file (default stdout); others: a folder"),
    ] = None,
    type_: Annotated[list[str] | None, typer.Option("--type", help="STIX type(s)")] = None,
    max_tlp: Annotated[str | None, typer.Option("--max-tlp", help="Most restrictive TLP to include")] = None,
    since: Annotated[str | None, typer.Option("--since", help="Added after this timestamp")] = None,
    label: Annotated[
        list[str] | None, typer.Option("--label", help="Objects with any of these labels")
    ] = None,
    owner: Annotated[str | None, typer.Option(help="Only objects owned by this organisation")] = None,
    everything: Annotated[
        bool,
        typer.Option("--all", help="Sensor formats: every non-revoked indicator, not only those in force"),
    ] = False,
    as_user: AsOption = None,
    org: OrgOption = None,
) -> None:
    """Export what the acting organisation may see (its sharing policy applies)."""
    from colsec.accounts.service import get_org_by_name
    from colsec.formats.registry import ExportFormat
    from colsec.formats.service import ExportFilter, export_selection
    from colsec.stix.tlp import TLP_BY_NAME

    try:
        chosen = ExportFormat(fmt)
    except ValueError:
        fail(f"unknown export format {fmt!r}; choose from {', '.join(f.value for f in ExportFormat)}", 2)
    level = TLP_BY_NAME.get(max_tlp.lower()) if max_tlp else None
    if max_tlp and level is None:
        fail(f"unknown TLP {max_tlp!r}", 2)
    if chosen is not ExportFormat.STIX and output is None:
        fail(f"--format {chosen.value} writes files into a folder: give -o FOLDER", 2)
    settings = get_settings()
    streamed = chosen is ExportFormat.STIX and not (level or since or label or owner)
    with open_session(write=False) as session:
        actor = acting_for(session, as_user=as_user, org=org)
        if streamed:
            _stream_bundle(session, org_id=actor.org_id, types=type_ or [], output=output)
            return
        flt = ExportFilter(
            types=type_ or [],
            max_tlp=level,
            added_since=since,
            labels=label or [],
            owner_org_id=get_org_by_name(session, owner).id if owner else None,
            all_indicators=everything,
            min_prefix_v4=settings.sensor_min_prefix_v4,
            min_prefix_v6=settings.sensor_min_prefix_v6,
        )
        files = export_selection(session, actor=actor, fmt=chosen, flt=flt)
    if chosen is ExportFormat.STIX:
        data = next(iter(files.values()))
        if output is None:
            sys.stdout.buffer.write(data)
            return
        output.write_bytes(data)
        console.print(f"wrote {output} ({len(data):,} bytes)")
        return
    assert output is not None
    output.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (output / name).write_bytes(data)
        console.print(f"wrote {output / name} ({len(data):,} bytes)")


def _stream_bundle(session: Session, *, org_id: int | None, types: list[str], output: Path | None) -> None:
    """The latest visible versions as one bundle, written row by row (any store size)."""
    from colsec.store import queries

    viewer = queries.recipient_for_org(session, org_id)
    out = output.open("wb") if output else None
    sink = out if out else sys.stdout.buffer
    sink.write(b'{"type": "bundle", "id": "bundle--' + str(uuid.uuid4()).encode() + b'", "objects": [')
    cursor = None
    first = True
    count = 0
    while True:
        page = queries.list_objects(session, viewer=viewer, types=types, cursor=cursor, limit=1000)
        for row in page.rows:
            sink.write((b"\n" if first else b",\n") + row.body.encode())
            first = False
            count += 1
        if not page.more:
            break
        cursor = page.next
    sink.write(b"\n]}\n")
    if out:
        out.close()
        console.print(f"exported {count:,} objects to {output}")
