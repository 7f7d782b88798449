"""TAXII commands: ``colsec collection add/filter/add-objects/remove-objects/list``, ``colsec taxii load-medallion``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from colsec.cli.common import console, fail, get_settings, open_session, resolve_actor
from colsec.cli.federation import taxii_pull

__all__ = ["collection_app", "register", "taxii_app"]

taxii_app = typer.Typer(help="TAXII 2.1 server and client.", no_args_is_help=True)
collection_app = typer.Typer(help="TAXII collections served by this node.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(taxii_app, name="taxii")
    app.add_typer(collection_app, name="collection")


FilterOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--filter",
        help="Publish matching objects as they arrive: type=, owner=, label= (comma lists), tlp= (ceiling), group=",
    ),
]


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
    filter_terms: FilterOpt = None,
    include_existing: Annotated[
        bool, typer.Option("--include-existing", help="With --filter: also add what the store already holds")
    ] = False,
    as_user: Annotated[str | None, typer.Option("--as", help="Act as this user")] = None,
) -> None:
    """Create a collection; rights default to: everyone reads, nobody writes."""
    from colsec.taxii.publish import FilterNames, publish_collection

    with open_session() as session:
        summary = publish_collection(
            session,
            actor=resolve_actor(session, as_user),
            title=title,
            api_root=api_root,
            description=description,
            alias=alias,
            can_read=read if read is not None else ["*"],
            can_write=write or [],
            collection_id=collection_id,
            filter_names=FilterNames.from_terms(filter_terms) if filter_terms else None,
            include_existing=include_existing,
        )
    console.print(summary.id)


@collection_app.command("filter")
def collection_filter(
    collection_id: Annotated[str, typer.Argument(help="Collection id")],
    filter_terms: FilterOpt = None,
    clear: Annotated[bool, typer.Option("--clear", help="Stop publishing new matching objects")] = False,
    include_existing: Annotated[
        bool, typer.Option("--include-existing", help="Also add what the store already holds")
    ] = False,
    as_user: Annotated[str | None, typer.Option("--as", help="Act as this user")] = None,
) -> None:
    """Define, change or clear the filter that fills a collection."""
    from colsec.taxii.publish import FilterNames, set_collection_filter

    if clear == bool(filter_terms):
        fail("give either --filter terms or --clear", 2)
    with open_session() as session:
        summary = set_collection_filter(
            session, actor=resolve_actor(session, as_user), collection_id=collection_id,
            filter_names=None if clear else FilterNames.from_terms(filter_terms or []),
            include_existing=include_existing,
        )  # fmt: skip
    console.print(f"{summary.id}: {summary.versions:,} object versions", highlight=False)


def _object_ids(ids: list[str] | None, bundle: Path | None) -> list[str]:
    from colsec.errors import InvalidInput
    from colsec.jsonutil import loads

    out = list(ids or [])
    if bundle is not None:
        try:
            data = loads(bundle.read_bytes(), what=str(bundle))
        except OSError as exc:
            fail(f"{bundle}: {exc.strerror or exc}", 2)
        except InvalidInput as exc:
            fail(exc.message, 2)
        objects = data.get("objects") if isinstance(data, dict) else None
        if not isinstance(objects, list):
            fail(f"{bundle}: not a STIX bundle (no 'objects' list)", 2)
        out += [o["id"] for o in objects if isinstance(o, dict) and isinstance(o.get("id"), str)]
    if not out:
        fail("name object ids, or a bundle with --from-bundle", 2)
    return out


IdsArg = Annotated[list[str] | None, typer.Argument(help="STIX object ids (every version of each)")]
BundleOpt = Annotated[
    Path | None, typer.Option("--from-bundle", help="Take the ids of the objects in this STIX bundle")
]


@collection_app.command("add-objects")
def collection_add_objects(
    collection_id: Annotated[str, typer.Argument(help="Collection id")],
    ids: IdsArg = None,
    bundle: BundleOpt = None,
    as_user: Annotated[str | None, typer.Option("--as", help="Act as this user")] = None,
) -> None:
    """Publish objects already in the store in a collection."""
    from colsec.taxii.publish import add_objects

    object_ids = _object_ids(ids, bundle)
    with open_session() as session:
        n = add_objects(session, actor=resolve_actor(session, as_user), collection_id=collection_id,
                        object_ids=object_ids)  # fmt: skip
    console.print(f"{n:,} object versions added to {collection_id}", highlight=False)


@collection_app.command("remove-objects")
def collection_remove_objects(
    collection_id: Annotated[str, typer.Argument(help="Collection id")],
    ids: IdsArg = None,
    bundle: BundleOpt = None,
    as_user: Annotated[str | None, typer.Option("--as", help="Act as this user")] = None,
) -> None:
    """Take objects out of a collection (the store keeps them)."""
    from colsec.taxii.publish import remove_objects

    object_ids = _object_ids(ids, bundle)
    with open_session() as session:
        n = remove_objects(session, actor=resolve_actor(session, as_user), collection_id=collection_id,
                           object_ids=object_ids)  # fmt: skip
    console.print(f"{n:,} object versions removed from {collection_id}", highlight=False)


@collection_app.command("list")
def collection_list(
    api_root: Annotated[str | None, typer.Option("--root", help="Only this API root")] = None,
) -> None:
    """List collections with their rights, filter and object counts."""
    from colsec.accounts.roles import SYSTEM
    from colsec.taxii.publish import list_summaries

    with open_session(write=False) as session:
        summaries = [c for c in list_summaries(session, actor=SYSTEM) if api_root in (None, c.api_root)]
    table = Table(title="TAXII collections")
    for col in ("id", "root", "title", "can read", "can write", "filter", "versions"):
        table.add_column(col)
    for c in summaries:
        table.add_row(
            c.id, c.api_root, c.title, ", ".join(c.can_read) or "-", ", ".join(c.can_write) or "-",
            _describe(c.filter), f"{c.versions:,}",
        )  # fmt: skip
    console.print(table)


def _describe(spec: dict[str, object] | None) -> str:
    if spec is None:
        return "-"
    terms = {"types": "type", "owners": "owner", "labels": "label"}  # as --filter takes them
    parts = [f"{terms.get(k, k)}={','.join(v) if isinstance(v, list) else v}" for k, v in spec.items() if v]
    return " ".join(parts) or "everything"


@taxii_app.command("load-medallion")
def load_medallion_cmd(
    file: Annotated[Path, typer.Argument(help="medallion data file or config file")],
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
    from colsec.stix.tlp import TLP_BY_NAME
    from colsec.taxii.medallion import load_medallion, read_medallion_file

    level = TLP_BY_NAME.get((tlp or get_settings().default_tlp).lower())
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


# the client side: pull from any TAXII 2.1 server (the federation commands hold it)
taxii_app.command("pull")(taxii_pull)
