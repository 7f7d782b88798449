"""A TAXII 2.1 client on httpx, used by federation and ``colsec taxii pull``.

A peer is untrusted: every response is checked before anything reaches the
store.  The client talks only to the host of the URL it was configured with
(no redirects elsewhere, no API roots on other hosts), refuses bodies that are
too large, not JSON, of the wrong media type or of the wrong shape, and a
``date_added`` cursor that goes backwards.  Transient failures (429, 5xx,
dropped connections) are retried with exponential backoff.

    UpstreamError (502)
    └── TaxiiClientError            kind: http_status | connection | media_type | invalid_json |
                                          too_large | bad_shape | cursor_backwards | ssrf | timeout
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
import orjson

from colsec.errors import InvalidInput, UpstreamError
from colsec.jsonutil import check_text_depth
from colsec.outbound import DENY_ALL, GuardedTransport, OutboundPolicy, OutboundRefused
from colsec.stix.ids import format_timestamp, parse_timestamp
from colsec.taxii.media import TAXII_MEDIA, TAXII_TYPE

__all__ = [
    "ObjectsPage",
    "TaxiiClient",
    "TaxiiClientError",
    "TaxiiStatus",
    "safe_resume_point",
]

STIX_MEDIA = "application/stix+json;version=2.1"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


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


class TaxiiClient:
    """One TAXII 2.1 server; ``url`` is its discovery URL or one API root URL."""

    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        username: str | None = None,
        password: str | None = None,
        timeout: float = 30.0,
        max_retries: int = 4,
        backoff: float = 0.5,
        max_backoff: float = 10.0,
        max_bytes: int = 64 * 1024 * 1024,
        max_depth: int = 64,
        outbound: OutboundPolicy = DENY_ALL,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InvalidInput(f"peer URL must be http(s)://host/...: {url!r}")
        self.url = url if url.endswith("/") else url + "/"
        self.origin = (
            parts.scheme,
            parts.hostname.lower(),
            parts.port or (443 if parts.scheme == "https" else 80),
        )
        if transport is None:  # an injected transport (in-process peer) reaches no network
            try:
                outbound.check_host(parts.hostname, parts.port)
            except OutboundRefused as exc:
                raise TaxiiClientError(exc.message, kind="ssrf") from None
            transport = GuardedTransport(outbound)
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.max_bytes = max_bytes
        self.max_depth = max_depth
        headers = {"Accept": TAXII_MEDIA, "User-Agent": "colsec-taxii-client"}
        auth: httpx.Auth | None = None
        if token and username:
            auth = httpx.BasicAuth(username, token)
        elif token:
            headers["Authorization"] = f"Bearer {token}"
        elif username is not None and password is not None:
            auth = httpx.BasicAuth(username, password)
        self._http = httpx.Client(
            headers=headers,
            auth=auth,
            timeout=timeout,
            follow_redirects=False,
            transport=transport,
            trust_env=False,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> TaxiiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing -----------------------------------------------------------------------

    def _check_url(self, url: str) -> str:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        if (parts.scheme, (parts.hostname or "").lower(), port) != self.origin:
            raise TaxiiClientError(f"refusing to contact {url}: not the configured peer host", kind="ssrf")
        return url

    def _sleep_for(self, attempt: int, response: httpx.Response | None) -> float:
        if response is not None:
            retry_after = response.headers.get("Retry-After")
            if retry_after and retry_after.strip().isdigit():
                return min(float(retry_after), self.max_backoff)
        delay: float = min(self.backoff * (2**attempt), self.max_backoff)
        return delay * (0.5 + random.random() / 2)

    def _read_capped(self, response: httpx.Response) -> bytes:
        declared = response.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > self.max_bytes:
            raise TaxiiClientError(
                f"response of {declared} bytes exceeds the {self.max_bytes}-byte limit", kind="too_large"
            )
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > self.max_bytes:
                raise TaxiiClientError(f"response exceeds the {self.max_bytes}-byte limit", kind="too_large")
            chunks.append(chunk)
        return b"".join(chunks)

    def _request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        body: bytes | None = None,
        accept_status: Sequence[int] = (200,),
    ) -> tuple[httpx.Response, Any]:
        """One logical request with retries; returns the response and its checked JSON."""
        hops = 0
        attempt = 0
        while True:
            self._check_url(url)
            headers = {"Content-Type": TAXII_MEDIA} if body is not None else None
            try:
                with self._http.stream(method, url, params=params, content=body, headers=headers) as response:
                    if response.status_code in (301, 302, 303, 307, 308):
                        location = response.headers.get("Location", "")
                        target = urljoin(url, location)
                        self._check_url(target)  # raises for other hosts
                        hops += 1
                        if hops > 3:
                            raise TaxiiClientError(f"too many redirects from {url}", kind="http_status")
                        url = target
                        continue
                    if response.status_code in RETRY_STATUSES and attempt < self.max_retries:
                        delay = self._sleep_for(attempt, response)
                        attempt += 1
                        time.sleep(delay)
                        continue
                    data = self._read_capped(response)
            except httpx.TimeoutException as exc:
                if attempt < self.max_retries:
                    time.sleep(self._sleep_for(attempt, None))
                    attempt += 1
                    continue
                raise TaxiiClientError(
                    f"{method} {url}: timed out ({exc.__class__.__name__})", kind="timeout"
                ) from None
            except httpx.TransportError as exc:
                if attempt < self.max_retries:
                    time.sleep(self._sleep_for(attempt, None))
                    attempt += 1
                    continue
                raise TaxiiClientError(
                    f"{method} {url}: {exc.__class__.__name__}: {exc}", kind="connection"
                ) from None
            if response.status_code not in accept_status:
                raise TaxiiClientError(
                    f"{method} {url}: HTTP {response.status_code}: {_error_text(data)}",
                    kind="http_status",
                    status=response.status_code,
                )
            return response, self._parse(response, data, url)

    def _parse(self, response: httpx.Response, data: bytes, url: str) -> Any:
        ctype = response.headers.get("Content-Type", "")
        media, _, params = ctype.partition(";")
        media = media.strip().lower()
        version = None
        for p in params.split(";"):
            k, _, v = p.strip().partition("=")
            if k.lower() == "version":
                version = v.strip().strip('"')
        if media != TAXII_TYPE or (version is not None and version != "2.1"):
            raise TaxiiClientError(
                f"{url}: unexpected media type {ctype!r} (want {TAXII_MEDIA})", kind="media_type"
            )
        try:
            check_text_depth(data, self.max_depth, what="response")
        except InvalidInput as exc:
            raise TaxiiClientError(f"{url}: {exc.message}", kind="bad_shape") from None
        try:
            value = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise TaxiiClientError(f"{url}: response is not valid JSON: {exc}", kind="invalid_json") from None
        if not isinstance(value, dict):
            raise TaxiiClientError(f"{url}: expected a JSON object", kind="bad_shape")
        return value

    def _get(
        self, url: str, params: Mapping[str, str] | None = None
    ) -> tuple[httpx.Response, dict[str, Any]]:
        return self._request("GET", url, params=params)

    def node_json(self, path: str) -> Any:
        """A JSON document from the peer node's own API on the same host (e.g. its signed audit
        checkpoint), with the same credentials, origin check, size and depth caps as TAXII."""
        url = self._check_url(urljoin(self.url, path))
        try:
            with self._http.stream("GET", url, headers={"Accept": "application/json"}) as response:
                data = self._read_capped(response)
        except httpx.HTTPError as exc:
            raise TaxiiClientError(f"GET {url}: {exc.__class__.__name__}: {exc}", kind="connection") from None
        if response.status_code != 200:
            raise TaxiiClientError(
                f"GET {url}: HTTP {response.status_code}: {_error_text(data)}",
                kind="http_status",
                status=response.status_code,
            )
        try:
            check_text_depth(data, self.max_depth, what="response")
            return orjson.loads(data)
        except (InvalidInput, orjson.JSONDecodeError):
            raise TaxiiClientError(f"GET {url}: response is not valid JSON", kind="invalid_json") from None

    # -- TAXII resources ------------------------------------------------------------------

    def discovery(self) -> dict[str, Any]:
        return self._get(self.url)[1]

    def api_root_url(self) -> str:
        """The API root: the configured URL itself unless it is a discovery endpoint."""
        if not self.url.rstrip("/").endswith("/taxii2"):
            return self.url
        disc = self.discovery()
        root = disc.get("default") or next(iter(disc.get("api_roots") or []), None)
        if not isinstance(root, str):
            raise TaxiiClientError(f"{self.url}: discovery names no API root", kind="bad_shape")
        url = urljoin(self.url, root)
        self._check_url(url)
        return url if url.endswith("/") else url + "/"

    def api_root(self, root_url: str | None = None) -> dict[str, Any]:
        return self._get(root_url or self.api_root_url())[1]

    def collections(self, root_url: str | None = None) -> list[dict[str, Any]]:
        data = self._get(urljoin(root_url or self.api_root_url(), "collections/"))[1]
        items = data.get("collections", [])
        if not isinstance(items, list) or not all(
            isinstance(c, dict) and isinstance(c.get("id"), str) for c in items
        ):
            raise TaxiiClientError("collections: malformed list", kind="bad_shape")
        return items

    def _collection_url(self, collection_id: str, root_url: str | None, tail: str) -> str:
        if "/" in collection_id or not collection_id:
            raise InvalidInput(f"invalid collection id {collection_id!r}")
        return urljoin(root_url or self.api_root_url(), f"collections/{collection_id}/{tail}")

    def collection(self, collection_id: str, root_url: str | None = None) -> dict[str, Any]:
        return self._get(self._collection_url(collection_id, root_url, ""))[1]

    def get_objects(
        self,
        collection_id: str,
        *,
        added_after: str | None = None,
        next: str | None = None,
        limit: int | None = None,
        types: Sequence[str] = (),
        version: str | None = None,
        root_url: str | None = None,
    ) -> ObjectsPage:
        params: dict[str, str] = {}
        if added_after:
            params["added_after"] = added_after
        if next:
            params["next"] = next
        if limit:
            params["limit"] = str(limit)
        if types:
            params["match[type]"] = ",".join(types)
        if version:
            params["match[version]"] = version
        response, data = self._get(self._collection_url(collection_id, root_url, "objects/"), params)
        return _objects_page(response, data, added_after)

    def iter_pages(
        self,
        collection_id: str,
        *,
        added_after: str | None = None,
        limit: int | None = None,
        root_url: str | None = None,
        version: str | None = None,
        max_pages: int = 1_000_000,
    ) -> Iterator[ObjectsPage]:
        """Every page after ``added_after``, following ``next``; refuses a cursor that goes backwards."""
        root = root_url or self.api_root_url()
        page = self.get_objects(
            collection_id, added_after=added_after, limit=limit, root_url=root, version=version
        )
        last = page.date_added_last
        count = 1
        while True:
            yield page
            if not page.more:
                return
            if count >= max_pages:
                raise TaxiiClientError(
                    f"collection {collection_id}: more than {max_pages} pages", kind="bad_shape"
                )
            if page.next:
                nxt = self.get_objects(
                    collection_id,
                    added_after=added_after,
                    next=page.next,
                    limit=limit,
                    root_url=root,
                    version=version,
                )
            elif last is not None:
                # Servers without ``next`` page by date: ask again after the newest date seen.
                nxt = self.get_objects(
                    collection_id, added_after=last, limit=limit, root_url=root, version=version
                )
            else:
                raise TaxiiClientError(
                    f"collection {collection_id}: server says 'more' but gives neither 'next' nor dates",
                    kind="bad_shape",
                )
            if (
                nxt.date_added_first
                and last
                and parse_timestamp(nxt.date_added_first) < parse_timestamp(last)
            ):
                raise TaxiiClientError(
                    f"collection {collection_id}: cursor went backwards ({nxt.date_added_first} < {last})",
                    kind="cursor_backwards",
                )
            if nxt.date_added_last:
                last = nxt.date_added_last
            page = nxt
            count += 1

    def manifest(
        self,
        collection_id: str,
        *,
        added_after: str | None = None,
        next: str | None = None,
        limit: int | None = None,
        root_url: str | None = None,
    ) -> dict[str, Any]:
        params: dict[str, str] = {}
        if added_after:
            params["added_after"] = added_after
        if next:
            params["next"] = next
        if limit:
            params["limit"] = str(limit)
        data = self._get(self._collection_url(collection_id, root_url, "manifest/"), params)[1]
        items = data.get("objects", [])
        if not isinstance(items, list) or not all(
            isinstance(m, dict) and isinstance(m.get("id"), str) for m in items
        ):
            raise TaxiiClientError("manifest: malformed list", kind="bad_shape")
        return data

    def add_objects(
        self, collection_id: str, objects: Sequence[Mapping[str, Any]], *, root_url: str | None = None
    ) -> TaxiiStatus:
        envelope = {"objects": list(objects)}
        url = self._collection_url(collection_id, root_url, "objects/")
        data = self._request("POST", url, body=orjson.dumps(envelope), accept_status=(200, 201, 202))[1]
        return _status(data)

    def get_status(self, status_id: str, *, root_url: str | None = None) -> TaxiiStatus:
        if "/" in status_id or not status_id:
            raise InvalidInput(f"invalid status id {status_id!r}")
        return _status(self._get(urljoin(root_url or self.api_root_url(), f"status/{status_id}/"))[1])

    def wait_status(
        self,
        status: TaxiiStatus,
        *,
        timeout: float = 30.0,
        interval: float = 0.2,
        root_url: str | None = None,
    ) -> TaxiiStatus:
        """Poll a pending status until it completes (or ``timeout`` passes)."""
        deadline = time.monotonic() + timeout
        while status.status != "complete":
            if time.monotonic() > deadline:
                raise TaxiiClientError(
                    f"status {status.id} still {status.status} after {timeout}s", kind="timeout"
                )
            time.sleep(interval)
            interval = min(interval * 2, 2.0)
            status = self.get_status(status.id, root_url=root_url)
        return status


def _error_text(data: bytes) -> str:
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


def _objects_page(response: httpx.Response, data: dict[str, Any], added_after: str | None) -> ObjectsPage:
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


def _status(data: dict[str, Any]) -> TaxiiStatus:
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
