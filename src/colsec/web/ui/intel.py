"""Intelligence: search with filters and paging, and the page of one object (read models in
``colsec.intel.views``; this module parses the query and renders)."""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlencode

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from colsec.accounts.service import organisations_by_id
from colsec.db_base import MAX_ID
from colsec.errors import InvalidInput
from colsec.intel import search as intel_search
from colsec.intel import views
from colsec.stix.tlp import TLP, TLP_BY_NAME
from colsec.web.deps import DbDep
from colsec.web.ui import graph
from colsec.web.ui.render import PageActor, page

router = APIRouter(include_in_schema=False)

_SHOWN_ELSEWHERE = frozenset(
    {"type", "id", "spec_version", "object_marking_refs", "created_by_ref", "name", "object_refs"}
)
LONG_LIST = 12  # items shown before a list folds away behind "show all"
# A STIX timestamp (``2026-01-01T00:00:00.000Z``): read as a moment, shown in the pages' one format.
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z")


@dataclass(frozen=True)
class Prop:
    """One property as the object page renders it: ``kind`` picks the template's renderer."""

    key: str
    kind: str  # text | when | prose | list | ref | refs | links | phases | pairs | json
    value: Any


def _text(value: Any) -> str:
    text = value if isinstance(value, str) else orjson.dumps(value).decode()
    return text if len(text) <= 4000 else text[:3997] + "..."


def _flatten(value: Any, prefix: str = "") -> list[tuple[str, str]]:
    """Nested objects (extensions, hashes) as (dotted key, text) pairs."""
    if isinstance(value, dict):
        out: list[tuple[str, str]] = []
        for k, v in value.items():
            out.extend(_flatten(v, f"{prefix}{k}." if isinstance(v, dict) else f"{prefix}{k}"))
        return out
    return [
        (
            prefix.rstrip("."),
            _text(value)
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value)
            else ", ".join(value),
        )
    ]


def property_rows(body: dict[str, Any]) -> list[Prop]:
    """Top-level properties typed for reading: links, references, phases, nested pairs, prose."""
    rows = []
    for key, value in body.items():
        if key in _SHOWN_ELSEWHERE:
            continue
        if key == "external_references" and isinstance(value, list):
            links = [
                {"source": _text(r.get("source_name", "")), "id": _text(r.get("external_id", "")),
                 "url": r["url"] if isinstance(r.get("url"), str) and r["url"].startswith(("https://", "http://")) else "",
                 "description": _text(r.get("description", ""))}
                for r in value if isinstance(r, dict)
            ]  # fmt: skip
            rows.append(Prop(key, "links", links))
        elif key == "kill_chain_phases" and isinstance(value, list):
            phases = [
                (_text(p.get("kill_chain_name", "")), _text(p.get("phase_name", "")))
                for p in value
                if isinstance(p, dict)
            ]
            rows.append(Prop(key, "phases", phases))
        elif key.endswith("_ref") and isinstance(value, str):
            rows.append(Prop(key, "ref", value))
        elif key.endswith("_refs") and isinstance(value, list) and all(isinstance(v, str) for v in value):
            rows.append(Prop(key, "refs", value))
        elif isinstance(value, dict):
            rows.append(Prop(key, "pairs", _flatten(value)))
        elif isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
            rows.append(Prop(key, "list", [_text(v) if isinstance(v, str) else str(v) for v in value]))
        elif isinstance(value, str) and (
            key in ("description", "abstract", "content", "explanation") or "\n" in value
        ):
            rows.append(Prop(key, "prose", _text(value)))
        elif isinstance(value, str) and _TIMESTAMP.fullmatch(value):
            rows.append(Prop(key, "when", value))
        elif isinstance(value, str | int | float | bool):
            rows.append(Prop(key, "text", _text(value) if not isinstance(value, bool) else value))
        else:
            rows.append(Prop(key, "json", _text(value)))
    order = {"description": 0, "external_references": 1, "kill_chain_phases": 2}
    return sorted(rows, key=lambda p: order.get(p.key, 3))


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


def _href(params: dict[str, str], **change: str) -> str:
    """The search URL with some parameters changed (an empty value drops it); paging restarts."""
    merged = {**params, **change}
    return "/intel?" + urlencode({k: v for k, v in merged.items() if v})


