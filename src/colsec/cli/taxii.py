"""TAXII commands: ``colsec collection add/list`` and ``colsec taxii load-medallion``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from colsec.cli.common import console, fail, open_session, resolve_actor

__all__ = ["collection_app", "register", "taxii_app"]

taxii_app = typer.Typer(help="TAXII 2.1 server and client.", no_args_is_help=True)
collection_app = typer.Typer(help="TAXII collections served by this node.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(taxii_app, name="taxii")
    app.add_typer(collection_app, name="collection")


@collection_app.command("add")
def collection_add(
    title: Annotated[str, typer.Argument(help="Collection title")],
    read: Annotated[
        list[str] | None, typer.Option("--read", help="Who may read: organisation short name, role, or '*'")
    ] = None,
    write: Annotated[
        list[str] | None, typer.Option("--write", help="Who may write: organisation short name, role, or '*'")
    ] = None,
    api_root: Annotated[str, typer.Option("--root", help="API root name")] = "root",
    collection_id: Annotated[
        str | None, typer.Option("--id", help="Collection id (UUID); default: new")
    ] = None,
    alias: Annotated[str | None, typer.Option(help="Alias")] = None,
    description: Annotated[str, typer.Option(help="Description")] = "",
    as_user: Annotated[str | None, typer.Option("--as", help="Act as this user")] = None,
) -> None:
    """Create a collection; rights default to: everyone reads, nobody writes."""
    from colsec.taxii.service import create_collection

    with open_session() as session:
        coll = create_collection(
            session,
            actor=resolve_actor(session, as_user),
            title=title,
            api_root=api_root,
            description=description,
            alias=alias,
            can_read=read if read is not None else ["*"],
            can_write=write or [],
            collection_id=collection_id,
        )
        cid = coll.id
    console.print(cid)


@collection_app.command("list")
def collection_list(
    api_root: Annotated[str | None, typer.Option("--root", help="Only this API root")] = None,
) -> None:
    """List collections with their rights and object counts."""
    from sqlalchemy import func, select

    from colsec.store.models import CollectionObject
    from colsec.taxii.service import list_collections, parse_rights

    with open_session(write=False) as session:
        colls = list_collections(session, api_root=api_root)
        counts = dict(
            session.execute(
                select(CollectionObject.collection_id, func.count()).group_by(CollectionObject.collection_id)
            ).all()
        )
        table = Table(title="TAXII collections")
        for col in ("id", "root", "title", "can read", "can write", "versions"):
            table.add_column(col)
        for c in colls:
            table.add_row(
                c.id, c.api_root, c.title, ", ".join(parse_rights(c.can_read)) or "-",
                ", ".join(parse_rights(c.can_write)) or "-", f"{counts.get(c.id, 0):,}",
            )  # fmt: skip
    console.print(table)


@taxii_app.command("load-medallion")
def load_medallion_cmd(
    file: Annotated[
        Path, typer.Argument(help="medallion data file or config file")
    ],
    org: Annotated[str | None, typer.Option(help="Organisation owning the imported objects")] = None,
    users_org: Annotated[
        str | None, typer.Option(help="Organisation of the imported medallion users")
    ] = None,
    users_role: Annotated[str, typer.Option(help="Role of the imported medallion users")] = "peer",
    tlp: Annotated[str | None, typer.Option(help="TLP for objects without a TLP marking")] = None,
) -> None:
    """Import a medallion memory-backend file: API roots, collections, objects with date_added, statuses, users."""
    from colsec.accounts.roles import SYSTEM, Role
    from colsec.accounts.service import get_org_by_name
    from colsec.settings import Settings
    from colsec.stix.tlp import TLP_BY_NAME
    from colsec.taxii.medallion import load_medallion, read_medallion_file

    level = TLP_BY_NAME.get((tlp or Settings().default_tlp).lower())
    if level is None:
        fail(f"unknown TLP {tlp!r}", 2)
    try:
        role = Role(users_role)
    except ValueError:
        fail(f"unknown role {users_role!r}", 2)
    with open_session() as session:
        data, users = read_medallion_file(file)
        owner = get_org_by_name(session, org).id if org else None
        user_org = get_org_by_name(session, users_org) if users_org else None
        if users and user_org is None:
            fail("the file has users: name their organisation with --users-org", 2)
        report = load_medallion(
            session, actor=SYSTEM, data=data, users=users, owner_org_id=owner, user_org=user_org, user_role=role,
            default_tlp=level,
        )  # fmt: skip
    console.print(
        f"API roots: {', '.join(report.api_roots) or '-'}; collections: {report.collections}; "
        f"object versions: {report.objects:,} new, {report.unchanged:,} unchanged, {len(report.failures)} refused; "
        f"status resources: {report.statuses}; users: {', '.join(report.users) or '-'}"
    )
    for f in report.failures[:20]:
        console.print(f"  refused {f.get('id') or '?'}: {f.get('message')}", highlight=False)
    if report.upgraded:
        console.print(f"STIX 2.0 objects migrated to 2.1: {len(report.upgraded):,}")
    for u in report.upgraded[:20]:
        console.print(f"  upgraded {u['id']} {u['version']}: {u['changes']}", highlight=False)
