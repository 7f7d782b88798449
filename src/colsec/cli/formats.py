"""Commands of the formats domain: import any supported format, export for sensors, warninglists."""

from __future__ import annotations

import time
import zlib
from pathlib import Path
from typing import Annotated, Any

import typer

from colsec.cli.acting import AsOption, OrgOption, acting_for
from colsec.cli.common import console, fail, get_node, get_settings, open_session, resolve_actor
from colsec.cli.core import import_cmd as import_any_cmd
from colsec.cli.exporting import export_cmd

__all__ = ["register"]

formats_app = typer.Typer(
    help="Import and export in outside formats (MISP, CSV, text, ATT&CK, Suricata, Zeek).",
    no_args_is_help=True,
)
warninglist_app = typer.Typer(help="MISP warninglists (known-benign values).", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(formats_app, name="formats")
    app.add_typer(warninglist_app, name="warninglist")


def import_cmd(
    files: Annotated[list[Path], typer.Argument(exists=True, dir_okay=False, help="Files to import")],
    fmt: Annotated[
        str | None, typer.Option("--format", help="stix, misp, attack, csv, text (default: detect)")
    ] = None,
    org: OrgOption = None,
    as_user: AsOption = None,
    tlp: Annotated[str | None, typer.Option(help="TLP for objects the source leaves unmarked")] = None,
    collection: Annotated[
        list[str] | None,
        typer.Option("--collection", help="Publish what is imported in this TAXII collection (id or alias)"),
    ] = None,
) -> None:
    """Import files through the format registry, one transaction per file (``colsec import`` uses it)."""
    from colsec.formats.registry import ImportFormat
    from colsec.formats.service import import_source
    from colsec.formats.stix_bundle import read_maybe_gzip
    from colsec.stix.tlp import TLP_BY_NAME
    from colsec.store.limits import WriteLimits

    try:
        chosen = ImportFormat(fmt) if fmt else None
    except ValueError:
        fail(f"unknown format {fmt!r}; choose from {', '.join(f.value for f in ImportFormat)}", 2)
    level = TLP_BY_NAME.get(tlp.lower()) if tlp else None
    if tlp and level is None:
        fail(f"unknown TLP {tlp!r}", 2)
    cap = get_settings().max_decompressed_bytes
    for path in files:
        started = time.perf_counter()
        with open_session() as session:
            actor = acting_for(session, as_user=as_user, org=org)
            owner = actor.org_id
            collection_ids = [collection_id(session, c) for c in collection or []]
            report = import_source(
                session,
                actor=actor,
                data=read_maybe_gzip(path, max_decompressed=cap),
                fmt=chosen,
                owner_org_id=owner,
                default_tlp=level,
                limits=WriteLimits.from_settings(get_settings()),
                collection_ids=collection_ids,
            )
        elapsed = time.perf_counter() - started
        console.print(
            f"{path.name} ({report.fmt.value}): {report.inserted:,} new, {report.unchanged:,} unchanged "
            f"of {report.received:,} in {report.units} unit(s), {elapsed:.1f}s"
        )
        for note in report.notes:
            console.print(f"  note: {note}")
        print_deferred_note(report.follow_up_jobs)


def print_deferred_note(job_ids: list[str]) -> None:
    """Say when an import's correlation, scores and exposure went to a background job (a big
    import, ``intel_defer_after``), naming the jobs its result reports: an operator importing from
    the shell sees why they are not there yet, and which job to watch."""
    if not job_ids:
        return
    from sqlalchemy import select

    from colsec.jobs.models import Job

    with open_session(write=False) as session:
        payloads = session.scalars(select(Job.payload).where(Job.id.in_(job_ids))).all()
    versions = sum(int((p or {}).get("versions", 0)) for p in payloads)
    jobs, them = ("job", "it") if len(job_ids) == 1 else ("jobs", "them")
    console.print(
        f"  note: correlation, scores and exposure of {versions:,} new versions are queued as "
        f"background {jobs} {', '.join(job_ids)}; 'colsec serve' or 'colsec worker' runs {them}"
    )


def collection_id(session: Any, name: str) -> str:
    """A collection named by id or alias; one line and exit 2 when there is none."""
    from sqlalchemy import or_, select

    from colsec.store.models import Collection

    found = session.execute(
        select(Collection.id).where(or_(Collection.id == name, Collection.alias == name))
    ).scalar()
    if found is None:
        fail(f"no TAXII collection {name!r}; see 'colsec collection list'", 2)
    return str(found)


@warninglist_app.command("import")
def warninglist_import(
    path: Annotated[
        Path, typer.Argument(exists=True, help="A warninglists folder (<name>/list.json) or one list.json")
    ],
    as_user: Annotated[str | None, typer.Option("--as", help="Act as this user")] = None,
) -> None:
    """Store MISP warninglists (a newer version replaces the entries of the old one)."""
    from colsec.formats.warninglists import import_warninglists

    with open_session() as session:
        counts = import_warninglists(session, actor=resolve_actor(session, as_user), path=path)
    console.print(f"{len(counts)} warninglists, {sum(counts.values()):,} values")


@formats_app.command("feed")
def feed_cmd(
    source: Annotated[str, typer.Argument(help="MISP feed folder or http(s) URL (with manifest.json)")],
    org: OrgOption = None,
    as_user: AsOption = None,
) -> None:
    """Pull a MISP feed: only events whose timestamp changed are fetched; each event is its own unit."""
    from colsec.formats.misp_feed import import_feed

    with open_session() as session:
        actor = acting_for(session, as_user=as_user, org=org)
        owner = actor.org_id
        report = import_feed(
            session, actor=actor, source=source, owner_org_id=owner, outbound=get_node().outbound
        )
    console.print(
        f"{report.events_in_manifest} events in manifest: {report.fetched} fetched, "
        f"{report.skipped_unchanged} unchanged, {report.inserted:,} objects new, {len(report.failed)} failed"
    )
    for failure in report.failed:
        console.print(f"  failed {failure['event']}: {failure['error']}")


def import_non_stix(
    files: list[Path],
    fmt: str | None,
    *,
    org: str | None,
    as_user: str | None,
    tlp: str | None,
    collection: list[str] | None = None,
) -> list[Path]:
    """For ``colsec import``: import the files that are not STIX bundles through the registry and
    return the STIX ones (plain or gzipped), which keep the streaming bundle path."""
    from colsec.errors import ColsecError
    from colsec.formats.registry import ImportFormat
    from colsec.formats.service import detect_format
    from colsec.formats.stix_bundle import open_maybe_gzip, unreadable

    stix: list[Path] = []
    others: list[Path] = []
    for path in files:
        if fmt in ("stix", "attack"):
            stix.append(path)
            continue
        if fmt is None:
            try:
                with open_maybe_gzip(path) as f:  # a gzip file is recognised by what it holds
                    head = f.read(65536)
                detected = detect_format(head)
            except (OSError, EOFError, zlib.error) as exc:  # a cut or damaged gzip file: one line
                fail(unreadable(path, exc), 2)
            except ColsecError as exc:
                fail(f"{path.name}: {exc.message}", 2)
            if detected in (ImportFormat.STIX, ImportFormat.ATTACK):
                stix.append(path)
                continue
        others.append(path)
    if others:
        import_cmd(others, fmt=fmt, org=org, as_user=as_user, tlp=tlp, collection=collection)
    return stix


@formats_app.command("vocabulary")
def vocabulary_cmd(
    taxonomies: Annotated[Path | None, typer.Option(exists=True, help="MISP taxonomies folder")] = None,
    galaxies: Annotated[
        Path | None, typer.Option(exists=True, help="MISP galaxy folder (clusters/*.json)")
    ] = None,
    as_user: Annotated[str | None, typer.Option("--as", help="Act as this user")] = None,
) -> None:
    """Load MISP taxonomies and galaxies as the vocabulary of tags."""
    from colsec.formats.vocabulary import import_vocabularies

    if taxonomies is None and galaxies is None:
        fail("give --taxonomies and/or --galaxies", 2)
    with open_session() as session:
        counts = import_vocabularies(
            session, actor=resolve_actor(session, as_user), taxonomies=taxonomies, galaxies=galaxies
        )
    console.print(f"{len(counts)} namespaces, {sum(counts.values()):,} tags")


# ``colsec import`` and ``colsec export`` are offered in the formats group too.
formats_app.command("import", help="Alias of 'colsec import'.")(import_any_cmd)
formats_app.command("export", help="Alias of 'colsec export'.")(export_cmd)
