"""Commands of the formats domain: import any supported format, export for sensors, warninglists."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from colsec.cli.common import console, fail, open_session, resolve_actor

__all__ = ["register"]

formats_app = typer.Typer(
    help="Import and export in outside formats (MISP, CSV, text, ATT&CK, Suricata, Zeek).",
    no_args_is_help=True,
)
warninglist_app = typer.Typer(help="MISP warninglists (known-benign values).", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(formats_app, name="formats")
    app.add_typer(warninglist_app, name="warninglist")


def _owner(session: object, org: str | None) -> int | None:
    if not org:
        return None
    from colsec.accounts.service import get_org_by_name

    return get_org_by_name(session, org).id  # type: ignore[arg-type]


@formats_app.command("import")
def import_cmd(
    files: Annotated[list[Path], typer.Argument(exists=True, dir_okay=False, help="Files to import")],
    fmt: Annotated[
        str | None, typer.Option("--format", help="stix, misp, attack, csv, text (default: detect)")
    ] = None,
    org: Annotated[str | None, typer.Option(help="Owner organisation (short name)")] = None,
    as_user: Annotated[str | None, typer.Option("--as", help="Act as this user")] = None,
    tlp: Annotated[str | None, typer.Option(help="TLP for objects the source leaves unmarked")] = None,
) -> None:
    """Import files through the format registry, one transaction per file (all-or-nothing)."""
    from colsec.formats.registry import ImportFormat
    from colsec.formats.service import import_source
    from colsec.formats.stix_bundle import read_maybe_gzip
    from colsec.settings import Settings
    from colsec.stix.tlp import TLP_BY_NAME
    from colsec.store.gate import WriteLimits

    try:
        chosen = ImportFormat(fmt) if fmt else None
    except ValueError:
        fail(f"unknown format {fmt!r}; choose from {', '.join(f.value for f in ImportFormat)}", 2)
    level = TLP_BY_NAME.get(tlp.lower()) if tlp else None
    if tlp and level is None:
        fail(f"unknown TLP {tlp!r}", 2)
    cap = Settings().max_decompressed_bytes
    for path in files:
        started = time.perf_counter()
        with open_session() as session:
            actor = resolve_actor(session, as_user)
            owner = _owner(session, org) if actor.org_id is None else actor.org_id
            report = import_source(
                session,
                actor=actor,
                data=read_maybe_gzip(path, max_decompressed=cap),
                fmt=chosen,
                owner_org_id=owner,
                default_tlp=level,
                limits=WriteLimits.from_settings(Settings()),
            )
        elapsed = time.perf_counter() - started
        console.print(
            f"{path.name} ({report.fmt.value}): {report.inserted:,} new, {report.unchanged:,} unchanged "
            f"of {report.received:,} in {report.units} unit(s), {elapsed:.1f}s"
        )
        for note in report.notes:
            console.print(f"  note: {note}")


@formats_app.command("export")
def export_cmd(
    fmt: Annotated[str, typer.Option("--format", help="stix, misp, suricata, zeek, csv, values")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Output directory")],
    type_: Annotated[list[str] | None, typer.Option("--type", help="STIX type(s)")] = None,
    max_tlp: Annotated[str | None, typer.Option("--max-tlp", help="Most restrictive TLP to include")] = None,
    since: Annotated[str | None, typer.Option("--since", help="Added after this timestamp")] = None,
    label: Annotated[
        list[str] | None, typer.Option("--label", help="Objects with any of these labels")
    ] = None,
    owner: Annotated[str | None, typer.Option(help="Only objects owned by this organisation")] = None,
    as_user: Annotated[str | None, typer.Option("--as", help="Export what this user may see")] = None,
    org: Annotated[str | None, typer.Option(help="Export what this organisation may see")] = None,
) -> None:
    """Export the visible selection; the sharing policy of the viewing organisation applies."""
    from colsec.formats.registry import ExportFormat
    from colsec.formats.service import ExportFilter, export_selection
    from colsec.stix.tlp import TLP_BY_NAME

    try:
        chosen = ExportFormat(fmt)
    except ValueError:
        fail(f"unknown format {fmt!r}; choose from {', '.join(f.value for f in ExportFormat)}", 2)
    level = TLP_BY_NAME.get(max_tlp.lower()) if max_tlp else None
    if max_tlp and level is None:
        fail(f"unknown TLP {max_tlp!r}", 2)
    with open_session(write=False) as session:
        actor = resolve_actor(session, as_user)
        flt = ExportFilter(
            types=type_ or [],
            max_tlp=level,
            added_since=since,
            labels=label or [],
            owner_org_id=_owner(session, owner),
        )
        files = export_selection(
            session, actor=actor, fmt=chosen, flt=flt, viewer_org_id=_owner(session, org)
        )
    output.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (output / name).write_bytes(data)
        console.print(f"wrote {output / name} ({len(data):,} bytes)")


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
    org: Annotated[str | None, typer.Option(help="Owner organisation (short name)")] = None,
    as_user: Annotated[str | None, typer.Option("--as", help="Act as this user")] = None,
) -> None:
    """Pull a MISP feed: only events whose timestamp changed are fetched; each event is its own unit."""
    from colsec.formats.misp_feed import import_feed
    from colsec.outbound import from_settings
    from colsec.settings import Settings

    with open_session() as session:
        actor = resolve_actor(session, as_user)
        owner = _owner(session, org) if actor.org_id is None else actor.org_id
        report = import_feed(
            session, actor=actor, source=source, owner_org_id=owner, outbound=from_settings(Settings())
        )
    console.print(
        f"{report.events_in_manifest} events in manifest: {report.fetched} fetched, "
        f"{report.skipped_unchanged} unchanged, {report.inserted:,} objects new, {len(report.failed)} failed"
    )
    for failure in report.failed:
        console.print(f"  failed {failure['event']}: {failure['error']}")


def import_non_stix(
    files: list[Path], fmt: str | None, *, org: str | None, as_user: str | None, tlp: str | None
) -> list[Path]:
    """For ``colsec import``: import the files that are not STIX bundles through the registry and
    return the STIX ones (plain or gzipped), which keep the streaming bundle path."""
    from colsec.errors import ColsecError
    from colsec.formats.registry import ImportFormat
    from colsec.formats.service import detect_format
    from colsec.formats.stix_bundle import open_maybe_gzip

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
            except (OSError, EOFError) as exc:
                fail(f"{path.name}: cannot read input ({exc})", 2)
            except ColsecError as exc:
                fail(f"{path.name}: {exc.message}", 2)
            if detected in (ImportFormat.STIX, ImportFormat.ATTACK):
                stix.append(path)
                continue
        others.append(path)
    if others:
        import_cmd(others, fmt=fmt, org=org, as_user=as_user, tlp=tlp)
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
