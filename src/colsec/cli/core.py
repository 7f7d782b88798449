"""Node commands: serve, db, import, export (``colsec.cli.exporting``), stats, audit."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from colsec.cli.acting import AsOption, OrgOption, acting_for
from colsec.cli.common import console, fail, get_database, get_node, get_settings, open_session
from colsec.errors import ColsecError

__all__ = ["register"]

db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
audit_app = typer.Typer(help="Tamper-evident audit log.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    from colsec.cli.exporting import export_cmd

    app.command()(serve)
    app.command("import")(import_cmd)
    app.command("export")(export_cmd)
    app.command()(stats)
    app.command()(demo)
    app.add_typer(db_app, name="db")
    app.add_typer(audit_app, name="audit")


def serve(
    host: Annotated[str | None, typer.Option(help="Bind address")] = None,
    port: Annotated[int | None, typer.Option(help="Port")] = None,
    workers: Annotated[
        int, typer.Option(min=1, max=64, help="Worker processes (PostgreSQL only when more than one)")
    ] = 1,
) -> None:
    """Run the node (web UI, API, TAXII) after upgrading the database.

    With ``--workers N`` each process builds its own node from the same COLSEC_* settings;
    sessions, throttles, TAXII status and notifications are shared through the database.
    """
    import uvicorn

    from colsec.web.app import create_app

    settings = get_settings()
    host = host or settings.host
    port = port or settings.port
    if workers > 1 and settings.effective_database_url.startswith("sqlite"):
        fail(
            f"--workers {workers} needs PostgreSQL (COLSEC_DATABASE_URL): an SQLite node runs in one "
            "process; drop --workers or point the node at a PostgreSQL database",
            2,
        )
    node = get_node()  # migrates once, and creates the node secret every worker then reads
    console.print(
        f"colsec node [bold]{settings.node_name}[/] on http://{host}:{port}/"
        + (f" ({workers} workers)" if workers > 1 else "")
    )
    if workers == 1:
        uvicorn.run(create_app(node=node), host=host, port=port, log_level="info", proxy_headers=False)
        return
    node.close()  # each worker opens its own engine
    uvicorn.run(
        "colsec.web.app:app_from_env",
        factory=True,
        workers=workers,
        host=host,
        port=port,
        log_level="info",
        proxy_headers=False,
    )


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration."""
    db = get_database(migrate=False)
    from colsec.migrations import upgrade

    upgrade(db.engine)
    console.print("database is up to date")


def import_cmd(
    files: Annotated[
        list[Path], typer.Argument(exists=True, dir_okay=False, help="STIX 2.1 bundles (.json, .json.gz)")
    ],
    org: OrgOption = None,
    as_user: AsOption = None,
    tlp: Annotated[str | None, typer.Option(help="TLP for objects without a TLP marking")] = None,
    fmt: Annotated[
        str | None, typer.Option("--format", help="stix, misp, attack, csv, text (default: detect)")
    ] = None,
    collection: Annotated[
        list[str] | None,
        typer.Option("--collection", help="Publish what is imported in this TAXII collection (id or alias)"),
    ] = None,
) -> None:
    """Import files, one transaction per file (all-or-nothing), with a progress bar."""
    from colsec.cli.formats import collection_id, import_non_stix, print_deferred_note

    with open_session(write=False) as session:
        acting_for(session, as_user=as_user, org=org)  # refuse before any file is read
        collection_ids = [collection_id(session, c) for c in collection or []]
    # MISP, CSV, text: format registry
    files = import_non_stix(files, fmt, org=org, as_user=as_user, tlp=tlp, collection=collection)
    from colsec.formats.network_equality import NetworkEqualities
    from colsec.formats.stix_bundle import open_maybe_gzip, read_stix_file
    from colsec.stix.tlp import TLP_BY_NAME
    from colsec.store.service import WriteLimits, import_objects

    settings = get_settings()
    level = TLP_BY_NAME.get((tlp or settings.default_tlp).lower())
    if level is None:
        fail(f"unknown TLP {tlp!r}", 2)
    failures = 0
    for path in files:
        started = time.perf_counter()
        size = path.stat().st_size
        with Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[objects]:>9,} objects"),
            TextColumn("{task.fields[rate]:>8,.0f} obj/s"),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        ) as progress:
            task = progress.add_task(path.name, total=size, objects=0, rate=0.0)
            notes: list[str] = []  # a STIX 2.0 bundle's upgrade to 2.1
            equalities = NetworkEqualities()  # address = network comparisons, which match nothing
            raw = open_maybe_gzip(path, max_decompressed=settings.max_decompressed_bytes)
            underlying = getattr(raw, "fileobj", None) or raw

            def tick(
                n: int, started: float = started, task: Any = task, src: Any = underlying, size: int = size
            ) -> None:
                elapsed = max(time.perf_counter() - started, 1e-6)
                progress.update(task, completed=min(src.tell(), size), objects=n, rate=n / elapsed)

            try:
                with open_session() as session:
                    actor = acting_for(session, as_user=as_user, org=org)
                    owner = actor.org_id
                    result = import_objects(
                        session,
                        actor=actor,
                        objects=equalities.watch(
                            read_stix_file(
                                path, max_decompressed=settings.max_decompressed_bytes, notes=notes
                            )
                        ),
                        owner_org_id=owner,
                        default_tlp=level,
                        progress=tick,
                        limits=WriteLimits.from_settings(settings),
                        collection_ids=collection_ids,
                    )
            except typer.Exit as exc:
                failures += 1
                if len(files) == 1:
                    raise
                del exc
                continue
            finally:
                raw.close()
            progress.update(task, completed=size)
        elapsed = time.perf_counter() - started
        console.print(
            f"{path.name}: {result.inserted:,} new, {result.unchanged:,} unchanged "
            f"of {result.received:,} in {elapsed:.1f}s ({result.received / max(elapsed, 1e-6):,.0f} obj/s)"
        )
        for note in notes:
            console.print(note)
        for note in equalities.notes():
            console.print(f"  note: {note}", markup=False)
        print_deferred_note(result.follow_up_jobs)
    if failures:
        raise typer.Exit(2)


