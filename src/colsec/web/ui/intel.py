"""Intelligence: search with filters and paging, and the page of one object."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from colsec.errors import InvalidInput
from colsec.stix.tlp import TLP, TLP_BY_NAME
from colsec.web.deps import DbDep
from colsec.web.params import MAX_ID
from colsec.web.ui import data, graph
from colsec.web.ui.render import PageActor, page

router = APIRouter(include_in_schema=False)


def _date(value: str | None, field: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{field}: expected a date as YYYY-MM-DD") from None


def _int(value: str | None, field: str) -> int | None:
    if not value:
        return None
    try:
        number = int(value)
        if not 0 <= number <= MAX_ID:
            raise ValueError
    except ValueError:
        raise InvalidInput(f"{field}: expected a number") from None
    return number


@router.get("/intel", response_class=HTMLResponse)
def search_page(
    request: Request,
    db: DbDep,
    actor: PageActor,
    q: str = "",
    type: str = "",
    label: str = "",
    owner: str = "",
    tlp: str = "",
    since: str = "",
    until: str = "",
    cursor: str = "",
) -> HTMLResponse:
    tlp_level = TLP_BY_NAME.get(tlp.lower()) if tlp else None
    query = data.SearchQuery(
        value=q[:2048],
        type=type[:250],
        label=label[:200],
        owner=_int(owner, "owner"),
        tlp=int(tlp_level) if tlp_level is not None else None,
        since=_date(since, "since"),
        until=_date(until, "until"),
    )
    results = data.search(db, actor=actor, query=query, cursor=cursor or None)
    params = {
        "q": q,
        "type": type,
        "label": label,
        "owner": owner,
        "tlp": tlp,
        "since": since,
        "until": until,
    }
    ctx = {
        "query": query,
        "params": params,
        "results": results,
        "orgs": data.org_names(db),
        "types": data.visible_types(db),
        "tlps": list(TLP),
        "cursor": cursor,
    }
    template = "ui/_intel_results.html" if request.headers.get("hx-target") == "results" else "ui/intel.html"
    return page(request, template, ctx, actor=actor)


@router.get("/intel/{object_id}", response_class=HTMLResponse)
def object_page(request: Request, db: DbDep, actor: PageActor, object_id: str) -> HTMLResponse:
    detail = data.object_detail(db, actor=actor, object_id=object_id[:120])
    return page(
        request,
        "ui/object.html",
        {
            "d": detail,
            "tlp": TLP(detail.row.tlp),
            "graph": graph.layout(object_id, detail.relationships, detail.names),
            "orgs": data.org_names(db),
            "properties": data.property_rows(detail.body),
        },
        actor=actor,
    )
