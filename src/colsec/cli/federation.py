"""Federation commands: peers, sharing groups, sync, and ``taxii pull`` from any TAXII 2.1 server."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from colsec.cli.common import EXIT_CODES, console, fail, get_node, open_session, resolve_actor
from colsec.federation import service
from colsec.store.limits import WriteLimits

__all__ = ["register"]

peer_app = typer.Typer(help="Peer nodes we exchange intelligence with over TAXII 2.1.", no_args_is_help=True)
group_app = typer.Typer(
    help="Sharing groups: named member organisations an object is restricted to.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    app.add_typer(peer_app, name="peer")
    app.add_typer(group_app, name="sharing-group")
    app.command("sync")(sync)


def _csv(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


@peer_app.command("add")
def peer_add(
    name: str,
    url: Annotated[str, typer.Option(help="The peer's TAXII discovery or API root URL")],
    org: Annotated[str, typer.Option(help="The peer node's organisation (short name)")],
    token: Annotated[str | None, typer.Option(help="Token of our peer account on that node")] = None,
    username: Annotated[str | None, typer.Option(help="Username for HTTP Basic (token as password)")] = None,
    collections: Annotated[
        str | None, typer.Option(help="Comma-separated collection ids (default: all readable)")
    ] = None,
    local_org: Annotated[str | None, typer.Option(help="Our organisation as the peer knows it")] = None,
    push_collection: Annotated[
        str | None, typer.Option(help="Peer inbox collection for urgent objects")
    ] = None,
    local_collection: Annotated[
        str | None, typer.Option(help="Local collection that received objects join (default: same id)")
    ] = None,
    interval: Annotated[int, typer.Option(help="Pull interval in seconds")] = 60,
) -> None:
    """Add a peer node."""
    with open_session() as s:
        p = service.create_peer(
            s,
            actor=resolve_actor(s, None),
            name=name,
            url=url,
            organisation=org,
            token=token,
            username=username,
            collections=_csv(collections),
            local_org=local_org,
            push_collection=push_collection,
            local_collection=local_collection,
            pull_interval_seconds=interval,
        )
        console.print(f"peer {p.name} added ({p.url})")


@peer_app.command("remove")
def peer_remove(name: str) -> None:
    """Remove a peer (objects received from it stay)."""
    with open_session() as s:
        service.delete_peer(s, actor=resolve_actor(s, None), name=name)
    console.print(f"peer {name} removed")


@peer_app.command("list")
def peer_list() -> None:
    """List peers and their configuration."""
    with open_session(write=False) as s:
        table = Table()
        for col in ("name", "url", "organisation", "collections", "interval", "enabled"):
            table.add_column(col)
        for p in service.list_peers(s):
            st = service.peer_status(s, p)
            table.add_row(
                p.name, p.url, st["organisation"] or "", ",".join(st["collections"]) or "(all)",
                f"{p.pull_interval_seconds}s", "yes" if p.enabled else "no",
            )  # fmt: skip
        console.print(table)


@peer_app.command("push")
def peer_push(object_id: Annotated[list[str], typer.Argument(help="Object ids to push now")]) -> None:
    """Push the latest versions of objects to every peer inbox that may receive them, now."""
    from colsec.federation.push import push_ids

    node = get_node()
    for r in push_ids(node.database, object_id, outbound=node.outbound):
        status = f"failed: {escape(r.error)}" if r.error else f"{r.pushed} pushed"
        console.print(f"{escape(r.peer)}: {status}", highlight=False)


@peer_app.command("status")
def peer_status(name: Annotated[str | None, typer.Argument()] = None) -> None:
    """Per peer: last success, lag, errors, objects received."""
    with open_session(write=False) as s:
        peers = [service.get_peer(s, name)] if name else service.list_peers(s)
        table = Table()
        for col in (
            "peer",
            "last success",
            "lag (s)",
            "received",
            "rejected",
            "pushed",
            "errors",
            "last error",
        ):
            table.add_column(col)
        for p in peers:
            st = service.peer_status(s, p)
            err = f"[{st['last_error_kind']}] {st['last_error']}" if st["last_error"] else ""
            table.add_row(
                p.name,
                st["last_success_at"].isoformat(timespec="seconds") if st["last_success_at"] else "never",
                f"{st['lag_seconds']:.1f}" if st["lag_seconds"] is not None else "-",
                str(st["objects_received"]),
                str(st["objects_rejected"]),
                str(st["objects_pushed"]),
                str(st["error_count"]),
                escape(err[:120]),
            )
        console.print(table)


def sync(
    peer: Annotated[str | None, typer.Option(help="Only this peer")] = None,
    page_size: Annotated[int, typer.Option(help="Objects per page")] = 1000,
) -> None:
    """Pull from peers once (every enabled peer, or one)."""
    from colsec.federation.sync import sync_all

    node = get_node()
    settings, database = node.settings, node.database
    try:
        reports = sync_all(
            database,
            only=peer,
            page_size=page_size,
            outbound=node.outbound,
            limits=WriteLimits.from_settings(settings),
        )
    except Exception as exc:
        from colsec.errors import ColsecError

        if isinstance(exc, ColsecError):
            fail(exc.message, EXIT_CODES.get(exc.status, 1))
        raise
    failed = False
    for r in reports:
        if r.ok:
            console.print(
                f"{r.peer}: {r.pages} page(s), {r.received} received, {r.inserted} new, "
                f"{r.rejected} refused in {r.seconds:.1f}s"
            )
        else:
            failed = True
            console.print(
                f"[red]{escape(r.peer)}: failed ({r.error_kind}): {escape(r.error or '')}[/]", highlight=False
            )
    if failed:
        raise typer.Exit(EXIT_CODES[502])


def taxii_pull(
    url: str,
    collection: Annotated[
        list[str] | None, typer.Option(help="Collection id (repeatable; default: all readable)")
    ] = None,
    token: Annotated[str | None, typer.Option(help="Bearer token, or the password with --username")] = None,
    username: Annotated[str | None, typer.Option(help="Username for HTTP Basic")] = None,
    org: Annotated[str | None, typer.Option(help="Owner organisation of what is pulled (short name)")] = None,
    added_after: Annotated[str | None, typer.Option(help="Only objects added after this timestamp")] = None,
    origin: Annotated[
        str | None, typer.Option(help="Origin recorded for the objects (default: the host)")
    ] = None,
) -> None:
    """Pull objects from any TAXII 2.1 server into the local store, once."""
    from colsec.accounts.service import get_org_by_name
    from colsec.errors import ColsecError
    from colsec.federation.sync import pull_once

    node = get_node()
    settings, database = node.settings, node.database
    owner = None
    if org:
        with open_session(write=False) as s:
            owner = get_org_by_name(s, org).id
    with open_session(write=False) as s:
        actor = resolve_actor(s, None)
    try:
        report = pull_once(
            database,
            url,
            actor=actor,
            collections=collection,
            token=token,
            username=username,
            owner_org_id=owner,
            origin=origin,
            added_after=added_after,
            outbound=node.outbound,
            limits=WriteLimits.from_settings(settings),
        )
    except ColsecError as exc:
        fail(exc.message, EXIT_CODES.get(exc.status, 1))
    console.print(
        f"pulled {report.received} object(s) from {len(report.collections)} collection(s): "
        f"{report.inserted} new, {report.rejected} refused"
    )
    for r in report.rejections[:10]:
        console.print(f"  - {escape(str(r.get('message')))}", highlight=False)


@group_app.command("create")
def group_create(
    name: str,
    members: Annotated[str | None, typer.Option(help="Comma-separated organisation short names")] = None,
    description: Annotated[str, typer.Option()] = "",
    owner: Annotated[
        str | None, typer.Option(help="Owner organisation, which alone changes members (default: the node)")
    ] = None,
) -> None:
    """Create a sharing group."""
    with open_session() as s:
        g = service.create_sharing_group(
            s,
            actor=resolve_actor(s, None),
            name=name,
            description=description,
            members=_csv(members),
            owner=owner,
        )
        console.print(f"sharing group {g.name} created")


@group_app.command("list")
def group_list() -> None:
    """List sharing groups and their members."""
    with open_session(write=False) as s:
        table = Table()
        for col in ("name", "members", "description"):
            table.add_column(col)
        for g in service.list_sharing_groups(s):
            out = service.sharing_group_out(s, g)
            table.add_row(g.name, ", ".join(out["members"]), g.description)
        console.print(table)


@group_app.command("add-member")
def group_add_member(name: str, org: str) -> None:
    """Add an organisation to a sharing group."""
    with open_session() as s:
        service.add_group_member(s, actor=resolve_actor(s, None), group=name, organisation=org)
    console.print(f"{org} added to {name}")


@group_app.command("remove-member")
def group_remove_member(name: str, org: str) -> None:
    """Remove an organisation from a sharing group (its local objects are re-published)."""
    with open_session() as s:
        service.remove_group_member(s, actor=resolve_actor(s, None), group=name, organisation=org)
    console.print(f"{org} removed from {name}")


@group_app.command("attach")
def group_attach(
    name: str,
    object_id: str,
    as_user: Annotated[
        str | None, typer.Option(help="Act as this user (its organisation must own the object)")
    ] = None,
) -> None:
    """Restrict an object to a sharing group (publishes a new version carrying the group)."""
    with open_session() as s:
        body = service.attach_sharing_group(
            s, actor=resolve_actor(s, as_user), object_id=object_id, group=name
        )
    console.print(f"{object_id} now restricted to {name} (version {body['modified']})")