def stats() -> None:
    """Object counts by type (latest versions) and totals."""
    from sqlalchemy import func, select

    from colsec.accounts.models import Organisation, User
    from colsec.store.models import AuditEntry, Observable, StixObject

    with open_session(write=False) as session:
        rows = session.execute(
            select(StixObject.type, func.count()).where(StixObject.is_latest).group_by(StixObject.type)
        ).all()
        table = Table(title="STIX objects (latest versions)")
        table.add_column("type")
        table.add_column("count", justify="right")
        for t, n in sorted(rows, key=lambda r: -r[1]):
            table.add_row(t, f"{n:,}")
        console.print(table)
        versions = session.execute(select(func.count()).select_from(StixObject)).scalar()
        obs = session.execute(select(func.count()).select_from(Observable)).scalar()
        orgs = session.execute(select(func.count()).select_from(Organisation)).scalar()
        users = session.execute(select(func.count()).select_from(User)).scalar()
        audit = session.execute(select(func.count()).select_from(AuditEntry)).scalar()
        console.print(
            f"versions: {versions:,}  observables: {obs:,}  organisations: {orgs}  users: {users}  audit rows: {audit:,}"
        )


def demo(
    quiet: Annotated[bool, typer.Option(help="Do not print credentials")] = False,
) -> None:
    """Create the demo alliance (idempotent) and print the demo logins."""
    from colsec.demo import build_demo

    extensions = get_node().demo_extensions
    with open_session() as session:
        creds = build_demo(session, extensions=extensions)
    if not quiet:
        table = Table(title="Demo accounts (local demo only)")
        for col in ("user", "password", "role", "organisation"):
            table.add_column(col)
        for c in creds:
            table.add_row(c["username"], c["password"], c["role"], c["org"])
        console.print(table)


@audit_app.command("verify")
def audit_verify(
    against: Annotated[
        list[Path] | None,
        typer.Option(
            "--against",
            exists=True,
            dir_okay=False,
            help="Also check copies of our checkpoints kept by peers",
        ),
    ] = None,
) -> None:
    """Recompute the audit hash chain and compare it with the signed checkpoints; exit 1 if a row
    was edited or removed, or the tail was cut or rewritten."""
    from colsec.store.audit import verify_anchored
    from colsec.store.audit_anchor import Checkpoint, parse_checkpoints

    extra: list[Checkpoint] = []
    for path in against or []:
        try:
            extra.extend(cp for _, cp in parse_checkpoints(path.read_bytes(), source=str(path)))
        except ColsecError as exc:
            fail(exc.message, 2)
    db = get_database()
    with open_session(write=False) as session:
        result = verify_anchored(session, db.audit_anchor, extra=extra)
    if result.ok:
        console.print(f"audit log intact: {result.rows:,} rows, {result.checkpoints:,} checkpoints matched")
    else:
        fail(f"audit log broken: {result.problem}", 1)


@audit_app.command("checkpoint")
def audit_checkpoint() -> None:
    """Anchor the current head now and print it as signed JSON (what peers receive)."""
    db = get_database()
    with open_session(write=False) as session:
        cp = db.audit_anchor.checkpoint(session)
    if cp is None:
        console.print("audit log is empty: nothing to anchor")
        return
    typer.echo(orjson.dumps(cp.to_dict()).decode())


@audit_app.command("fetch")
def audit_fetch(
    peer: Annotated[str, typer.Argument(help="Peer name (as in 'colsec peer list')")],
) -> None:
    """Fetch a peer's signed audit head and keep it; exit 1 if its log went backwards since."""
    from colsec.federation.peers import load_peer
    from colsec.store.audit_anchor import keep_peer_checkpoint
    from colsec.taxii.responses import TaxiiClientError

    node = get_node()
    settings, db = node.settings, node.database
    try:
        cfg = load_peer(db, peer)
        with cfg.client(outbound=node.outbound) as client:
            received = client.node_json("/api/v1/audit/checkpoint")
        cp, problem = keep_peer_checkpoint(settings.data_dir, cfg.name, received)
    except TaxiiClientError as exc:
        fail(exc.message, 7)
    except ColsecError as exc:
        fail(exc.message, 2)
    if problem:
        fail(problem, 1)
    console.print(f"{cfg.name}: {cp.rows:,} audit rows up to id {cp.last_id} at {cp.at}, kept")


def _dump(obj: Any) -> str:
    return orjson.dumps(obj, option=orjson.OPT_INDENT_2).decode()
