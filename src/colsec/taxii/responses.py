"""What a TAXII peer's answers must look like before anything reaches the store.

The checked shapes (``ObjectsPage``, ``TaxiiStatus``), the resume point that loses nothing, and
the one error a misbehaving or unreachable peer raises, ``kind`` naming how:

    UpstreamError (502)
    └── TaxiiClientError            kind: http_status | connection | media_type | invalid_json |
                                          too_large | bad_shape | cursor_backwards | ssrf | timeout

Apart from the HTTP (``connection.py``) and the TAXII resources (``client.py``) because federation
keeps cursors and reports failures with these types without speaking HTTP itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
import orjson

from colsec.errors import UpstreamError
from colsec.stix.ids import format_timestamp, parse_timestamp

__all__ = [
    "ObjectsPage",
    "TaxiiClientError",
    "TaxiiStatus",
    "error_text",
    "objects_page",
    "parse_status",
    "safe_resume_point",
]


class TaxiiClientError(UpstreamError):
    """A peer misbehaved or could not be reached; ``kind`` says how."""

    def __init__(self, message: str, *, kind: str, status: int | None = None) -> None:
        super().__init__(message, details={"kind": kind, "status": status})
        self.kind = kind
        self.http_status = status


@dataclass
class ObjectsPage:
    """One ``GET objects`` answer, checked."""

    objects: list[dict[str, Any]]
    more: bool
    next: str | None
    date_added_first: str | None
    date_added_last: str | None


@dataclass
class TaxiiStatus:
    id: str
    status: str
    total_count: int
    success_count: int
    failure_count: int
    pending_count: int
    failures: list[dict[str, Any]] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)


def safe_resume_point(page: ObjectsPage) -> str | None:
    """The largest ``added_after`` from which a restart loses nothing.

    Objects sharing the page's last ``date_added`` may continue on the next page,
    so while ``more`` is true the restart point is one microsecond before it
    (re-delivery is harmless; a skipped object would be lost).
    """
    if page.date_added_last is None:
        return None
    if not page.more:
        return page.date_added_last
    return format_timestamp(parse_timestamp(page.date_added_last) - timedelta(microseconds=1))


def error_text(data: bytes) -> str:
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError:
        return data[:200].decode("utf-8", "replace")
    if isinstance(value, dict):
        return str(value.get("description") or value.get("detail") or value.get("title") or "")[:300]
    return ""


def _header_ts(response: httpx.Response, name: str) -> str | None:
    value = response.headers.get(name)
    if value is None:
        return None
    try:
        return format_timestamp(parse_timestamp(value.strip()))
    except ValueError:
        raise TaxiiClientError(f"invalid {name} header {value!r}", kind="bad_shape") from None


def objects_page(response: httpx.Response, data: dict[str, Any], added_after: str | None) -> ObjectsPage:
    objects = data.get("objects", [])
    more = data.get("more", False)
    nxt = data.get("next")
    if (
        not isinstance(objects, list)
        or not isinstance(more, bool)
        or (nxt is not None and not isinstance(nxt, str))
    ):
        raise TaxiiClientError(
            "objects envelope: 'objects' must be a list, 'more' a boolean, 'next' a string", kind="bad_shape"
        )
    for obj in objects:
        if (
            not isinstance(obj, dict)
            or not isinstance(obj.get("type"), str)
            or not isinstance(obj.get("id"), str)
        ):
            raise TaxiiClientError(
                "objects envelope: every object needs a string 'type' and 'id'", kind="bad_shape"
            )
    first = _header_ts(response, "X-TAXII-Date-Added-First")
    last = _header_ts(response, "X-TAXII-Date-Added-Last")
    if first and last and parse_timestamp(last) < parse_timestamp(first):
        raise TaxiiClientError(
            f"date_added range runs backwards ({first} .. {last})", kind="cursor_backwards"
        )
    if added_after and first:
        if parse_timestamp(first) <= parse_timestamp(added_after):
            raise TaxiiClientError(
                f"cursor went backwards: asked for objects added after {added_after}, got {first}",
                kind="cursor_backwards",
            )
    return ObjectsPage(objects=objects, more=more, next=nxt, date_added_first=first, date_added_last=last)


def parse_status(data: dict[str, Any]) -> TaxiiStatus:
    try:
        return TaxiiStatus(
            id=str(data["id"]),
            status=str(data["status"]),
            total_count=int(data.get("total_count", 0)),
            success_count=int(data.get("success_count", 0)),
            failure_count=int(data.get("failure_count", 0)),
            pending_count=int(data.get("pending_count", 0)),
            failures=list(data.get("failures") or []),
            raw=data,
        )
    except (KeyError, TypeError, ValueError):
        raise TaxiiClientError("malformed status resource", kind="bad_shape") from None