def facet_links(
    params: dict[str, str], facets: intel_search.Facets, orgs: dict[int, Any]
) -> dict[str, list[dict[str, Any]]]:
    """Each facet's values as links that narrow the search (or widen it again when chosen)."""

    def item(key: str, value: str, count: int, label: Any = None) -> dict[str, Any]:
        active = params.get(key) == value
        return {"value": value, "label": label if label is not None else value, "count": count,
                "active": active, "href": _href(params, **{key: "" if active else value})}  # fmt: skip

    return {
        "type": [item("type", t, n) for t, n in facets.types],
        "owner": [
            item("owner", str(o), n, orgs[o].short_name if o in orgs else str(o))
            for o, n in facets.owners
            if o is not None
        ],
        "tlp": [item("tlp", TLP(level).label, n, TLP(level).display) for level, n in facets.tlps],
        "label": [item("label", lab, n) for lab, n in facets.labels],
        "date": [item("since", b.since.isoformat(), b.count, b.days) for b in facets.dates if b.count],
    }


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
    rel: str = "",
    cursor: str = "",
) -> HTMLResponse:
    tlp_level = TLP_BY_NAME.get(tlp.lower()) if tlp else None
    query = intel_search.SearchQuery(
        value=q[:2048],
        type=type[:250],
        label=label[:200],
        owner=_int(owner, "owner"),
        tlp=int(tlp_level) if tlp_level is not None else None,
        since=_date(since, "since"),
        until=_date(until, "until"),
        relationships=rel == "1",
    )
    results = intel_search.search(db, actor=actor, query=query, cursor=cursor or None)
    params = {
        "q": q,
        "type": type,
        "label": label,
        "owner": owner,
        "tlp": tlp,
        "since": since,
        "until": until,
        "rel": "1" if query.relationships else "",
    }
    orgs = organisations_by_id(db)
    ctx = {
        "query": query,
        "params": params,
        "results": results,
        "facets": facet_links(params, results.facets, orgs),
        "orgs": orgs,
        "types": views.visible_types(db),
        "tlps": list(TLP),
        "cursor": cursor,
        "next_href": _href(params, cursor=results.next_cursor or ""),
    }
    template = "ui/_intel_results.html" if request.headers.get("hx-target") == "results" else "ui/intel.html"
    return page(request, template, ctx, actor=actor)


#: what the export form offers, each with the file name of a one-file answer
EXPORTS = ("stix", "misp", "csv", "values", "suricata", "zeek")


@router.get("/intel/export")
def export(db: DbDep, actor: PageActor, format: str = "stix", type: str = "", since: str = "") -> Response:
    """What the reader's organisation may see, in a format for another tool or a sensor (the CLI's
    ``colsec export``, for an analyst in the browser); several files come as one zip."""
    from colsec.formats.registry import ExportFormat
    from colsec.formats.service import ExportFilter, export_selection

    if format not in EXPORTS:
        raise InvalidInput(f"unknown export format {format!r}: one of {', '.join(EXPORTS)}")
    flt = ExportFilter(types=[type[:250]] if type else [], added_since=since[:40] or None)
    files = export_selection(db, actor=actor, fmt=ExportFormat(format), flt=flt)
    if len(files) == 1:
        [(name, data)] = files.items()
    else:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
            for member, content in files.items():
                z.writestr(member, content)
        name, data = f"colsec-{format}.zip", buffer.getvalue()
    media = "application/zip" if name.endswith(".zip") else "application/octet-stream"
    headers = {"Content-Disposition": f'attachment; filename="{name.rsplit("/", 1)[-1]}"'}
    return Response(data, media_type=media, headers=headers)


@router.get("/intel/{object_id}", response_class=HTMLResponse)
def object_page(request: Request, db: DbDep, actor: PageActor, object_id: str) -> HTMLResponse:
    detail = views.object_detail(db, actor=actor, object_id=object_id[:120])
    return page(
        request,
        "ui/object.html",
        {
            "d": detail,
            "tlp": TLP(detail.row.tlp),
            "graph": graph.layout(object_id, detail.relationships, detail.names),
            "orgs": organisations_by_id(db),
            "properties": property_rows(detail.body),
            "long_list": LONG_LIST,
        },
        actor=actor,
    )
