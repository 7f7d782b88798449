"""Commands of the intel domain: correlation, scores, assets, vulnerability catalogue, alerts, webhooks."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.table import Table

from colsec.cli.acting import AsOption, OrgOption, acting_for
from colsec.cli.common import console, fail, get_node, open_session

__all__ = ["register"]

intel_app = typer.Typer(help="Correlation, scoring, assets and exposure, alerts.", no_args_is_help=True)
assets_app = typer.Typer(help="Critical-infrastructure asset registry.", no_args_is_help=True)
vulns_app = typer.Typer(help="Vulnerability catalogue (CISA KEV, NVD).", no_args_is_help=True)
alerts_app = typer.Typer(help="Alerts of an organisation.", no_args_is_help=True)
webhooks_app = typer.Typer(help="Outbound alert webhooks.", no_args_is_help=True)

AsUser = AsOption


def register(app: typer.Typer) -> None:
    app.add_typer(intel_app, name="intel")
    intel_app.add_typer(assets_app, name="assets")
    intel_app.add_typer(vulns_app, name="vulns")
    intel_app.add_typer(alerts_app, name="alerts")
    intel_app.add_typer(webhooks_app, name="webhooks")


@intel_app.command("correlate")
def correlate(cap: Annotated[int, typer.Option(help="Over-correlation cap per value")] = 500) -> None:
    """Rebuild every correlation from the observables index (set-based)."""
    from colsec.intel.correlation import CorrelationConfig, rebuild
    from colsec.intel.hooks import benign_lookup

    started = time.perf_counter()
    with open_session() as session:
        stats = rebuild(
            session, config=CorrelationConfig(cap=cap, benign=benign_lookup(session, get_node().intel))
        )
    console.print(
        f"active {stats.active:,}  capped {stats.capped:,}  warninglisted {stats.warninglisted:,}  "
        f"containment edges {stats.edges:,}  in {time.perf_counter() - started:.1f}s"
    )


@intel_app.command("correlations")
def correlations(
    status: Annotated[str, typer.Option(help="active, capped (review list) or warninglisted")] = "active",
    min_owners: Annotated[int, typer.Option(help="Only values held by this many organisations")] = 1,
    limit: int = 50,
    as_user: AsUser = None,
    org: OrgOption = None,
) -> None:
    """List correlated values as the acting organisation sees them (from the objects it may see only)."""
    from colsec.intel.queries import list_correlations

    with open_session(write=False) as session:
        rows = list_correlations(
            session,
            actor=acting_for(session, as_user=as_user, org=org),
            status=status,
            min_owners=min_owners,
            limit=limit,
        )
    table = Table(title=f"{status} correlations")
    for col in ("kind", "value", "objects", "owners", "warninglist"):
        table.add_column(col)
    for r in rows:  # counts are of the objects this user may see
        table.add_row(r["kind"], r["value"], str(r["n_objects"]), str(r["n_owners"]), r["warninglist"] or "")
    console.print(table)


@intel_app.command("score")
def score(
    object_id: str,
    at: Annotated[str | None, typer.Option(help="Timestamp to evaluate at")] = None,
    as_user: AsUser = None,
    org: OrgOption = None,
) -> None:
    """Show an indicator's decayed score."""
    from colsec.intel.queries import indicator_score

    with open_session(write=False) as session:
        console.print_json(
            orjson.dumps(
                indicator_score(
                    session, actor=acting_for(session, as_user=as_user, org=org), object_id=object_id, at=at
                )
            ).decode()
        )


@assets_app.command("import")
def assets_import(
    csv_file: Annotated[Path, typer.Argument(exists=True, dir_okay=False)],
    as_user: AsUser = None,
    org: OrgOption = None,
) -> None:
    """Import assets from CSV (name, sector, criticality, ip_ranges, domains, cpes[, description, organisation])."""
    from colsec.intel.assets import import_assets_csv

    with open_session() as session:
        created = import_assets_csv(
            session, actor=acting_for(session, as_user=as_user, org=org), text=csv_file.read_text("utf-8-sig")
        )
        names = [a.name for a in created]
    console.print(f"imported {len(names)} asset(s): {', '.join(names)}")


@assets_app.command("list")
def assets_list(as_user: AsUser = None, org: OrgOption = None) -> None:
    from colsec.intel.assets import list_assets
    from colsec.intel.schemas import CRITICALITY_NAMES

    with open_session(write=False) as session:
        rows = list_assets(session, actor=acting_for(session, as_user=as_user, org=org))
        table = Table(title="Assets")
        for col in ("id", "org", "name", "sector", "criticality", "ranges", "domains", "cpes"):
            table.add_column(col)
        for a in rows:
            table.add_row(str(a.id), str(a.organisation_id), a.name, a.sector, CRITICALITY_NAMES[a.criticality],
                          " ".join(orjson.loads(a.ip_ranges)), " ".join(orjson.loads(a.domains)), "\n".join(orjson.loads(a.cpes)))  # fmt: skip
    console.print(table)


@vulns_app.command("load")
def vulns_load(
    kev: Annotated[
        Path | None, typer.Option(exists=True, dir_okay=False, help="CISA KEV catalogue JSON")
    ] = None,
    nvd: Annotated[
        list[Path] | None, typer.Option(exists=True, help="NVD CVE JSON 2.0 files or folders")
    ] = None,
) -> None:
    """Load KEV / NVD data and raise exposure alerts for matching assets."""
    from colsec.intel.exposure import check_vulnerabilities
    from colsec.intel.vulns import load_kev, load_nvd

    if kev is None and not nvd:
        fail("give --kev and/or --nvd", 2)
    files: list[Path] = []
    for p in nvd or []:
        files += sorted(p.glob("*.json")) if p.is_dir() else [p]
    with open_session() as session:
        changed = load_kev(session, kev) if kev else []
        changed += load_nvd(session, files) if files else []
        alerts = check_vulnerabilities(session, sorted(set(changed)))
    console.print(f"{len(set(changed)):,} vulnerabilities loaded or updated; {len(alerts)} exposure alert(s)")


@alerts_app.command("list")
def alerts_list(
    as_user: AsUser = None,
    org: OrgOption = None,
    kind: Annotated[str | None, typer.Option(help="exposure or cross_member")] = None,
    limit: int = 50,
) -> None:
    from colsec.intel.alerts import list_alerts

    with open_session(write=False) as session:
        actor = acting_for(session, as_user=as_user, org=org)
        if actor.org_id is None:
            fail("the user belongs to no organisation", 2)
        views = list_alerts(session, org_id=actor.org_id, kind=kind, limit=limit)
    table = Table(title=f"Alerts of {actor.org_short_name}")
    for col in ("id", "kind", "severity", "title", "objects"):
        table.add_column(col)
    for v in views:
        table.add_row(str(v.id), v.kind, v.severity, v.title, str(len(v.objects)))
    console.print(table)


@webhooks_app.command("add")
def webhooks_add(url: str, secret: str, as_user: AsUser = None, org: OrgOption = None) -> None:
    """Register an outbound webhook for the user's organisation."""
    from colsec.intel.notify import create_webhook

    with open_session() as session:
        hook = create_webhook(session, actor=acting_for(session, as_user=as_user, org=org), url=url, secret=secret,
                              outbound=get_node().outbound)  # fmt: skip
        console.print(f"webhook {hook.id} → {hook.url}")
